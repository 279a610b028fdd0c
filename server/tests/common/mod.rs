//! What the tests that run the real `evl` binary share (`mod common;` in each).
#![allow(dead_code)] // each test crate uses its own subset

use std::path::Path;
use std::process::{Command, Output};

/// Runs `evl --data DATA ARGS...` with only the environment the test means: an `EVL_`
/// variable of the caller's would be read as configuration (e.g. by `evl diagnostics`).
pub fn evl(data: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_evl"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EVL_")) {
        c.env_remove(k);
    }
    c.arg("--data")
        .arg(data)
        .args(args)
        .env("EVL_LOG", "warn")
        .output()
        .unwrap()
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
