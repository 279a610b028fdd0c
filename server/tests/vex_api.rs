//! VEX routes with `Router::oneshot` (no socket): ingest of the 35 real samples, consensus for
//! sample groups, the consensus projection with history, bad input, and replay of every
//! consensus node these tests create, both from the server's log and from nodes fetched over
//! HTTP with the pure SDK (what an offline verifier does).
//!
//! Samples are read from `tests/data/vex/` in the repository; their sources and licences
//! are in its README.md and SOURCES.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::vex::{CONSENSUS_TYPE, VexError};
use evl_sdk::{Node, NodeId, Receipt, SecretKey, Timestamp};
use evl_server::config::{AuthConfig, LimitsConfig, Scope, TokenConfig};
use evl_server::http::{AppState, Handling, auth::Auth, router};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use tower::ServiceExt as _;

const ADMIN: &str = "admin-token-0123456789";
const READER: &str = "reader-token-0123456789";
const ORIGIN: &str = "vex-api.test/log";
const G2: (&str, &str) = ("CVE-1234-5678", "pkg:apk/wolfi/bash@1.0.0");
const G4: (&str, &str) = (
    "CVE-2025-54388",
    "pkg:golang/github.com/inspektor-gadget/inspektor-gadget@v0.41.0",
);

struct Api {
    app: Router,
    ledger: Ledger<MemoryStore>,
}

fn api() -> Api {
    let key = SecretKey::from_seed(ORIGIN, &[4u8; 32]).unwrap();
    let ledger = Ledger::init(
        MemoryStore::new(),
        key,
        Timestamp::parse("2020-01-01T00:00:00Z").unwrap(),
        AnchorPolicy::default(),
    )
    .unwrap();
    let auth = Auth::new(
        &AuthConfig {
            public_reads: true,
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
            ],
        },
        Vec::new(),
    );
    let limits = LimitsConfig {
        max_body_bytes: 4 * 1024 * 1024,
        max_batch_nodes: 10,
    };
    let app = router(
        AppState::new(ledger.clone(), auth, limits),
        Handling {
            timeout: Duration::from_secs(60),
            max_concurrency: 64,
        },
    );
    Api { app, ledger }
}

fn samples() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/vex"))
}

fn sample_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for fmt in ["openvex", "csaf", "cyclonedx"] {
        for e in std::fs::read_dir(samples().join(fmt)).unwrap() {
            out.push(e.unwrap().path());
        }
    }
    out.sort();
    assert_eq!(out.len(), 35);
    out
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
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
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn post_doc(app: &Router, raw: &[u8]) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        "/v1/vex/documents",
        Some(ADMIN),
        Some("application/json"),
        raw.to_vec(),
    )
    .await
}

async fn post_consensus(app: &Router, body: Value) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        "/v1/vex/consensus",
        Some(ADMIN),
        Some("application/json"),
        body.to_string().into_bytes(),
    )
    .await
}

async fn get_consensus(app: &Router, query: &str) -> (StatusCode, Value) {
    call(
        app,
        "GET",
        &format!("/v1/vex/consensus?{query}"),
        None,
        None,
        vec![],
    )
    .await
}

