//! Multi-leaf inclusion proofs: one proof that several leaves are in one RFC 9162 tree
//! (SPEC.md §9.5).
//!
//! The proof is defined by the RFC 9162 §2.1.1 `MTH` recursion itself. For a range `[a, b)` of
//! the tree and the set `T` of target leaf indices (strictly ascending, all below the tree size):
//!
//! ```text
//! MULTI(a, b, T):
//!     if no index of T lies in [a, b):  [ MTH(D[a:b]) ]          one hash
//!     else if b − a = 1:                [ ]                       a target leaf: the verifier has it
//!     else, with k the largest power of two < b − a:
//!         MULTI(a, a + k, T) ‖ MULTI(a + k, b, T)                left, then right
//! ```
//!
//! The proof's `hashes` are `MULTI(0, tree_size, T)`: depth first, left to right. Each hash is
//! the root of a maximal subtree that holds no target, so a hash shared by several audit paths is
//! sent once, and the subtrees are disjoint and in the order of the leaves they cover. For one
//! index the hashes are those of its RFC 9162 audit path in another order (left of the leaf top
//! down, then right of it bottom up): its own format, not an
//! [`InclusionProof`](crate::InclusionProof).
//!
//! The recursion depth is the tree height, at most 63 below [`crate::limits::MAX_TREE_SIZE`];
//! the prover reads O(k · log n) stored hashes ([`range_hash`]), never a leaf scan.

use crate::hash::{Digest, node_hash};
use crate::limits::{MAX_MULTIPROOF_HASHES, MAX_MULTIPROOF_LEAVES};
use crate::proof::{ProofError, TreeHead};
use crate::tree::{LeafIndex, ProveError, SubtreeSource, TreeSize, range_hash};
use crate::verified::Verified;
use serde::{Deserialize, Serialize};

/// Deepest recursion any valid input reaches: the height of a tree below 2^63 is at most 63.
const MAX_DEPTH: u32 = 64;

/// Most hashes one audit path has below [`crate::limits::MAX_TREE_SIZE`].
const MAX_PATH_HASHES: usize = 63;

/// Largest power of two strictly less than `n` (n ≥ 2): the RFC 9162 split point.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The part of `t` (ascending) below `mid`, and the rest.
fn partition(t: &[LeafIndex], mid: u64) -> (&[LeafIndex], &[LeafIndex]) {
    t.split_at(t.partition_point(|i| i.get() < mid))
}

/// Checks a target list against a tree size (SPEC.md §9.5 rules 2–3).
fn check_indices(indices: &[LeafIndex], size: TreeSize) -> Result<(), &'static str> {
    if indices.is_empty() {
        return Err("a multi-leaf proof covers at least one leaf");
    }
    if indices.len() > MAX_MULTIPROOF_LEAVES {
        return Err("more leaf indices than MAX_MULTIPROOF_LEAVES");
    }
    if indices.windows(2).any(|w| w[0] >= w[1]) {
        return Err("leaf indices are not strictly ascending");
    }
    if indices.last().is_some_and(|&last| !size.contains(last)) {
        return Err("leaf index is not below the tree size");
    }
    Ok(())
}

/// The number of hashes `MULTI(a, b, t)` emits; `t` is ascending and inside `[a, b)`.
fn count(a: u64, b: u64, t: &[LeafIndex]) -> usize {
    if t.is_empty() {
        return 1;
    }
    if b - a == 1 {
        return 0;
    }
    let k = split(b - a);
    let (left, right) = partition(t, a + k);
    count(a, a + k, left) + count(a + k, b, right)
}

/// The number of hashes in the multi-leaf proof for `indices` in a tree of `size`, or `None`
/// when the indices are not a valid target list (empty, more than [`MAX_MULTIPROOF_LEAVES`], not
/// strictly ascending, or not below `size`). No hashing; O(k · log n).
///
/// A pack writer compares it with the sum of [`inclusion_proof_len`](crate::proof::inclusion_proof_len)
/// over the same indices: for one index the two are equal; for two or more the multi-leaf
/// proof is always strictly shorter (each of its hashes is on some leaf's audit path, and the
/// sibling where two leaves' paths meet is never sent), so the choice is about packaging
/// (one proof file for all leaves, or one per leaf that can be handed out alone), not size.
pub fn multiproof_len(indices: &[LeafIndex], size: TreeSize) -> Option<usize> {
    check_indices(indices, size).ok()?;
    Some(count(0, size.get(), indices))
}

