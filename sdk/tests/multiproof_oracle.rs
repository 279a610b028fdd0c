//! rs_merkle as an independent oracle for multi-leaf proofs (SPEC.md §9.5), and a record of why
//! the SDK does not use it to verify untrusted proofs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_sdk::{
    Digest, LeafIndex, MemoryTree, MultiProof, TreeHead, TreeSize, leaf_hash, multiproof_len, node_hash,
    prove_multi,
};
use proptest::prelude::*;
use rs_merkle::{MerkleProof, MerkleTree};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// rs_merkle with RFC 6962 interior hashing. Leaves are given already hashed (0x00 prefix, ours);
/// a pair is SHA-256(0x01 ‖ left ‖ right); a node without a right sibling is promoted unchanged.
#[derive(Clone)]
struct Rfc6962;
impl rs_merkle::Hasher for Rfc6962 {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        *evl_sdk::sha256(data).as_bytes()
    }
    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => *node_hash(&Digest::from_bytes(*left), &Digest::from_bytes(*r)).as_bytes(),
            None => *left,
        }
    }
}

fn leaves(n: usize) -> Vec<Digest> {
    (0..n as u64).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}
fn raw(l: &[Digest]) -> Vec<[u8; 32]> {
    l.iter().map(|d| *d.as_bytes()).collect()
}
fn size(n: usize) -> TreeSize {
    TreeSize::new(n as u64).unwrap()
}
fn indices(t: &[usize]) -> Vec<LeafIndex> {
    t.iter().map(|&i| LeafIndex::new(i as u64).unwrap()).collect()
}

