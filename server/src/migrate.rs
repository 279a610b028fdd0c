//! Converting a data directory's store to another format (`evl migrate`), verified, with the old
//! file kept (docs/operations/README.md, "Migrating a store"; docs/design.md, "Storage v2").
//!
//! 1. The store is opened read-only with the directory's signing key (a backup's manifest is
//!    signed), so the source is never written to.
//! 2. A full backup of it streams, through an in-process pipe, into the same restore that
//!    `evl restore` runs: a new store file in the target format, in a temporary directory
//!    inside DIR (`.evl-migrate-<pid>-<random>/`), loaded and verified as it goes (every
//!    NodeId, the leaves folded to the signed checkpoint, every anchor's signature, chain and
//!    root, every checkpoint's signature and root), against the directory's `trust-root.json`.
//! 3. The new file is checked again as a whole: `verify --mode full` (every node re-hashed,
//!    every stored hash recomputed), and the same tree size, signed checkpoints and anchors as
//!    the source, byte for byte.
//! 4. Only then the swap: the old file is hard-linked as `ledger.evl-store-<N>.redb` (kept,
//!    nothing is deleted), the new one is renamed over `ledger.redb`, and the directory is
//!    synced. A rename replaces atomically, so at every instant `ledger.redb` is one complete
//!    store, the old or the new, whatever kills the process; a killed migration leaves only
//!    its temporary directory, which the next `evl migrate` removes.

use crate::backup::{io, remove_stale, sync_dir};
use crate::data_dir::DataDir;
use evl_ledger::integrity::{Mode, verify};
use evl_ledger::pack::{BackupRequest, RestoreRequest, restore};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{Snapshot, Store, StoreFormat};
use evl_ledger::{AnchorPolicy, Ledger, LedgerError, LedgerReader, Next};
use evl_sdk::ErrorCode;
use serde::Serialize;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The prefix of a migration's temporary directory inside the data directory.
pub const MIGRATE_PREFIX: &str = ".evl-migrate-";

/// Where a migration is, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Copying and verifying leaves: `done` of `total`.
    Copy,
    /// Verifying the new store as a whole: `done` of `total` nodes.
    Verify,
}

/// What a finished migration did.
#[derive(Clone, Debug, Serialize)]
pub struct Migrated {
    /// The format the store had.
    pub from: &'static str,
    /// The format it has now.
    pub to: &'static str,
    /// False when the store was already in the target format (nothing was done).
    pub changed: bool,
    /// The tree size (equal before and after).
    pub tree_size: u64,
    /// Nodes copied with their content.
    pub nodes: u64,
    /// Leaves copied without content (redacted before the migration).
    pub redacted: u64,
    /// Signed checkpoints copied, each byte for byte.
    pub checkpoints: u64,
    /// Anchors copied, each byte for byte.
    pub anchors: u64,
    /// Where the old store file is kept (a hard link made before the swap).
    pub kept: Option<PathBuf>,
    /// Bytes of the old and of the new file.
    pub old_bytes: u64,
    /// Bytes of the new file.
    pub new_bytes: u64,
    /// Temporary directories of earlier migrations that did not finish, removed.
    pub stale_removed: Vec<PathBuf>,
}

fn mismatch(what: String) -> LedgerError {
    LedgerError::Integrity {
        code: ErrorCode::MerkleMismatch,
        message: format!("the migrated store differs from the source: {what}"),
    }
}

/// Why a migration did not happen: a stable code and a message. The store is unchanged.
#[derive(Debug)]
pub enum MigrateError {
    /// The name the old file would be kept under is taken by another file
    /// (`TARGET_NOT_EMPTY`).
    KeptExists(PathBuf),
    /// The store could not be read, did not verify, or the new one could not be written: the
    /// ledger's code (`NODE_ID_MISMATCH`, `STORAGE_UNAVAILABLE`, `STORAGE_FULL`, …).
    Ledger(LedgerError),
    /// The target of a copy between stores already holds a ledger (`TARGET_NOT_EMPTY`).
    TargetExists(String),
}

impl From<LedgerError> for MigrateError {
    fn from(e: LedgerError) -> Self {
        MigrateError::Ledger(e)
    }
}

