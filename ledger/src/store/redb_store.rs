//! The embedded default store: redb (docs/design.md §Storage has the tables and the crash model).

use super::deferred_sync::{DeferredSync, Writeback};
use super::guard::guard;
pub(crate) use super::redb_shared::{REDACTIONS, e, io_error};
use super::v2::redb::{self as v2, Caches, IDRUNS, SEGMENTS, TILES, V2Snapshot};
use super::{
    Batch, FORMAT_1, FORMAT_2, Repair, Snapshot, Store, StoreError, StoreFormat, StoreStats, Version,
};
use evl_sdk::{Digest, LeafIndex, NodeId, TreeSize};
use redb::{
    Database, Durability, ReadOnlyDatabase, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable,
    Table, TableDefinition, WriteTransaction,
};
use redb::{Key, TableHandle, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Leaf index → canonical node bytes.
const NODES: TableDefinition<u64, &[u8]> = TableDefinition::new("nodes");
/// NodeId digest → leaf index.
const IDS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("ids");
/// (level << 64 | index) → perfect-subtree hash.
const HASHES: TableDefinition<u128, &[u8; 32]> = TableDefinition::new("hashes");
/// Tree size → signed checkpoint note.
const CHECKPOINTS: TableDefinition<u64, &str> = TableDefinition::new("checkpoints");
/// Anchor sequence number → DSSE envelope JSON.
const ANCHORS: TableDefinition<u64, &[u8]> = TableDefinition::new("anchors");
/// Metadata: `tree_size` (u64 BE), `origin`, `trust_root`, `format`, `reclaim_pending`.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// The meta key a commit with redactions sets and [`RedbStore::reclaim`] clears: the file may
/// still hold redacted bytes in freed pages (docs/design.md, space reclamation).
pub const META_RECLAIM_PENDING: &str = "reclaim_pending";

/// Entries [`RedbStore::reclaim`] copies per transaction. Rationale: bounds the dirty pages of
/// one transaction (≈ 64 MiB of 1 KiB nodes) so a rebuild runs in flat memory at any size.
const RECLAIM_CHUNK: u64 = 65_536;

/// Bytes [`Store::probe_writable`] writes beside the store to tell that the disk has room
/// again. Rationale: a batch of 1,000 nodes of ~1 KB, with its hashes, id-map entries and a
/// checkpoint, needs about 1.5 MB of new pages; 2 MiB says such a batch can be written.
const PROBE_BYTES: usize = 2 * 1024 * 1024;

/// redb page cache. redb's default is 1 GiB; 64 MiB keeps the process within the 300 MB RSS
/// budget at 10 M nodes while holding the upper tree levels and the id-map's inner pages hot.
pub const REDB_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// The meta key holding the committed tree size.
const META_SIZE: &str = "tree_size";

fn hkey(level: u32, index: u64) -> u128 {
    (u128::from(level) << 64) | u128::from(index)
}

/// Opens (or creates) the redb database at `path` for writing, inside the guard; redb runs
/// its crash repair here when the file needs it.
fn create_database(path: &Path) -> Result<Database, StoreError> {
    guard(
        || format!("opening {}", path.display()),
        || {
            Database::builder()
                .set_cache_size(REDB_CACHE_BYTES)
                .create(path)
                .map_err(e)
        },
    )
}

/// The last stored anchor's sequence number.
fn last_anchor(anchors: &impl ReadableTable<u64, &'static [u8]>) -> Result<Option<u64>, StoreError> {
    match anchors.last().map_err(e)? {
        Some((k, _)) => Ok(Some(k.value())),
        None => Ok(None),
    }
}

/// The committed tree size in `meta`, after checking that every node of `batch` continues the
/// log there (both commit paths).
fn continued_size(meta: &Table<&str, &[u8]>, batch: &Batch) -> Result<u64, StoreError> {
    let size = stored_size(meta)?;
    for (k, n) in batch.nodes.iter().enumerate() {
        if n.index.get() != size + k as u64 {
            return Err(StoreError::Invalid(format!(
                "node index {} does not continue the log at {size}",
                n.index
            )));
        }
    }
    Ok(size)
}

/// The committed tree size in `meta` (0 for a new store).
fn stored_size(meta: &Table<&str, &[u8]>) -> Result<u64, StoreError> {
    match meta.get(META_SIZE).map_err(e)? {
        Some(g) => Ok(u64::from_be_bytes(g.value().try_into().map_err(|_| {
            StoreError::Damaged("the stored tree size is not 8 bytes".into())
        })?)),
        None => Ok(0),
    }
}

/// Stores perfect-subtree hashes under their `(level, index)` keys.
fn put_hashes(txn: &WriteTransaction, hashes: &[evl_sdk::StoredHash]) -> Result<(), StoreError> {
    let mut table = txn.open_table(HASHES).map_err(e)?;
    for h in hashes {
        table
            .insert(hkey(h.level, h.index), h.hash.as_bytes())
            .map_err(e)?;
    }
    Ok(())
}

/// Writes a batch's stored hashes, checkpoints, anchors, metadata and new tree size (both
/// commit paths; nodes, ids and redactions differ between them).
fn write_rest(
    txn: &WriteTransaction,
    meta: &mut Table<&str, &[u8]>,
    batch: &Batch,
    layout: &Layout,
) -> Result<(), StoreError> {
    if let Layout::V1 = layout {
        put_hashes(txn, &batch.hashes)?;
    }
    let mut cps = txn.open_table(CHECKPOINTS).map_err(e)?;
    for (s, cp) in &batch.checkpoints {
        cps.insert(s.get(), cp.as_str()).map_err(e)?;
    }
    let mut anchors = txn.open_table(ANCHORS).map_err(e)?;
    for (seq, a) in &batch.anchors {
        anchors.insert(*seq, a.as_slice()).map_err(e)?;
    }
    for (k, v) in &batch.meta {
        meta.insert(k.as_str(), v.as_slice()).map_err(e)?;
    }
    if let Some(s) = batch.tree_size {
        meta.insert(META_SIZE, s.get().to_be_bytes().as_slice())
            .map_err(e)?;
    }
    Ok(())
}

/// Which tables hold the nodes, the tree and the id map: `evl-store/1` (`nodes`, `hashes`,
/// `ids`) or `evl-store/2` (`segments`, `tiles`, `idruns`; docs/design.md, "Storage v2").
/// Read from the file when it is opened; a new file is `evl-store/1` unless made by
/// [`RedbStore::create_v2`].
#[derive(Clone)]
enum Layout {
    V1,
    V2(Arc<Caches>),
}

impl Layout {
    /// The layout of the file `txn` reads: v2 if it has the `segments` table.
    fn of(tables: impl Iterator<Item = redb::UntypedTableHandle>) -> Layout {
        let mut v2 = false;
        for t in tables {
            v2 |= t.name() == SEGMENTS.name();
        }
        if v2 {
            Layout::V2(Arc::default())
        } else {
            Layout::V1
        }
    }
}

/// A redb-backed store in one file.
pub struct RedbStore {
    /// The table layout (format 1 or 2).
    layout: Layout,
    /// The database; replaced by [`RedbStore::heal`] after an I/O failure closed it.
    db: std::sync::RwLock<Db>,
    /// Set when a write failed with a full disk or an I/O error: redb then refuses every call
    /// until the database is reopened, which the next call does ([`RedbStore::heal`]).
    broken: std::sync::atomic::AtomicBool,
    path: PathBuf,
    /// Set for a store made by [`RedbStore::create_for_load`]: the sync redb's backend defers,
    /// started in the background after each non-durable bulk commit.
    deferred: Option<Writeback>,
}

/// The open database: writable, read-only ([`RedbStore::open_read_only`]), or a repaired
/// temporary copy opened for reading only.
enum Handle {
    Rw(Database),
    Ro(ReadOnlyDatabase),
    /// A copy of the store that redb repaired, in a scratch directory removed on close: what
    /// a read-only open reads when the store itself needs redb's crash repair.
    Copy {
        /// The repaired copy (closed before the scratch directory is removed).
        db: Database,
        /// Removed on drop.
        _scratch: Scratch,
    },
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The database handle, closed inside a guard: redb flushes on close, and on a damaged file
/// that may panic too.
struct Db(Option<Handle>);

impl Db {
    fn handle(&self) -> Result<&Handle, StoreError> {
        self.0
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the store is closed".into()))
    }
    fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        match self.handle()? {
            Handle::Rw(db) | Handle::Copy { db, .. } => db.begin_read().map_err(e),
            Handle::Ro(db) => db.begin_read().map_err(e),
        }
    }
    fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        match self.handle()? {
            Handle::Rw(db) => db.begin_write().map_err(e),
            Handle::Ro(_) | Handle::Copy { .. } => Err(StoreError::Unavailable(
                "the store was opened read-only; this command does not write".into(),
            )),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let handle = self.0.take();
        let _ = guard(
            || "closing the store".into(),
            || {
                drop(handle);
                Ok(())
            },
        );
    }
}

impl RedbStore {
    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens or creates the database file at `path` and its tables.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = create_database(path)?;
        Self::with_tables(db, path, None, false)
    }

    /// Creates a new store file at `path` (which must not exist) in the `evl-store/2` layout
    /// (docs/design.md, "Storage v2"). [`RedbStore::open`] opens it again in that layout.
    pub fn create_v2(path: &Path) -> Result<Self, StoreError> {
        if path.exists() {
            return Err(StoreError::Invalid(format!(
                "{} exists; a v2 store is created in a new file",
                path.display()
            )));
        }
        let db = create_database(path)?;
        Self::with_tables(db, path, None, true)
    }

    /// Creates a new store file at `path` (which must not exist) in `format`.
    pub fn create(path: &Path, format: StoreFormat) -> Result<Self, StoreError> {
        match format {
            StoreFormat::V2 => Self::create_v2(path),
            StoreFormat::V1 => {
                if path.exists() {
                    return Err(StoreError::Invalid(format!(
                        "{} exists; a store is created in a new file",
                        path.display()
                    )));
                }
                Self::open(path)
            }
        }
    }

    /// [`RedbStore::create_for_load`] in `format`.
    pub fn create_for_load_as(path: &Path, format: StoreFormat) -> Result<Self, StoreError> {
        match format {
            StoreFormat::V1 => Self::create_for_load(path),
            StoreFormat::V2 => Self::create_for_load_v2(path),
        }
    }

    /// The layout of this file, as a [`StoreFormat`].
    pub fn store_format(&self) -> StoreFormat {
        match self.layout {
            Layout::V1 => StoreFormat::V1,
            Layout::V2(_) => StoreFormat::V2,
        }
    }

    /// The store format of this file's layout: `evl-store/1` or `evl-store/2`.
    pub fn format(&self) -> &'static str {
        match self.layout {
            Layout::V1 => FORMAT_1,
            Layout::V2(_) => FORMAT_2,
        }
    }

    /// Opens the existing store at `path` for reading only: nothing is written to the file
    /// (redb's read-only mode; every commit fails with [`StoreError::Unavailable`]). What the
    /// read-only commands use (`verify`, `status`, `get`, `prove`, `backup`, `export`, ...), so a
    /// damaged store is never made worse by looking at it. A file that needs redb's crash
    /// repair first (not closed cleanly without saved allocator state, or a damaged status
    /// byte) is copied to a scratch directory, the copy is repaired and read, and the store
    /// itself is left byte for byte as it was (a warning says so).
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let db = guard(
            || format!("opening {} read-only", path.display()),
            || match Database::builder()
                .set_cache_size(REDB_CACHE_BYTES)
                .open_read_only(path)
            {
                Ok(db) => Ok(Some(db)),
                Err(redb::DatabaseError::RepairAborted) => Ok(None),
                Err(err) => Err(e(err)),
            },
        )?;
        let Some(db) = db else {
            return Self::open_repaired_copy(path);
        };
        let layout = guard(
            || format!("reading the tables of {}", path.display()),
            || Ok(Layout::of(db.begin_read().map_err(e)?.list_tables().map_err(e)?)),
        )?;
        Ok(Self {
            layout,
            db: std::sync::RwLock::new(Db(Some(Handle::Ro(db)))),
            broken: false.into(),
            path: path.to_path_buf(),
            deferred: None,
        })
    }

    /// The database handle, reopened first if an earlier failure closed it.
    fn db(&self) -> Result<std::sync::RwLockReadGuard<'_, Db>, StoreError> {
        self.heal()?;
        self.db
            .read()
            .map_err(|_| StoreError::Other("the store handle lock is poisoned".into()))
    }

    fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        self.db()?.begin_read()
    }

    fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        self.db()?.begin_write()
    }

    /// Notes a failed call: a full disk or an I/O failure leaves redb refusing every call
    /// ("previous I/O error") until the database is reopened, which the next call does.
    fn note<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Full(_) | StoreError::Unavailable(_)) = &r
            && self.deferred.is_none()
            && !self.is_read_only()
        {
            self.broken.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        r
    }

    /// Reopens the database if an earlier failure closed it (see [`RedbStore::note`]); redb's
    /// crash repair makes the reopened file what the last successful commit left. Fails, and
    /// stays broken, while the file cannot be opened (for example while the disk is still full).
    fn heal(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        if !self.broken.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut g = self
            .db
            .write()
            .map_err(|_| StoreError::Other("the store handle lock is poisoned".into()))?;
        if !self.broken.load(Ordering::SeqCst) {
            return Ok(());
        }
        // Close the failed handle first: the file's lock is per open file.
        drop(g.0.take());
        let db = create_database(&self.path)?;
        g.0 = Some(Handle::Rw(db));
        self.broken.store(false, Ordering::SeqCst);
        tracing::warn!(path = %self.path.display(), "reopened the store after an I/O failure");
        Ok(())
    }

    /// A read-only view of `path` through a repaired copy (see [`RedbStore::open_read_only`]).
    fn open_repaired_copy(path: &Path) -> Result<Self, StoreError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "evl-readonly-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(io_error)?;
        let scratch = Scratch(dir);
        let copy = scratch.0.join("ledger.redb");
        std::fs::copy(path, &copy).map_err(io_error)?;
        tracing::warn!(
            path = %path.display(),
            "the store needs redb's crash repair (not closed cleanly, or its status byte is damaged); reading a repaired copy, the store itself is unchanged"
        );
        let db = create_database(&copy)?;
        let layout = guard(
            || format!("reading the tables of {}", copy.display()),
            || Ok(Layout::of(db.begin_read().map_err(e)?.list_tables().map_err(e)?)),
        )?;
        Ok(Self {
            layout,
            db: std::sync::RwLock::new(Db(Some(Handle::Copy {
                db,
                _scratch: scratch,
            }))),
            broken: false.into(),
            path: path.to_path_buf(),
            deferred: None,
        })
    }

    /// Whether this handle was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.db
            .read()
            .is_ok_and(|g| matches!(g.0, Some(Handle::Ro(_) | Handle::Copy { .. })))
    }

    /// Creates a new store file at `path` (which must not exist) for a bulk load whose result is
    /// discarded unless the load completes, as `evl restore` does in a temporary directory. It
    /// behaves as [`RedbStore::open`] except for when data reaches the disk: redb's own syncs
    /// are skipped (`store::deferred_sync`), so nothing written is durable, and a crash may
    /// leave a file that does not open, until a durable commit (`commit`, or `bulk_commit` with
    /// `durable`) returns: that commit ends with one fdatasync of the whole file, after which
    /// everything committed is durable, as with `open`.
    pub fn create_for_load(path: &Path) -> Result<Self, StoreError> {
        Self::create_deferred(path, false)
    }

    /// [`RedbStore::create_for_load`] in the `evl-store/2` layout (what a restore into storage
    /// v2 and `evl migrate` write).
    pub fn create_for_load_v2(path: &Path) -> Result<Self, StoreError> {
        Self::create_deferred(path, true)
    }

    /// A new file at `path` whose syncs are deferred to durable commits (see
    /// [`RedbStore::create_for_load`]), in the v2 layout if `v2`.
    fn create_deferred(path: &Path, v2: bool) -> Result<Self, StoreError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|err| match io_error(err) {
                StoreError::Other(m) => StoreError::Other(format!("creating {}: {m}", path.display())),
                e => e,
            })?;
        let (backend, handle) = DeferredSync::new(file).map_err(e)?;
        let db = Database::builder()
            .set_cache_size(REDB_CACHE_BYTES)
            .create_with_backend(backend)
            .map_err(e)?;
        Self::with_tables(db, path, Some(Writeback::new(handle)), v2)
    }

    /// Commits `txn` durably: redb's commit, then, for a store made by
    /// [`RedbStore::create_for_load`], the deferred sync of the whole file.
    fn commit_durably(&self, txn: WriteTransaction) -> Result<(), StoreError> {
        let t = std::time::Instant::now();
        txn.commit().map_err(e)?;
        crate::profile::add(crate::profile::Phase::Sync, t.elapsed());
        match &self.deferred {
            Some(w) => w.sync_now().map_err(e),
            None => Ok(()),
        }
    }

    fn with_tables(
        db: Database,
        path: &Path,
        deferred: Option<Writeback>,
        new_v2: bool,
    ) -> Result<Self, StoreError> {
        let db = Db(Some(Handle::Rw(db)));
        // The engine walks its table tree here: a damaged page must be an error, not a panic.
        let layout = guard(
            || format!("opening the tables of {}", path.display()),
            || {
                let txn = db.begin_write()?;
                let layout = {
                    let tables: Vec<_> = txn.list_tables().map_err(e)?.collect();
                    let layout = if tables.is_empty() && new_v2 {
                        Layout::V2(Arc::default())
                    } else {
                        Layout::of(tables.into_iter())
                    };
                    match layout {
                        Layout::V1 => {
                            txn.open_table(NODES).map_err(e)?;
                            txn.open_table(IDS).map_err(e)?;
                            txn.open_table(HASHES).map_err(e)?;
                        }
                        Layout::V2(_) => {
                            txn.open_table(SEGMENTS).map_err(e)?;
                            txn.open_table(TILES).map_err(e)?;
                            txn.open_table(IDRUNS).map_err(e)?;
                        }
                    }
                    layout
                };
                {
                    txn.open_table(CHECKPOINTS).map_err(e)?;
                    txn.open_table(ANCHORS).map_err(e)?;
                    txn.open_table(META).map_err(e)?;
                    txn.open_table(REDACTIONS).map_err(e)?;
                }
                txn.commit().map_err(e)?;
                Ok(layout)
            },
        )?;
        Ok(Self {
            layout,
            db: std::sync::RwLock::new(db),
            broken: false.into(),
            path: path.to_path_buf(),
            deferred,
        })
    }

    /// Bulk loading, for a restore into a new store that no other process or handle uses until
    /// the load is done: applies `batch` as [`Store::commit`] does (one transaction, node
    /// indices continuing the stored tree size, `tree_size` set), and in addition fails if one
    /// of its NodeIds is already stored (a log holds each NodeId once; the error's message then
    /// is [`StoreError::DuplicateNodeId`]).
    ///
    /// Restoring redacted leaves (SPEC.md §3.4): a [`super::NewNode`] with empty `bytes` (no
    /// canonical node is empty) is a leaf loaded without content: its id-map entry is written,
    /// no content. Each `batch.redact` entry records that leaf `index` was redacted by the record
    /// at leaf `record` (both below the tree size after the batch, the record after the leaf),
    /// removing content the store holds for it (as a chained restore does when a later backup
    /// shows a redaction).
    ///
    /// Unless `durable`, the commit does not wait for the disk (redb `Durability::None`): a crash
    /// may lose it, and everything since the last durable commit. A durable bulk commit, like
    /// `commit`, returns after an fdatasync, and makes every earlier bulk commit durable too. So
    /// a loader commits large batches quickly and once durably at the end, and the store is
    /// only trusted after that last commit returned. Nothing else changes: `commit` keeps its
    /// contract.
    pub fn bulk_commit(&self, batch: &Batch, durable: bool) -> Result<(), StoreError> {
        guard(
            || format!("loading a batch of {} nodes", batch.nodes.len()),
            || self.bulk_commit_raw(batch, durable),
        )
    }

    fn bulk_commit_raw(&self, batch: &Batch, durable: bool) -> Result<(), StoreError> {
        let mut txn = self.begin_write()?;
        if durable {
            txn.set_quick_repair(true);
        } else {
            txn.set_durability(Durability::None).map_err(e)?;
        }
        if let Layout::V2(caches) = &self.layout {
            let mut meta = txn.open_table(META).map_err(e)?;
            let size = continued_size(&meta, batch)?;
            let end = batch.tree_size.map_or(size, TreeSize::get);
            if let Some(r) = batch
                .redact
                .iter()
                .find(|r| r.record.get() >= end || r.record <= r.index)
            {
                return Err(StoreError::Invalid(format!(
                    "redaction of leaf {} by a record at leaf {}: the record must follow the leaf, inside the tree",
                    r.index, r.record
                )));
            }
            if v2::write_batch(&txn, batch, caches, true)? {
                meta.insert(META_RECLAIM_PENDING, b"1".as_slice()).map_err(e)?;
            }
            let mut redactions = txn.open_table(REDACTIONS).map_err(e)?;
            for r in &batch.redact {
                redactions.insert(r.index.get(), r.record.get()).map_err(e)?;
            }
            write_rest(&txn, &mut meta, batch, &self.layout)?;
        } else {
            let mut meta = txn.open_table(META).map_err(e)?;
            let size = continued_size(&meta, batch)?;
            let mut nodes = txn.open_table(NODES).map_err(e)?;
            for n in batch.nodes.iter().filter(|n| !n.bytes.is_empty()) {
                nodes.insert(n.index.get(), n.bytes.as_slice()).map_err(e)?;
            }
            let end = batch.tree_size.map_or(size, TreeSize::get);
            let mut redactions = txn.open_table(REDACTIONS).map_err(e)?;
            let mut removed = false;
            for r in &batch.redact {
                if r.record.get() >= end || r.record <= r.index {
                    return Err(StoreError::Invalid(format!(
                        "redaction of leaf {} by a record at leaf {}: the record must follow the leaf, inside the tree",
                        r.index, r.record
                    )));
                }
                removed |= nodes.remove(r.index.get()).map_err(e)?.is_some();
                redactions.insert(r.index.get(), r.record.get()).map_err(e)?;
            }
            if removed {
                meta.insert(META_RECLAIM_PENDING, b"1".as_slice()).map_err(e)?;
            }
            // The id map is keyed by random digests: inserting in key order keeps the B-tree's
            // working set small.
            let mut by_id: Vec<(&[u8; 32], u64)> = batch
                .nodes
                .iter()
                .map(|n| (n.id.digest().as_bytes(), n.index.get()))
                .collect();
            by_id.sort_unstable();
            let mut ids = txn.open_table(IDS).map_err(e)?;
            for (digest, index) in by_id {
                if let Some(old) = ids.insert(digest, index).map_err(e)? {
                    return Err(StoreError::DuplicateNodeId {
                        id: NodeId::from_digest(Digest::from_bytes(*digest)),
                        index: old.value(),
                    });
                }
            }
            write_rest(&txn, &mut meta, batch, &self.layout)?;
        }
        if durable {
            self.commit_durably(txn)
        } else {
            txn.commit().map_err(e)?;
            if let Some(w) = &self.deferred {
                w.kick();
            }
            Ok(())
        }
    }

    /// Test and repair hook: overwrites a node's stored bytes, bypassing the append-only rule.
    #[doc(hidden)]
    pub fn overwrite_node(&self, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        if let Layout::V2(_) = &self.layout {
            v2::overwrite_node(&txn, index, bytes)?;
            return self.commit_durably(txn);
        }
        txn.open_table(NODES)
            .map_err(e)?
            .insert(index, bytes)
            .map_err(e)?;
        self.commit_durably(txn)
    }

    /// Test and repair hook: overwrites a stored hash.
    #[doc(hidden)]
    pub fn overwrite_hash(&self, level: u32, index: u64, hash: &[u8; 32]) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        if let Layout::V2(caches) = &self.layout {
            v2::overwrite_hash(&txn, level, index, hash, caches)?;
            return self.commit_durably(txn);
        }
        txn.open_table(HASHES)
            .map_err(e)?
            .insert(hkey(level, index), hash)
            .map_err(e)?;
        self.commit_durably(txn)
    }

    /// Test hook: overwrites the checkpoint text stored for a tree size (both formats keep
    /// checkpoints in one table).
    #[doc(hidden)]
    pub fn overwrite_checkpoint(&self, size: u64, text: &str) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        txn.open_table(CHECKPOINTS)
            .map_err(e)?
            .insert(size, text)
            .map_err(e)?;
        self.commit_durably(txn)
    }

    /// Test hook: deletes a NodeId's id-map entry (a damaged id map).
    #[doc(hidden)]
    pub fn remove_id(&self, id: &NodeId) -> Result<(), StoreError> {
        if let Layout::V2(_) = &self.layout {
            return Err(StoreError::Invalid(
                "an evl-store/2 id map is immutable runs; entries are not removed one by one".into(),
            ));
        }
        let txn = self.begin_write()?;
        txn.open_table(IDS)
            .map_err(e)?
            .remove(id.digest().as_bytes())
            .map_err(e)?;
        self.commit_durably(txn)
    }

    /// Test and repair hook: deletes an anchor.
    #[doc(hidden)]
    pub fn remove_anchor(&self, seq: u64) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        txn.open_table(ANCHORS).map_err(e)?.remove(seq).map_err(e)?;
        self.commit_durably(txn)
    }
}

