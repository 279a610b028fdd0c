//! `evl get|prove --as-of-anchor SEQ` on the real binary: answers as the log stood at an anchor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{evl, ok, text};
use evl_sdk::{Receipt, TrustRoot};
use std::path::Path;

fn append(data: &Path, dir: &Path, doc: &str) -> String {
    let f = dir.join("doc.json");
    std::fs::write(&f, doc).unwrap();
    let o = ok(data, &["append", f.to_str().unwrap(), "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v[0]["receipt"]["node_id"].as_str().unwrap().to_owned()
}

#[test]
fn get_and_prove_as_of_an_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&data, &["init", "--origin", "asof.test/log"]);
    let early = append(&data, tmp.path(), r#"{"type":"x-t","n":1}"#);
    ok(&data, &["anchor", "create"]); // anchor 0 at size 1
    let late = append(&data, tmp.path(), r#"{"type":"x-t","n":2}"#);
    ok(&data, &["anchor", "create"]); // anchor 1 at size 2
    append(&data, tmp.path(), r#"{"type":"x-t","n":3}"#);

    let o = ok(&data, &["get", &early, "--as-of-anchor", "0"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        r#"{"n":1,"type":"x-t"}"#
    );
    let o = ok(&data, &["prove", &early, "--as-of-anchor", "0"]);
    let r = Receipt::from_json(String::from_utf8_lossy(&o.stdout).trim().as_bytes()).unwrap();
    assert_eq!(r.inclusion.size().get(), 1);
    let trust = TrustRoot::from_json(&std::fs::read(data.join("trust-root.json")).unwrap()).unwrap();
    trust.verify_receipt(&r, evl_ledger::time::now()).unwrap();
    let o = ok(&data, &["prove", &early, "--as-of-anchor", "1"]);
    let r = Receipt::from_json(String::from_utf8_lossy(&o.stdout).trim().as_bytes()).unwrap();
    assert_eq!(r.inclusion.size().get(), 2);
    // Without --as-of-anchor: the latest tree (size 3).
    let o = ok(&data, &["prove", &early]);
    let r = Receipt::from_json(String::from_utf8_lossy(&o.stdout).trim().as_bytes()).unwrap();
    assert_eq!(r.inclusion.size().get(), 3);

    // The late node was appended after anchor 0.
    for cmd in ["get", "prove"] {
        let o = evl(&data, &[cmd, &late, "--as-of-anchor", "0"]);
        assert!(!o.status.success());
        let t = text(&o);
        assert!(
            t.contains("NOT_FOUND") && t.contains("not in the log as of anchor 0 (tree size 1)"),
            "{cmd}: {t}"
        );
    }
    ok(&data, &["get", &late, "--as-of-anchor", "1"]);
    // No such anchor; --size and --as-of-anchor together are a usage error.
    let t = text(&evl(&data, &["get", &early, "--as-of-anchor", "9"]));
    assert!(
        t.contains("NOT_FOUND") && t.contains("no anchor with seq 9"),
        "{t}"
    );
    let o = evl(&data, &["prove", &early, "--as-of-anchor", "0", "--size", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // --help explains it.
    let t = text(&ok(&data, &["get", "--help"]));
    assert!(t.contains("--as-of-anchor <SEQ>"), "{t}");
}
