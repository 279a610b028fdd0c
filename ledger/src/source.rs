//! Hash sources for proofs: a snapshot, optionally overlaid with hashes not yet readable from it.

use crate::store::{Snapshot, StoreError};
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
pub enum Prefetch<'a, S: Snapshot> {
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
    let record = Prefetch::Record(RefCell::new(Vec::new()));
    // The first pass's result is discarded: its hashes are placeholders.
    let _ = f(&record);
    let mut at = match record {
        Prefetch::Record(seen) => seen.into_inner(),
        Prefetch::Serve(_) => Vec::new(),
    };
    at.sort_unstable();
    at.dedup();
    let hashes = snap.subtrees(&at)?;
    let known = at.into_iter().zip(hashes).filter_map(|(p, h)| h.map(|h| (p, h)));
    f(&Prefetch::Serve(CachedSource::new(snap, known)))
}
