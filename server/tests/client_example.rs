//! The SDK client's documented example, run against an in-process `evl serve`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

include!("../../sdk/client/src/example.rs");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_client_example_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut cfg = evl_server::config::Config {
        data: tmp.path().join("data"),
        ..Default::default()
    };
    cfg.server.listen = addr.clone();
    tokio::spawn(async move { evl_server::serve::run(cfg, "example.test/log").await.unwrap() });
    let t = std::time::Instant::now();
    while tokio::net::TcpStream::connect(&addr).await.is_err() {
        assert!(t.elapsed() < std::time::Duration::from_secs(20));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let token = std::fs::read_to_string(tmp.path().join("data/admin-token")).unwrap();
    let trust = std::fs::read(tmp.path().join("data/trust-root.json")).unwrap();
    let index = append_one(&format!("http://{addr}"), token.trim(), &trust)
        .await
        .unwrap();
    assert_eq!(index, 0);
}