/// A multi-leaf inclusion proof (SPEC.md §9.5), parsed but not yet verified. JSON:
/// `{"tree_size":…,"leaf_indices":[…],"hashes":[b64…]}`.
///
/// Construction checks the structure (at least one and at most [`MAX_MULTIPROOF_LEAVES`]
/// strictly ascending indices below the size, at most [`MAX_MULTIPROOF_HASHES`] hashes and at
/// most 63 per index); the exact hash count is checked by [`TreeHead::verify_multi`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiProof {
    size: TreeSize,
    indices: Vec<LeafIndex>,
    hashes: Vec<Digest>,
}

/// Evidence that several leaves are in a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiInclusion {
    /// The leaves proven: (index, leaf hash), ascending by index.
    pub leaves: Vec<(LeafIndex, Digest)>,
    /// The tree they are in.
    pub head: TreeHead,
}

fn check_hash_count(hashes: usize, leaves: usize) -> Result<(), ProofError> {
    if hashes > MAX_MULTIPROOF_HASHES || hashes > leaves.saturating_mul(MAX_PATH_HASHES) {
        return Err(ProofError::Malformed("too many hashes for a multi-leaf proof"));
    }
    Ok(())
}

impl MultiProof {
    /// Builds a proof from parts received from elsewhere; fails on structurally impossible input.
    pub fn new(size: TreeSize, indices: Vec<LeafIndex>, hashes: Vec<Digest>) -> Result<Self, ProofError> {
        check_indices(&indices, size).map_err(ProofError::Malformed)?;
        check_hash_count(hashes.len(), indices.len())?;
        Ok(Self {
            size,
            indices,
            hashes,
        })
    }
    /// The tree size.
    pub fn size(&self) -> TreeSize {
        self.size
    }
    /// The leaf indices, strictly ascending.
    pub fn indices(&self) -> &[LeafIndex] {
        &self.indices
    }
    /// The hashes, in `MULTI` order (depth first, left to right).
    pub fn hashes(&self) -> &[Digest] {
        &self.hashes
    }

    /// Parses the JSON encoding strictly (SPEC.md §2.2, then §9.5). Every fault is
    /// `PROOF_MALFORMED`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProofError> {
        let v = crate::jcs::parse(bytes).map_err(|_| ProofError::Malformed("not strict JSON"))?;
        let j: MultiProofJson =
            serde_json::from_value(v).map_err(|_| ProofError::Malformed("not a multi-leaf proof object"))?;
        Self::from_wire(j)
    }

    /// The canonical JSON encoding (RFC 8785).
    pub fn to_json(&self) -> Vec<u8> {
        // A struct of integers and strings always serializes.
        serde_jcs::to_vec(&self.to_wire()).unwrap_or_default()
    }

    fn to_wire(&self) -> MultiProofJson {
        MultiProofJson {
            tree_size: self.size.get(),
            leaf_indices: self.indices.iter().map(|i| i.get()).collect(),
            hashes: self.hashes.iter().map(Digest::to_base64).collect(),
        }
    }

    fn from_wire(j: MultiProofJson) -> Result<Self, ProofError> {
        let size = TreeSize::new(j.tree_size).ok_or(ProofError::Malformed("tree_size out of range"))?;
        // Bound the work before converting or decoding anything.
        if j.leaf_indices.len() > MAX_MULTIPROOF_LEAVES {
            return Err(ProofError::Malformed(
                "more leaf indices than MAX_MULTIPROOF_LEAVES",
            ));
        }
        check_hash_count(j.hashes.len(), j.leaf_indices.len())?;
        let indices = j
            .leaf_indices
            .iter()
            .map(|&i| LeafIndex::new(i).ok_or(ProofError::Malformed("leaf index out of range")))
            .collect::<Result<Vec<_>, _>>()?;
        // SPEC.md §1.3 rule 3: base64 inside JSON.
        let hashes = j
            .hashes
            .iter()
            .map(|s| Digest::from_base64(s).ok_or(ProofError::Malformed("hash is not base64 of 32 bytes")))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(size, indices, hashes)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MultiProofJson {
    tree_size: u64,
    leaf_indices: Vec<u64>,
    hashes: Vec<String>,
}

impl Serialize for MultiProof {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(s)
    }
}