/// A redb read transaction with its tables open.
pub struct RedbSnapshot {
    _txn: ReadTransaction,
    data: Data,
    checkpoints: ReadOnlyTable<u64, &'static str>,
    anchors: ReadOnlyTable<u64, &'static [u8]>,
    meta: ReadOnlyTable<&'static str, &'static [u8]>,
    redactions: ReadOnlyTable<u64, u64>,
    size: u64,
}

/// The tables that differ between the layouts.
enum Data {
    V1 {
        nodes: ReadOnlyTable<u64, &'static [u8]>,
        ids: ReadOnlyTable<&'static [u8; 32], u64>,
        hashes: ReadOnlyTable<u128, &'static [u8; 32]>,
    },
    V2(V2Snapshot),
}

impl RedbSnapshot {
    fn tree_size_raw(&self) -> Result<TreeSize, StoreError> {
        TreeSize::new(self.size)
            .ok_or_else(|| StoreError::Damaged("the stored tree size is out of range".into()))
    }
    fn node_raw(&self, index: LeafIndex) -> Result<Option<Vec<u8>>, StoreError> {
        let nodes = match &self.data {
            Data::V1 { nodes, .. } => nodes,
            Data::V2(v) => return v.node(index.get(), self.size),
        };
        if index.get() >= self.size {
            return Ok(None);
        }
        Ok(nodes.get(index.get()).map_err(e)?.map(|g| g.value().to_vec()))
    }
    fn index_of_raw(&self, id: &NodeId) -> Result<Option<LeafIndex>, StoreError> {
        let ids = match &self.data {
            Data::V1 { ids, .. } => ids,
            Data::V2(v) => return v.index_of(id, self.size),
        };
        Ok(ids
            .get(id.digest().as_bytes())
            .map_err(e)?
            .map(|g| g.value())
            .filter(|i| *i < self.size)
            .and_then(LeafIndex::new))
    }
    fn hash_raw(&self, level: u32, index: u64) -> Result<Option<Digest>, StoreError> {
        let hashes = match &self.data {
            Data::V1 { hashes, .. } => hashes,
            Data::V2(v) => return v.hash(level, index, self.size),
        };
        Ok(hashes
            .get(hkey(level, index))
            .map_err(e)?
            .map(|g| Digest::from_bytes(*g.value())))
    }
    fn checkpoint_raw(&self, size: TreeSize) -> Result<Option<String>, StoreError> {
        Ok(self
            .checkpoints
            .get(size.get())
            .map_err(e)?
            .map(|g| g.value().to_owned()))
    }
    fn latest_checkpoint_raw(&self) -> Result<Option<(TreeSize, String)>, StoreError> {
        let mut it = self.checkpoints.range(..=self.size).map_err(e)?;
        match it.next_back() {
            Some(r) => {
                let (k, v) = r.map_err(e)?;
                Ok(TreeSize::new(k.value()).map(|s| (s, v.value().to_owned())))
            }
            None => Ok(None),
        }
    }
    fn anchor_raw(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.anchors.get(seq).map_err(e)?.map(|g| g.value().to_vec()))
    }
    fn anchors_raw(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for r in self.anchors.iter().map_err(e)? {
            let (k, v) = r.map_err(e)?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }
    fn meta_raw(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(key).map_err(e)?.map(|g| g.value().to_vec()))
    }
    fn scan_nodes_raw(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let nodes = match &self.data {
            Data::V1 { nodes, .. } => nodes,
            Data::V2(v) => return v.scan_nodes(from, to, self.size, f),
        };
        for r in nodes.range(from..to.min(self.size)).map_err(e)? {
            let (k, v) = r.map_err(e)?;
            if !f(k.value(), v.value()) {
                break;
            }
        }
        Ok(())
    }
    fn scan_checkpoints_raw(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(TreeSize, &str) -> bool,
    ) -> Result<(), StoreError> {
        for r in self.checkpoints.range(from..=to).map_err(e)? {
            let (k, v) = r.map_err(e)?;
            let Some(size) = TreeSize::new(k.value()) else {
                break;
            };
            if !f(size, v.value()) {
                break;
            }
        }
        Ok(())
    }
    fn scan_ids_raw(&self, f: &mut dyn FnMut(NodeId, u64) -> bool) -> Result<(), StoreError> {
        let ids = match &self.data {
            Data::V1 { ids, .. } => ids,
            Data::V2(v) => return v.scan_ids(self.size, f),
        };
        for r in ids.iter().map_err(e)? {
            let (k, v) = r.map_err(e)?;
            let index = v.value();
            if index < self.size && !f(NodeId::from_digest(Digest::from_bytes(*k.value())), index) {
                break;
            }
        }
        Ok(())
    }
    fn redaction_raw(&self, index: LeafIndex) -> Result<Option<LeafIndex>, StoreError> {
        if index.get() >= self.size {
            return Ok(None);
        }
        Ok(self
            .redactions
            .get(index.get())
            .map_err(e)?
            .and_then(|g| LeafIndex::new(g.value())))
    }
    fn scan_hashes_raw(
        &self,
        level: u32,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, Option<Digest>) -> bool,
    ) -> Result<(), StoreError> {
        let hashes = match &self.data {
            Data::V1 { hashes, .. } => hashes,
            Data::V2(v) => return v.scan_hashes(level, from, to, self.size, f),
        };
        let mut expect = from;
        for r in hashes.range(hkey(level, from)..hkey(level, to)).map_err(e)? {
            let (k, v) = r.map_err(e)?;
            let i = k.value() as u64;
            while expect < i {
                if !f(expect, None) {
                    return Ok(());
                }
                expect += 1;
            }
            if !f(i, Some(Digest::from_bytes(*v.value()))) {
                return Ok(());
            }
            expect = i + 1;
        }
        while expect < to {
            if !f(expect, None) {
                return Ok(());
            }
            expect += 1;
        }
        Ok(())
    }
}

