//! Hash sources for proofs: a snapshot, optionally overlaid with hashes not yet readable from it.

use crate::store::{Snapshot, SnapshotSource, StoreError};
use evl_sdk::{Digest, SubtreeSource};
use std::cell::RefCell;
use std::collections::HashMap;

/// Reads stored hashes through a small cache, pre-filled with a batch's new hashes, so the
/// receipts of one group commit share their upper-level reads.
pub struct CachedSource<'a, S: Snapshot> {
    snap: &'a S,
    cache: RefCell<HashMap<(u32, u64), Digest>>,
}

impl<'a, S: Snapshot> CachedSource<'a, S> {
    /// A source over `snap` with `known` hashes already cached.
    pub fn new(snap: &'a S, known: impl IntoIterator<Item = ((u32, u64), Digest)>) -> Self {
        Self {
            snap,
            cache: RefCell::new(known.into_iter().collect()),
        }
    }
}

impl<S: Snapshot> SubtreeSource for CachedSource<'_, S> {
    type Error = StoreError;
    fn subtree(&self, level: u32, index: u64) -> Result<Digest, StoreError> {
        if let Some(d) = self.cache.borrow().get(&(level, index)) {
            return Ok(*d);
        }
        let d = self
            .snap
            .hash(level, index)?
            .ok_or_else(|| StoreError::Damaged(format!("stored hash {level}/{index} is missing")))?;
        self.cache.borrow_mut().insert((level, index), d);
        Ok(d)
    }
}

/// A source that reads every hash a proof needs in one [`Snapshot::subtrees`] call: one round
/// trip to a networked store instead of one per hash (2·log₂ n for a receipt). Which subtrees
/// a proof reads depends on the tree's shape alone, so [`prefetched`] runs the proof once
/// against [`Prefetch::Record`] (which answers with placeholder hashes and notes the positions)
/// and then against the fetched hashes. The SDK's proof code is unchanged: this only watches it.
/// For a store whose reads are local ([`Snapshot::prefers_batches`] false: redb, memory) the
/// proof reads directly and runs once.
pub enum Prefetch<'a, S: Snapshot> {
    /// A local store: reads go straight to the snapshot.
    Direct(&'a S),
    /// First pass: notes the positions asked for.
    Record(RefCell<Vec<(u32, u64)>>),
    /// Second pass: answers from the fetched hashes (falling back to single reads).
    Serve(CachedSource<'a, S>),
}

impl<S: Snapshot> SubtreeSource for Prefetch<'_, S> {
    type Error = StoreError;
    fn subtree(&self, level: u32, index: u64) -> Result<Digest, StoreError> {
        match self {
            Prefetch::Record(seen) => {
                seen.borrow_mut().push((level, index));
                Ok(Digest::from_bytes([0; 32]))
            }
            Prefetch::Serve(src) => src.subtree(level, index),
            Prefetch::Direct(snap) => SnapshotSource(*snap).subtree(level, index),
        }
    }
}

/// Runs `f` (a proof built from a [`SubtreeSource`]) with every stored hash it needs fetched in
/// one batched read first.
pub fn prefetched<'a, S: Snapshot, T, E>(
    snap: &'a S,
    f: impl Fn(&Prefetch<'a, S>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    if !snap.prefers_batches() {
        return f(&Prefetch::Direct(snap));
    }
    batched(snap, f)
}

/// The two passes of [`prefetched`], whatever the store prefers.
fn batched<'a, S: Snapshot, T, E>(snap: &'a S, f: impl Fn(&Prefetch<'a, S>) -> Result<T, E>) -> Result<T, E>
where
    E: From<StoreError>,
{
    let record = Prefetch::Record(RefCell::new(Vec::new()));
    // The first pass's result is discarded: its hashes are placeholders.
    let _ = f(&record);
    let mut at = match record {
        Prefetch::Record(seen) => seen.into_inner(),
        Prefetch::Serve(_) | Prefetch::Direct(_) => Vec::new(),
    };
    at.sort_unstable();
    at.dedup();
    let hashes = snap.subtrees(&at)?;
    let known = at.into_iter().zip(hashes).filter_map(|(p, h)| h.map(|h| (p, h)));
    f(&Prefetch::Serve(CachedSource::new(snap, known)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::{Batch, NewNode, Store};
    use evl_sdk::{Frontier, LeafIndex, Node, TreeSize, prove_consistency, prove_inclusion};

    /// The batched path gives the proofs the direct path gives.
    #[test]
    fn batched_proofs_equal_direct_ones() {
        let store = MemoryStore::new();
        let mut f = Frontier::new();
        let mut b = Batch::default();
        for i in 0..77u64 {
            let n = Node::from_json(format!(r#"{{"type":"x-p","i":{i}}}"#).as_bytes()).unwrap();
            let index = f.size().next_index();
            b.hashes.extend(f.push(n.id().leaf_hash()).unwrap());
            b.nodes.push(NewNode {
                index,
                id: n.id(),
                bytes: n.bytes().to_vec(),
            });
        }
        b.tree_size = Some(f.size());
        store.commit(b).unwrap();
        let snap = store.snapshot().unwrap();
        let size = TreeSize::new(77).unwrap();
        for i in [0, 1, 40, 63, 64, 76] {
            let at = LeafIndex::new(i).unwrap();
            let direct = prove_inclusion(&SnapshotSource(&snap), at, size).unwrap();
            let fetched: Result<_, StoreError> = batched(&snap, |src| {
                prove_inclusion(src, at, size).map_err(|_| StoreError::Other("prove".into()))
            });
            assert_eq!(fetched.unwrap(), direct);
        }
        let old = TreeSize::new(13).unwrap();
        let direct = prove_consistency(&SnapshotSource(&snap), old, size).unwrap();
        let fetched: Result<_, StoreError> = batched(&snap, |src| {
            prove_consistency(src, old, size).map_err(|_| StoreError::Other("prove".into()))
        });
        assert_eq!(fetched.unwrap(), direct);
    }
}
