//! The proof formats added with packs and bundles (SPEC.md §9.5, §9.6, §15): multi-leaf proof
//! JSON, C2SP tlog-proof text and `proof.bundle/v1` / `score.manifest/v1` nodes. Arbitrary
//! bytes are parsed and, when they parse, verified against a fixed tree and trust root: no
//! panic, and nothing verifies that the fixed tree does not contain.
#![no_main]
use evl_sdk::multiproof::MultiProof;
use evl_sdk::tlog_proof::TlogProof;
use evl_sdk::{Digest, MemoryTree, ProofBundle, SecretKey, Timestamp, TreeHead, TrustRoot, TrustedKey};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const ORIGIN: &str = "fuzz.example/log";

struct Fixture {
    tree: MemoryTree,
    trust: TrustRoot,
    at: Timestamp,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = SecretKey::from_seed(ORIGIN, &[7u8; 32]).expect("key");
        let at = Timestamp::parse("2026-01-01T00:00:00Z").expect("time");
        let trust = TrustRoot::new(
            ORIGIN,
            vec![TrustedKey::new(key.public().clone(), at, None, false)],
        )
        .expect("trust root");
        let tree = MemoryTree::from_leaf_hashes((0..37u64).map(|i| evl_sdk::leaf_hash(&i.to_be_bytes())));
        Fixture { tree, trust, at }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let head = TreeHead::new(f.tree.size(), f.tree.root());
    match mode % 3 {
        0 => {
            if let Ok(p) = MultiProof::from_json(rest) {
                let leaves: Vec<_> = p
                    .indices()
                    .iter()
                    .map(|i| (*i, evl_sdk::leaf_hash(&i.get().to_be_bytes())))
                    .collect();
                if head.verify_multi(&leaves, &p).is_ok() {
                    // Only the tree's own leaves can verify.
                    assert!(leaves.iter().all(|(i, _)| i.get() < 37));
                }
                let _ = MultiProof::from_json(&p.to_json()).expect("round trip");
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(p) = TlogProof::parse(text)
            {
                assert_eq!(
                    TlogProof::parse(&p.to_text()).ok().map(|q| q.to_text()),
                    Some(p.to_text())
                );
                let leaf = Digest::from_bytes([0u8; 32]);
                let _ = f.trust.verify_tlog_proof(&p, &leaf, f.at);
            }
        }
        _ => {
            if let Ok(b) = ProofBundle::from_json(rest) {
                let _ = f.trust.verify_bundle(&b);
            }
        }
    }
});
