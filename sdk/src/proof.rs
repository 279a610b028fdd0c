//! Inclusion and consistency proofs: JSON encoding and RFC 9162 verification (SPEC.md §4.3–4.5).

use crate::code::ErrorCode;
use crate::hash::{Digest, leaf_hash, node_hash};
use crate::limits::MAX_PROOF_HASHES;
use crate::tree::{LeafIndex, TreeSize};
use crate::verified::Verified;
use serde::{Deserialize, Serialize};

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Structurally invalid: wrong number of hashes, index ≥ size, sizes out of order, bad encoding.
    #[error("PROOF_MALFORMED: {0}")]
    Malformed(&'static str),
    /// Well formed but does not reproduce the trusted root(s).
    #[error("MERKLE_MISMATCH: {0}")]
    Mismatch(&'static str),
}

impl ProofError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ProofError::Malformed(_) => ErrorCode::ProofMalformed,
            ProofError::Mismatch(_) => ErrorCode::MerkleMismatch,
        }
    }
}

/// A tree size and the root hash of that tree: what a verified checkpoint or anchor vouches for.
/// Proofs are checked by methods on this trusted value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    size: TreeSize,
    root: Digest,
}

/// Evidence that a leaf is in a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inclusion {
    /// The leaf hash proven.
    pub leaf_hash: Digest,
    /// Its index.
    pub index: LeafIndex,
    /// The tree it is in.
    pub head: TreeHead,
}

/// Evidence that an older tree is a prefix of a newer one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consistency {
    /// The older tree.
    pub old: TreeHead,
    /// The newer tree.
    pub new: TreeHead,
}

impl TreeHead {
    /// Pairs a size with the root hash of the tree of that size.
    pub const fn new(size: TreeSize, root: Digest) -> Self {
        Self { size, root }
    }
    /// The tree size.
    pub const fn size(&self) -> TreeSize {
        self.size
    }
    /// The root hash.
    pub const fn root(&self) -> Digest {
        self.root
    }

    /// RFC 9162 §2.1.3.2: verifies that `leaf_hash` (already a leaf hash, SHA-256(0x00‖data)) is
    /// at `proof.index()` in this tree.
    pub fn verify_inclusion(
        &self,
        leaf_hash: &Digest,
        proof: &InclusionProof,
    ) -> Result<Verified<Inclusion>, ProofError> {
        if proof.size != self.size {
            return Err(ProofError::Malformed("proof is for a different tree size"));
        }
        let root = root_from_inclusion(leaf_hash, proof.index, proof.size, &proof.hashes)?;
        if root != self.root {
            return Err(ProofError::Mismatch(
                "inclusion proof does not reproduce the root",
            ));
        }
        Ok(Verified::new(Inclusion {
            leaf_hash: *leaf_hash,
            index: proof.index,
            head: *self,
        }))
    }

    /// Like [`TreeHead::verify_inclusion`] for leaf *data* (hashed here with the 0x00 prefix).
    pub fn verify_inclusion_of_data(
        &self,
        data: &[u8],
        proof: &InclusionProof,
    ) -> Result<Verified<Inclusion>, ProofError> {
        self.verify_inclusion(&leaf_hash(data), proof)
    }

    /// RFC 9162 §2.1.4.2: verifies that `old` is a prefix of this tree.
    ///
    /// Policy (SPEC.md §4.5): `old.size` must be ≥ 1; equal sizes need an empty proof and equal
    /// roots; extra or missing hashes are [`ProofError::Malformed`].
    pub fn verify_consistency(
        &self,
        old: &TreeHead,
        proof: &ConsistencyProof,
    ) -> Result<Verified<Consistency>, ProofError> {
        if proof.old != old.size || proof.new != self.size {
            return Err(ProofError::Malformed("proof is for different tree sizes"));
        }
        check_consistency(
            old.size.get(),
            self.size.get(),
            &old.root,
            &self.root,
            &proof.hashes,
        )?;
        Ok(Verified::new(Consistency {
            old: *old,
            new: *self,
        }))
    }
}

