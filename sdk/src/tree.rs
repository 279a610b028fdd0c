//! RFC 9162 Merkle tree index math: sizes, indices, subtree hashes, proof generation (SPEC.md §4).
//!
//! A log stores the hash of every *perfect* subtree: level `L`, index `k` covers leaves
//! `[k·2^L, (k+1)·2^L)`. Any root, inclusion proof or consistency proof at any tree size is then a
//! function of O(log n) stored hashes, computed here once for every storage backend.

use crate::hash::{Digest, empty_root, node_hash};
use crate::limits::MAX_TREE_SIZE;
use crate::proof::{ConsistencyProof, InclusionProof};
use core::fmt;

/// A number of leaves in the log, at most [`MAX_TREE_SIZE`]. Serialized as the bare integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct TreeSize(u64);

impl TreeSize {
    /// The empty tree.
    pub const ZERO: TreeSize = TreeSize(0);

    /// Checks the limit.
    pub fn new(n: u64) -> Option<Self> {
        (n <= MAX_TREE_SIZE).then_some(Self(n))
    }
    /// The number of leaves.
    pub const fn get(self) -> u64 {
        self.0
    }
    /// Whether `index` names a leaf of a tree of this size.
    pub fn contains(self, index: LeafIndex) -> bool {
        index.0 < self.0
    }
    /// The size after appending one more leaf, if within the limit.
    pub fn next(self) -> Option<TreeSize> {
        Self::new(self.0.checked_add(1)?)
    }
    /// The index the next appended leaf gets.
    pub fn next_index(self) -> LeafIndex {
        LeafIndex(self.0)
    }
}

impl fmt::Display for TreeSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The 0-based position of a leaf, below [`MAX_TREE_SIZE`]. Serialized as the bare integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct LeafIndex(u64);

impl LeafIndex {
    /// Checks the limit.
    pub fn new(i: u64) -> Option<Self> {
        (i < MAX_TREE_SIZE).then_some(Self(i))
    }
    /// The index.
    pub const fn get(self) -> u64 {
        self.0
    }
    /// The size of the tree whose last leaf this is.
    pub fn size_through(self) -> TreeSize {
        TreeSize(self.0 + 1)
    }
}

impl fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Read access to stored perfect-subtree hashes. Implemented by every log backend.
pub trait SubtreeSource {
    /// The backend's read error.
    type Error;
    /// The hash of the perfect subtree at `level` (0 = leaves) and `index` (SPEC.md §4.2).
    /// Called only for subtrees wholly inside the tree sizes the caller asked about.
    fn subtree(&self, level: u32, index: u64) -> Result<Digest, Self::Error>;
}