/// Every call runs inside the store guard: a panic of the engine on a damaged page becomes
/// [`StoreError::Damaged`] naming what was being read.
impl Snapshot for RedbSnapshot {
    fn tree_size(&self) -> Result<TreeSize, StoreError> {
        self.tree_size_raw()
    }
    fn format(&self) -> &'static str {
        match self.data {
            Data::V1 { .. } => FORMAT_1,
            Data::V2(_) => FORMAT_2,
        }
    }
    fn node(&self, index: LeafIndex) -> Result<Option<Vec<u8>>, StoreError> {
        guard(|| format!("reading leaf {index}"), || self.node_raw(index))
    }
    fn index_of(&self, id: &NodeId) -> Result<Option<LeafIndex>, StoreError> {
        guard(
            || format!("looking up {id} in the id map"),
            || self.index_of_raw(id),
        )
    }
    fn hash(&self, level: u32, index: u64) -> Result<Option<Digest>, StoreError> {
        guard(
            || format!("reading stored hash {level}/{index}"),
            || self.hash_raw(level, index),
        )
    }
    fn subtrees(&self, at: &[(u32, u64)]) -> Result<Vec<Option<Digest>>, StoreError> {
        guard(
            || format!("reading {} stored hashes", at.len()),
            || at.iter().map(|&(l, i)| self.hash_raw(l, i)).collect(),
        )
    }
    fn id_count(&self) -> Result<Option<u64>, StoreError> {
        use redb::ReadableTableMetadata as _;
        guard(
            || "counting the id map".into(),
            || match &self.data {
                Data::V1 { ids, .. } => Ok(Some(ids.len().map_err(e)?)),
                Data::V2(v) => Ok(Some(v.id_count())),
            },
        )
    }
    fn version(&self) -> Result<Version, StoreError> {
        guard(
            || "reading the last anchor".into(),
            || {
                Ok(Version {
                    tree_size: self.size,
                    last_anchor: last_anchor(&self.anchors)?,
                })
            },
        )
    }
    fn checkpoint(&self, size: TreeSize) -> Result<Option<String>, StoreError> {
        guard(
            || format!("reading the checkpoint at size {size}"),
            || self.checkpoint_raw(size),
        )
    }
    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, String)>, StoreError> {
        guard(
            || "reading the latest checkpoint".into(),
            || self.latest_checkpoint_raw(),
        )
    }
    fn anchor(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        guard(|| format!("reading anchor {seq}"), || self.anchor_raw(seq))
    }
    fn anchors(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        guard(|| "reading the anchors".into(), || self.anchors_raw())
    }
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        guard(|| format!("reading metadata {key:?}"), || self.meta_raw(key))
    }
    fn scan_nodes(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        guard(
            || format!("reading leaves {from}..{to}"),
            || self.scan_nodes_raw(from, to, f),
        )
    }
    fn scan_checkpoints(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(TreeSize, &str) -> bool,
    ) -> Result<(), StoreError> {
        guard(
            || format!("reading the checkpoints at sizes {from}..={to}"),
            || self.scan_checkpoints_raw(from, to, f),
        )
    }
    fn scan_ids(&self, f: &mut dyn FnMut(NodeId, u64) -> bool) -> Result<(), StoreError> {
        guard(|| "reading the id map".into(), || self.scan_ids_raw(f))
    }
    fn redaction(&self, index: LeafIndex) -> Result<Option<LeafIndex>, StoreError> {
        guard(
            || format!("reading the redaction of leaf {index}"),
            || self.redaction_raw(index),
        )
    }
    fn scan_hashes(
        &self,
        level: u32,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, Option<Digest>) -> bool,
    ) -> Result<(), StoreError> {
        guard(
            || format!("reading stored hashes at level {level}, {from}..{to}"),
            || self.scan_hashes_raw(level, from, to, f),
        )
    }
}