/// Number of hashes in the inclusion proof for `index` in a tree of `size` (RFC 9162).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    // Inner part: bits where index and size−1 differ; border: ones above them in index.
    let last = size - 1;
    let inner = (64 - (index ^ last).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    inner + border
}

/// Computes the root that an inclusion proof implies, or why it is malformed.
pub fn root_from_inclusion(
    leaf_hash: &Digest,
    index: LeafIndex,
    size: TreeSize,
    hashes: &[Digest],
) -> Result<Digest, ProofError> {
    if index.get() >= size.get() {
        return Err(ProofError::Malformed("leaf index is not below the tree size"));
    }
    if hashes.len() != inclusion_proof_len(index.get(), size.get()) {
        return Err(ProofError::Malformed(
            "wrong number of hashes for this index and size",
        ));
    }
    let (mut f, mut s) = (index.get(), size.get() - 1);
    let mut r = *leaf_hash;
    for p in hashes {
        if s == 0 {
            return Err(ProofError::Malformed("proof longer than the path"));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::Malformed("proof shorter than the path"));
    }
    Ok(r)
}

fn check_consistency(
    m: u64,
    n: u64,
    root1: &Digest,
    root2: &Digest,
    proof: &[Digest],
) -> Result<(), ProofError> {
    if m == 0 {
        return Err(ProofError::Malformed(
            "consistency from the empty tree is not defined",
        ));
    }
    if m > n {
        return Err(ProofError::Malformed("old size is larger than new size"));
    }
    if m == n {
        if !proof.is_empty() {
            return Err(ProofError::Malformed("equal sizes need an empty proof"));
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::Mismatch("equal sizes with different roots"))
        };
    }
    // Expected length: RFC 9162 consistency path length.
    let (mut f, mut s) = (m - 1, n - 1);
    let start_with_old = m.is_power_of_two();
    // Skip the levels where the old tree is a complete left subtree.
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut it = proof.iter();
    let (mut fr, mut sr) = if start_with_old {
        (*root1, *root1)
    } else {
        let Some(first) = it.next() else {
            return Err(ProofError::Malformed("empty consistency proof"));
        };
        (*first, *first)
    };
    if start_with_old && proof.is_empty() {
        return Err(ProofError::Malformed("empty consistency proof"));
    }
    for c in it {
        if s == 0 {
            return Err(ProofError::Malformed("proof longer than the path"));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::Malformed("proof shorter than the path"));
    }
    if fr != *root1 || sr != *root2 {
        return Err(ProofError::Mismatch(
            "consistency proof does not reproduce the roots",
        ));
    }
    Ok(())
}

/// An inclusion proof (SPEC.md §4.3). JSON: `{"leaf_index":…,"tree_size":…,"hashes":[b64…]}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    index: LeafIndex,
    size: TreeSize,
    hashes: Vec<Digest>,
}

impl InclusionProof {
    pub(crate) fn new_unchecked(index: LeafIndex, size: TreeSize, hashes: Vec<Digest>) -> Self {
        Self { index, size, hashes }
    }
    /// Builds a proof from parts received from elsewhere; fails on obviously impossible input.
    pub fn new(index: LeafIndex, size: TreeSize, hashes: Vec<Digest>) -> Result<Self, ProofError> {
        if hashes.len() > MAX_PROOF_HASHES {
            return Err(ProofError::Malformed("too many hashes"));
        }
        Ok(Self { index, size, hashes })
    }
    /// The leaf index.
    pub fn index(&self) -> LeafIndex {
        self.index
    }
    /// The tree size.
    pub fn size(&self) -> TreeSize {
        self.size
    }
    /// The audit path, leaf to root.
    pub fn hashes(&self) -> &[Digest] {
        &self.hashes
    }
}

/// A consistency proof (SPEC.md §4.4). JSON: `{"old_size":…,"new_size":…,"hashes":[b64…]}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    old: TreeSize,
    new: TreeSize,
    hashes: Vec<Digest>,
}

