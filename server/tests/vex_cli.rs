//! `evl vex ingest | consensus | replay` on the real binary and a temporary data directory,
//! with the real samples in `tests/data/vex/` (sources and licences in its README.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{evl, text};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn samples() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/vex"))
}

fn ok_json(data: &Path, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--output", "json"]);
    let o = evl(data, &a);
    assert!(
        o.status.success(),
        "evl {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn ingest_consensus_and_replay_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let o = evl(&data, &["init", "--origin", "cli.test/log"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = samples();
    let doc1 = s.join("openvex/vexctl__document1.vex.json");
    let doc2 = s.join("openvex/vexctl__document2.vex.json");
    let redhat = s.join("csaf/redhat__cve-2023-38545.json");
    let files = [
        doc1.to_str().unwrap(),
        doc2.to_str().unwrap(),
        redhat.to_str().unwrap(),
    ];

    let mut args = vec!["vex", "ingest"];
    args.extend(files);
    let v = ok_json(&data, &args);
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[0]["format"], json!("openvex"));
    assert_eq!(v[2]["format"], json!("csaf"));
    assert_eq!(v[0]["document"]["created"], json!(true));
    assert_eq!(v[0]["statements"].as_array().unwrap().len(), 1);
    // Table output; a mirror stores nothing new.
    let o = evl(&data, &["vex", "ingest", files[0]]);
    assert!(o.status.success());
    let t = text(&o);
    assert!(
        t.contains("openvex 0.2.0") && t.contains("already present"),
        "{t}"
    );

    // Consensus for G2.
    let v = ok_json(
        &data,
        &[
            "vex",
            "consensus",
            "--vuln",
            "CVE-1234-5678",
            "--product",
            "pkg:apk/wolfi/bash@1.0.0",
            "--as-of",
            "2026-01-01T00:00:00Z",
        ],
    );
    assert_eq!(v["consensus"]["status"], json!("fixed"));
    assert_eq!(v["consensus"]["contributors"].as_array().unwrap().len(), 1);
    let id = v["receipt"]["node_id"].as_str().unwrap().to_owned();
    let o = evl(
        &data,
        &[
            "vex",
            "consensus",
            "--vuln",
            "CVE-1234-5678",
            "--product",
            "pkg:apk/wolfi/bash@1.0.0",
            "--mode",
            "lattice",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("status       fixed"), "{}", text(&o));

    // Replay: table and JSON.
    let o = evl(&data, &["vex", "replay", &id]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).starts_with("OK consensus"), "{}", text(&o));
    let v = ok_json(&data, &["vex", "replay", &id]);
    assert_eq!(v["ok"], json!(true));
    assert_eq!(v["statements"].as_array().unwrap().len(), 2);

    // A tampered copy, logged through the generic append: exit 1, CONSENSUS_MISMATCH, /status.
    let node = ok_json(&data, &["get", &id]);
    let mut bad = node["node"].clone();
    bad["status"] = json!("affected");
    let bad_file = tmp.path().join("bad.json");
    std::fs::write(&bad_file, bad.to_string()).unwrap();
    let v = ok_json(&data, &["append", bad_file.to_str().unwrap()]);
    let bad_id = v[0]["receipt"]["node_id"].as_str().unwrap().to_owned();
    let o = evl(&data, &["vex", "replay", &bad_id]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains("CONSENSUS_MISMATCH at /status"), "{t}");
    let o = evl(&data, &["vex", "replay", &bad_id, "--output", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["code"], json!("CONSENSUS_MISMATCH"));
    assert_eq!(v["pointer"], json!("/status"));

    // Errors: not VEX, bad --as-of, bad --mode, unknown node.
    let not_vex = tmp.path().join("x.json");
    std::fs::write(&not_vex, br#"{"hello":1}"#).unwrap();
    let o = evl(&data, &["vex", "ingest", not_vex.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("NOT_VEX"), "{}", text(&o));
    let o = evl(
        &data,
        &[
            "vex",
            "consensus",
            "--vuln",
            "CVE-1",
            "--product",
            "p",
            "--as-of",
            "soon",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("--as-of"), "{}", text(&o));
    let o = evl(
        &data,
        &[
            "vex",
            "consensus",
            "--vuln",
            "CVE-1",
            "--product",
            "p",
            "--mode",
            "majority",
        ],
    );
    assert!(!o.status.success());
    let o = evl(&data, &["vex", "replay", &format!("sha256:{}", "0".repeat(64))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("NOT_FOUND"), "{}", text(&o));

    // The store still verifies.
    let o = evl(&data, &["verify", "--mode", "full"]);
    assert!(o.status.success(), "{}", text(&o));
}
