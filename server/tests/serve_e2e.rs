//! End-to-end: the real `evl serve` binary on a free loopback port, driven by the SDK client
//! and by raw HTTP requests; it stays healthy after bad input and shuts down gracefully.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_client::Client;
use evl_sdk::{NodeId, TreeHead, TreeSize, TrustRoot};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

/// The server and the temporary directory that holds its data (dropped after the server).
struct Server {
    srv: common::Serve,
    addr: String,
    dir: tempfile::TempDir,
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Serve::start(&dir.path().join("data"), &["--origin", "e2e.test/log"]);
    let addr = srv.addr.clone();
    Server { srv, addr, dir }
}

fn post(addr: &str, token: &str, ctype: &str, body: &[u8]) -> (u16, String) {
    let mut req = format!(
        "POST /v1/nodes HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    common::http_exchange(addr, &req)
}

fn get(addr: &str, path: &str) -> (u16, String) {
    common::http_exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_server_with_sdk_client_and_raw_requests() {
    let srv = start();
    let data = srv.dir.path().join("data");
    let token = std::fs::read_to_string(data.join("admin-token"))
        .unwrap()
        .trim()
        .to_owned();
    let trust = TrustRoot::from_json(&std::fs::read(data.join("trust-root.json")).unwrap()).unwrap();
    let client = Client::new(&format!("http://{}", srv.addr), Some(&token), trust.clone()).unwrap();

    // The SDK client verifies every response.
    let a = client.append(br#"{"type":"x-e2e","n":1}"#).await.unwrap();
    assert!(a.created);
    let b = client
        .append_batch(&[br#"{"type":"x-e2e","n":2}"#, br#"{"type":"x-e2e","n":1}"#])
        .await
        .unwrap();
    assert!(b[0].created && !b[1].created);
    let id: NodeId = a.receipt.node_id;
    assert_eq!(
        client.get(&id).await.unwrap().bytes(),
        br#"{"n":1,"type":"x-e2e"}"#
    );
    let proof = client.prove(&id, None).await.unwrap();
    assert_eq!(proof.head.size().get(), 2);
    let cp = client.checkpoint().await.unwrap();
    let old = TreeHead::new(TreeSize::new(1).unwrap(), a.evidence.head.root());
    client.consistency(&old, &cp.checkpoint.head()).await.unwrap();
    client.create_anchor().await.unwrap();
    client.append(br#"{"type":"x-e2e","n":3}"#).await.unwrap();
    client.create_anchor().await.unwrap();
    let chain = client.anchors().await.unwrap();
    assert_eq!(chain.anchors.len(), 2);

    // Raw bad input: each gets its code, nothing is stored, the server stays healthy.
    let deep = "[".repeat(100) + &"]".repeat(100);
    let big = vec![b' '; 20 * 1024 * 1024];
    let cases: [(&[u8], &str, u16, &str); 6] = [
        (b"{not json", "application/json", 400, "JSON_SYNTAX"),
        (
            br#"{"type":"x-e2e","a":1,"a":2}"#,
            "application/json",
            400,
            "DUPLICATE_KEY",
        ),
        (
            br#"{"type":"x-e2e","a":123456789012345678901234567890}"#,
            "application/json",
            400,
            "NUMBER_OUT_OF_RANGE",
        ),
        (deep.as_bytes(), "application/json", 400, "JSON_TOO_DEEP"),
        (&big, "application/json", 413, "TOO_LARGE"),
        (
            br#"{"type":"x-e2e"}"#,
            "text/plain",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
    ];
    for (body, ctype, status, code) in cases {
        let (s, b) = post(&srv.addr, &token, ctype, body);
        assert_eq!(s, status, "{code}: {b}");
        assert!(b.contains(&format!("\"code\":\"{code}\"")), "{code}: {b}");
    }
    for (path, status, code) in [
        ("/nope", 404, "NOT_FOUND"),
        ("/v1/nodes/sha256:xyz", 400, "NODE_ID_MALFORMED"),
    ] {
        let (s, b) = get(&srv.addr, path);
        assert_eq!(s, status, "{path}: {b}");
        assert!(b.contains(code), "{path}: {b}");
    }
    let (s, b) = get(&srv.addr, "/health/readiness");
    assert_eq!(s, 200, "{b}");
    let (_, status) = get(&srv.addr, "/status");
    assert!(
        status.contains("\"tree_size\":3"),
        "nothing extra stored: {status}"
    );
    let (_, metrics) = get(&srv.addr, "/metrics");
    assert!(metrics.contains("evl_artifacts_total 3"));

    // Graceful shutdown on SIGTERM: the process exits 0.
    let mut srv = srv;
    let pid = srv.srv.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let t = Instant::now();
    loop {
        if let Some(st) = srv.srv.child.try_wait().unwrap() {
            assert!(st.success(), "evl serve exited with {st}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "no graceful shutdown");
        std::thread::sleep(Duration::from_millis(50));
    }
}