impl RedbStore {
    fn snapshot_raw(&self) -> Result<RedbSnapshot, StoreError> {
        let txn = self.begin_read()?;
        let meta = txn.open_table(META).map_err(e)?;
        let size = match meta.get(META_SIZE).map_err(e)? {
            Some(g) => {
                let b: [u8; 8] = g
                    .value()
                    .try_into()
                    .map_err(|_| StoreError::Damaged("the stored tree size is not 8 bytes".into()))?;
                u64::from_be_bytes(b)
            }
            None => 0,
        };
        let data = match &self.layout {
            Layout::V1 => Data::V1 {
                nodes: txn.open_table(NODES).map_err(e)?,
                ids: txn.open_table(IDS).map_err(e)?,
                hashes: txn.open_table(HASHES).map_err(e)?,
            },
            Layout::V2(caches) => Data::V2(V2Snapshot::open(&txn, caches.clone())?),
        };
        Ok(RedbSnapshot {
            data,
            checkpoints: txn.open_table(CHECKPOINTS).map_err(e)?,
            anchors: txn.open_table(ANCHORS).map_err(e)?,
            redactions: txn.open_table(REDACTIONS).map_err(e)?,
            meta,
            size,
            _txn: txn,
        })
    }

    fn commit_raw(&self, batch: &Batch) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let mut txn = self.begin_write()?;
        // Save the allocator state with the commit so reopening after a crash is quick instead
        // of a full-file repair scan (docs/design.md, crash model).
        txn.set_quick_repair(true);
        {
            let mut meta = txn.open_table(META).map_err(e)?;
            if batch.expect.is_some() {
                batch.check_expect(Version {
                    tree_size: stored_size(&meta)?,
                    last_anchor: last_anchor(&txn.open_table(ANCHORS).map_err(e)?)?,
                })?;
            }
            let size = continued_size(&meta, batch)?;
            batch.check_redactions(size)?;
            if let Layout::V2(caches) = &self.layout {
                let removed = v2::write_batch(&txn, batch, caches, false)?;
                let mut redactions = txn.open_table(REDACTIONS).map_err(e)?;
                for r in &batch.redact {
                    redactions.insert(r.index.get(), r.record.get()).map_err(e)?;
                }
                if removed {
                    meta.insert(META_RECLAIM_PENDING, b"1".as_slice()).map_err(e)?;
                }
                write_rest(&txn, &mut meta, batch, &self.layout)?;
                drop((redactions, meta));
                crate::profile::add(crate::profile::Phase::Write, started.elapsed());
                return self.commit_durably(txn);
            }
            let mut nodes = txn.open_table(NODES).map_err(e)?;
            let mut ids = txn.open_table(IDS).map_err(e)?;
            for n in &batch.nodes {
                nodes.insert(n.index.get(), n.bytes.as_slice()).map_err(e)?;
                ids.insert(n.id.digest().as_bytes(), n.index.get()).map_err(e)?;
            }
            // Redaction: the content goes, the id map and hashes stay (module contract). An
            // error here drops the transaction, so nothing of the batch is written.
            let mut redactions = txn.open_table(REDACTIONS).map_err(e)?;
            for r in &batch.redact {
                if nodes.remove(r.index.get()).map_err(e)?.is_none() {
                    return Err(StoreError::Invalid(format!(
                        "leaf {} has no content to redact",
                        r.index
                    )));
                }
                redactions.insert(r.index.get(), r.record.get()).map_err(e)?;
            }
            if !batch.redact.is_empty() {
                meta.insert(META_RECLAIM_PENDING, b"1".as_slice()).map_err(e)?;
            }
            write_rest(&txn, &mut meta, batch, &self.layout)?;
        }
        crate::profile::add(crate::profile::Phase::Write, started.elapsed());
        // Durability::Immediate (redb's default): returns after the commit is fsynced.
        self.commit_durably(txn)
    }

    fn repair_raw(&self, repair: &Repair) -> Result<(), StoreError> {
        let mut txn = self.begin_write()?;
        txn.set_quick_repair(true);
        {
            let meta = txn.open_table(META).map_err(e)?;
            let size = stored_size(&meta)?;
            // Dropping the transaction without commit writes nothing.
            repair.check_bounds(size)?;
            if let Layout::V2(caches) = &self.layout {
                v2::write_repair(&txn, repair, size, caches)?;
                drop(meta);
                return self.commit_durably(txn);
            }
            let mut nodes = txn.open_table(NODES).map_err(e)?;
            for (i, bytes) in &repair.nodes {
                nodes.insert(i.get(), bytes.as_slice()).map_err(e)?;
            }
            put_hashes(&txn, &repair.hashes)?;
            let mut ids = txn.open_table(IDS).map_err(e)?;
            for (id, i) in &repair.ids {
                ids.insert(id.digest().as_bytes(), i.get()).map_err(e)?;
            }
        }
        // Durability::Immediate, as `commit`.
        self.commit_durably(txn)
    }
}

