//! HTTP request bodies: `POST /v1/nodes` with arbitrary bytes through the real router. Never a
//! 5xx; every error is `{"code","message"}`; a rejected request stores nothing.
#![no_main]
use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_server::config::{AuthConfig, LimitsConfig, Scope, TokenConfig};
use evl_server::http::{AppState, Handling, auth::Auth, router};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tower::ServiceExt as _;

struct World {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    ledger: Ledger<MemoryStore>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let key = evl_sdk::SecretKey::from_seed("fuzz.example/http", &[5; 32]).expect("key");
        let ledger = Ledger::init(MemoryStore::new(), key, evl_sdk::Timestamp::from_unix(0).expect("t"), AnchorPolicy::default()).expect("init");
        let auth = Auth::new(
            &AuthConfig { public_reads: true, tokens: vec![TokenConfig { name: "f".into(), token: "fuzz-token-0123456789".into(), scopes: vec![Scope::Append] }] },
            Vec::new(),
        );
        let app = router(
            AppState::new(ledger.clone(), auth, LimitsConfig { max_body_bytes: 1 << 20, max_batch_nodes: 50 }),
            Handling { timeout: std::time::Duration::from_secs(30), max_concurrency: 8 },
        );
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        World { rt, app, ledger }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let before = w.ledger.reader().tree_size().expect("size").get();
    let req = Request::builder()
        .method("POST")
        .uri("/v1/nodes")
        .header(header::AUTHORIZATION, "Bearer fuzz-token-0123456789")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(data.to_vec()))
        .expect("request");
    let (status, body) = w.rt.block_on(async {
        let resp = w.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        (status, to_bytes(resp.into_body(), usize::MAX).await.expect("body"))
    });
    assert!(!status.is_server_error(), "{status}: {}", String::from_utf8_lossy(&body));
    let after = w.ledger.reader().tree_size().expect("size").get();
    if status.is_client_error() {
        let v: serde_json::Value = serde_json::from_slice(&body).expect("error body is JSON");
        assert!(v["code"].is_string() && v["message"].is_string());
        assert_eq!(before, after, "a rejected request stored something");
    } else {
        assert!(status.is_success());
    }
});
