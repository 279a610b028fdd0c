//! What the tests that run the real `evl` binary share (`mod common;` in each).
#![allow(dead_code)] // each test crate uses its own subset

use std::path::Path;
use std::process::{Command, Output};

/// Runs `evl --data DATA ARGS...` with only the environment the test means: an `EVL_`
/// variable of the caller's would be read as configuration (e.g. by `evl diagnostics`).
pub fn evl(data: &Path, args: &[&str]) -> Output {
    evl_env(data, &[], args)
}

/// [`evl`] with `EVL_*` configuration variables set (e.g. `EVL_STORE__URL`).
pub fn evl_env(data: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_evl"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EVL_")) {
        c.env_remove(k);
    }
    c.arg("--data")
        .arg(data)
        .args(args)
        .env("EVL_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// [`evl_env`], asserting it succeeded.
pub fn ok_env(data: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let o = evl_env(data, env, args);
    assert!(o.status.success(), "evl {args:?}: {}", text(&o));
    o
}

/// A second front end's data directory `to`: the key, public key, trust root and admin token
/// of `from` (a ledger's data directory).
pub fn copy_keys(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in [
        "signing-key.pem",
        "public-key.pem",
        "trust-root.json",
        "admin-token",
    ] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
}

/// Stdout then stderr, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `evl` and asserts it succeeded.
pub fn ok(data: &Path, args: &[&str]) -> Output {
    let o = evl(data, args);
    assert!(o.status.success(), "evl {args:?}: {}", text(&o));
    o
}

/// Stdout parsed as JSON.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A running `evl serve` on a free loopback port, started with only the environment the test
/// means. Its standard error goes to a file that is printed when the server fails to start, and
/// again when the test panics while the server is alive (so a failing test shows why).
pub struct Serve {
    pub child: std::process::Child,
    pub addr: String,
    stderr: std::path::PathBuf,
}

impl Serve {
    /// Starts `evl --data DATA serve --listen 127.0.0.1:PORT ARGS...` and waits until it
    /// accepts connections (at most 90 s; a cold debug binary on a loaded machine is slow).
    pub fn start(data: &Path, args: &[&str]) -> Serve {
        Self::start_with_env(data, args, &[])
    }

    /// [`Serve::start`] with `EVL_*` configuration variables set for the server.
    pub fn start_with_env(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Serve {
        use std::time::{Duration, Instant};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let stderr = data.with_extension("serve-stderr.log");
        let mut c = Command::new(env!("CARGO_BIN_EXE_evl"));
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EVL_")) {
            c.env_remove(k);
        }
        let child = c
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", &addr])
            .args(args)
            .env("EVL_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut s = Serve { child, addr, stderr };
        let t = Instant::now();
        while std::net::TcpStream::connect(&s.addr).is_err() {
            if let Some(st) = s.child.try_wait().unwrap() {
                panic!(
                    "evl serve exited with {st} before listening:\n{}",
                    s.stderr_text()
                );
            }
            assert!(
                t.elapsed() < Duration::from_secs(90),
                "evl serve did not start within 90 s:\n{}",
                s.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    /// What the server wrote to standard error so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- evl serve stderr ---\n{}", self.stderr_text());
        }
    }
}

/// Sends the raw HTTP/1.1 `request` on a new connection and reads until the server closes it:
/// (status, body). Use `Connection: close` unless the test wants the server to close it.
pub fn http_exchange(addr: &str, request: &[u8]) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    // Write while reading: a server may answer (413, 400) and close before it has read a
    // large body, and the answer must still be read. A write cut off by that close is expected.
    let mut w = s.try_clone().unwrap();
    let request = request.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&request);
    });
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let _ = writer.join();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
