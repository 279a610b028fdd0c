//! The storage contract. A `Store` holds the log's durable state; every backend passes the same
//! conformance suite (`store::conformance`, public behind the `conformance` feature).
//!
//! Contract, for every implementation:
//! - **Atomicity**: [`Store::commit`] applies a whole [`Batch`] or none of it, also across a crash.
//! - **Durability**: when `commit` returns `Ok`, the batch survives process and machine crashes
//!   (the redb backend commits with `Durability::Immediate` and quick-repair: a two-phase commit,
//!   two fdatasyncs). Nothing is acknowledged before that.
//! - **Append-only**: a node, hash, checkpoint or anchor, once committed, is never changed by
//!   `commit`; batches only add. Two exceptions: [`Store::repair`], which puts back damaged
//!   entries below the committed tree size (its doc comment is its contract), and redaction
//!   ([`Batch::redact`]), which deletes the content of committed nodes, and nothing else, in the
//!   same commit that appends their `redaction/v1` records (SPEC.md §3.4). A redacted node keeps
//!   its leaf index, its id-map entry and every stored hash, so every root, checkpoint and proof
//!   is unchanged; `node` returns `Ok(None)` for it and [`Snapshot::redaction`] names its record.
//!   Snapshots taken before a redaction may still return the content (redb) or not (memory).
//! - **Snapshots**: a [`Snapshot`] sees one committed state; later commits do not change what it
//!   returns for entries below its `tree_size`.
//! - **Not found** is `Ok(None)`, never an error; errors mean the store itself failed.

pub mod any;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod deferred_sync;
mod guard;
pub mod memory;
pub mod postgres;
mod redb_shared;
pub mod redb_store;
pub mod v2;

use evl_sdk::{Digest, LeafIndex, NodeId, StoredHash, TreeSize};

/// The store format tag of the `evl-store/1` layout (one row per node, hash and id-map entry;
/// docs/design.md, "Storage"): what the meta key `format` holds.
pub const FORMAT_1: &str = "evl-store/1";
/// The store format tag of the `evl-store/2` layout (segments, hash tiles, id runs;
/// docs/design.md, "Storage v2").
pub const FORMAT_2: &str = "evl-store/2";

/// The layouts this build writes; a store's format is fixed when its file is made
/// (`evl init --store-format`, `evl restore --store-format`, `evl migrate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreFormat {
    /// [`FORMAT_1`]: one B-tree row per node, id-map entry and stored hash.
    V1,
    /// [`FORMAT_2`]: segments, hash tiles and id runs.
    V2,
}

impl StoreFormat {
    /// Every format, oldest first.
    pub const ALL: [StoreFormat; 2] = [StoreFormat::V1, StoreFormat::V2];

    /// The tag the meta key `format` holds.
    pub fn tag(self) -> &'static str {
        match self {
            StoreFormat::V1 => FORMAT_1,
            StoreFormat::V2 => FORMAT_2,
        }
    }

    /// The number operators type (`--store-format 2`).
    pub fn number(self) -> u8 {
        match self {
            StoreFormat::V1 => 1,
            StoreFormat::V2 => 2,
        }
    }

    /// The format numbered `n`, if this build knows it.
    pub fn from_number(n: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.number() == n)
    }

    /// The format tagged `tag`, if this build knows it.
    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.tag() == tag)
    }
}

impl std::fmt::Display for StoreFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

/// A storage failure, by the kind a caller acts on. Each kind has a stable code
/// ([`StoreError::code`]); the message says what failed, never what command to run next (the
/// CLI adds that).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The batch's precondition ([`Batch::expect`]) does not hold: another writer committed
    /// since the batch was built. Nothing was written; the writer reloads its state.
    #[error("the store changed since this batch was built: expected {expected}, found {found}")]
    Conflict {
        /// What the batch expected.
        expected: Version,
        /// What the store holds.
        found: Version,
    },
    /// A NodeId the batch adds is already stored (a bulk load of a log that holds it twice).
    #[error("NodeId {id} is already stored at leaf {index}; a log holds each NodeId once")]
    DuplicateNodeId {
        /// The NodeId.
        id: NodeId,
        /// Where it is stored.
        index: u64,
    },
    /// The store's data cannot be read: the engine found damage (or failed while reading it).
    /// Names what could not be read.
    #[error("the store is damaged: {0}")]
    Damaged(String),
    /// The disk (or quota) is full: nothing was written. Writes can succeed again once space
    /// is freed.
    #[error("the disk is full: {0}")]
    Full(String),
    /// The store cannot be used now: it is in use by another process, opened read-only, or an
    /// earlier I/O failure closed it until it is reopened.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A batch or repair that breaks this module's contract (a caller's bug); nothing written.
    #[error("refused by the store: {0}")]
    Invalid(String),
    /// Any other failure of the storage engine or the file system.
    #[error("storage: {0}")]
    Other(String),
}

