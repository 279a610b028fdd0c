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