fn q(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn now() -> Timestamp {
    evl_ledger::time::now()
}

fn size(a: &Api) -> u64 {
    a.ledger.reader().tree_size().unwrap().get()
}

async fn ingest(a: &Api, rels: &[&str]) {
    for rel in rels {
        let (s, v) = post_doc(&a.app, &std::fs::read(samples().join(rel)).unwrap()).await;
        assert_eq!(s, StatusCode::CREATED, "{rel}: {v}");
    }
}

/// Fetches a node's canonical bytes over HTTP (`GET /v1/nodes/{id}`).
async fn fetch(app: &Router, id: &NodeId) -> Node {
    let resp = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("/v1/nodes/{id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{id}");
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    Node::from_canonical_with_id(&bytes, *id).unwrap()
}

/// Replays a consensus node the way an offline verifier does: fetch it and every node it links
/// over HTTP, then run the pure SDK replay.
async fn replay_over_http(app: &Router, id: &NodeId) -> Result<(), VexError> {
    let node = fetch(app, id).await;
    let mut policy = None;
    let mut issuers = None;
    let mut statements = Vec::new();
    for l in node.links() {
        let n = fetch(app, &l.id).await;
        match l.rel.as_str() {
            "policy" => policy = Some(n),
            "issuers" => issuers = Some(n),
            _ => statements.push(n),
        }
    }
    evl_sdk::vex::replay(&node, &statements, &policy.unwrap(), &issuers.unwrap()).map(|_| ())
}

/// Replays a consensus node natively from the server's log and over HTTP.
async fn replays(a: &Api, id: &NodeId) {
    evl_ledger::vex::replay_from_log(&a.ledger.reader(), id).unwrap_or_else(|e| panic!("replay {id}: {e}"));
    replay_over_http(&a.app, id).await.unwrap();
}

#[tokio::test]
async fn every_sample_is_ingested_and_a_mirror_returns_200() {
    let a = api();
    let trust = a.ledger.trust_root().clone();
    for f in sample_files() {
        let raw = std::fs::read(&f).unwrap();
        let expected = evl_ledger::vex::ingest(&raw).unwrap();
        let (s, v) = post_doc(&a.app, &raw).await;
        assert_eq!(s, StatusCode::CREATED, "{}: {v}", f.display());
        assert_eq!(v["created"], json!(true));
        assert_eq!(v["format"], json!(expected.format().as_str()));
        let doc: Receipt = serde_json::from_value(v["document"].clone()).unwrap();
        assert_eq!(doc.node_id, expected.blob().id());
        trust.verify_receipt(&doc, now()).unwrap();
        let stmts = v["statements"].as_array().unwrap();
        assert_eq!(stmts.len(), expected.statements().len(), "{}", f.display());
        for (r, n) in stmts.iter().zip(expected.statements()) {
            let receipt: Receipt = serde_json::from_value(r["receipt"].clone()).unwrap();
            assert_eq!(receipt.node_id, n.id());
            trust.verify_receipt(&receipt, now()).unwrap();
        }
        let codes: Vec<&str> = expected.findings().iter().map(|f| f.code().as_str()).collect();
        let got: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert_eq!(got, codes, "{}", f.display());
    }
    // Mirrored copies vote once: nothing new, 200.
    let before = size(&a);
    for f in sample_files() {
        let (s, v) = post_doc(&a.app, &std::fs::read(&f).unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{}", f.display());
        assert_eq!(v["created"], json!(false));
        assert!(
            v["statements"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["created"] == json!(false))
        );
    }
    assert_eq!(size(&a), before);
}

#[tokio::test]
async fn documents_bad_input_gets_its_code_and_stores_nothing() {
    let a = api();
    let vexctl = std::fs::read(samples().join("openvex/vexctl__document1.vex.json")).unwrap();
    for (body, ctype, token, status, code) in [
        (
            &br#"{"hello":1}"#[..],
            Some("application/json"),
            Some(ADMIN),
            400,
            "NOT_VEX",
        ),
        (br#"[1,2]"#, Some("application/json"), Some(ADMIN), 400, "NOT_VEX"),
        (
            br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#,
            Some("application/json"),
            Some(ADMIN),
            400,
            "NOT_VEX",
        ),
        (
            b"{nope",
            Some("application/json"),
            Some(ADMIN),
            400,
            "JSON_SYNTAX",
        ),
        (
            br#"{"a":1,"a":1}"#,
            Some("application/json"),
            Some(ADMIN),
            400,
            "DUPLICATE_KEY",
        ),
        (
            &vexctl,
            Some("text/plain"),
            Some(ADMIN),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (&vexctl, Some("application/json"), Some(READER), 403, "FORBIDDEN"),
        (&vexctl, Some("application/json"), None, 401, "UNAUTHORIZED"),
    ] {
        let (s, v) = call(&a.app, "POST", "/v1/vex/documents", token, ctype, body.to_vec()).await;
        assert_eq!(s.as_u16(), status, "{v}");
        assert_eq!(v["code"], json!(code), "{v}");
        assert!(v["message"].is_string());
    }
    assert_eq!(size(&a), 0);
}

#[tokio::test]
async fn g2_consensus_is_recorded_projected_with_history_and_replays() {
    let a = api();
    ingest(
        &a,
        &[
            "openvex/vexctl__document1.vex.json",
            "openvex/vexctl__document2.vex.json",
        ],
    )
    .await;
    let (s, v) = post_consensus(
        &a.app,
        json!({"vuln": G2.0, "product": G2.1, "as_of": "2026-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = &v["consensus"];
    assert_eq!(c["type"], json!(CONSENSUS_TYPE));
    assert_eq!(c["status"], json!("fixed"));
    assert_eq!(c["mode"], json!("WeightedVote"));
    assert_eq!(c["as_of"], json!("2026-01-01T00:00:00Z"));
    assert_eq!(c["contributors"].as_array().unwrap().len(), 1);
    assert_eq!(c["conflict"]["has_conflict"], json!(false));
    let receipt: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
    a.ledger.trust_root().verify_receipt(&receipt, now()).unwrap();
    let first = receipt.node_id;
    assert_eq!(Node::from_value(c.clone()).unwrap().id(), first);
    replays(&a, &first).await;

    // The projection: the latest for the key, history empty.
    let query = format!("vuln={}&product={}", q(G2.0), q(G2.1));
    let (s, v) = get_consensus(&a.app, &query).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["node_id"], json!(first.to_string()));
    assert_eq!(v["leaf_index"], json!(receipt.leaf_index));
    assert_eq!(v["history"], json!([]));
    assert_eq!(v["consensus"]["status"], json!("fixed"));

    // A Lattice consensus (offset as_of) and a second WeightedVote one.
    let (s, v) = post_consensus(
        &a.app,
        json!({"vuln": G2.0, "product": G2.1, "mode": "Lattice", "as_of": "2026-01-01T02:00:00.5+02:00"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["consensus"]["as_of"], json!("2026-01-01T00:00:00Z"));
    let lattice: NodeId = v["receipt"]["node_id"].as_str().unwrap().parse().unwrap();
    replays(&a, &lattice).await;
    let (s, v) = post_consensus(&a.app, json!({"vuln": G2.0, "product": G2.1})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let latest: NodeId = v["receipt"]["node_id"].as_str().unwrap().parse().unwrap();
    replays(&a, &latest).await;

    let (_, v) = get_consensus(&a.app, &query).await;
    assert_eq!(v["node_id"], json!(latest.to_string()));
    assert_eq!(v["history"], json!([lattice.to_string(), first.to_string()]));
    let (_, v) = get_consensus(&a.app, &format!("{query}&mode=WeightedVote")).await;
    assert_eq!(v["node_id"], json!(latest.to_string()));
    assert_eq!(v["history"], json!([first.to_string()]));
    let (_, v) = get_consensus(&a.app, &format!("{query}&mode=Lattice")).await;
    assert_eq!(v["node_id"], json!(lattice.to_string()));
    assert_eq!(v["history"], json!([]));
    let (s, v) = get_consensus(&a.app, &format!("{query}&mode=HighestWeight")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["code"], json!("NOT_FOUND"));
}

#[tokio::test]
async fn g4_inspektor_gadget_and_every_mode_replay() {
    let a = api();
    for f in sample_files() {
        let (s, _) = post_doc(&a.app, &std::fs::read(&f).unwrap()).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, v) = post_consensus(
        &a.app,
        json!({"vuln": G4.0, "product": G4.1, "as_of": "2026-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = &v["consensus"];
    assert_eq!(c["status"], json!("not_affected"));
    assert_eq!(c["justification"], json!("vulnerable_code_not_in_execute_path"));
    assert_eq!(c["contributors"].as_array().unwrap().len(), 1);
    assert_eq!(c["ignored"][0]["reason"], json!("superseded"));
    let id: NodeId = v["receipt"]["node_id"].as_str().unwrap().parse().unwrap();
    replays(&a, &id).await;
    for mode in ["HighestWeight", "WeightedVote", "Lattice", "AuthoritativeFirst"] {
        for g in [G2, G4] {
            let (s, v) = post_consensus(&a.app, json!({"vuln": g.0, "product": g.1, "mode": mode})).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            let id: NodeId = v["receipt"]["node_id"].as_str().unwrap().parse().unwrap();
            replays(&a, &id).await;
        }
    }
    // Every consensus node in the log replays.
    let all = a.ledger.reader().nodes_of_type(CONSENSUS_TYPE, None).unwrap();
    assert_eq!(all.len(), 9);
    for (_, n) in all {
        replays(&a, &n.id()).await;
    }
}

#[tokio::test]
async fn a_key_without_statements_has_no_status_but_is_recorded() {
    let a = api();
    let (s, v) = post_consensus(
        &a.app,
        json!({"vuln": "CVE-2024-0001", "product": "pkg:npm/example@1.0.0", "as_of": "2026-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["consensus"]["status"], Value::Null);
    assert_eq!(v["consensus"]["confidence_ppm"], json!(0));
    // The default policy and the empty registry were appended first, then the consensus.
    assert_eq!(v["consensus"]["checkpoint"]["tree_size"], json!(2));
    assert_eq!(size(&a), 3);
    let id: NodeId = v["receipt"]["node_id"].as_str().unwrap().parse().unwrap();
    replays(&a, &id).await;
}

#[tokio::test]
async fn consensus_bad_input_gets_its_code() {
    let a = api();
    let absent = format!("sha256:{}", "0".repeat(64));
    for (body, status, code) in [
        (json!({"product": G2.1}), 400, "BAD_REQUEST"),
        (
            json!({"vuln": G2.0, "product": G2.1, "extra": 1}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"vuln": G2.0, "product": G2.1, "mode": "Majority"}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"vuln": G2.0, "product": G2.1, "as_of": "yesterday"}),
            400,
            "TIME_MALFORMED",
        ),
        (
            json!({"vuln": G2.0, "product": G2.1, "as_of": "2026-01-01T00:00:00"}),
            400,
            "TIME_MALFORMED",
        ),
        (
            json!({"vuln": G2.0, "product": G2.1, "policy": "sha256:xyz"}),
            400,
            "NODE_ID_MALFORMED",
        ),
        (
            json!({"vuln": G2.0, "product": G2.1, "policy": absent}),
            404,
            "NOT_FOUND",
        ),
        (json!({"vuln": "", "product": G2.1}), 400, "VEX_INVALID"),
        (
            json!({"vuln": G2.0, "product": "p".repeat(2000)}),
            400,
            "VEX_INVALID",
        ),
    ] {
        let (s, v) = post_consensus(&a.app, body.clone()).await;
        assert_eq!(s.as_u16(), status, "{body}: {v}");
        assert_eq!(v["code"], json!(code), "{body}: {v}");
    }
    let (s, v) = call(
        &a.app,
        "POST",
        "/v1/vex/consensus",
        Some(ADMIN),
        Some("application/json"),
        b"{\"vuln\":".to_vec(),
    )
    .await;
    assert_eq!((s.as_u16(), v["code"].clone()), (400, json!("JSON_SYNTAX")));
    let (s, v) = call(
        &a.app,
        "POST",
        "/v1/vex/consensus",
        Some(READER),
        Some("application/json"),
        json!({"vuln": G2.0, "product": G2.1}).to_string().into_bytes(),
    )
    .await;
    assert_eq!((s.as_u16(), v["code"].clone()), (403, json!("FORBIDDEN")));
    // A NodeId that is in the log but not a policy.
    ingest(&a, &["openvex/vexctl__document1.vex.json"]).await;
    let stmt = a
        .ledger
        .reader()
        .latest_of_type(evl_sdk::vex::STATEMENT_TYPE)
        .unwrap()
        .unwrap()
        .1
        .id();
    let (s, v) = post_consensus(
        &a.app,
        json!({"vuln": G2.0, "product": G2.1, "policy": stmt.to_string()}),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["code"].clone()),
        (400, json!("VEX_INVALID")),
        "{v}"
    );
    // GET: missing parameters, bad mode, nothing recorded.
    for (query, status, code) in [
        ("vuln=CVE-1234-5678", 400, "BAD_REQUEST"),
        ("vuln=CVE-1234-5678&product=x&mode=nope", 400, "BAD_REQUEST"),
        ("vuln=CVE-1234-5678&product=x", 404, "NOT_FOUND"),
    ] {
        let (s, v) = get_consensus(&a.app, query).await;
        assert_eq!(s.as_u16(), status, "{query}: {v}");
        assert_eq!(v["code"], json!(code), "{query}");
    }
}

#[tokio::test]
async fn a_tampered_consensus_node_does_not_replay() {
    let a = api();
    ingest(
        &a,
        &[
            "openvex/vexctl__document1.vex.json",
            "openvex/vexctl__document2.vex.json",
        ],
    )
    .await;
    let (_, v) = post_consensus(
        &a.app,
        json!({"vuln": G2.0, "product": G2.1, "as_of": "2026-01-01T00:00:00Z"}),
    )
    .await;
    let mut c = v["consensus"].clone();
    c["status"] = json!("affected");
    // Anyone with the append scope can log a node of this type through /v1/nodes.
    let (s, v) = call(
        &a.app,
        "POST",
        "/v1/nodes",
        Some(ADMIN),
        Some("application/json"),
        c.to_string().into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id: NodeId = v["receipt"]["node_id"].as_str().unwrap().parse().unwrap();
    let e = replay_over_http(&a.app, &id).await.unwrap_err();
    assert_eq!(e.code().as_str(), "CONSENSUS_MISMATCH");
    assert_eq!(
        e,
        VexError::Mismatch {
            pointer: "/status".into()
        }
    );
    let e = evl_ledger::vex::replay_from_log(&a.ledger.reader(), &id).unwrap_err();
    assert_eq!(e.code(), "CONSENSUS_MISMATCH");
}