impl Store for RedbStore {
    type Snapshot = RedbSnapshot;

    fn snapshot(&self) -> Result<RedbSnapshot, StoreError> {
        self.note(guard(
            || "opening a read transaction".into(),
            || self.snapshot_raw(),
        ))
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.note(guard(
            || format!("committing a batch of {} nodes", batch.nodes.len()),
            || self.commit_raw(&batch),
        ))
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            disk_bytes: std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
        }
    }

    fn repair(&self, repair: Repair) -> Result<(), StoreError> {
        self.note(guard(|| "writing a repair".into(), || self.repair_raw(&repair)))
    }

    fn load(&self, batch: &Batch, durable: bool) -> Result<(), StoreError> {
        self.bulk_commit(batch, durable)
    }

    /// An empty commit can succeed on a full disk (redb rewrites pages it has), so the probe
    /// first writes, syncs and removes [`PROBE_BYTES`] in a file beside the store.
    fn probe_writable(&self) -> Result<(), StoreError> {
        use std::io::Write as _;
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".probe");
        let probe = self.path.with_file_name(name);
        let written = std::fs::File::create(&probe).and_then(|mut f| {
            let chunk = vec![0u8; 64 * 1024];
            for _ in 0..PROBE_BYTES / chunk.len() {
                f.write_all(&chunk)?;
            }
            f.sync_all()
        });
        let _ = std::fs::remove_file(&probe);
        written.map_err(io_error)?;
        self.commit(Batch::default())
    }
}

