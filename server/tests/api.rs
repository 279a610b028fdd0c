//! Route tests with `Router::oneshot` (no socket): behaviour, bad input, auth, limits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity,
    missing_docs
)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::{Receipt, SecretKey, Timestamp};
use evl_server::config::{AuthConfig, LimitsConfig, Scope, TokenConfig};
use evl_server::http::{AppState, Handling, ROUTES, auth::Auth, harden, router};
use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt as _;

const ADMIN: &str = "admin-token-0123456789";
const APPENDER: &str = "appender-token-0123456789";
const READER: &str = "reader-token-0123456789";
const ORIGIN: &str = "api.test/log";

struct Api {
    app: Router,
    ledger: Ledger<MemoryStore>,
}

fn api_with(public_reads: bool, timeout: Duration) -> Api {
    let key = SecretKey::from_seed(ORIGIN, &[3u8; 32]).unwrap();
    let ledger = Ledger::init(
        MemoryStore::new(),
        key,
        Timestamp::parse("2020-01-01T00:00:00Z").unwrap(),
        AnchorPolicy::default(),
    )
    .unwrap();
    let auth = Auth::new(
        &AuthConfig {
            public_reads,
            tokens: vec![
                TokenConfig {
                    name: "admin".into(),
                    token: ADMIN.into(),
                    scopes: vec![Scope::Read, Scope::Append, Scope::Admin],
                },
                TokenConfig {
                    name: "reader".into(),
                    token: READER.into(),
                    scopes: vec![Scope::Read],
                },
                TokenConfig {
                    name: "appender".into(),
                    token: APPENDER.into(),
                    scopes: vec![Scope::Read, Scope::Append],
                },
            ],
        },
        Vec::new(),
    );
    let limits = LimitsConfig {
        max_body_bytes: 1024 * 1024,
        max_batch_nodes: 10,
    };
    let app = router(
        AppState::new(ledger.clone(), auth, limits),
        Handling {
            timeout,
            max_concurrency: 64,
        },
    );
    Api { app, ledger }
}

fn api() -> Api {
    api_with(true, Duration::from_secs(30))
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(c) = ctype {
        b = b.header(header::CONTENT_TYPE, c);
    }
    let resp = app
        .clone()
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    (
        status,
        to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec(),
    )
}