/// The claim the oracle rests on: bottom-up pairing with an odd last node promoted unchanged
/// builds the RFC 6962 tree (the left subtree of every split is perfect, and the promoted node
/// is the root of the right edge's next smaller perfect subtree). Checked for every size ≤ 300
/// and a few around powers of two up to 2^12.
#[test]
fn promoting_odd_nodes_gives_the_rfc6962_root() {
    let sizes = (1..=300).chain([511, 512, 513, 1023, 1025, 4095, 4096, 4097]);
    let all = leaves(4097);
    for n in sizes {
        let l = &all[..n];
        let ours = MemoryTree::from_leaf_hashes(l.iter().copied()).root();
        let theirs = MerkleTree::<Rfc6962>::from_leaves(&raw(l)).root().unwrap();
        assert_eq!(theirs, *ours.as_bytes(), "size {n}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Same roots, and rs_merkle's multi-proof carries exactly the same hashes as ours: the same
    /// number and the same multiset. Only the order differs (rs_merkle: level by level from the
    /// leaves, left to right within a level; ours: depth first, left to right), so each format
    /// needs its own verifier. rs_merkle accepts our hashes once reordered into its order.
    #[test]
    fn rs_merkle_multiproofs_have_our_hashes(
        n in 1usize..300,
        pick in proptest::collection::vec(any::<bool>(), 1..40),
        fallback in any::<usize>(),
    ) {
        let l = leaves(n);
        let mut t: Vec<usize> = (0..n).filter(|&i| pick[i % pick.len()]).collect();
        if t.is_empty() {
            t.push(fallback % n);
        }
        let tree = MemoryTree::from_leaf_hashes(l.iter().copied());
        let rs = MerkleTree::<Rfc6962>::from_leaves(&raw(&l));
        prop_assert_eq!(rs.root().unwrap(), *tree.root().as_bytes());

        let ours = prove_multi(&tree, &indices(&t), size(n)).unwrap();
        let theirs = rs.proof(&t);
        prop_assert_eq!(theirs.proof_hashes().len(), ours.hashes().len());
        prop_assert_eq!(Some(ours.hashes().len()), multiproof_len(&indices(&t), size(n)));
        let mut a: Vec<[u8; 32]> = raw(ours.hashes());
        let mut b: Vec<[u8; 32]> = theirs.proof_hashes().to_vec();
        a.sort_unstable();
        b.sort_unstable();
        prop_assert_eq!(a, b);

        // Each verifier accepts the other's proof once it is put into its own order.
        let leaf_hashes: Vec<[u8; 32]> = t.iter().map(|&i| *l[i].as_bytes()).collect();
        prop_assert!(theirs.verify(rs.root().unwrap(), &t, &leaf_hashes, n));
        let head = TreeHead::new(size(n), tree.root());
        let pairs: Vec<(LeafIndex, Digest)> = t.iter().map(|&i| (LeafIndex::new(i as u64).unwrap(), l[i])).collect();
        prop_assert!(head.verify_multi(&pairs, &ours).is_ok());
        if ours.hashes().len() > 1 && raw(ours.hashes()) != theirs.proof_hashes() {
            // Different orders: rs_merkle's order is not ours, and ours does not verify in rs_merkle.
            let as_theirs = MerkleProof::<Rfc6962>::new(raw(ours.hashes()));
            prop_assert!(!as_theirs.verify(rs.root().unwrap(), &t, &leaf_hashes, n));
            let reordered: Vec<Digest> = theirs.proof_hashes().iter().map(|h| Digest::from_bytes(*h)).collect();
            let p = MultiProof::new(size(n), indices(&t), reordered).unwrap();
            prop_assert!(head.verify_multi(&pairs, &p).is_err());
        }
    }
}

/// What rs_merkle 1.5 does with malformed proofs (measured; a debug build, so integer overflow
/// would panic too). It never panicked, but it accepts proofs the SDK must reject, and answers
/// with a `bool`: the reasons the SDK verifies multi-leaf proofs itself (SPEC.md §9.5: exact
/// hash count, strictly ascending indices below the size, a size that must match the trusted
/// head; STYLE rule 7, results are evidence).
#[test]
fn rs_merkle_on_malformed_input() {
    let n = 10;
    let l = leaves(n);
    let rs = MerkleTree::<Rfc6962>::from_leaves(&raw(&l));
    let root = rs.root().unwrap();
    let t = [2usize, 7];
    let good = rs.proof(&t);
    let lh: Vec<[u8; 32]> = t.iter().map(|&i| *l[i].as_bytes()).collect();
    assert!(good.verify(root, &t, &lh, n));
    let hashes = good.proof_hashes().to_vec();
    let probe = |p: &MerkleProof<Rfc6962>, idx: &[usize], lh: &[[u8; 32]], total: usize| {
        catch_unwind(AssertUnwindSafe(|| p.root(idx, lh, total).map(|r| r == root)))
    };

    // Too few hashes: an error.
    let short = MerkleProof::<Rfc6962>::new(hashes[..hashes.len() - 1].to_vec());
    assert!(matches!(probe(&short, &t, &lh, n), Ok(Err(_))));
    // Too many hashes: trailing extra hashes are ignored and the proof VERIFIES.
    let mut longer = hashes.clone();
    longer.extend([[7; 32], [8; 32]]);
    let long = MerkleProof::<Rfc6962>::new(longer);
    assert!(matches!(probe(&long, &t, &lh, n), Ok(Ok(true))));
    // The total leaf count is not bound: any count with the same tree depth VERIFIES.
    for total in [9, 11, 16] {
        assert!(matches!(probe(&good, &t, &lh, total), Ok(Ok(true))), "{total}");
    }
    assert!(matches!(probe(&good, &t, &lh, 0), Ok(Err(_))));
    // Unsorted indices are sorted for the caller (with their hashes): accepted.
    assert!(matches!(probe(&good, &[7, 2], &[lh[1], lh[0]], n), Ok(Ok(true))));
    // An index at or beyond the count, or a duplicate: a wrong root (`false`), not an error.
    assert!(matches!(probe(&good, &[2, 10], &lh, n), Ok(Ok(false))));
    assert!(matches!(probe(&good, &[2, 2], &lh, n), Ok(Ok(false))));
    // Leaf hashes and indices of different lengths: an error.
    assert!(matches!(probe(&good, &t, &[lh[0]], n), Ok(Err(_))));
    // The prover does not check its input either: out-of-range, unsorted or duplicate indices
    // give a proof (of the wrong length), not an error.
    assert_eq!(rs.proof(&[2, 50]).proof_hashes().len(), 4);
    assert_eq!(rs.proof(&[7, 2]).proof_hashes().len(), 5);
    assert_eq!(rs.proof(&[2, 2]).proof_hashes().len(), 5);
    assert_eq!(rs.proof(&[2, 7]).proof_hashes().len(), hashes.len());

    // Random malformed input (huge and duplicate indices, counts 0..=usize::MAX, 0..12 hashes):
    // no panic in 20 000 tries.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let total = match rnd() % 3 {
            0 => (rnd() % 4) as usize,
            1 => (rnd() % 1000) as usize,
            _ => usize::MAX - (rnd() % 3) as usize,
        };
        let k = (rnd() % 4) as usize;
        let idx: Vec<usize> = (0..k)
            .map(|_| match rnd() % 3 {
                0 => (rnd() % 50) as usize,
                1 => usize::MAX - (rnd() % 2) as usize,
                _ => (rnd() % 8) as usize,
            })
            .collect();
        let lh: Vec<[u8; 32]> = (0..k).map(|i| [i as u8; 32]).collect();
        let p = MerkleProof::<Rfc6962>::new((0..rnd() % 12).map(|i| [i as u8; 32]).collect());
        assert!(probe(&p, &idx, &lh, total).is_ok(), "{total} {idx:?}");
    }
}
