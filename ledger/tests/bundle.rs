//! Appending `score.manifest/v1` and `proof.bundle/v1` nodes runs their trust-free checks
//! (SPEC.md §15.6): good ones are appended and their receipts verify, a bad one rejects its whole
//! batch with its code, and a bundle signed by a key the log does not trust is still accepted
//! (trust is the verifier's decision, not the log's).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger, LedgerError};
use evl_sdk::bundle::{ManifestInput, ProofBundle, ScoreManifest};
use evl_sdk::{ErrorCode, Node, SecretKey, Timestamp, sha256};
use serde_json::json;

const ORIGIN: &str = "test.example/log";

fn key() -> SecretKey {
    SecretKey::from_seed(ORIGIN, &[9u8; 32]).unwrap()
}
fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}
fn ledger() -> Ledger<MemoryStore> {
    Ledger::init(
        MemoryStore::new(),
        key(),
        ts("2020-01-01T00:00:00Z"),
        AnchorPolicy::default(),
    )
    .unwrap()
}
fn manifest() -> Node {
    ScoreManifest::build(
        vec![
            ManifestInput::new("sbom", "sbom", sha256(b"sbom")).unwrap(),
            ManifestInput::new("rules", "rules", sha256(b"rules")).unwrap(),
            ManifestInput::new("nvd", "feed", sha256(b"feed")).unwrap(),
        ],
        Some(ts("2026-01-01T00:00:00Z")),
    )
    .unwrap()
}
fn bundle(k: &SecretKey) -> Node {
    ProofBundle::build(
        &manifest(),
        json!({"kind": "score", "value": 7}),
        k,
        ts("2026-01-02T00:00:00Z"),
    )
    .unwrap()
}

fn rejected(l: &Ledger<MemoryStore>, nodes: Vec<Node>) -> (usize, ErrorCode) {
    match l.append(nodes).unwrap_err() {
        LedgerError::Bundle { index, error } => (index, error.code()),
        other => panic!("not a bundle rejection: {other}"),
    }
}

#[test]
fn good_manifests_and_bundles_are_appended() {
    let l = ledger();
    let out = l.append(vec![manifest(), bundle(&key())]).unwrap();
    assert!(out.iter().all(|o| o.created));
    for o in &out {
        l.trust_root()
            .verify_receipt(&o.receipt, evl_ledger::time::now())
            .unwrap();
    }
    // The stored bundle verifies against the log's own trust root.
    let (_, bytes) = l.reader().node(&out[1].receipt.node_id).unwrap();
    let b = ProofBundle::from_json(&bytes).unwrap();
    let report = l.trust_root().verify_bundle(&b).unwrap();
    assert_eq!(report.manifest, out[0].receipt.node_id);
    // Trust is the verifier's call: a bundle by another key passes the append checks.
    let stranger = SecretKey::from_seed(ORIGIN, &[1u8; 32]).unwrap();
    assert!(l.append(vec![bundle(&stranger)]).unwrap()[0].created);
}

#[test]
fn a_bad_manifest_or_bundle_rejects_the_whole_batch() {
    let l = ledger();
    let blob = Node::from_json(br#"{"type":"blob/v1","data":"x"}"#).unwrap();

    let mut m = manifest().value();
    m["root"] = json!(sha256(b"wrong").to_base64());
    let bad_manifest = Node::from_value(m).unwrap();
    assert_eq!(
        rejected(&l, vec![blob.clone(), bad_manifest]),
        (1, ErrorCode::BundleInvalid)
    );

    let mut b = bundle(&key()).value();
    b["proofs"][0]["hashes"][0] = json!(sha256(b"x").to_base64());
    assert_eq!(
        rejected(&l, vec![Node::from_value(b).unwrap(), blob.clone()]),
        (0, ErrorCode::MerkleMismatch)
    );

    let mut b = bundle(&key()).value();
    b["result"]["value"] = json!(8);
    let e = l.append(vec![Node::from_value(b).unwrap()]).unwrap_err();
    assert_eq!(e.code(), "BUNDLE_INVALID");
    assert!(
        e.to_string().contains("nothing of this batch was appended"),
        "{e}"
    );

    // The same through append_json, and nothing was stored by any of the rejections.
    let mut b = bundle(&key()).value();
    b["attestation"]["payloadType"] = json!("application/vnd.evidence-ledger.anchor.v1+json");
    let doc = serde_json::to_vec(&b).unwrap();
    assert_eq!(l.append_json(&[&doc]).unwrap_err().code(), "ENVELOPE_MALFORMED");
    assert_eq!(l.reader().tree_size().unwrap().get(), 0);
}