impl StoreError {
    /// Wraps any displayable error as [`StoreError::Other`].
    pub fn new(e: impl std::fmt::Display) -> Self {
        Self::Other(e.to_string())
    }

    /// The stable code (SPEC.md §12): `CONFLICT`, `DUPLICATE_NODE_ID`, `STORE_DAMAGED`,
    /// `STORAGE_FULL`, `STORAGE_UNAVAILABLE`, or `STORAGE_ERROR` for the rest.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Conflict { .. } => "CONFLICT",
            StoreError::DuplicateNodeId { .. } => "DUPLICATE_NODE_ID",
            StoreError::Damaged(_) => "STORE_DAMAGED",
            StoreError::Full(_) => "STORAGE_FULL",
            StoreError::Unavailable(_) => "STORAGE_UNAVAILABLE",
            StoreError::Invalid(_) | StoreError::Other(_) => "STORAGE_ERROR",
        }
    }
}

/// The version of a committed state: a snapshot is defined by its tree size and its last
/// anchor, so a networked backend can check a batch's precondition without holding a
/// transaction open between the read and the write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Version {
    /// The committed tree size.
    pub tree_size: u64,
    /// The sequence number of the last stored anchor, if any.
    pub last_anchor: Option<u64>,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.last_anchor {
            Some(a) => write!(f, "tree size {} with last anchor {a}", self.tree_size),
            None => write!(f, "tree size {} with no anchor", self.tree_size),
        }
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

/// A node whose content a batch deletes (redaction, SPEC.md §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Redact {
    /// The redacted node's leaf index: below the tree size before the batch, content present.
    pub index: LeafIndex,
    /// The leaf index of its `redaction/v1` record: one of the same batch's new nodes.
    pub record: LeafIndex,
}

/// Everything one commit adds (and, for redactions, deletes).
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
    /// The state the batch was built on. When set, `commit` writes nothing and fails with
    /// [`StoreError::Conflict`] unless the store's [`Version`] is exactly this one.
    pub expect: Option<Version>,
    /// Nodes whose content this commit deletes, each with its record among `nodes`. `commit`
    /// fails and writes nothing if a redacted index is at or beyond the stored tree size, has
    /// no content (already redacted), appears twice, or names a record that is not one of this
    /// batch's nodes. The ledger checks the rest (the record is the node's `redaction/v1`).
    pub redact: Vec<Redact>,
}

impl Batch {
    /// `Err(Conflict)` unless the store's version `found` is the one the batch expects
    /// ([`Batch::expect`]); every backend checks it inside its commit.
    pub fn check_expect(&self, found: Version) -> Result<(), StoreError> {
        match self.expect {
            Some(expected) if expected != found => Err(StoreError::Conflict { expected, found }),
            _ => Ok(()),
        }
    }

    /// `Err` unless the redactions fit the module contract for a log of `size` leaves before
    /// this batch (content presence is the backend's check).
    pub fn check_redactions(&self, size: u64) -> Result<(), StoreError> {
        let mut seen = std::collections::HashSet::new();
        // The batch's nodes continue the log at consecutive indices (checked by `commit`).
        let new = match (self.nodes.first(), self.nodes.last()) {
            (Some(a), Some(b)) => a.index..=b.index,
            _ => {
                return if self.redact.is_empty() {
                    Ok(())
                } else {
                    Err(StoreError::Invalid(
                        "a redaction needs its record in the same batch".into(),
                    ))
                };
            }
        };
        for r in &self.redact {
            let is_new = new.contains(&r.record);
            if r.index.get() >= size || !is_new || !seen.insert(r.index) {
                return Err(StoreError::Invalid(format!(
                    "redaction of leaf {} (record at leaf {}) does not fit this batch: the leaf must be committed and redacted once, the record new in the batch",
                    r.index, r.record
                )));
            }
        }
        Ok(())
    }
}