impl From<evl_ledger::store::StoreError> for MigrateError {
    fn from(e: evl_ledger::store::StoreError) -> Self {
        MigrateError::Ledger(e.into())
    }
}

impl std::fmt::Display for MigrateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MigrateError::KeptExists(p) => write!(
                f,
                "TARGET_NOT_EMPTY: {} exists and is not this store; the old store is kept under that name, so move that file away first",
                p.display()
            ),
            MigrateError::Ledger(e) => write!(f, "{e}"),
            MigrateError::TargetExists(t) => write!(
                f,
                "TARGET_NOT_EMPTY: {t} already holds a ledger; a copy goes only into an empty target"
            ),
        }
    }
}

impl std::error::Error for MigrateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MigrateError::Ledger(e) => Some(e),
            MigrateError::KeptExists(_) | MigrateError::TargetExists(_) => None,
        }
    }
}

impl MigrateError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            MigrateError::KeptExists(_) | MigrateError::TargetExists(_) => "TARGET_NOT_EMPTY",
            MigrateError::Ledger(e) => e.code(),
        }
    }
    /// The ledger error, if it is one (for the CLI's next-step hint).
    pub fn ledger(&self) -> Option<&LedgerError> {
        match self {
            MigrateError::Ledger(e) => Some(e),
            MigrateError::KeptExists(_) | MigrateError::TargetExists(_) => None,
        }
    }
}

/// The name the old store file is kept under.
pub fn kept_name(format: StoreFormat) -> String {
    format!("ledger.evl-store-{}.redb", format.number())
}

/// Converts the store of `dir` to `to` (see the module doc). The caller holds no handle on the
/// store; a running `evl serve` makes this fail with `STORAGE_UNAVAILABLE` (the file is in use).
pub fn migrate(
    dir: &DataDir,
    to: StoreFormat,
    progress: &mut dyn FnMut(Phase, u64, u64),
) -> Result<Migrated, MigrateError> {
    if let Some(t) = dir.pg() {
        return Err(LedgerError::Mismatch(format!(
            "evl migrate converts redb files between layouts; this ledger is stored in PostgreSQL ({})",
            t.describe()
        ))
        .into());
    }
    if !dir.store().exists() {
        return Err(
            LedgerError::Mismatch(format!("no ledger in {}", dir.root().display()))
                .advise(Next::Init)
                .into(),
        );
    }
    let stale_removed = remove_stale(dir.root(), MIGRATE_PREFIX, "migration")?;
    let store = RedbStore::open_read_only(&dir.store())?;
    let from = store.store_format();
    let src_snap = store.snapshot()?;
    let size = src_snap.tree_size()?.get();
    let origin = evl_ledger::store_origin(&store)?;
    let key = evl_ledger::keyfile::read_private(&dir.key(), &origin)?;
    let source = Ledger::open(store, key, AnchorPolicy::default())?;
    let old_bytes = std::fs::metadata(dir.store()).map(|m| m.len()).unwrap_or(0);
    if from == to {
        return Ok(Migrated {
            from: from.tag(),
            to: to.tag(),
            changed: false,
            tree_size: size,
            nodes: 0,
            redacted: 0,
            checkpoints: 0,
            anchors: 0,
            kept: None,
            old_bytes,
            new_bytes: old_bytes,
            stale_removed,
        });
    }
    let kept = dir.root().join(kept_name(from));
    if kept.exists() && !same_file(&kept, &dir.store()) {
        return Err(MigrateError::KeptExists(kept));
    }
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{MIGRATE_PREFIX}{}-", std::process::id()))
        .tempdir_in(dir.root())
        .map_err(io(format!(
            "creating a temporary directory in {}",
            dir.root().display()
        )))?;
    let new_path = tmp.path().join("ledger.redb");
    let target = RedbStore::create_for_load_as(&new_path, to)?;

    let (report, anchors) = copy_into(
        &source,
        &src_snap,
        size,
        target,
        || RedbStore::open(&new_path),
        progress,
    )?;
    if RedbStore::open(&new_path)?.store_format() != to {
        return Err(mismatch(format!("its format is not {to}")).into());
    }
    drop(src_snap);
    drop(source);

    // 4. The swap.
    if !kept.exists() {
        std::fs::hard_link(dir.store(), &kept)
            .map_err(io(format!("keeping the old store as {}", kept.display())))?;
    }
    sync_dir(dir.root())?;
    std::fs::rename(&new_path, dir.store()).map_err(io(format!(
        "moving the migrated store into place at {}",
        dir.store().display()
    )))?;
    sync_dir(dir.root())?;
    let new_bytes = std::fs::metadata(dir.store()).map(|m| m.len()).unwrap_or(0);
    drop(tmp);
    Ok(Migrated {
        from: from.tag(),
        to: to.tag(),
        changed: true,
        tree_size: size,
        nodes: report.nodes,
        redacted: report.redacted,
        checkpoints: report.checkpoints,
        anchors,
        kept: Some(kept),
        old_bytes,
        new_bytes,
        stale_removed,
    })
}