impl ConsistencyProof {
    pub(crate) fn new_unchecked(old: TreeSize, new: TreeSize, hashes: Vec<Digest>) -> Self {
        Self { old, new, hashes }
    }
    /// Builds a proof from parts received from elsewhere.
    pub fn new(old: TreeSize, new: TreeSize, hashes: Vec<Digest>) -> Result<Self, ProofError> {
        if hashes.len() > MAX_PROOF_HASHES {
            return Err(ProofError::Malformed("too many hashes"));
        }
        Ok(Self { old, new, hashes })
    }
    /// The older size.
    pub fn old_size(&self) -> TreeSize {
        self.old
    }
    /// The newer size.
    pub fn new_size(&self) -> TreeSize {
        self.new
    }
    /// The proof hashes.
    pub fn hashes(&self) -> &[Digest] {
        &self.hashes
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionJson {
    leaf_index: u64,
    tree_size: u64,
    hashes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyJson {
    old_size: u64,
    new_size: u64,
    hashes: Vec<String>,
}

fn decode_hashes(v: &[String]) -> Result<Vec<Digest>, ProofError> {
    if v.len() > MAX_PROOF_HASHES {
        return Err(ProofError::Malformed("too many hashes"));
    }
    v.iter()
        .map(|s| Digest::from_base64(s).ok_or(ProofError::Malformed("hash is not base64 of 32 bytes")))
        .collect()
}

fn encode_hashes(v: &[Digest]) -> Vec<String> {
    v.iter().map(Digest::to_base64).collect()
}

impl Serialize for InclusionProof {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        InclusionJson {
            leaf_index: self.index.get(),
            tree_size: self.size.get(),
            hashes: encode_hashes(&self.hashes),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for InclusionProof {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let j = InclusionJson::deserialize(d)?;
        let index =
            LeafIndex::new(j.leaf_index).ok_or_else(|| D::Error::custom("leaf_index out of range"))?;
        let size = TreeSize::new(j.tree_size).ok_or_else(|| D::Error::custom("tree_size out of range"))?;
        let hashes = decode_hashes(&j.hashes).map_err(D::Error::custom)?;
        Ok(Self { index, size, hashes })
    }
}

impl Serialize for ConsistencyProof {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ConsistencyJson {
            old_size: self.old.get(),
            new_size: self.new.get(),
            hashes: encode_hashes(&self.hashes),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ConsistencyProof {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let j = ConsistencyJson::deserialize(d)?;
        let old = TreeSize::new(j.old_size).ok_or_else(|| D::Error::custom("old_size out of range"))?;
        let new = TreeSize::new(j.new_size).ok_or_else(|| D::Error::custom("new_size out of range"))?;
        let hashes = decode_hashes(&j.hashes).map_err(D::Error::custom)?;
        Ok(Self { old, new, hashes })
    }
}

impl InclusionProof {
    /// Parses the JSON encoding strictly (SPEC.md §2 then §4.3).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProofError> {
        let v = crate::jcs::parse(bytes).map_err(|_| ProofError::Malformed("not strict JSON"))?;
        serde_json::from_value(v).map_err(|_| ProofError::Malformed("not an inclusion proof object"))
    }
    /// The canonical JSON encoding (SPEC.md §4.3).
    pub fn to_json(&self) -> Vec<u8> {
        // Integers and base64 strings only: serialization cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }
}

impl ConsistencyProof {
    /// Parses the JSON encoding strictly (SPEC.md §2 then §4.4).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProofError> {
        let v = crate::jcs::parse(bytes).map_err(|_| ProofError::Malformed("not strict JSON"))?;
        serde_json::from_value(v).map_err(|_| ProofError::Malformed("not a consistency proof object"))
    }
    /// The canonical JSON encoding (SPEC.md §4.4).
    pub fn to_json(&self) -> Vec<u8> {
        // Integers and base64 strings only: serialization cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }
}
