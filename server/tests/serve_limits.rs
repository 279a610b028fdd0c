//! The connection layer of the real `evl serve` under abuse: idle, half-sent and keep-alive
//! connections are closed after `server.header_read_timeout_ms`; a connection beyond
//! `server.max_connections` gets `503 TOO_MANY_CONNECTIONS` (JSON) and health checks keep being
//! answered; requests hyper rejects before the router (bad framing, a header too large) carry
//! the JSON `{"code","message"}` body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn code(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body).map_or_else(
        |_| format!("<not JSON: {body:?}>"),
        |v| v["code"].as_str().unwrap_or("").to_owned(),
    )
}

/// Whether the server closed `s` (a read returns 0 bytes) within `within`.
fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut b = [0u8; 512];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue, // a response (e.g. 408) before the close
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn idle_and_slow_connections_are_closed_and_health_checks_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Serve::start_with_env(
        &dir.path().join("data"),
        &["--origin", "limits.test/log"],
        &[("EVL_SERVER__HEADER_READ_TIMEOUT_MS", "800")],
    );
    // 200 idle connections (no bytes) and 20 that send half a header.
    let mut idle: Vec<TcpStream> = (0..200).map(|_| TcpStream::connect(&srv.addr).unwrap()).collect();
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(&srv.addr).unwrap();
            s.write_all(b"GET /health/liveness HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    // Health checks are answered meanwhile.
    let t = Instant::now();
    let (s, body) = common::http_exchange(
        &srv.addr,
        b"GET /health/readiness HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(s, 200, "{body}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // Every idle and half-sent connection is closed by the server after the timeout.
    for c in idle.iter_mut().chain(slow.iter_mut()) {
        assert!(
            closed_by_server(c, Duration::from_secs(10)),
            "a connection stayed open"
        );
    }
    // A keep-alive connection is closed once idle for the timeout, after its answer.
    let mut ka = TcpStream::connect(&srv.addr).unwrap();
    ka.write_all(b"GET /health/liveness HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(
        closed_by_server(&mut ka, Duration::from_secs(10)),
        "the keep-alive connection stayed open"
    );
}

#[test]
fn a_connection_beyond_the_limit_gets_503_json() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Serve::start_with_env(
        &dir.path().join("data"),
        &["--origin", "limits.test/log"],
        &[
            ("EVL_SERVER__MAX_CONNECTIONS", "5"),
            ("EVL_SERVER__HEADER_READ_TIMEOUT_MS", "20000"),
        ],
    );
    // The start-up probe's connection counts until the server has seen it close.
    std::thread::sleep(Duration::from_millis(500));
    let held: Vec<TcpStream> = (0..5).map(|_| TcpStream::connect(&srv.addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300)); // let the server accept them
    let (s, body) = common::http_exchange(&srv.addr, b"GET /health/liveness HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(s, 503, "{body}");
    assert_eq!(code(&body), "TOO_MANY_CONNECTIONS");
    drop(held);
    // Once they are gone, connections are served again.
    let t = Instant::now();
    loop {
        let (s, body) = common::http_exchange(
            &srv.addr,
            b"GET /health/liveness HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        if s == 200 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "still refused: {s} {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn protocol_errors_carry_the_json_body() {
    let dir = tempfile::tempdir().unwrap();
    let srv = common::Serve::start(&dir.path().join("data"), &["--origin", "limits.test/log"]);
    let (s, body) = common::http_exchange(&srv.addr, b"THIS IS NOT HTTP\r\n\r\n");
    assert_eq!(s, 400, "{body}");
    assert_eq!(code(&body), "BAD_REQUEST");
    let big = format!(
        "GET /health/liveness HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let (s, body) = common::http_exchange(&srv.addr, big.as_bytes());
    assert_eq!(s, 431, "{body}");
    assert_eq!(code(&body), "HEADER_TOO_LARGE");
    // A normal request is untouched.
    let (s, body) = common::http_exchange(
        &srv.addr,
        b"GET /health/liveness HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(s, 200, "{body}");
}
