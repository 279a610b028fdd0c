//! The storage contract. A `Store` holds the log's durable state; every backend passes the same
//! suite (`store::tests::suite`).
//!
//! Contract, for every implementation:
//! - **Atomicity**: [`Store::commit`] applies a whole [`Batch`] or none of it, also across a crash.
//! - **Durability**: when `commit` returns `Ok`, the batch survives process and machine crashes
//!   (the redb backend commits with `Durability::Immediate` and quick-repair: a two-phase commit,
//!   two fdatasyncs). Nothing is acknowledged before that.
//! - **Append-only**: a node, hash, checkpoint or anchor, once committed, is never changed by
//!   `commit`; batches only add. (Repair tools work outside this trait.)
//! - **Snapshots**: a [`Snapshot`] sees one committed state; later commits do not change what it
//!   returns for entries below its `tree_size`.
//! - **Not found** is `Ok(None)`, never an error; errors mean the store itself failed.

pub mod memory;
pub mod redb_store;
#[cfg(test)]
pub(crate) mod tests;

use evl_sdk::{Digest, LeafIndex, NodeId, StoredHash, TreeSize};

/// A storage failure (I/O, corruption detected by the engine, or a full disk).
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// Wraps any displayable error.
    pub fn new(e: impl std::fmt::Display) -> Self {
        Self(e.to_string())
    }
}

/// A node to add at `index`.
#[derive(Clone, Debug)]
pub struct NewNode {
    /// Its leaf index.
    pub index: LeafIndex,
    /// Its NodeId.
    pub id: NodeId,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
}

/// Everything one commit adds.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// New nodes, in index order, continuing the tree.
    pub nodes: Vec<NewNode>,
    /// New perfect-subtree hashes.
    pub hashes: Vec<StoredHash>,
    /// The tree size after the batch (unchanged if `nodes` is empty).
    pub tree_size: Option<TreeSize>,
    /// Signed checkpoints (note text) by tree size.
    pub checkpoints: Vec<(TreeSize, String)>,
    /// Anchor envelopes by sequence number.
    pub anchors: Vec<(u64, Vec<u8>)>,
    /// Metadata entries to set.
    pub meta: Vec<(String, Vec<u8>)>,
}

/// Store statistics for `evl status`.
#[derive(Clone, Debug, Default)]
pub struct StoreStats {
    /// Bytes the store occupies on disk (0 in memory).
    pub disk_bytes: u64,
}

/// A read-only view of one committed state.
pub trait Snapshot {
    /// Number of leaves.
    fn tree_size(&self) -> Result<TreeSize, StoreError>;
    /// Canonical bytes of the node at `index`.
    fn node(&self, index: LeafIndex) -> Result<Option<Vec<u8>>, StoreError>;
    /// The index of a node.
    fn index_of(&self, id: &NodeId) -> Result<Option<LeafIndex>, StoreError>;
    /// A stored perfect-subtree hash.
    fn hash(&self, level: u32, index: u64) -> Result<Option<Digest>, StoreError>;
    /// The signed checkpoint stored for exactly `size`.
    fn checkpoint(&self, size: TreeSize) -> Result<Option<String>, StoreError>;
    /// The signed checkpoint with the largest size.
    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, String)>, StoreError>;
    /// The anchor envelope with sequence number `seq`.
    fn anchor(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// All stored anchors in sequence order.
    fn anchors(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// A metadata value.
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Calls `f` for nodes `from..to` in index order; stops early when `f` returns false.
    fn scan_nodes(&self, from: u64, to: u64, f: &mut dyn FnMut(u64, &[u8]) -> bool)
    -> Result<(), StoreError>;
    /// Calls `f` for the stored hashes of one level with index in `from..to`, in index order.
    fn scan_hashes(
        &self,
        level: u32,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, Option<Digest>) -> bool,
    ) -> Result<(), StoreError>;
}

/// A log store.
pub trait Store: Send + Sync + 'static {
    /// The snapshot type.
    type Snapshot: Snapshot;
    /// A view of the latest committed state.
    fn snapshot(&self) -> Result<Self::Snapshot, StoreError>;
    /// Atomically and durably applies `batch` (see the module contract).
    fn commit(&self, batch: Batch) -> Result<(), StoreError>;
    /// Statistics.
    fn stats(&self) -> StoreStats;
}

/// Adapts a snapshot to the SDK's [`evl_sdk::SubtreeSource`]: a missing hash is an error.
pub struct SnapshotSource<'a, S: Snapshot>(pub &'a S);

impl<S: Snapshot> evl_sdk::SubtreeSource for SnapshotSource<'_, S> {
    type Error = StoreError;
    fn subtree(&self, level: u32, index: u64) -> Result<Digest, StoreError> {
        self.0
            .hash(level, index)?
            .ok_or_else(|| StoreError(format!("stored hash {level}/{index} is missing")))
    }
}
