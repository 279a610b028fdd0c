//! The store a configuration selects: the embedded redb file (the default) or a PostgreSQL
//! database (`[store] url`). One type for the server and the CLI, so every command runs on
//! either; each call goes to the backend unchanged.

use super::postgres::{PgSnapshot, PgStore};
use super::redb_store::{RedbSnapshot, RedbStore};
use super::{Batch, Repair, Snapshot, Store, StoreError, StoreStats, Version};
use evl_sdk::{Digest, LeafIndex, NodeId, TreeSize};

/// A redb or a PostgreSQL store.
pub enum AnyStore {
    /// The embedded redb file.
    Redb(RedbStore),
    /// A PostgreSQL database.
    Pg(PgStore),
}

/// A snapshot of an [`AnyStore`].
// The redb snapshot is the large and the common one: boxing it would add an allocation to
// every read of the default store, to save moves of a value taken once per request.
#[allow(clippy::large_enum_variant)]
pub enum AnySnapshot {
    /// Of a redb store.
    Redb(RedbSnapshot),
    /// Of a PostgreSQL store.
    Pg(PgSnapshot),
}

impl AnyStore {
    /// The redb store, if this is one (operations only the embedded file has: reclaim,
    /// table statistics, file copies).
    pub fn as_redb(&self) -> Option<&RedbStore> {
        match self {
            AnyStore::Redb(s) => Some(s),
            AnyStore::Pg(_) => None,
        }
    }

    /// Where the store is, safe to print (a path, or a connection without its password).
    pub fn describe(&self) -> String {
        match self {
            AnyStore::Redb(s) => s.path().display().to_string(),
            AnyStore::Pg(s) => s.describe(),
        }
    }
}

impl From<RedbStore> for AnyStore {
    fn from(s: RedbStore) -> Self {
        AnyStore::Redb(s)
    }
}

impl From<PgStore> for AnyStore {
    fn from(s: PgStore) -> Self {
        AnyStore::Pg(s)
    }
}

/// Calls the same method on whichever backend `$x` holds.
macro_rules! each {
    ($x:expr, $s:ident => $call:expr) => {
        match $x {
            AnySnapshot::Redb($s) => $call,
            AnySnapshot::Pg($s) => $call,
        }
    };
}

impl Snapshot for AnySnapshot {
    fn tree_size(&self) -> Result<TreeSize, StoreError> {
        each!(self, s => s.tree_size())
    }
    fn node(&self, index: LeafIndex) -> Result<Option<Vec<u8>>, StoreError> {
        each!(self, s => s.node(index))
    }
    fn index_of(&self, id: &NodeId) -> Result<Option<LeafIndex>, StoreError> {
        each!(self, s => s.index_of(id))
    }
    fn index_of_many(&self, ids: &[NodeId]) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        each!(self, s => s.index_of_many(ids))
    }
    fn hash(&self, level: u32, index: u64) -> Result<Option<Digest>, StoreError> {
        each!(self, s => s.hash(level, index))
    }
    fn subtrees(&self, at: &[(u32, u64)]) -> Result<Vec<Option<Digest>>, StoreError> {
        each!(self, s => s.subtrees(at))
    }
    fn prefers_batches(&self) -> bool {
        each!(self, s => s.prefers_batches())
    }
    fn id_count(&self) -> Result<Option<u64>, StoreError> {
        each!(self, s => s.id_count())
    }
    fn format(&self) -> &'static str {
        each!(self, s => s.format())
    }
    fn version(&self) -> Result<Version, StoreError> {
        each!(self, s => s.version())
    }
    fn checkpoint(&self, size: TreeSize) -> Result<Option<String>, StoreError> {
        each!(self, s => s.checkpoint(size))
    }
    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, String)>, StoreError> {
        each!(self, s => s.latest_checkpoint())
    }
    fn anchor(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        each!(self, s => s.anchor(seq))
    }
    fn anchors(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        each!(self, s => s.anchors())
    }
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        each!(self, s => s.meta(key))
    }
    fn scan_nodes(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        each!(self, s => s.scan_nodes(from, to, f))
    }
    fn scan_ids(&self, f: &mut dyn FnMut(NodeId, u64) -> bool) -> Result<(), StoreError> {
        each!(self, s => s.scan_ids(f))
    }
    fn scan_checkpoints(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(TreeSize, &str) -> bool,
    ) -> Result<(), StoreError> {
        each!(self, s => s.scan_checkpoints(from, to, f))
    }
    fn redaction(&self, index: LeafIndex) -> Result<Option<LeafIndex>, StoreError> {
        each!(self, s => s.redaction(index))
    }
    fn scan_hashes(
        &self,
        level: u32,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, Option<Digest>) -> bool,
    ) -> Result<(), StoreError> {
        each!(self, s => s.scan_hashes(level, from, to, f))
    }
}

impl Store for AnyStore {
    type Snapshot = AnySnapshot;

    fn snapshot(&self) -> Result<AnySnapshot, StoreError> {
        Ok(match self {
            AnyStore::Redb(s) => AnySnapshot::Redb(s.snapshot()?),
            AnyStore::Pg(s) => AnySnapshot::Pg(s.snapshot()?),
        })
    }
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        match self {
            AnyStore::Redb(s) => s.commit(batch),
            AnyStore::Pg(s) => s.commit(batch),
        }
    }
    fn stats(&self) -> StoreStats {
        match self {
            AnyStore::Redb(s) => s.stats(),
            AnyStore::Pg(s) => s.stats(),
        }
    }
    fn load(&self, batch: &Batch, durable: bool) -> Result<(), StoreError> {
        match self {
            AnyStore::Redb(s) => s.load(batch, durable),
            AnyStore::Pg(s) => s.load(batch, durable),
        }
    }
    fn probe_writable(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Redb(s) => s.probe_writable(),
            AnyStore::Pg(s) => s.probe_writable(),
        }
    }
    fn forget_caches(&self) {
        match self {
            AnyStore::Redb(s) => s.forget_caches(),
            AnyStore::Pg(s) => s.forget_caches(),
        }
    }
    fn writer_lock(&self) -> Result<Option<super::WriterLock>, StoreError> {
        match self {
            AnyStore::Redb(s) => s.writer_lock(),
            AnyStore::Pg(s) => s.writer_lock(),
        }
    }
    fn repair(&self, repair: Repair) -> Result<(), StoreError> {
        match self {
            AnyStore::Redb(s) => s.repair(repair),
            AnyStore::Pg(s) => s.repair(repair),
        }
    }
}
