//! Backup files and restored data directories, written so that a crash never leaves a partial
//! one where the operator looks (SPEC.md §9.9; docs/operations/README.md, "Backup and
//! restore"). `evl backup` and `evl restore` are thin wrappers over these two functions, and the
//! SIGKILL test (`tests/tests/backup_crash.rs`) drives them through its child process.
//!
//! - [`write_backup_file`] writes to a temporary file next to the output
//!   (`.evl-backup-<random>`), syncs it, renames it into place and syncs the directory: the
//!   output is absent or a complete backup.
//! - [`restore_dir`] loads into a temporary directory next to the target
//!   (`.evl-restore-<pid>-<random>`; the store is made by `RedbStore::create_for_load`, which
//!   syncs once, at the final durable commit), makes the store durable, writes `trust-root.json`, syncs,
//!   renames the directory into place and syncs the parent. On failure the temporary directory
//!   is removed; after a SIGKILL it remains, and the next restore in that parent removes it
//!   (unless its process is still running).

use crate::data_dir::DataDir;
use evl_ledger::pack::{BackupRequest, PackSummary, RestoreReport, RestoreRequest, restore};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{Store, StoreFormat};
use evl_ledger::{Ledger, LedgerError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The prefix of a restore's temporary directory, next to the target.
pub const RESTORE_PREFIX: &str = ".evl-restore-";

/// The prefix of a backup's temporary file, next to the output.
pub const BACKUP_PREFIX: &str = ".evl-backup-";

pub(crate) fn io(what: String) -> impl FnOnce(std::io::Error) -> LedgerError {
    move |e| LedgerError::Io(format!("{what}: {e}"))
}

fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Syncs a directory's entries (a rename or a new file in it) to disk.
pub(crate) fn sync_dir(p: &Path) -> Result<(), LedgerError> {
    std::fs::File::open(p)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("syncing {}", p.display())))
}

/// Writes `output` atomically: `write` fills a temporary file next to it (prefix `prefix`),
/// which is synced, renamed into place and its directory synced. On failure the temporary
/// file is removed and `output` is untouched.
pub fn write_file_atomically<T, E: From<LedgerError>>(
    output: &Path,
    prefix: &str,
    write: impl FnOnce(&mut dyn Write) -> Result<T, E>,
) -> Result<T, E> {
    let parent = parent_of(output);
    let mut tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(&parent)
        .map_err(io(format!("creating a temporary file in {}", parent.display())))?;
    let out = {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let out = write(&mut w)?;
        w.flush().map_err(io(format!("writing {}", output.display())))?;
        out
    };
    tmp.as_file()
        .sync_all()
        .map_err(io(format!("syncing {} to disk", output.display())))?;
    tmp.persist(output)
        .map_err(|e| LedgerError::Io(format!("moving {} into place: {e}", output.display())))?;
    sync_dir(&parent)?;
    Ok(out)
}

/// Writes a backup of `ledger` to `output` atomically (see the module doc). `progress` gets the
/// next leaf index after each chunk.
pub fn write_backup_file<S: Store>(
    ledger: &Ledger<S>,
    req: &BackupRequest,
    output: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<PackSummary, LedgerError> {
    write_file_atomically(output, BACKUP_PREFIX, |w| ledger.backup(req, w, progress))
}

/// Why a restore did not happen: a stable code and a message.
#[derive(Debug)]
pub enum RestoreError {
    /// The target exists and is not an empty directory (`TARGET_NOT_EMPTY`).
    TargetNotEmpty(PathBuf),
    /// A backup did not verify, the files do not chain, or the target could not be written: the
    /// ledger's code (SPEC.md §12 codes, `IO_ERROR`, `NOT_FOUND`, …).
    Ledger(LedgerError),
}

impl From<LedgerError> for RestoreError {
    fn from(e: LedgerError) -> Self {
        RestoreError::Ledger(e)
    }
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreError::TargetNotEmpty(p) => write!(
                f,
                "TARGET_NOT_EMPTY: {} exists and is not an empty directory; a restore writes a new data directory",
                p.display()
            ),
            RestoreError::Ledger(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RestoreError {}

impl RestoreError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            RestoreError::TargetNotEmpty(_) => "TARGET_NOT_EMPTY",
            RestoreError::Ledger(e) => e.code(),
        }
    }
}

/// A finished restore.
#[derive(Debug)]
pub struct Restored {
    /// What was restored, all verified.
    pub report: RestoreReport,
    /// Temporary directories of earlier, unfinished restores that were removed.
    pub stale_removed: Vec<PathBuf>,
}

/// Removes the temporary directories `<prefix><pid>-<random>` in `parent` left by a `what`
/// (restore, migration) that did not finish: those whose process is gone.
pub(crate) fn remove_stale(parent: &Path, prefix: &str, what: &str) -> Result<Vec<PathBuf>, LedgerError> {
    let mut removed = Vec::new();
    let entries = std::fs::read_dir(parent).map_err(io(format!("listing {}", parent.display())))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        // `<prefix><pid>-<random>`: the directory of a live process is another one at work.
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| p != std::process::id() && Path::new("/proc").join(p.to_string()).exists()) {
            continue;
        }
        std::fs::remove_dir_all(entry.path()).map_err(io(format!(
            "removing the stale {what} directory {}",
            entry.path().display()
        )))?;
        removed.push(entry.path());
    }
    Ok(removed)
}

