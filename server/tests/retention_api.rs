//! Redacted content over HTTP: `GET /v1/nodes/{id}` is 410 `REDACTED` naming the record, the
//! proof is still served, and clients cannot append `redaction/v1` records (400 `NODE_INVALID`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use evl_ledger::retention::{RetentionPolicy, RetentionRule};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::redaction::{MANUAL_POLICY, Redaction};
use evl_sdk::{SecretKey, Timestamp};
use evl_server::config::{AuthConfig, LimitsConfig, Scope, TokenConfig};
use evl_server::http::{AppState, Handling, auth::Auth, router};
use serde_json::Value;
use tower::ServiceExt as _;

const ADMIN: &str = "admin-token-0123456789";

async fn call(app: &Router, method: &str, uri: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let b = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

#[tokio::test]
async fn redacted_content_is_410_and_records_cannot_be_posted() {
    let ledger = Ledger::init(
        MemoryStore::new(),
        SecretKey::from_seed("retention.api/log", &[4u8; 32]).unwrap(),
        Timestamp::parse("2020-01-01T00:00:00Z").unwrap(),
        AnchorPolicy::default(),
    )
    .unwrap();
    let auth = Auth::new(
        &AuthConfig {
            public_reads: true,
            tokens: vec![TokenConfig {
                name: "admin".into(),
                token: ADMIN.into(),
                scopes: vec![Scope::Read, Scope::Append, Scope::Admin],
            }],
        },
        Vec::new(),
    );
    let app = router(
        AppState::new(ledger.clone(), auth, LimitsConfig::default()),
        Handling {
            timeout: std::time::Duration::from_secs(30),
            max_concurrency: 64,
        },
    );
    let out = ledger
        .append_json(&[
            br#"{"type":"blob/v1","data":"secret"}"#,
            br#"{"type":"x-t","n":2}"#,
        ])
        .unwrap();
    let (id, other) = (out[0].receipt.node_id, out[1].receipt.node_id);
    ledger.anchor().unwrap();
    let policy = RetentionPolicy {
        rules: vec![RetentionRule {
            node_type: "blob/v1".into(),
            max_age_days: 0,
        }],
        ..RetentionPolicy::default()
    };
    let now = evl_ledger::time::now();
    let plan = ledger.reader().retention_plan(&policy, now).unwrap();
    let reqs: Vec<_> = plan.candidates.iter().filter_map(|c| c.request()).collect();
    let done = ledger.redact(&reqs, now).unwrap();

    let (s, v) = call(&app, "GET", &format!("/v1/nodes/{id}"), vec![]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::GONE, Some("REDACTED")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains(&done[0].record.to_string()),
        "{v}"
    );
    let (s, v) = call(&app, "GET", &format!("/v1/nodes/{id}/proof"), vec![]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = call(&app, "GET", &format!("/v1/nodes/{other}"), vec![]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(&app, "GET", &format!("/v1/nodes/{}", done[0].record), vec![]).await;
    assert_eq!(s, StatusCode::OK);

    let forged = Redaction::new(other, 1, "x-t", "r", MANUAL_POLICY, now)
        .unwrap()
        .to_node();
    let (s, v) = call(&app, "POST", "/v1/nodes", forged.bytes().to_vec()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("NODE_INVALID")),
        "{v}"
    );
}