impl<'de> Deserialize<'de> for MultiProof {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_wire(MultiProofJson::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Emits `MULTI(a, b, t)` from stored hashes.
fn emit<S: SubtreeSource>(
    src: &S,
    a: u64,
    b: u64,
    t: &[LeafIndex],
    out: &mut Vec<Digest>,
) -> Result<(), S::Error> {
    if t.is_empty() {
        out.push(range_hash(src, a, b)?);
        return Ok(());
    }
    if b - a == 1 {
        return Ok(());
    }
    let k = split(b - a);
    let (left, right) = partition(t, a + k);
    emit(src, a, a + k, left, out)?;
    emit(src, a + k, b, right, out)
}

/// The multi-leaf inclusion proof for `indices` (strictly ascending, at least one, all below
/// `size`) in the tree of `size` (SPEC.md §9.5). Reads O(k · log n) stored hashes.
///
/// Fails with [`ProveError::OutOfRange`] when the indices are not a valid target list or the
/// proof would exceed [`MAX_MULTIPROOF_HASHES`] (split the leaves into several proofs).
pub fn prove_multi<S: SubtreeSource>(
    src: &S,
    indices: &[LeafIndex],
    size: TreeSize,
) -> Result<MultiProof, ProveError<S::Error>> {
    check_indices(indices, size).map_err(ProveError::OutOfRange)?;
    let len = count(0, size.get(), indices);
    if len > MAX_MULTIPROOF_HASHES {
        return Err(ProveError::OutOfRange(
            "the proof would exceed MAX_MULTIPROOF_HASHES; split the leaves",
        ));
    }
    let mut out = Vec::with_capacity(len);
    emit(src, 0, size.get(), indices, &mut out).map_err(ProveError::Source)?;
    Ok(MultiProof {
        size,
        indices: indices.to_vec(),
        hashes: out,
    })
}

/// Recomputes `MTH(D[a:b])` from the target leaves in `[a, b)` and the proof hashes.
fn fold<'a>(
    a: u64,
    b: u64,
    leaves: &[(LeafIndex, Digest)],
    hashes: &mut impl Iterator<Item = &'a Digest>,
    depth: u32,
) -> Result<Digest, ProofError> {
    if depth > MAX_DEPTH {
        return Err(ProofError::Malformed("multi-leaf proof deeper than any tree"));
    }
    let Some(&(_, first)) = leaves.first() else {
        return hashes
            .next()
            .copied()
            .ok_or(ProofError::Malformed("too few hashes"));
    };
    if b - a == 1 {
        // Indices are strictly ascending and inside [a, b), so this is the one leaf at `a`.
        return Ok(first);
    }
    let k = split(b - a);
    let mid = leaves.partition_point(|(i, _)| i.get() < a + k);
    let left = fold(a, a + k, &leaves[..mid], hashes, depth + 1)?;
    let right = fold(a + k, b, &leaves[mid..], hashes, depth + 1)?;
    Ok(node_hash(&left, &right))
}

impl TreeHead {
    /// Verifies that each `(index, leaf hash)` of `leaves` is in this tree (SPEC.md §9.5).
    ///
    /// `leaves` are leaf hashes (SHA-256(0x00‖data)) in the proof's index order. Checked before
    /// any hashing, each `PROOF_MALFORMED`: the proof's size equals this tree's; `leaves` name
    /// exactly the proof's indices; the hash count is exactly `MULTI`'s. Then the recomputed
    /// root must equal this root (constant time), else `MERKLE_MISMATCH`.
    pub fn verify_multi(
        &self,
        leaves: &[(LeafIndex, Digest)],
        proof: &MultiProof,
    ) -> Result<Verified<MultiInclusion>, ProofError> {
        if proof.size != self.size() {
            return Err(ProofError::Malformed("proof is for a different tree size"));
        }
        if leaves.len() != proof.indices.len() || leaves.iter().zip(&proof.indices).any(|((i, _), p)| i != p)
        {
            return Err(ProofError::Malformed(
                "leaves do not match the proof's leaf indices",
            ));
        }
        // `proof.indices` passed `check_indices` against `proof.size` when the proof was built.
        if proof.hashes.len() != count(0, self.size().get(), &proof.indices) {
            return Err(ProofError::Malformed(
                "wrong number of hashes for these indices and size",
            ));
        }
        let mut it = proof.hashes.iter();
        let root = fold(0, self.size().get(), leaves, &mut it, 0)?;
        if it.next().is_some() {
            return Err(ProofError::Malformed("too many hashes"));
        }
        if root != self.root() {
            return Err(ProofError::Mismatch(
                "multi-leaf proof does not reproduce the root",
            ));
        }
        Ok(Verified::new(MultiInclusion {
            leaves: leaves.to_vec(),
            head: *self,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::code::ErrorCode;
    use crate::hash::sha256;
    use crate::proof::inclusion_proof_len;
    use crate::tree::{MemoryTree, prove_inclusion};
    use proptest::prelude::*;

    fn size(n: u64) -> TreeSize {
        TreeSize::new(n).unwrap()
    }
    fn idx(i: u64) -> LeafIndex {
        LeafIndex::new(i).unwrap()
    }
    fn leaves(n: u64) -> Vec<Digest> {
        (0..n).map(|i| crate::hash::leaf_hash(&i.to_be_bytes())).collect()
    }

    // ---- naive reference, straight from the definition in the module docs ----

    fn mth(l: &[Digest]) -> Digest {
        if l.len() == 1 {
            return l[0];
        }
        let k = split(l.len() as u64) as usize;
        node_hash(&mth(&l[..k]), &mth(&l[k..]))
    }
    fn multi_ref(l: &[Digest], a: usize, targets: &[usize], out: &mut Vec<Digest>) {
        let b = a + l.len();
        if !targets.iter().any(|&t| a <= t && t < b) {
            out.push(mth(l));
        } else if l.len() > 1 {
            let k = split(l.len() as u64) as usize;
            multi_ref(&l[..k], a, targets, out);
            multi_ref(&l[k..], a + k, targets, out);
        }
    }

    struct Case {
        tree: MemoryTree,
        head: TreeHead,
        leaves: Vec<(LeafIndex, Digest)>,
        proof: MultiProof,
    }

    fn case(n: u64, targets: &[u64]) -> Case {
        let l = leaves(n);
        let tree = MemoryTree::from_leaf_hashes(l.iter().copied());
        let head = TreeHead::new(tree.size(), tree.root());
        let indices: Vec<LeafIndex> = targets.iter().map(|&i| idx(i)).collect();
        let proof = prove_multi(&tree, &indices, tree.size()).unwrap();
        let leaves = targets.iter().map(|&i| (idx(i), l[i as usize])).collect();
        Case {
            tree,
            head,
            leaves,
            proof,
        }
    }

    fn code<T>(r: Result<T, ProofError>) -> Option<ErrorCode> {
        r.err().map(|e| e.code())
    }

    /// A sorted, non-empty subset of `0..n` chosen by the bits of `pick`.
    fn subset(n: u64, pick: &[bool], fallback: u64) -> Vec<u64> {
        let mut t: Vec<u64> = (0..n).filter(|&i| pick[i as usize % pick.len()]).collect();
        if t.is_empty() {
            t.push(fallback % n);
        }
        t
    }

    #[test]
    fn small_known_shapes() {
        // Size 1: the leaf is the root; no hashes.
        let c = case(1, &[0]);
        assert!(c.proof.hashes().is_empty());
        assert!(c.head.verify_multi(&c.leaves, &c.proof).is_ok());
        // Size 7, leaves 1 and 5: MTH(0:1), then [2,4) on the left; [4,5), [6,7) on the right.
        let l = leaves(7);
        let c = case(7, &[1, 5]);
        let want = [l[0], mth(&l[2..4]), l[4], l[6]];
        assert_eq!(c.proof.hashes(), &want[..]);
        // All leaves: nothing to send.
        let c = case(7, &[0, 1, 2, 3, 4, 5, 6]);
        assert!(c.proof.hashes().is_empty());
        assert!(c.head.verify_multi(&c.leaves, &c.proof).is_ok());
        // One leaf: the audit-path hashes [l2, MTH(0:2), MTH(4:7)], in tree order.
        let c = case(7, &[3]);
        let path = prove_inclusion(&c.tree, idx(3), size(7)).unwrap();
        let p = path.hashes();
        assert_eq!(c.proof.hashes(), &[p[1], p[0], p[2]][..]);
        assert_eq!(p, &[l[2], mth(&l[0..2]), mth(&l[4..7])][..]);
    }

    #[test]
    fn bad_target_lists_are_rejected() {
        let tree = MemoryTree::from_leaf_hashes(leaves(10));
        let s = tree.size();
        for bad in [vec![], vec![idx(3), idx(3)], vec![idx(4), idx(3)], vec![idx(10)]] {
            assert!(matches!(
                prove_multi(&tree, &bad, s),
                Err(ProveError::OutOfRange(_))
            ));
            assert_eq!(multiproof_len(&bad, s), None);
            assert_eq!(
                code(MultiProof::new(s, bad, vec![])),
                Some(ErrorCode::ProofMalformed)
            );
        }
        // Too many hashes for the leaf count (63 per leaf at most).
        let many = vec![sha256(b""); 64];
        assert_eq!(
            code(MultiProof::new(s, vec![idx(0)], many)),
            Some(ErrorCode::ProofMalformed)
        );
    }

    #[test]
    fn verification_rejects_wrong_heads_and_leaves() {
        let c = case(37, &[2, 17, 36]);
        assert!(c.head.verify_multi(&c.leaves, &c.proof).is_ok());
        // Another size: malformed, whatever the root.
        let other = TreeHead::new(size(38), c.head.root());
        assert_eq!(
            code(other.verify_multi(&c.leaves, &c.proof)),
            Some(ErrorCode::ProofMalformed)
        );
        // Leaves that do not match the proof's indices.
        let mut wrong = c.leaves.clone();
        wrong[1].0 = idx(18);
        assert_eq!(
            code(c.head.verify_multi(&wrong, &c.proof)),
            Some(ErrorCode::ProofMalformed)
        );
        assert_eq!(
            code(c.head.verify_multi(&c.leaves[..2], &c.proof)),
            Some(ErrorCode::ProofMalformed)
        );
        // A wrong leaf hash at the right index: mismatch.
        let mut swapped = c.leaves.clone();
        swapped[0].1 = sha256(b"x");
        assert_eq!(
            code(c.head.verify_multi(&swapped, &c.proof)),
            Some(ErrorCode::MerkleMismatch)
        );
        // A wrong root.
        let bad_root = TreeHead::new(c.head.size(), sha256(b"x"));
        assert_eq!(
            code(bad_root.verify_multi(&c.leaves, &c.proof)),
            Some(ErrorCode::MerkleMismatch)
        );
    }

    #[test]
    fn json_is_strict() {
        let c = case(37, &[2, 17, 36]);
        let j = c.proof.to_json();
        assert_eq!(MultiProof::from_json(&j).unwrap(), c.proof);
        let text = String::from_utf8(j).unwrap();
        assert!(text.starts_with(r#"{"hashes":[""#), "{text}");
        let h = sha256(b"h").to_base64();
        let bad = [
            String::new(),
            "[]".into(),
            r#"{"tree_size":37,"leaf_indices":[2],"hashes":[]}"#.replace("37", "37.5"),
            format!(r#"{{"tree_size":37,"leaf_indices":[2],"hashes":["{h}"],"x":1}}"#),
            format!(r#"{{"tree_size":37,"leaf_indices":[2],"hashes":["{h}"],"tree_size":37}}"#),
            format!(r#"{{"tree_size":37,"hashes":["{h}"]}}"#),
            r#"{"tree_size":37,"leaf_indices":[2],"hashes":["AAAA"]}"#.into(),
            r#"{"tree_size":37,"leaf_indices":[2],"hashes":["!"]}"#.into(),
            r#"{"tree_size":37,"leaf_indices":[],"hashes":[]}"#.into(),
            r#"{"tree_size":37,"leaf_indices":[3,2],"hashes":[]}"#.into(),
            r#"{"tree_size":37,"leaf_indices":[2,2],"hashes":[]}"#.into(),
            r#"{"tree_size":37,"leaf_indices":[37],"hashes":[]}"#.into(),
            r#"{"tree_size":37,"leaf_indices":[-1],"hashes":[]}"#.into(),
            r#"{"tree_size":0,"leaf_indices":[0],"hashes":[]}"#.into(),
            r#"{"tree_size":9007199254740992,"leaf_indices":[0],"hashes":[]}"#.into(),
        ];
        for b in bad {
            assert_eq!(
                code(MultiProof::from_json(b.as_bytes())),
                Some(ErrorCode::ProofMalformed),
                "{b}"
            );
        }
        // SPEC.md §1.3 rule 3: URL-safe or unpadded base64 is accepted inside JSON.
        let url = text.replace('+', "-").replace('/', "_").replace('=', "");
        assert_eq!(MultiProof::from_json(url.as_bytes()).unwrap(), c.proof);
    }

    /// A "tree" whose every leaf hash is the same: perfect subtrees at level L all hash to
    /// `z[L]`, so trees of any size up to 2^63 − 1 can be proven and verified cheaply.
    struct Uniform(Vec<Digest>);
    impl Uniform {
        fn new() -> Self {
            let mut z = vec![sha256(b"leaf")];
            for l in 1..64 {
                let p = z[l - 1];
                z.push(node_hash(&p, &p));
            }
            Self(z)
        }
    }
    impl SubtreeSource for Uniform {
        type Error = core::convert::Infallible;
        fn subtree(&self, level: u32, _index: u64) -> Result<Digest, Self::Error> {
            Ok(self.0[level as usize])
        }
    }

    #[test]
    fn huge_trees_prove_and_verify_at_full_depth() {
        let src = Uniform::new();
        let n = crate::limits::MAX_TREE_SIZE;
        let s = size(n);
        let root = crate::tree::root(&src, s).unwrap();
        let head = TreeHead::new(s, root);
        let targets = [0, 1, 1 << 40, (1 << 62) + 12345, n - 2, n - 1];
        let indices: Vec<LeafIndex> = targets.iter().map(|&i| idx(i)).collect();
        let proof = prove_multi(&src, &indices, s).unwrap();
        assert_eq!(Some(proof.hashes().len()), multiproof_len(&indices, s));
        let sum: usize = targets.iter().map(|&i| inclusion_proof_len(i, n)).sum();
        assert!(proof.hashes().len() < sum);
        let leaves: Vec<_> = indices.iter().map(|&i| (i, src.0[0])).collect();
        assert!(head.verify_multi(&leaves, &proof).is_ok());
        let mut h = proof.hashes().to_vec();
        h[3] = sha256(b"x");
        let bad = MultiProof::new(s, indices, h).unwrap();
        assert_eq!(
            code(head.verify_multi(&leaves, &bad)),
            Some(ErrorCode::MerkleMismatch)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn proofs_verify_and_match_the_definition(
            n in 1u64..300,
            pick in proptest::collection::vec(any::<bool>(), 1..40),
            fallback in any::<u64>(),
        ) {
            let targets = subset(n, &pick, fallback);
            let c = case(n, &targets);
            let l = leaves(n);
            let t: Vec<usize> = targets.iter().map(|&i| i as usize).collect();
            let mut want = Vec::new();
            multi_ref(&l, 0, &t, &mut want);
            prop_assert_eq!(c.proof.hashes(), &want[..]);
            prop_assert_eq!(Some(want.len()), multiproof_len(c.proof.indices(), c.head.size()));
            prop_assert!(c.head.verify_multi(&c.leaves, &c.proof).is_ok());
            // Never longer than per-leaf proofs; strictly shorter for two or more leaves.
            let sum: usize = targets.iter().map(|&i| inclusion_proof_len(i, n)).sum();
            if targets.len() == 1 {
                // One leaf: its audit path's hashes, in tree order.
                let path = prove_inclusion(&c.tree, c.proof.indices()[0], c.head.size()).unwrap();
                let (mut a, mut b) = (path.hashes().to_vec(), want.clone());
                a.sort();
                b.sort();
                prop_assert_eq!(a, b);
            } else {
                prop_assert!(want.len() < sum);
            }
            prop_assert_eq!(MultiProof::from_json(&c.proof.to_json()).unwrap(), c.proof.clone());
        }

        #[test]
        fn every_mutation_is_rejected(
            n in 2u64..300,
            pick in proptest::collection::vec(any::<bool>(), 1..40),
            fallback in any::<u64>(),
            at in any::<usize>(),
            bit in 0u8..=255,
        ) {
            let targets = subset(n, &pick, fallback);
            let c = case(n, &targets);
            let h = c.proof.hashes();
            let s = c.head.size();
            let ix = c.proof.indices().to_vec();
            if !h.is_empty() {
                // Flip one bit of any hash: mismatch.
                let mut m = h.to_vec();
                let i = at % m.len();
                let mut raw = *m[i].as_bytes();
                raw[usize::from(bit) % 32] ^= 1 << (bit % 8);
                m[i] = Digest::from_bytes(raw);
                let p = MultiProof::new(s, ix.clone(), m).unwrap();
                prop_assert_eq!(code(c.head.verify_multi(&c.leaves, &p)), Some(ErrorCode::MerkleMismatch));
                // Drop any hash: malformed.
                let mut m = h.to_vec();
                m.remove(at % h.len());
                let p = MultiProof::new(s, ix.clone(), m).unwrap();
                prop_assert_eq!(code(c.head.verify_multi(&c.leaves, &p)), Some(ErrorCode::ProofMalformed));
            }
            // Insert a hash anywhere: malformed.
            let mut m = h.to_vec();
            m.insert(at % (h.len() + 1), sha256(b"extra"));
            if let Ok(p) = MultiProof::new(s, ix.clone(), m) {
                prop_assert_eq!(code(c.head.verify_multi(&c.leaves, &p)), Some(ErrorCode::ProofMalformed));
            }
            // The same hashes claimed for another target set: rejected, never accepted.
            let shifted: Vec<LeafIndex> = ix.iter().map(|i| idx((i.get() + 1) % n)).collect();
            if let Ok(p) = MultiProof::new(s, shifted.clone(), h.to_vec()) {
                let l: Vec<_> = shifted.iter().zip(&c.leaves).map(|(&i, &(_, d))| (i, d)).collect();
                prop_assert!(c.head.verify_multi(&l, &p).is_err());
            }
        }

        #[test]
        fn arbitrary_json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = MultiProof::from_json(&bytes);
        }

        #[test]
        fn arbitrary_proof_objects_never_panic(
            n in 0u64..70,
            ix in proptest::collection::vec(0u64..80, 0..6),
            k in 0usize..20,
        ) {
            let hashes: Vec<String> = (0..k).map(|i| sha256(&[i as u8]).to_base64()).collect();
            let j = serde_json::json!({"tree_size": n, "leaf_indices": ix, "hashes": hashes});
            if let Ok(p) = MultiProof::from_json(j.to_string().as_bytes()) {
                let tree = MemoryTree::from_leaf_hashes(leaves(n));
                let head = TreeHead::new(tree.size(), tree.root());
                let l: Vec<_> = p.indices().iter().map(|&i| (i, sha256(b"x"))).collect();
                let _ = head.verify_multi(&l, &p);
            }
        }
    }
}