/// Entries that [`Store::repair`] rewrites in place.
#[derive(Clone, Debug, Default)]
pub struct Repair {
    /// Canonical node bytes to put back, by leaf index.
    pub nodes: Vec<(LeafIndex, Vec<u8>)>,
    /// Stored perfect-subtree hashes to rewrite.
    pub hashes: Vec<StoredHash>,
    /// Id-map entries to set (NodeId → leaf index).
    pub ids: Vec<(NodeId, LeafIndex)>,
}

impl Repair {
    /// Whether there is nothing to rewrite.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.hashes.is_empty() && self.ids.is_empty()
    }

    /// `Err` unless every position lies below `size`: a leaf index `< size`, a hash (level,
    /// index) whose subtree `[index·2^level, (index+1)·2^level)` is inside `[0, size)`.
    pub fn check_bounds(&self, size: u64) -> Result<(), StoreError> {
        let leaf_ok = |i: LeafIndex| i.get() < size;
        let hash_ok = |h: &StoredHash| {
            h.level < 64
                && h.index
                    .checked_add(1)
                    .and_then(|k| k.checked_mul(1u64 << h.level))
                    .is_some_and(|end| end <= size)
        };
        if self.nodes.iter().all(|(i, _)| leaf_ok(*i))
            && self.ids.iter().all(|(_, i)| leaf_ok(*i))
            && self.hashes.iter().all(hash_ok)
        {
            Ok(())
        } else {
            Err(StoreError::Invalid(format!(
                "a repair may only rewrite entries below the committed tree size {size}"
            )))
        }
    }
}