/// Restores `backups` (a full backup, then incremental ones in order) into the new data
/// directory `target` (see the module doc): `ledger.redb` and `trust-root.json`, never a key.
/// The store is made in `format`. `progress` gets the restored tree size as the load goes.
pub fn restore_dir(
    backups: &[PathBuf],
    target: &Path,
    req: &RestoreRequest,
    format: StoreFormat,
    progress: &mut dyn FnMut(u64),
) -> Result<Restored, RestoreError> {
    restore_dir_into(backups, target, req, &RestoreStore::Redb(format), progress)
}

/// Where [`restore_dir_into`] puts the restored store.
pub enum RestoreStore {
    /// `ledger.redb` in the new data directory, in this format.
    Redb(StoreFormat),
    /// A log in PostgreSQL, which must not exist yet; the new directory gets an `evl.toml`
    /// whose `[store]` section is `config` (so `evl --data DIR` finds the database).
    Postgres {
        /// The database and log.
        target: Box<evl_ledger::store::postgres::PgTarget>,
        /// The `[store]` section to write (no password in it).
        config: String,
    },
}

/// [`restore_dir`] into either kind of store. A restore into PostgreSQL that fails removes
/// what it loaded into the database.
pub fn restore_dir_into(
    backups: &[PathBuf],
    target: &Path,
    req: &RestoreRequest,
    into: &RestoreStore,
    progress: &mut dyn FnMut(u64),
) -> Result<Restored, RestoreError> {
    let occupied = match std::fs::read_dir(target) {
        Ok(mut d) => d.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => true, // a file, or unreadable
    };
    if occupied {
        return Err(RestoreError::TargetNotEmpty(target.to_path_buf()));
    }
    let parent = parent_of(target);
    std::fs::create_dir_all(&parent).map_err(io(format!("creating {}", parent.display())))?;
    let stale_removed = remove_stale(&parent, RESTORE_PREFIX, "restore")?;
    let mut files: Vec<(String, Box<dyn Read>)> = Vec::new();
    for f in backups {
        let file = std::fs::File::open(f).map_err(io(format!("opening {}", f.display())))?;
        files.push((
            f.display().to_string(),
            Box::new(std::io::BufReader::with_capacity(1 << 20, file)),
        ));
    }
    // Removed on drop: every failure below leaves no temporary directory behind.
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{RESTORE_PREFIX}{}-", std::process::id()))
        .tempdir_in(&parent)
        .map_err(io(format!(
            "creating a temporary directory in {}",
            parent.display()
        )))?;
    let data = DataDir::new(tmp.path());
    let trust = match into {
        RestoreStore::Redb(format) => {
            let store = RedbStore::create_for_load_as(&data.store(), *format).map_err(LedgerError::from)?;
            let report = restore(files, store, req, progress)?;
            // The trust root next to the store, as `evl init` writes it (from the restored store).
            let reopened = RedbStore::open(&data.store()).map_err(LedgerError::from)?;
            (
                report,
                evl_ledger::LedgerReader::open(reopened)?.trust_root().to_json(),
            )
        }
        RestoreStore::Postgres { target: t, config } => {
            use evl_ledger::store::postgres::PgStore;
            if PgStore::exists(t).map_err(LedgerError::from)? {
                return Err(RestoreError::Ledger(LedgerError::Mismatch(format!(
                    "TARGET_NOT_EMPTY: {} already holds a ledger; a restore goes only into an empty log",
                    t.describe()
                ))));
            }
            let store = PgStore::create(t).map_err(LedgerError::from)?;
            let loaded = restore(files, store, req, progress).and_then(|report| {
                let reopened = PgStore::open(t).map_err(LedgerError::from)?;
                let trust = evl_ledger::LedgerReader::open(reopened)?.trust_root().to_json();
                let mut f = std::fs::File::create(data.config()).map_err(io("writing evl.toml".into()))?;
                f.write_all(config.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(io("writing evl.toml".into()))?;
                Ok((report, trust))
            });
            if loaded.is_err()
                && let Err(e) = PgStore::discard(t)
            {
                tracing::warn!(error = %e, "could not remove the partial restore from the database");
            }
            loaded?
        }
    };
    let (report, trust) = trust;
    let mut f = std::fs::File::create(data.trust_root()).map_err(io("writing trust-root.json".into()))?;
    f.write_all(&trust)
        .and_then(|()| f.sync_all())
        .map_err(io("writing trust-root.json".into()))?;
    sync_dir(tmp.path())?;
    let loaded = tmp.keep();
    if let Err(e) = std::fs::rename(&loaded, target) {
        let _ = std::fs::remove_dir_all(&loaded);
        return Err(LedgerError::Io(format!(
            "moving the restored directory into place at {}: {e}",
            target.display()
        ))
        .into());
    }
    sync_dir(&parent)?;
    Ok(Restored {
        report,
        stale_removed,
    })
}
