//! Property tests: the SDK's tree, proofs and verifiers agree with a naive recursive RFC 6962
//! reference and with rs_merkle for every size up to 300, and the index math agrees with the
//! reference for random sizes up to 2^40.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_sdk::proof::{inclusion_proof_len, root_from_inclusion};
use evl_sdk::{
    ConsistencyProof, Digest, InclusionProof, LeafIndex, MemoryTree, SubtreeSource, TreeHead, TreeSize,
    leaf_hash, node_hash, prove_consistency, prove_inclusion, sha256,
};
use proptest::prelude::*;
use std::cell::RefCell;

// ---- naive reference, written straight from RFC 9162 §2.1 ----

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn mth(leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => sha256(b""),
        1 => leaves[0],
        n => {
            let k = k_of(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn path(m: usize, leaves: &[Digest]) -> Vec<Digest> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn subproof(m: usize, leaves: &[Digest], complete: bool) -> Vec<Digest> {
    let n = leaves.len();
    if m == n {
        return if complete { vec![] } else { vec![mth(leaves)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], complete);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn leaves(n: usize) -> Vec<Digest> {
    (0..n as u64)
        .map(|i| leaf_hash(&sha256(&i.to_be_bytes()).as_bytes()[..]))
        .collect()
}

fn size(n: u64) -> TreeSize {
    TreeSize::new(n).unwrap()
}

// ---- rs_merkle with RFC 6962 interior hashing (leaves are hashed by us) ----

#[derive(Clone)]
struct Rfc6962;
impl rs_merkle::Hasher for Rfc6962 {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        *sha256(data).as_bytes()
    }
    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => *node_hash(&Digest::from_bytes(*left), &Digest::from_bytes(*r)).as_bytes(),
            None => *left,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn roots_and_proofs_match_reference(n in 1usize..=300, a in any::<u64>(), b in any::<u64>()) {
        let l = leaves(n);
        let tree = MemoryTree::from_leaf_hashes(l.iter().copied());
        let want = mth(&l);
        prop_assert_eq!(tree.root(), want);
        let rs: Vec<[u8; 32]> = l.iter().map(|d| *d.as_bytes()).collect();
        let rs_root = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&rs).root().unwrap();
        prop_assert_eq!(rs_root, *want.as_bytes());

        // Inclusion at a random index.
        let m = (a % n as u64) as usize;
        let proof = prove_inclusion(&tree, LeafIndex::new(m as u64).unwrap(), size(n as u64)).unwrap();
        prop_assert_eq!(proof.hashes(), &path(m, &l)[..]);
        let head = TreeHead::new(size(n as u64), want);
        prop_assert!(head.verify_inclusion(&l[m], &proof).is_ok());
        let other = l[(m + 1) % n];
        if n > 1 {
            prop_assert!(head.verify_inclusion(&other, &proof).is_err());
        }

        // Consistency from a random earlier size (and its root from the frontier).
        let old = 1 + (b % n as u64) as usize;
        let cp = prove_consistency(&tree, size(old as u64), size(n as u64)).unwrap();
        prop_assert_eq!(cp.hashes(), &subproof(old, &l, true)[..]);
        let old_head = TreeHead::new(size(old as u64), mth(&l[..old]));
        prop_assert_eq!(tree.root_at(size(old as u64)).unwrap(), mth(&l[..old]));
        prop_assert!(head.verify_consistency(&old_head, &cp).is_ok());
        if old < n {
            let wrong = TreeHead::new(size(old as u64), mth(&l[1..=old]));
            prop_assert!(head.verify_consistency(&wrong, &cp).is_err());
        }
    }

    #[test]
    fn every_mutation_of_a_good_proof_fails(n in 2usize..=300, a in any::<u64>(), flip in any::<(usize, u8)>()) {
        let l = leaves(n);
        let tree = MemoryTree::from_leaf_hashes(l.iter().copied());
        let head = TreeHead::new(size(n as u64), tree.root());
        let m = (a % n as u64) as usize;
        let good = prove_inclusion(&tree, LeafIndex::new(m as u64).unwrap(), size(n as u64)).unwrap();
        let mut hashes = good.hashes().to_vec();
        // Bit flip.
        let i = flip.0 % hashes.len();
        let mut raw = *hashes[i].as_bytes();
        raw[(flip.1 as usize) % 32] ^= 1 << (flip.1 % 8);
        hashes[i] = Digest::from_bytes(raw);
        let bad = InclusionProof::new(good.index(), good.size(), hashes).unwrap();
        prop_assert!(head.verify_inclusion(&l[m], &bad).is_err());
        // Truncated and extended.
        let short = InclusionProof::new(good.index(), good.size(), good.hashes()[..good.hashes().len() - 1].to_vec()).unwrap();
        prop_assert!(head.verify_inclusion(&l[m], &short).is_err());
        let mut longer = good.hashes().to_vec();
        longer.push(l[0]);
        let long = InclusionProof::new(good.index(), good.size(), longer).unwrap();
        prop_assert!(head.verify_inclusion(&l[m], &long).is_err());
    }
}

// ---- index math at sizes up to 2^40: which subtrees a proof uses, and its length ----

/// Records every subtree requested and answers with a synthetic hash.
#[derive(Default)]
struct Recorder(RefCell<Vec<(u32, u64)>>);
impl SubtreeSource for Recorder {
    type Error = std::convert::Infallible;
    fn subtree(&self, level: u32, index: u64) -> Result<Digest, Self::Error> {
        self.0.borrow_mut().push((level, index));
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&level.to_be_bytes());
        b[4..].copy_from_slice(&index.to_be_bytes());
        Ok(sha256(&b))
    }
}

/// The ranges [start, end) RFC PATH(m, D[start:end]) puts in the proof, leaf to root.
fn path_ranges(m: u64, start: u64, end: u64, out: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    if m < k {
        path_ranges(m, start, start + k, out);
        out.push((start + k, end));
    } else {
        path_ranges(m - k, start + k, end, out);
        out.push((start, start + k));
    }
}

fn consistency_ranges(m: u64, start: u64, end: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if m == n {
        if !complete {
            out.push((start, end));
        }
        return;
    }
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    if m <= k {
        consistency_ranges(m, start, start + k, complete, out);
        out.push((start + k, end));
    } else {
        consistency_ranges(m - k, start + k, end, false, out);
        out.push((start, start + k));
    }
}

/// The perfect subtrees that make up range [start, end) (RFC split rule).
fn perfect_parts(start: u64, end: u64, out: &mut Vec<(u32, u64)>) {
    let n = end - start;
    if n.is_power_of_two() {
        let level = n.trailing_zeros();
        out.push((level, start >> level));
        return;
    }
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    perfect_parts(start, start + k, out);
    perfect_parts(start + k, end, out);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn inclusion_index_math_up_to_2_pow_40(n in 1u64..=(1 << 40), a in any::<u64>()) {
        let m = a % n;
        let mut ranges = Vec::new();
        path_ranges(m, 0, n, &mut ranges);
        prop_assert_eq!(inclusion_proof_len(m, n), ranges.len());
        let rec = Recorder::default();
        let proof = prove_inclusion(&rec, LeafIndex::new(m).unwrap(), size(n)).unwrap();
        prop_assert_eq!(proof.hashes().len(), ranges.len());
        let mut want = Vec::new();
        for (s, e) in ranges.iter().rev() {
            perfect_parts(*s, *e, &mut want);
        }
        prop_assert_eq!(rec.0.borrow().clone(), want);
        // The verifier consumes exactly this many hashes, no more, no less.
        let leaf = sha256(b"leaf");
        prop_assert!(root_from_inclusion(&leaf, LeafIndex::new(m).unwrap(), size(n), proof.hashes()).is_ok());
        let mut longer = proof.hashes().to_vec();
        longer.push(leaf);
        prop_assert!(root_from_inclusion(&leaf, LeafIndex::new(m).unwrap(), size(n), &longer).is_err());
        if !proof.hashes().is_empty() {
            let shorter = &proof.hashes()[1..];
            prop_assert!(root_from_inclusion(&leaf, LeafIndex::new(m).unwrap(), size(n), shorter).is_err());
        }
    }

    #[test]
    fn consistency_index_math_up_to_2_pow_40(n in 1u64..=(1 << 40), a in any::<u64>()) {
        let m = 1 + a % n;
        let mut ranges = Vec::new();
        consistency_ranges(m, 0, n, true, &mut ranges);
        let rec = Recorder::default();
        let proof = prove_consistency(&rec, size(m), size(n)).unwrap();
        prop_assert_eq!(proof.hashes().len(), ranges.len());
        let mut want = Vec::new();
        for (s, e) in ranges.iter().rev() {
            perfect_parts(*s, *e, &mut want);
        }
        prop_assert_eq!(rec.0.borrow().clone(), want);
        // A proof of the wrong length is malformed, never a mismatch.
        let root = sha256(b"r");
        let new = TreeHead::new(size(n), root);
        let old = TreeHead::new(size(m), root);
        let mut longer = proof.hashes().to_vec();
        longer.push(root);
        let long = ConsistencyProof::new(size(m), size(n), longer).unwrap();
        let err = new.verify_consistency(&old, &long).unwrap_err();
        prop_assert_eq!(err.code(), evl_sdk::ErrorCode::ProofMalformed);
    }
}

#[test]
fn empty_and_out_of_range() {
    let tree = MemoryTree::from_leaf_hashes(leaves(5));
    assert!(prove_inclusion(&tree, LeafIndex::new(5).unwrap(), size(5)).is_err());
    assert!(prove_consistency(&tree, size(0), size(5)).is_err());
    assert!(prove_consistency(&tree, size(6), size(5)).is_err());
    assert_eq!(MemoryTree::new().root(), sha256(b""));
    let head = TreeHead::new(size(5), tree.root());
    let p = prove_consistency(&tree, size(5), size(5)).unwrap();
    assert!(p.hashes().is_empty());
    assert!(head.verify_consistency(&head, &p).is_ok());
}