/// What [`RedbStore::reclaim`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Reclaimed {
    /// Size of the store file before.
    pub bytes_before: u64,
    /// Size of the store file after.
    pub bytes_after: u64,
}

/// How one redb table uses the file (`RedbStore::table_bytes`): what storage v2's design was
/// measured with (docs/design.md).
#[derive(Clone, Debug, serde::Serialize)]
pub struct TableBytes {
    /// The table.
    pub table: &'static str,
    /// Entries.
    pub entries: u64,
    /// Bytes of keys and values.
    pub stored_bytes: u64,
    /// Bytes of B-tree structure (page headers, branch pages).
    pub metadata_bytes: u64,
    /// Bytes of pages allocated to the table but holding nothing.
    pub fragmented_bytes: u64,
}

impl RedbStore {
    /// Per-table byte counts. This walks every page of every table (seconds at millions of
    /// nodes): a measurement for `evl bench`, not something a server calls.
    pub fn table_bytes(&self) -> Result<Vec<TableBytes>, StoreError> {
        use redb::ReadableTableMetadata as _;
        fn one<K: Key + 'static, V: Value + 'static>(
            txn: &ReadTransaction,
            table: &'static str,
            def: TableDefinition<K, V>,
        ) -> Result<TableBytes, StoreError> {
            let t = txn.open_table(def).map_err(e)?;
            let st = t.stats().map_err(e)?;
            Ok(TableBytes {
                table,
                entries: t.len().map_err(e)?,
                stored_bytes: st.stored_bytes(),
                metadata_bytes: st.metadata_bytes(),
                fragmented_bytes: st.fragmented_bytes(),
            })
        }
        guard(
            || "measuring the tables".into(),
            || {
                let txn = self.begin_read()?;
                let mut out = match self.layout {
                    Layout::V1 => vec![
                        one(&txn, "nodes", NODES)?,
                        one(&txn, "ids", IDS)?,
                        one(&txn, "hashes", HASHES)?,
                    ],
                    Layout::V2(_) => vec![
                        one(&txn, "segments", SEGMENTS)?,
                        one(&txn, "idruns", IDRUNS)?,
                        one(&txn, "tiles", TILES)?,
                    ],
                };
                out.extend([
                    one(&txn, "checkpoints", CHECKPOINTS)?,
                    one(&txn, "anchors", ANCHORS)?,
                    one(&txn, "meta", META)?,
                    one(&txn, "redactions", REDACTIONS)?,
                ]);
                Ok(out)
            },
        )
    }