/// Steps 2 and 3 of the module doc for any source and any new, empty target store: a full
/// backup of `source` streams through a pipe into the restore that loads `target` (verifying
/// every node, checkpoint and anchor as it goes); then the store `reopen` gives is verified
/// in full and compared with the source (tree size, every signed checkpoint and anchor byte for
/// byte). Returns the restore's report and the number of anchors.
pub fn copy_into<S: Store, T: Store>(
    source: &Ledger<S>,
    src_snap: &S::Snapshot,
    size: u64,
    target: T,
    reopen: impl FnOnce() -> Result<T, evl_ledger::store::StoreError>,
    progress: &mut dyn FnMut(Phase, u64, u64),
) -> Result<(evl_ledger::pack::RestoreReport, u64), MigrateError> {
    // Backup → pipe → restore. The backup runs on its own thread; whichever side fails first
    // closes its end, and the backup's own error is the one reported.
    let trust = source.trust_root().clone();
    let (reader, writer) = std::io::pipe().map_err(io("creating a pipe".into()))?;
    let report = std::thread::scope(|s| {
        let backup = s.spawn(move || {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, writer);
            let r = source.backup(&BackupRequest::default(), &mut w, &mut |_| {});
            r.and_then(|_| w.flush().map_err(io("streaming the backup".into())))
        });
        let req = RestoreRequest {
            trust_root: Some(trust),
            to_anchor: None,
        };
        let file: Box<dyn std::io::Read> = Box::new(std::io::BufReader::with_capacity(1 << 20, reader));
        let restored = restore(vec![("the store".into(), file)], target, &req, &mut |n| {
            progress(Phase::Copy, n, size)
        });
        let backed_up = backup
            .join()
            .unwrap_or_else(|_| Err(LedgerError::Io("the backup thread stopped".into())));
        match (backed_up, restored) {
            (Err(e), _) => Err(e),
            (Ok(()), r) => r,
        }
    })?;

    // The new store as a whole, against the source.
    let new_store = reopen()?;
    let new_snap = new_store.snapshot()?;
    let new_reader = LedgerReader::open(new_store)?;
    let checked = verify(&new_reader, Mode::Full, &mut |done, total| {
        progress(Phase::Verify, done, total)
    })?;
    if let Some(f) = checked.failures.first() {
        return Err(MigrateError::Ledger(LedgerError::Integrity {
            code: ErrorCode::ALL
                .iter()
                .copied()
                .find(|c| c.as_str() == f.code)
                .unwrap_or(ErrorCode::MerkleMismatch),
            message: format!(
                "the copied store does not verify ({} failures; first: {})",
                checked.failures.len(),
                f.message
            ),
        }));
    }
    let anchors = compare(src_snap, &new_snap, size)?;
    drop(new_snap);
    drop(new_reader);
    Ok((report, anchors))
}

