//! Crash test for backups and restores (issue 7): `backup-child` runs a backup, then a restore,
//! through the functions `evl backup` and `evl restore` use, and is SIGKILLed at pseudo-random
//! moments spread over a whole run. After every kill:
//!
//! - the backup file is absent, or a complete backup that verifies against the log's trust
//!   root (never a partial file);
//! - the restore target is absent, or a complete data directory whose store passes
//!   `verify --mode full` with the backed-up tree size and root (never a half-written store).
//!
//! A final restore after the kills removes the temporary directories the killed restores left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::pack::verify_pack_reader;
use evl_ledger::store::StoreFormat;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::verify::{Mode, verify};
use evl_ledger::{AnchorPolicy, Ledger, LedgerReader};
use evl_sdk::{SecretKey, Timestamp, TreeSize};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Kills per phase.
const KILLS: u64 = 8;

fn child(args: &[&Path]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_backup-child"));
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// Runs the child to its end and returns how long it took.
fn run_to_end(mode: &str, a: &Path, b: &Path) -> Duration {
    let t = Instant::now();
    let out = child(&[Path::new(mode), a, b]).output().unwrap();
    assert!(
        out.status.success() && out.stdout.starts_with(b"done"),
        "{mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
}

/// Starts the child and SIGKILLs it after `after`; true if it had finished by then.
fn run_and_kill(mode: &str, a: &Path, b: &Path, after: Duration) -> bool {
    let mut c = child(&[Path::new(mode), a, b]).spawn().unwrap();
    std::thread::sleep(after);
    let finished = matches!(c.try_wait(), Ok(Some(_)));
    let _ = c.kill(); // SIGKILL on Unix
    let out = c.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{mode}: the child reported an error: {stderr}");
    finished
}

struct Rng(u64);
impl Rng {
    /// The delay of kill `run`: in [5 %, 105 %] of `d`, so kills land anywhere in a run; the
    /// last one at 150 %, after the run's end, so a finished run is checked too.
    fn delay(&mut self, run: u64, d: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        if run + 1 == KILLS {
            return d.mul_f64(1.5);
        }
        d.mul_f64(0.05 + (self.0 % 1000) as f64 / 1000.0)
    }
}

fn entries(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[test]
fn killed_backups_and_restores_leave_nothing_partial() {
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // A log of 10 000 nodes (three export chunks) with anchors, appended in commits of 500.
    let key = SecretKey::from_seed(evl_tests::CRASH_ORIGIN, &evl_tests::CRASH_SEED).unwrap();
    let ledger = Ledger::init(
        RedbStore::open(&data.join("ledger.redb")).unwrap(),
        key,
        Timestamp::parse("2020-01-01T00:00:00Z").unwrap(),
        AnchorPolicy::default(),
    )
    .unwrap();
    for batch in 0..20u32 {
        let docs: Vec<String> = (0..500u32)
            .map(|i| {
                format!(
                    r#"{{"type":"x-crash","i":{},"pad":"{}"}}"#,
                    batch * 500 + i,
                    "x".repeat(200)
                )
            })
            .collect();
        let refs: Vec<&[u8]> = docs.iter().map(String::as_bytes).collect();
        ledger.append_json(&refs).unwrap();
        if batch % 6 == 5 {
            ledger.anchor().unwrap();
        }
    }
    let trust = ledger.trust_root().clone();
    let size = ledger.reader().tree_size().unwrap();
    let root = ledger.reader().root_at(size).unwrap();
    drop(ledger);

    // Backups.
    let out = work.path().join("backup.tar.zst");
    let full = run_to_end("backup", &data, &out);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut absent, mut complete) = (0, 0);
    for run in 0..KILLS {
        let _ = std::fs::remove_file(&out);
        run_and_kill("backup", &data, &out, rng.delay(run, full));
        if !out.exists() {
            absent += 1;
            continue;
        }
        let file = std::fs::File::open(&out).unwrap();
        let report = verify_pack_reader(file, Some(trust.clone()), &mut |_| {})
            .unwrap_or_else(|e| panic!("backup run {run}: a partial backup was left in place: {e}"));
        assert_eq!(report.into_inner().backup.unwrap().to, size.get());
        complete += 1;
    }
    eprintln!("backup: {absent} killed before the rename, {complete} complete (a run takes {full:?})");
    assert!(
        complete > 0 && absent > 0,
        "kills landed before and after the rename"
    );
    run_to_end("backup", &data, &out);

    // Restores.
    let target = work.path().join("restored");
    let full = run_to_end("restore", &out, &target);
    let (mut absent, mut complete) = (0, 0);
    for run in 0..KILLS {
        if target.exists() {
            std::fs::remove_dir_all(&target).unwrap();
        }
        // Odd runs restore into an `evl-store/2` store (issue 14).
        let (mode, format) = if run % 2 == 1 {
            ("restore-v2", StoreFormat::V2)
        } else {
            ("restore", StoreFormat::V1)
        };
        run_and_kill(mode, &out, &target, rng.delay(run, full));
        if !target.exists() {
            absent += 1;
            continue;
        }
        let store = RedbStore::open(&target.join("ledger.redb"))
            .unwrap_or_else(|e| panic!("restore run {run}: a half-written store was left in place: {e}"));
        assert_eq!(store.store_format(), format, "restore run {run}");
        let reader = LedgerReader::open(store)
            .unwrap_or_else(|e| panic!("restore run {run}: a half-written store was left in place: {e}"));
        assert_eq!(reader.tree_size().unwrap(), size, "restore run {run}");
        assert_eq!(reader.root_at(size).unwrap(), root, "restore run {run}");
        let v = verify(&reader, Mode::Full, &mut |_, _| {}).unwrap();
        assert!(v.ok(), "restore run {run}: {:#?}", v.failures);
        assert!(target.join("trust-root.json").exists());
        complete += 1;
    }
    eprintln!(
        "restore: {absent} killed before the rename, {complete} complete (a run takes {full:?}); stale: {:?}",
        entries(work.path(), ".evl-restore-")
    );
    assert!(
        complete > 0 && absent > 0,
        "kills landed before and after the rename"
    );
    // A last restore removes what the killed ones left.
    if target.exists() {
        std::fs::remove_dir_all(&target).unwrap();
    }
    run_to_end("restore", &out, &target);
    assert_eq!(entries(work.path(), ".evl-restore-"), Vec::<String>::new());
    let reader = LedgerReader::open(RedbStore::open(&target.join("ledger.redb")).unwrap()).unwrap();
    assert_eq!(reader.root_at(TreeSize::new(size.get()).unwrap()).unwrap(), root);
    eprintln!("backup crash test took {:?}", started.elapsed());
}