/// A held [`Store::writer_lock`]: released when dropped.
pub type WriterLock = Box<dyn std::any::Any + Send>;

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
    /// The indices of several nodes, in the order asked: what a group commit's deduplication
    /// needs in one call (one round trip to a networked store instead of one per node).
    fn index_of_many(&self, ids: &[NodeId]) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        ids.iter().map(|id| self.index_of(id)).collect()
    }
    /// A stored perfect-subtree hash.
    fn hash(&self, level: u32, index: u64) -> Result<Option<Digest>, StoreError>;
    /// Several stored hashes, answered in the order asked: what a receipt or a proof needs, in
    /// one call (one round trip to a networked store instead of one per hash).
    fn subtrees(&self, at: &[(u32, u64)]) -> Result<Vec<Option<Digest>>, StoreError> {
        at.iter().map(|&(level, index)| self.hash(level, index)).collect()
    }
    /// Whether one [`Snapshot::subtrees`] call is cheaper than the same reads one by one (a
    /// networked store: one round trip instead of many). Readers then fetch all the hashes a
    /// proof needs in one call (`source::prefetched`); for a local store (the default) they
    /// read them directly, so a proof is built once.
    fn prefers_batches(&self) -> bool {
        false
    }
    /// How many entries the id map holds, when the backend can tell cheaply (`None` otherwise).
    /// Fewer than the tree size means the id map lost entries (damage): readers then find a
    /// node by its leaf hash instead of answering "not found".
    fn id_count(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
    /// The store format tag of this store's layout ([`FORMAT_1`], [`FORMAT_2`]): the ledger
    /// writes it at init and refuses to open a store whose `format` meta says otherwise.
    fn format(&self) -> &'static str {
        FORMAT_1
    }
    /// The version of this state: its tree size and last anchor ([`Batch::expect`]).
    fn version(&self) -> Result<Version, StoreError> {
        Ok(Version {
            tree_size: self.tree_size()?.get(),
            last_anchor: self.anchors()?.last().map(|(seq, _)| *seq),
        })
    }
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
    /// Calls `f` with every id-map entry (NodeId, leaf index) whose index is below `tree_size`,
    /// in digest order; stops early when `f` returns false. An O(n) scan for repair tools (the
    /// NodeId the id map holds for a damaged leaf), never on a request path.
    fn scan_ids(&self, f: &mut dyn FnMut(NodeId, u64) -> bool) -> Result<(), StoreError>;
    /// Calls `f` for the stored checkpoints with tree size in `from..=to`, ascending; stops early
    /// when `f` returns false. The default looks up every size; backends override it with a
    /// range scan.
    fn scan_checkpoints(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(TreeSize, &str) -> bool,
    ) -> Result<(), StoreError> {
        for s in from..=to {
            let Some(size) = TreeSize::new(s) else {
                break;
            };
            if let Some(cp) = self.checkpoint(size)?
                && !f(size, &cp)
            {
                break;
            }
        }
        Ok(())
    }
    /// The leaf index of the `redaction/v1` record of the node at `index`, if its content was
    /// redacted ([`Batch::redact`]); `Ok(None)` otherwise, or at or beyond `tree_size`.
    fn redaction(&self, index: LeafIndex) -> Result<Option<LeafIndex>, StoreError>;
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
    /// Bulk loading, for a restore into a new store that nothing else uses until the load is
    /// done: applies `batch` as [`Store::commit`] does, and in addition fails with
    /// [`StoreError::DuplicateNodeId`] (writing nothing) if one of its NodeIds is already stored.
    /// A node with empty `bytes` is a leaf restored without content (a redacted leaf): its id
    /// is recorded, no content. Unless `durable`, the commit need not reach the disk before it
    /// returns; a later durable load makes it and every earlier one durable. The default is a
    /// durable [`Store::commit`] after the duplicate check.
    fn load(&self, batch: &Batch, durable: bool) -> Result<(), StoreError> {
        let _ = durable;
        let snap = self.snapshot()?;
        let mut seen = std::collections::HashSet::new();
        for n in &batch.nodes {
            if let Some(index) = snap.index_of(&n.id)? {
                return Err(StoreError::DuplicateNodeId {
                    id: n.id,
                    index: index.get(),
                });
            }
            if !seen.insert(n.id) {
                return Err(StoreError::DuplicateNodeId {
                    id: n.id,
                    index: n.index.get(),
                });
            }
        }
        self.commit(batch.clone())
    }
    /// Whether a commit can succeed now: after a commit failed with [`StoreError::Full`] or
    /// [`StoreError::Unavailable`], the writer calls this before reporting the store writable
    /// again. Writes nothing the log keeps. The default commits an empty batch.
    fn probe_writable(&self) -> Result<(), StoreError> {
        self.commit(Batch::default())
    }
    /// Holds off other processes' writers while this one builds and commits a batch, until the
    /// returned guard is dropped: on a database that several front ends share they would
    /// otherwise race, and all but one would get [`StoreError::Conflict`] and build again
    /// (correct, as the batch precondition makes it, but wasted work). `None` (the default)
    /// for a store only one process writes.
    fn writer_lock(&self) -> Result<Option<WriterLock>, StoreError> {
        Ok(None)
    }
    /// Drops whatever the store cached of its rows, so the next reads go to the storage: for a
    /// writer whose loaded state does not reproduce the signed checkpoint (the store may have
    /// gone back and forward again under a cache). The default caches nothing.
    fn forget_caches(&self) {}
    /// Puts back damaged entries: the one operation outside the append-only contract.
    ///
    /// Contract:
    /// - **Scope.** Rewrites, in place, node bytes at existing leaf indices, stored hashes and
    ///   id-map entries, all below the committed `tree_size` ([`Repair::check_bounds`]). It never
    ///   adds or removes a leaf, changes `tree_size`, or touches checkpoints, anchors or meta.
    /// - **Atomicity and durability** as [`Store::commit`]: all of it or none of it, durable when
    ///   `Ok` is returned. A repair with a position out of bounds writes nothing.
    /// - **Values are the caller's responsibility.** The store does not check them. The one
    ///   caller, `Ledger::recover`, writes only node bytes whose NodeId's leaf hash is the stored
    ///   leaf hash, and hashes recomputed from leaves that reproduce every signed root
    ///   (docs/design.md, recovery).
    /// - **Snapshots** taken before the repair may see the old or the new values.
    fn repair(&self, repair: Repair) -> Result<(), StoreError>;
}

/// Adapts a snapshot to the SDK's [`evl_sdk::SubtreeSource`]: a missing hash is an error.
pub struct SnapshotSource<'a, S: Snapshot>(pub &'a S);

impl<S: Snapshot> evl_sdk::SubtreeSource for SnapshotSource<'_, S> {
    type Error = StoreError;
    fn subtree(&self, level: u32, index: u64) -> Result<Digest, StoreError> {
        self.0
            .hash(level, index)?
            .ok_or_else(|| StoreError::Damaged(format!("stored hash {level}/{index} is missing")))
    }
}
