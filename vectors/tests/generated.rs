//! The generated vectors are frozen (regenerating gives identical bytes) and every one gets the
//! verdict it records from the SDK.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("generated")
}

#[test]
fn generated_vectors_are_frozen() {
    if let Err(e) = evl_vectors::check_frozen(&dir()) {
        panic!("{e}");
    }
}

#[test]
fn every_generated_vector_gets_its_recorded_verdict() {
    let mut by_kind = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for (rel, bytes) in evl_vectors::generate() {
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let want = v["error"].as_str().map(str::to_owned);
        let got = evl_vectors::verify_file(&v).0.map(|c| c.as_str().to_owned());
        assert_eq!(got, want, "{rel}: {}", v["desc"]);
        let e = by_kind.entry(v["kind"].as_str().unwrap().to_owned()).or_default();
        if want.is_none() { e.0 += 1 } else { e.1 += 1 }
    }
    // Every family has positive and negative cases.
    for (kind, (pos, neg)) in &by_kind {
        assert!(*pos > 0 && *neg > 0, "{kind}: {pos} positive, {neg} negative");
    }
    assert_eq!(by_kind.len(), 13);
}
