//! Runs one backup or one restore through the functions `evl backup` and `evl restore` use,
//! so that tests/backup_crash.rs can SIGKILL it part way:
//!
//! - `backup-child backup DATA_DIR OUT`: a full backup of the crash-test ledger in DATA_DIR;
//! - `backup-child restore BACKUP TARGET`: a restore of BACKUP into the new directory TARGET
//!   (`restore-v2`: the same into an `evl-store/2` store).
//!
//! Prints `done` when it finishes.

use evl_ledger::pack::{BackupRequest, RestoreRequest};
use evl_ledger::store::StoreFormat;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::SecretKey;
use evl_server::backup::{restore_dir, write_backup_file};
use evl_server::data_dir::DataDir;
use std::path::{Path, PathBuf};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match (args.get(1).map(String::as_str), args.get(2), args.get(3)) {
        (Some("backup"), Some(data), Some(out)) => backup(Path::new(data), Path::new(out)),
        (Some("restore"), Some(file), Some(target)) => {
            restore(Path::new(file), Path::new(target), StoreFormat::V1)
        }
        (Some("restore-v2"), Some(file), Some(target)) => {
            restore(Path::new(file), Path::new(target), StoreFormat::V2)
        }
        _ => Err("usage: backup-child backup DATA_DIR OUT | restore[-v2] BACKUP TARGET".into()),
    };
    match result {
        Ok(()) => println!("done"),
        Err(e) => {
            eprintln!("backup-child: {e}");
            std::process::exit(1);
        }
    }
}

fn backup(data: &Path, out: &Path) -> Result<(), String> {
    let key =
        SecretKey::from_seed(evl_tests::CRASH_ORIGIN, &evl_tests::CRASH_SEED).map_err(|e| e.to_string())?;
    let store = RedbStore::open(&DataDir::new(data).store()).map_err(|e| e.to_string())?;
    let ledger = Ledger::open(store, key, AnchorPolicy::default()).map_err(|e| e.to_string())?;
    write_backup_file(&ledger, &BackupRequest::default(), out, &mut |_| {})
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn restore(file: &Path, target: &Path, format: StoreFormat) -> Result<(), String> {
    restore_dir(
        &[PathBuf::from(file)],
        target,
        &RestoreRequest::default(),
        format,
        &mut |_| {},
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}