/// Largest power of two strictly less than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH of leaves `[start, end)` (RFC 9162 §2.1.1), `start < end`, where `start` is a multiple of
/// the largest power of two ≥ `end − start` (true of every range the RFC recursions visit).
pub fn range_hash<S: SubtreeSource>(src: &S, start: u64, end: u64) -> Result<Digest, S::Error> {
    let n = end - start;
    if n.is_power_of_two() {
        let level = n.trailing_zeros();
        return src.subtree(level, start >> level);
    }
    let k = split(n);
    let left = range_hash(src, start, start + k)?;
    let right = range_hash(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root hash of the tree of size `size` (empty tree: SHA-256 of "").
pub fn root<S: SubtreeSource>(src: &S, size: TreeSize) -> Result<Digest, S::Error> {
    if size.0 == 0 {
        Ok(empty_root())
    } else {
        range_hash(src, 0, size.0)
    }
}

/// Why a proof cannot be produced.
#[derive(Debug, thiserror::Error)]
pub enum ProveError<E> {
    /// The request is outside the tree (index ≥ size, old > new, size 0).
    #[error("{0}")]
    OutOfRange(&'static str),
    /// The backend failed.
    #[error("storage: {0}")]
    Source(E),
}

/// RFC 9162 §2.1.3.1 PATH(m, D[n]): the inclusion proof for leaf `index` in a tree of `size`.
pub fn prove_inclusion<S: SubtreeSource>(
    src: &S,
    index: LeafIndex,
    size: TreeSize,
) -> Result<InclusionProof, ProveError<S::Error>> {
    if !size.contains(index) {
        return Err(ProveError::OutOfRange("leaf index is not below the tree size"));
    }
    let mut out = Vec::new();
    // Walk down iteratively, collecting siblings root-to-leaf, then reverse.
    let (mut m, mut a, mut b) = (index.0, 0u64, size.0);
    while b - a > 1 {
        let k = split(b - a);
        if m < k {
            out.push(range_hash(src, a + k, b).map_err(ProveError::Source)?);
            b = a + k;
        } else {
            out.push(range_hash(src, a, a + k).map_err(ProveError::Source)?);
            a += k;
            m -= k;
        }
    }
    out.reverse();
    Ok(InclusionProof::new_unchecked(index, size, out))
}

/// RFC 9162 §2.1.4.1 PROOF(m, D[n]): the consistency proof from `old` to `new` (0 < old ≤ new).
pub fn prove_consistency<S: SubtreeSource>(
    src: &S,
    old: TreeSize,
    new: TreeSize,
) -> Result<ConsistencyProof, ProveError<S::Error>> {
    if old.0 == 0 || old > new {
        return Err(ProveError::OutOfRange(
            "consistency needs 0 < old size ≤ new size",
        ));
    }
    let mut out = Vec::new();
    let (mut m, mut a, mut b, mut complete) = (old.0, 0u64, new.0, true);
    loop {
        let n = b - a;
        if m == n {
            if !complete {
                out.push(range_hash(src, a, b).map_err(ProveError::Source)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            out.push(range_hash(src, a + k, b).map_err(ProveError::Source)?);
            b = a + k;
        } else {
            out.push(range_hash(src, a, a + k).map_err(ProveError::Source)?);
            a += k;
            m -= k;
            complete = false;
        }
    }
    out.reverse();
    Ok(ConsistencyProof::new_unchecked(old, new, out))
}

/// The right edge of a tree: the roots of its perfect subtrees, largest first. Appending a leaf
/// to it yields the new perfect-subtree hashes a backend must store (SPEC.md §4.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: TreeSize,
    /// (level, hash) of each perfect subtree on the right edge, highest level first.
    peaks: Vec<(u32, Digest)>,
}

/// A perfect-subtree hash a backend must store after an append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredHash {
    /// Level (0 = leaf hash).
    pub level: u32,
    /// Index within the level.
    pub index: u64,
    /// The hash.
    pub hash: Digest,
}

impl Frontier {
    /// The empty tree's frontier.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the frontier of a tree of `size` from stored hashes (≤ 63 reads).
    pub fn load<S: SubtreeSource>(src: &S, size: TreeSize) -> Result<Self, S::Error> {
        let mut peaks = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size.0 & (1 << level) != 0 {
                peaks.push((level, src.subtree(level, start >> level)?));
                start += 1 << level;
            }
        }
        Ok(Self { size, peaks })
    }

    /// Rebuilds a frontier from the hashes of its perfect subtrees, largest first (one per set
    /// bit of `size`, as [`Frontier::peak_hashes`] lists them). `None` if the count is wrong.
    pub fn from_peaks(size: TreeSize, hashes: &[Digest]) -> Option<Self> {
        if hashes.len() != size.0.count_ones() as usize {
            return None;
        }
        let levels = (0..64u32).rev().filter(|l| size.0 & (1 << l) != 0);
        Some(Self {
            size,
            peaks: levels.zip(hashes.iter().copied()).collect(),
        })
    }

    /// The hashes of the perfect subtrees covering `[0, size)`, largest (leftmost) first.
    pub fn peak_hashes(&self) -> Vec<Digest> {
        self.peaks.iter().map(|&(_, h)| h).collect()
    }

    /// The number of leaves.
    pub fn size(&self) -> TreeSize {
        self.size
    }

    /// Appends a leaf hash; returns every new perfect-subtree hash (level 0 first), or `None`
    /// when the tree is full.
    pub fn push(&mut self, leaf: Digest) -> Option<Vec<StoredHash>> {
        let next = self.size.next()?;
        let index = self.size.0;
        let mut out = vec![StoredHash {
            level: 0,
            index,
            hash: leaf,
        }];
        let (mut level, mut h) = (0u32, leaf);
        while let Some(&(l, left)) = self.peaks.last() {
            if l != level {
                break;
            }
            self.peaks.pop();
            h = node_hash(&left, &h);
            level += 1;
            out.push(StoredHash {
                level,
                index: index >> level,
                hash: h,
            });
        }
        self.peaks.push((level, h));
        self.size = next;
        Some(out)
    }

    /// The root hash of the current tree.
    pub fn root(&self) -> Digest {
        let mut it = self.peaks.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return empty_root();
        };
        for (_, left) in it {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// A whole tree in memory: every perfect-subtree hash. For tests, vector generation and small
/// multi-node packs; a log uses a store.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Digest>>,
    frontier: Frontier,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }
    /// Builds a tree from leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Digest>) -> Self {
        let mut t = Self::new();
        for l in leaves {
            t.push(l);
        }
        t
    }
    /// Appends a leaf hash. Trees here are far below [`MAX_TREE_SIZE`], so the push always fits.
    pub fn push(&mut self, leaf: Digest) -> LeafIndex {
        let index = self.frontier.size().next_index();
        for s in self.frontier.push(leaf).unwrap_or_default() {
            let level = s.level as usize;
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            self.levels[level].push(s.hash);
        }
        index
    }
    /// The number of leaves.
    pub fn size(&self) -> TreeSize {
        self.frontier.size()
    }
    /// The current root.
    pub fn root(&self) -> Digest {
        self.frontier.root()
    }
    /// The root at an earlier size.
    pub fn root_at(&self, size: TreeSize) -> Option<Digest> {
        if size > self.size() {
            return None;
        }
        root(self, size).ok()
    }
}

/// A subtree the tree does not (yet) hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("subtree {level}/{index} is not in the tree")]
pub struct MissingSubtree {
    /// Level.
    pub level: u32,
    /// Index.
    pub index: u64,
}

impl SubtreeSource for MemoryTree {
    type Error = MissingSubtree;
    fn subtree(&self, level: u32, index: u64) -> Result<Digest, MissingSubtree> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(level as usize)?.get(i))
            .copied()
            .ok_or(MissingSubtree { level, index })
    }
}
