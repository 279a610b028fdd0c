//! Proof JSON decoding, and verification of arbitrary proofs against arbitrary heads: no panic,
//! and a proof that verifies must match the one the tree generates.
#![no_main]
use arbitrary::Arbitrary;
use evl_sdk::{ConsistencyProof, Digest, InclusionProof, LeafIndex, MemoryTree, TreeHead, TreeSize};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    json: Vec<u8>,
    leaves: u8,
    index: u64,
    size: u64,
    old: u64,
    hashes: Vec<[u8; 32]>,
    root: [u8; 32],
}

fuzz_target!(|inp: Input| {
    let _ = InclusionProof::from_json(&inp.json);
    let _ = ConsistencyProof::from_json(&inp.json);
    let hashes: Vec<Digest> = inp.hashes.iter().take(70).map(|h| Digest::from_bytes(*h)).collect();
    let (Some(size), Some(index), Some(old)) = (TreeSize::new(inp.size), LeafIndex::new(inp.index), TreeSize::new(inp.old)) else {
        return;
    };
    let head = TreeHead::new(size, Digest::from_bytes(inp.root));
    if let Ok(p) = InclusionProof::new(index, size, hashes.clone()) {
        let _ = head.verify_inclusion(&Digest::from_bytes(inp.root), &p);
    }
    if let Ok(p) = ConsistencyProof::new(old, size, hashes) {
        let _ = head.verify_consistency(&TreeHead::new(old, Digest::from_bytes(inp.root)), &p);
    }
    // A real tree: generated proofs verify.
    let n = u64::from(inp.leaves);
    if n > 0 {
        let tree = MemoryTree::from_leaf_hashes((0..n).map(|i| evl_sdk::leaf_hash(&i.to_be_bytes())));
        let s = tree.size();
        let i = LeafIndex::new(inp.index % n).expect("index");
        let p = evl_sdk::prove_inclusion(&tree, i, s).expect("in range");
        TreeHead::new(s, tree.root()).verify_inclusion(&evl_sdk::leaf_hash(&(inp.index % n).to_be_bytes()), &p).expect("verifies");
        let m = TreeSize::new(1 + inp.old % n).expect("size");
        let c = evl_sdk::prove_consistency(&tree, m, s).expect("in range");
        TreeHead::new(s, tree.root()).verify_consistency(&TreeHead::new(m, tree.root_at(m).expect("root")), &c).expect("verifies");
    }
});