async fn post(app: &Router, body: &[u8]) -> (StatusCode, Value) {
    let (s, b) = call(
        app,
        "POST",
        "/v1/nodes",
        Some(ADMIN),
        Some("application/json"),
        body.to_vec(),
    )
    .await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn now() -> Timestamp {
    evl_ledger::time::now()
}

fn size(api: &Api) -> u64 {
    api.ledger.reader().tree_size().unwrap().get()
}

#[tokio::test]
async fn append_prove_get_and_dedup() {
    let a = api();
    let (s, v) = post(&a.app, br#"{"type":"x-t","n":1}"#).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["created"], json!(true));
    let r: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
    a.ledger.trust_root().verify_receipt(&r, now()).unwrap();
    // Same node again, other whitespace: 200, same leaf.
    let (s, v) = post(&a.app, br#"{ "n" : 1, "type" : "x-t" }"#).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["created"], json!(false));
    assert_eq!(v["receipt"]["leaf_index"], json!(0));
    // Batch.
    let (s, v) = post(
        &a.app,
        br#"{"nodes":[{"type":"x-t","n":2},{"type":"x-t","n":1}]}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    assert_eq!(v["results"][1]["created"], json!(false));
    // Read back.
    let id = r.node_id.to_string();
    let (s, b) = call(&a.app, "GET", &format!("/v1/nodes/{id}"), None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, br#"{"n":1,"type":"x-t"}"#);
    let (s, b) = call(
        &a.app,
        "GET",
        &format!("/v1/nodes/{id}/proof"),
        None,
        None,
        vec![],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r2 = Receipt::from_json(&b).unwrap();
    assert_eq!(r2.inclusion.size().get(), 2);
    a.ledger.trust_root().verify_receipt(&r2, now()).unwrap();
    let (s, b) = call(&a.app, "GET", "/v1/checkpoint", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8(b).unwrap().starts_with("api.test/log\n2\n"));
    let (s, b) = call(
        &a.app,
        "GET",
        "/v1/proofs/consistency?from=1&to=2",
        None,
        None,
        vec![],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    evl_sdk::ConsistencyProof::from_json(&b).unwrap();
    // Anchors (admin).
    let (s, _) = call(&a.app, "POST", "/v1/anchors", Some(ADMIN), None, vec![]).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = call(&a.app, "GET", "/v1/anchors/latest", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    let anchor = evl_sdk::Anchor::from_json(&b).unwrap();
    a.ledger.trust_root().verify_anchor(&anchor).unwrap();
    let (s, b) = call(&a.app, "GET", "/v1/anchors", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()[0]["tree_size"],
        json!(2)
    );
    let (s, _) = call(&a.app, "GET", "/v1/anchors/0", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(&a.app, "GET", "/v1/anchors/7", None, None, vec![]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Metrics reflect it.
    let (_, b) = call(&a.app, "GET", "/metrics", None, None, vec![]).await;
    let m = String::from_utf8(b).unwrap();
    assert!(m.contains("evl_artifacts_total 2\n"), "{m}");
    assert!(m.contains("evl_nodes_appended_total 2\n"));
    assert!(m.contains("evl_append_latency_seconds_count 3\n"));
}

#[tokio::test]
async fn bad_input_gets_its_code_and_stores_nothing() {
    let a = api();
    post(&a.app, br#"{"type":"x-t","keep":true}"#).await;
    let deep = "[".repeat(100) + &"]".repeat(100);
    let cases: Vec<(&str, Vec<u8>, Option<&str>, StatusCode, &str)> = vec![
        (
            "malformed",
            b"{\"type\":".to_vec(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "JSON_SYNTAX",
        ),
        (
            "duplicate key",
            br#"{"type":"x-t","a":1,"a":2}"#.to_vec(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "DUPLICATE_KEY",
        ),
        (
            "huge number",
            br#"{"type":"x-t","a":9007199254740993}"#.to_vec(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "NUMBER_OUT_OF_RANGE",
        ),
        (
            "100-deep",
            deep.into_bytes(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "JSON_TOO_DEEP",
        ),
        (
            "lone surrogate",
            br#"{"type":"x-t","a":"\ud800"}"#.to_vec(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "INVALID_UTF8",
        ),
        (
            "unknown type",
            br#"{"type":"nope/v1"}"#.to_vec(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "TYPE_UNKNOWN",
        ),
        (
            "not an object",
            b"[1]".to_vec(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "NODE_INVALID",
        ),
        (
            "bad node in batch",
            br#"{"nodes":[{"type":"x-t","ok":1},{"x":1}]}"#.to_vec(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "NODE_INVALID",
        ),
        (
            "batch too big",
            format!("{{\"nodes\":[{}]}}", [r#"{"type":"x-t"}"#; 11].join(",")).into_bytes(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "TOO_MANY_NODES",
        ),
        (
            "empty batch",
            br#"{"nodes":[]}"#.to_vec(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            "2 MB body",
            vec![b' '; 2 * 1024 * 1024],
            Some("application/json"),
            StatusCode::PAYLOAD_TOO_LARGE,
            "TOO_LARGE",
        ),
        (
            "text/plain",
            br#"{"type":"x-t"}"#.to_vec(),
            Some("text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "no content type",
            br#"{"type":"x-t"}"#.to_vec(),
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "invalid utf-8",
            b"{\"type\":\"x-\xff\"}".to_vec(),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "INVALID_UTF8",
        ),
    ];
    for (name, body, ctype, status, code) in cases {
        let (s, b) = call(&a.app, "POST", "/v1/nodes", Some(ADMIN), ctype, body).await;
        let v: Value = serde_json::from_slice(&b)
            .unwrap_or_else(|_| panic!("{name}: body is not JSON: {:?}", String::from_utf8_lossy(&b)));
        assert_eq!((s, v["code"].as_str().unwrap()), (status, code), "{name}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}");
        assert_eq!(size(&a), 1, "{name}: something was stored");
    }
    for (uri, status, code) in [
        (
            "/v1/nodes/sha256:zz",
            StatusCode::BAD_REQUEST,
            "NODE_ID_MALFORMED",
        ),
        (
            "/v1/nodes/not-an-id/proof",
            StatusCode::BAD_REQUEST,
            "NODE_ID_MALFORMED",
        ),
        (
            &format!("/v1/nodes/sha256:{}", "0".repeat(64)) as &str,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            "/v1/proofs/consistency?from=0&to=1",
            StatusCode::BAD_REQUEST,
            "OUT_OF_RANGE",
        ),
        (
            "/v1/proofs/consistency?from=1&to=99",
            StatusCode::BAD_REQUEST,
            "OUT_OF_RANGE",
        ),
        (
            "/v1/proofs/consistency?from=x",
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        ("/v1/anchors/abc", StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        ("/v1/anchors/latest", StatusCode::NOT_FOUND, "NOT_FOUND"),
        ("/no/such/route", StatusCode::NOT_FOUND, "NOT_FOUND"),
    ] {
        let (s, b) = call(&a.app, "GET", uri, None, None, vec![]).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!((s, v["code"].as_str().unwrap()), (status, code), "{uri}: {v}");
    }
    let (s, b) = call(&a.app, "DELETE", "/v1/nodes", Some(ADMIN), None, vec![]).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["code"],
        json!("METHOD_NOT_ALLOWED")
    );
    let (s, _) = call(&a.app, "GET", "/health/readiness", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(size(&a), 1);
}

#[tokio::test]
async fn tokens_and_scopes() {
    let a = api_with(false, Duration::from_secs(30));
    let node = br#"{"type":"x-t"}"#.to_vec();
    let code = |b: &[u8]| {
        serde_json::from_slice::<Value>(b).unwrap()["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (s, b) = call(
        &a.app,
        "POST",
        "/v1/nodes",
        None,
        Some("application/json"),
        node.clone(),
    )
    .await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
    let (s, _) = call(
        &a.app,
        "POST",
        "/v1/nodes",
        Some("wrong-token-000000000"),
        Some("application/json"),
        node.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, b) = call(
        &a.app,
        "POST",
        "/v1/nodes",
        Some(READER),
        Some("application/json"),
        node.clone(),
    )
    .await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let (s, _) = call(&a.app, "POST", "/v1/anchors", Some(READER), None, vec![]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&a.app, "GET", "/v1/checkpoint", None, None, vec![]).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "reads are private when public_reads = false"
    );
    let (s, _) = call(&a.app, "GET", "/v1/checkpoint", Some(READER), None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(&a.app, "GET", "/health/liveness", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK, "health is always public");
    assert_eq!(size(&a), 0);
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

#[tokio::test]
async fn slow_requests_time_out_with_408() {
    let app = harden(
        Router::new().route("/slow", axum::routing::get(slow)),
        Handling {
            timeout: Duration::from_millis(50),
            max_concurrency: 4,
        },
    );
    let t = std::time::Instant::now();
    let (s, b) = call(&app, "GET", "/slow", None, None, vec![]).await;
    assert_eq!(s, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["code"],
        json!("TIMEOUT")
    );
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "the timeout did not cut the request short"
    );
}

async fn boom() -> &'static str {
    panic!("boom")
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_and_the_server_stays_up() {
    let app = harden(
        Router::new()
            .route("/boom", axum::routing::get(boom))
            .route("/ok", axum::routing::get(|| async { "ok" })),
        Handling {
            timeout: Duration::from_secs(5),
            max_concurrency: 4,
        },
    );
    let (s, b) = call(&app, "GET", "/boom", None, None, vec![]).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["code"],
        json!("INTERNAL")
    );
    let (s, _) = call(&app, "GET", "/ok", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn openapi_documents_exactly_the_routes() {
    let a = api();
    let (s, b) = call(&a.app, "GET", "/openapi.json", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    let doc: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(doc["openapi"], json!("3.1.0"));
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    routes.sort();
    assert_eq!(documented, routes);
    // Every documented route is served (not the 404/405 fallbacks).
    for (m, p) in ROUTES {
        let uri = p
            .replace("{node_id}", &format!("sha256:{}", "0".repeat(64)))
            .replace("{seq}", "0");
        let uri = if *p == "/v1/proofs/consistency" {
            format!("{uri}?from=1&to=1")
        } else {
            uri
        };
        let (s, b) = call(
            &a.app,
            &m.to_uppercase(),
            &uri,
            Some(ADMIN),
            Some("application/json"),
            b"{}".to_vec(),
        )
        .await;
        let message = serde_json::from_slice::<Value>(&b)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned));
        assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{m} {p}");
        assert!(
            !message.unwrap_or_default().contains("no such route"),
            "{m} {p} fell through to the 404 fallback"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_and_packs_stream_and_verify() {
    let api = api();
    let docs: Vec<String> = (0..300)
        .map(|i| {
            format!(
                r#"{{"type":"{}","i":{i}}}"#,
                if i % 2 == 0 { "x-a" } else { "x-b" }
            )
        })
        .collect();
    let refs: Vec<&[u8]> = docs.iter().map(|d| d.as_bytes()).collect();
    let out = api.ledger.append_json(&refs).unwrap();
    let id = out[7].receipt.node_id;
    // No anchor yet: 404 with advice.
    let (s, b) = call(&api.app, "GET", "/v1/export", None, None, vec![]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{}", String::from_utf8_lossy(&b));
    api.ledger.anchor().unwrap();
    let trust = api.ledger.trust_root().clone();

    let (s, full) = call(&api.app, "GET", "/v1/export", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    let r = trust.verify_pack(&full).unwrap().into_inner();
    assert_eq!(r.export.as_ref().unwrap().included, 300);
    // The same bytes as the library writes.
    let mut direct = Vec::new();
    api.ledger
        .export(
            &evl_ledger::pack::ExportRequest::default(),
            &mut direct,
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(full, direct);

    let (s, filtered) = call(&api.app, "GET", "/v1/export?type=x-a", None, None, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    let e = trust.verify_pack(&filtered).unwrap().into_inner().export.unwrap();
    assert_eq!((e.included, e.omitted), (150, 150));

    let (s, pack) = call(
        &api.app,
        "GET",
        &format!("/v1/nodes/{id}/pack"),
        None,
        None,
        vec![],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r = trust.verify_pack(&pack).unwrap().into_inner();
    assert_eq!(r.nodes[0].id, id);

    for (uri, status, code) in [
        ("/v1/export?to_anchor=9", StatusCode::NOT_FOUND, "NOT_FOUND"),
        ("/v1/export?bogus=1", StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        (
            "/v1/export?prev_export=nope",
            StatusCode::BAD_REQUEST,
            "NODE_ID_MALFORMED",
        ),
        (
            "/v1/nodes/sha256:00/pack",
            StatusCode::BAD_REQUEST,
            "NODE_ID_MALFORMED",
        ),
    ] {
        let (s, b) = call(&api.app, "GET", uri, None, None, vec![]).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!((s, v["code"].as_str().unwrap()), (status, code), "{uri}");
    }
    let late = api.ledger.append_json(&[br#"{"type":"x-late"}"#]).unwrap()[0]
        .receipt
        .node_id;
    let (s, b) = call(
        &api.app,
        "GET",
        &format!("/v1/nodes/{late}/pack"),
        None,
        None,
        vec![],
    )
    .await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "OUT_OF_RANGE")
    );
}

#[tokio::test]
async fn as_of_anchor_reads_answer_as_the_log_stood_then() {
    let a = api();
    let (_, v) = post(&a.app, br#"{"type":"x-t","n":1}"#).await;
    let early = v["receipt"]["node_id"].as_str().unwrap().to_owned();
    a.ledger.anchor().unwrap(); // anchor 0 at size 1
    let (_, v) = post(&a.app, br#"{"type":"x-t","n":2}"#).await;
    let late = v["receipt"]["node_id"].as_str().unwrap().to_owned();
    a.ledger.anchor().unwrap(); // anchor 1 at size 2
    post(&a.app, br#"{"type":"x-t","n":3}"#).await;
    let get = |uri: String| {
        let app = a.app.clone();
        async move {
            let (s, b) = call(&app, "GET", &uri, None, None, vec![]).await;
            (s, b)
        }
    };
    // The early node as of anchor 0: its bytes; a receipt at size 1 with anchor 0's checkpoint.
    let (s, b) = get(format!("/v1/nodes/{early}?as_of_anchor=0")).await;
    assert_eq!(
        (s, b.as_slice()),
        (StatusCode::OK, &br#"{"n":1,"type":"x-t"}"#[..])
    );
    let (s, b) = get(format!("/v1/nodes/{early}/proof?as_of_anchor=0")).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let r = Receipt::from_json(&b).unwrap();
    assert_eq!(r.inclusion.size().get(), 1);
    let anchor0 = a.ledger.reader().anchors().unwrap().remove(0).anchor.unwrap();
    assert_eq!(r.checkpoint, anchor0.payload().checkpoint);
    a.ledger.trust_root().verify_receipt(&r, now()).unwrap();
    // As of anchor 1 (size 2): proven at size 2, not at the current size 3.
    let (s, b) = get(format!("/v1/nodes/{early}/proof?as_of_anchor=1")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(Receipt::from_json(&b).unwrap().inclusion.size().get(), 2);
    // The late node did not exist as of anchor 0.
    for uri in [
        format!("/v1/nodes/{late}?as_of_anchor=0"),
        format!("/v1/nodes/{late}/proof?as_of_anchor=0"),
    ] {
        let (s, b) = get(uri.clone()).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            (s, v["code"].as_str().unwrap()),
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            "{uri}"
        );
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("not in the log as of anchor 0 (tree size 1)"),
            "{v}"
        );
    }
    let (s, _) = get(format!("/v1/nodes/{late}?as_of_anchor=1")).await;
    assert_eq!(s, StatusCode::OK);
    // Bad parameters.
    for (uri, status, code) in [
        (
            format!("/v1/nodes/{early}?as_of_anchor=7"),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            format!("/v1/nodes/{early}/proof?as_of_anchor=7"),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            format!("/v1/nodes/{early}?as_of_anchor=x"),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            format!("/v1/nodes/{early}/proof?as_of_anchor=0&size=1"),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
    ] {
        let (s, b) = get(uri.clone()).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!((s, v["code"].as_str().unwrap()), (status, code), "{uri}");
    }
    // The parameter is documented.
    let (_, b) = get("/openapi.json".into()).await;
    let doc: Value = serde_json::from_slice(&b).unwrap();
    for path in ["/v1/nodes/{node_id}", "/v1/nodes/{node_id}/proof"] {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        assert!(params.iter().any(|p| p["name"] == "as_of_anchor"), "{path}");
    }
}

#[tokio::test]
async fn damaged_content_is_never_served_and_recorded_loss_is_410() {
    let store = MemoryStore::new();
    let ledger = Ledger::init(
        store.clone(),
        SecretKey::from_seed(ORIGIN, &[3u8; 32]).unwrap(),
        Timestamp::parse("2020-01-01T00:00:00Z").unwrap(),
        AnchorPolicy::default(),
    )
    .unwrap();
    let app = router(
        AppState::new(
            ledger.clone(),
            Auth::new(&AuthConfig::default(), Vec::new()),
            LimitsConfig::default(),
        ),
        Handling {
            timeout: Duration::from_secs(30),
            max_concurrency: 8,
        },
    );
    let out = ledger
        .append_json(&[br#"{"type":"x-t","n":1}"#, br#"{"type":"x-t","n":2}"#])
        .unwrap();
    let (id, other) = (out[0].receipt.node_id, out[1].receipt.node_id);
    store.corrupt_node(0, br#"{"n":9,"type":"x-t"}"#.to_vec());
    let get = |uri: String| {
        let app = app.clone();
        async move {
            let (s, b) = call(&app, "GET", &uri, None, None, vec![]).await;
            (s, serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null))
        }
    };
    let (s, v) = get(format!("/v1/nodes/{id}")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("NODE_ID_MISMATCH")),
        "{v}"
    );
    let m = ledger
        .mark_corrupted(evl_sdk::LeafIndex::new(0), None, "test")
        .unwrap();
    let (s, v) = get(format!("/v1/nodes/{id}")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::GONE, Some("CORRUPTED")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().contains(&m.record.id.to_string()),
        "{v}"
    );
    // Its proof and the other node are unaffected.
    let (s, _) = get(format!("/v1/nodes/{id}/proof")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get(format!("/v1/nodes/{other}")).await;
    assert_eq!(s, StatusCode::OK);
}

/// A `corruption/v1` record makes reads of the node it names fail: an append-only token may not
/// append one (403, nothing stored); an admin token may.
#[tokio::test]
async fn corruption_records_need_the_admin_scope() {
    let a = api();
    let (s, v) = post(&a.app, br#"{"type":"x-t","n":1}"#).await;
    assert_eq!(s, StatusCode::CREATED);
    let r: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
    let c = evl_sdk::corruption::Corruption::new(
        r.node_id,
        r.leaf_index,
        "claimed lost",
        Timestamp::parse("2021-01-01T00:00:00Z").unwrap(),
        evl_sdk::corruption::Damage::Node,
    )
    .unwrap();
    let body = c.to_node().bytes().to_vec();
    for tok in [APPENDER, READER] {
        let (s, b) = call(
            &a.app,
            "POST",
            "/v1/nodes",
            Some(tok),
            Some("application/json"),
            body.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(
            serde_json::from_slice::<Value>(&b).unwrap()["code"],
            json!("FORBIDDEN")
        );
    }
    // In a batch too.
    let batch = format!(
        r#"{{"nodes":[{{"type":"x-t","n":2}},{}]}}"#,
        String::from_utf8(body.clone()).unwrap()
    );
    let (s, _) = call(
        &a.app,
        "POST",
        "/v1/nodes",
        Some(APPENDER),
        Some("application/json"),
        batch.into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(size(&a), 1, "nothing appended");
    let (s, _) = call(
        &a.app,
        "GET",
        &format!("/v1/nodes/{}", r.node_id),
        None,
        None,
        vec![],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &a.app,
        "POST",
        "/v1/nodes",
        Some(ADMIN),
        Some("application/json"),
        body,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(size(&a), 2);
}

/// Store failures reach HTTP with their own status and code, through the group commit too.
#[test]
fn store_errors_map_to_their_statuses() {
    use evl_ledger::LedgerError;
    use evl_ledger::store::{StoreError, Version};
    use evl_server::http::error::ApiError;
    let cases: Vec<(LedgerError, u16)> = vec![
        (LedgerError::Store(StoreError::Full("no space".into())), 507),
        (LedgerError::Store(StoreError::Unavailable("closed".into())), 503),
        (LedgerError::Store(StoreError::Damaged("page".into())), 500),
        (
            LedgerError::Store(StoreError::Conflict {
                expected: Version::default(),
                found: Version {
                    tree_size: 1,
                    last_anchor: None,
                },
            }),
            409,
        ),
        (
            LedgerError::Group(std::sync::Arc::new(LedgerError::Integrity {
                code: evl_sdk::ErrorCode::MerkleMismatch,
                message: "right edge".into(),
            })),
            409,
        ),
        (
            LedgerError::Group(std::sync::Arc::new(LedgerError::Store(StoreError::Full(
                "x".into(),
            )))),
            507,
        ),
    ];
    for (e, status) in cases {
        let code = e.code();
        let a: ApiError = e.into();
        assert_eq!(a.status().as_u16(), status, "{code}");
    }
}