/// Tree size, every signed checkpoint and every anchor byte for byte; the number of anchors.
fn compare(old: &impl Snapshot, new: &impl Snapshot, size: u64) -> Result<u64, LedgerError> {
    if new.tree_size()?.get() != size {
        return Err(mismatch(format!(
            "tree size {} instead of {size}",
            new.tree_size()?
        )));
    }
    let a = old.anchors()?;
    if new.anchors()? != a {
        return Err(mismatch("the stored anchors".into()));
    }
    let mut olds = Vec::new();
    old.scan_checkpoints(0, size, &mut |s, cp| {
        olds.push((s, cp.to_owned()));
        true
    })?;
    let mut i = 0usize;
    let mut same = true;
    new.scan_checkpoints(0, size, &mut |s, cp| {
        same = olds.get(i).is_some_and(|(os, ocp)| *os == s && ocp == cp);
        i += 1;
        same
    })?;
    if !same || i != olds.len() {
        return Err(mismatch("the signed checkpoints".into()));
    }
    Ok(a.len() as u64)
}

fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        matches!((std::fs::metadata(a), std::fs::metadata(b)),
            (Ok(x), Ok(y)) if x.dev() == y.dev() && x.ino() == y.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// Where `evl migrate --to-postgres` / `--to-redb` copies a ledger.
#[derive(Debug)]
pub enum CopyTarget {
    /// A log in a PostgreSQL database (it must not exist yet).
    Postgres(Box<evl_ledger::store::postgres::PgTarget>),
    /// A new redb file in the `evl-store/2` layout (it must not exist yet).
    Redb(PathBuf),
}

/// What a copy between stores did.
#[derive(Clone, Debug, Serialize)]
pub struct Copied {
    /// The source store (a path, or a database without its password).
    pub from: String,
    /// The new store.
    pub to: String,
    /// The tree size (equal in both).
    pub tree_size: u64,
    /// Nodes copied with their content.
    pub nodes: u64,
    /// Leaves copied without content (redacted before the copy).
    pub redacted: u64,
    /// Signed checkpoints copied, each byte for byte.
    pub checkpoints: u64,
    /// Anchors copied, each byte for byte.
    pub anchors: u64,
}

/// Copies the ledger of `dir` (read-only, whichever store it is in) into a new store: the
/// backup → restore → full verify → compare of the module doc, steps 2 and 3. The source is
/// never written to; the data directory's configuration is not changed (the caller says how
/// to switch). A copy that fails removes what it wrote of the target.
pub fn copy_store(
    dir: &DataDir,
    to: CopyTarget,
    progress: &mut dyn FnMut(Phase, u64, u64),
) -> Result<Copied, MigrateError> {
    use evl_ledger::store::postgres::PgStore;
    let store = dir
        .open_store_read_only()
        .map_err(|e| LedgerError::Mismatch(format!("{e:#}")))?;
    let from = store.describe();
    let src_snap = store.snapshot()?;
    let size = src_snap.tree_size()?.get();
    let origin = evl_ledger::store_origin(&store)?;
    let key = evl_ledger::keyfile::read_private(&dir.key(), &origin)?;
    let source = Ledger::open(store, key, AnchorPolicy::default())?;
    let (to_name, copied) = match to {
        CopyTarget::Postgres(t) => {
            if PgStore::exists(&t)? {
                return Err(MigrateError::TargetExists(t.describe()));
            }
            let target = PgStore::create(&t)?;
            let r = copy_into(&source, &src_snap, size, target, || PgStore::open(&t), progress);
            if r.is_err()
                && let Err(e) = PgStore::discard(&t)
            {
                tracing::warn!(error = %e, "could not remove the partial copy from the database");
            }
            (t.describe(), r?)
        }
        CopyTarget::Redb(path) => {
            if path.exists() {
                return Err(MigrateError::TargetExists(path.display().to_string()));
            }
            let target = RedbStore::create_for_load_as(&path, StoreFormat::V2)?;
            let r = copy_into(
                &source,
                &src_snap,
                size,
                target,
                || RedbStore::open(&path),
                progress,
            );
            if r.is_err() {
                let _ = std::fs::remove_file(&path);
            }
            (path.display().to_string(), r?)
        }
    };
    let (report, anchors) = copied;
    Ok(Copied {
        from,
        to: to_name,
        tree_size: size,
        nodes: report.nodes,
        redacted: report.redacted,
        checkpoints: report.checkpoints,
        anchors,
    })
}