    /// Whether a commit redacted content since the file was last rebuilt by
    /// [`RedbStore::reclaim`]: until then, freed pages may still hold the redacted bytes.
    pub fn reclaim_pending(&self) -> Result<bool, StoreError> {
        let txn = self.begin_read()?;
        let meta = txn.open_table(META).map_err(e)?;
        Ok(meta.get(META_RECLAIM_PENDING).map_err(e)?.is_some())
    }

    /// Rewrites the store file at `path` so that it holds only live entries: redacted content is
    /// then gone from the file, not merely unreachable, and the file shrinks (docs/design.md,
    /// space reclamation).
    ///
    /// redb's `compact()` alone is not enough: it moves pages and truncates the file but does not
    /// overwrite freed pages, and redacted bytes were measured to survive it. So every table is
    /// copied into a fresh file next to the store (`<name>.reclaim`, which never held the deleted
    /// bytes), that file is made durable and compacted, then renamed over `path`, and the
    /// directory is synced. The old file is held open (and so locked against other processes)
    /// until the rename is done; a crash leaves either the old file or the new one, both complete,
    /// plus at worst a stale `.reclaim` file that the next run removes. Refuses, and changes
    /// nothing, if the file holds a table this code does not know (copying would drop it).
    /// No other handle may have the store open: the caller closes its own first.
    pub fn reclaim(path: &Path) -> Result<Reclaimed, StoreError> {
        let bytes_before = std::fs::metadata(path).map_err(e)?.len();
        let src = Database::builder()
            .set_cache_size(REDB_CACHE_BYTES)
            .open(path)
            .map_err(e)?;
        let read = src.begin_read().map_err(e)?;
        // Both layouts' tables (evl-store/1: nodes, ids, hashes; evl-store/2: segments, tiles,
        // idruns) and the ones they share; a table is copied when the file has it.
        let known = [
            NODES.name(),
            IDS.name(),
            HASHES.name(),
            SEGMENTS.name(),
            TILES.name(),
            IDRUNS.name(),
            CHECKPOINTS.name(),
            ANCHORS.name(),
            META.name(),
            REDACTIONS.name(),
        ];
        let mut present = Vec::new();
        for t in read.list_tables().map_err(e)? {
            present.push(t.name().to_owned());
            if !known.contains(&t.name()) {
                return Err(StoreError::Invalid(format!(
                    "table {:?} is unknown to this version; not rebuilding the store (it would be lost)",
                    t.name()
                )));
            }
        }
        if read.list_multimap_tables().map_err(e)?.next().is_some() {
            return Err(StoreError::Invalid(
                "the store holds a multimap table unknown to this version; not rebuilding it".into(),
            ));
        }
        let file_name = path
            .file_name()
            .ok_or_else(|| StoreError::Invalid(format!("{} is not a file path", path.display())))?;
        let mut tmp_name = file_name.to_os_string();
        tmp_name.push(".reclaim");
        let tmp = path.with_file_name(tmp_name);
        if tmp.exists() {
            std::fs::remove_file(&tmp).map_err(e)?;
        }
        let copied = (|| {
            // The copy is synced once at the end (below): redb's own syncs are deferred.
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(e)?;
            let (backend, _handle) = DeferredSync::new(file).map_err(e)?;
            let mut dst = Database::builder()
                .set_cache_size(REDB_CACHE_BYTES)
                .create_with_backend(backend)
                .map_err(e)?;
            let has = |name: &str| present.iter().any(|p| p == name);
            if has(NODES.name()) {
                copy_table(&read, &dst, NODES)?;
                copy_table(&read, &dst, IDS)?;
                copy_table(&read, &dst, HASHES)?;
            }
            for t in [SEGMENTS, TILES, IDRUNS] {
                if has(t.name()) {
                    copy_table(&read, &dst, t)?;
                }
            }
            copy_table(&read, &dst, CHECKPOINTS)?;
            copy_table(&read, &dst, ANCHORS)?;
            copy_table(&read, &dst, REDACTIONS)?;
            copy_table(&read, &dst, META)?;
            // The copy holds no redacted bytes: clear the flag, and make every chunk durable.
            let mut txn = dst.begin_write().map_err(e)?;
            txn.set_quick_repair(true);
            txn.open_table(META)
                .map_err(e)?
                .remove(META_RECLAIM_PENDING)
                .map_err(e)?;
            txn.commit().map_err(e)?;
            // Compacting the fresh file is safe (it never held the deleted bytes) and shrinks it
            // further: a copy made in chunks leaves partly filled pages.
            while dst.compact().map_err(e)? {}
            drop(dst);
            std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(e)
        })();
        if let Err(err) = copied {
            let _ = std::fs::remove_file(&tmp);
            return Err(err);
        }
        drop(read);
        // Still holding `src` (and its lock): no other process opens the old file meanwhile.
        std::fs::rename(&tmp, path).map_err(e)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(e)?;
        }
        drop(src);
        let bytes_after = std::fs::metadata(path).map_err(e)?.len();
        Ok(Reclaimed {
            bytes_before,
            bytes_after,
        })
    }
}

/// Copies table `def` from `src` into `dst`, [`RECLAIM_CHUNK`] entries per transaction; the
/// chunks are not durable until a later durable commit (redb `Durability::None`).
fn copy_table<K: Key + 'static, V: Value + 'static>(
    src: &ReadTransaction,
    dst: &Database,
    def: TableDefinition<K, V>,
) -> Result<(), StoreError> {
    let table = src.open_table(def).map_err(e)?;
    let mut rows = table.iter().map_err(e)?;
    loop {
        let mut txn = dst.begin_write().map_err(e)?;
        txn.set_durability(Durability::None).map_err(e)?;
        let mut more = false;
        {
            let mut out = txn.open_table(def).map_err(e)?;
            let mut n = 0;
            for row in rows.by_ref() {
                let (k, v) = row.map_err(e)?;
                out.insert(k.value(), v.value()).map_err(e)?;
                n += 1;
                if n == RECLAIM_CHUNK {
                    more = true;
                    break;
                }
            }
        }
        txn.commit().map_err(e)?;
        if !more {
            return Ok(());
        }
    }
}
