//! Backups and restores (SPEC.md §9.9): full and incremental backups verify offline; a restore
//! rebuilds a store with identical nodes, checkpoints, anchors and roots; point-in-time restores
//! stop exactly at an anchor; chained restores need identical overlaps; every fault is a stable
//! code and no restore reports success on a damaged backup.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::pack::{BackupRequest, RestoreReport, RestoreRequest, restore, verify_pack_reader};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{Snapshot, Store};
use evl_ledger::verify::{Mode, verify};
use evl_ledger::{AnchorPolicy, Ledger, LedgerError, LedgerReader};
use evl_sdk::pack::{PackKind, TrustSource};
use evl_sdk::{SecretKey, Timestamp, TreeSize};

const ORIGIN: &str = "backup.example/log";

fn key() -> SecretKey {
    SecretKey::from_seed(ORIGIN, &[7u8; 32]).unwrap()
}

fn t0() -> Timestamp {
    Timestamp::parse("2020-01-01T00:00:00Z").unwrap()
}

fn ledger(store: MemoryStore) -> Ledger<MemoryStore> {
    Ledger::init(store, key(), t0(), AnchorPolicy::default()).unwrap()
}

fn append_n<S: Store>(l: &Ledger<S>, from: u32, n: u32, batch: usize) {
    let docs: Vec<String> = (from..from + n)
        .map(|i| {
            format!(
                r#"{{"type":"x-item","i":{i},"pad":"{}"}}"#,
                "p".repeat((i % 7) as usize * 30)
            )
        })
        .collect();
    for chunk in docs.chunks(batch.max(1)) {
        let refs: Vec<&[u8]> = chunk.iter().map(|d| d.as_bytes()).collect();
        l.append_json(&refs).unwrap();
    }
}

fn backup<S: Store>(l: &Ledger<S>, req: &BackupRequest) -> Vec<u8> {
    let mut out = Vec::new();
    l.backup(req, &mut out, &mut |_| {}).unwrap();
    out
}

/// Restores `files` into a new redb store `dir/r.redb`.
fn restore_into(
    dir: &std::path::Path,
    files: &[&[u8]],
    req: &RestoreRequest,
) -> Result<RestoreReport, LedgerError> {
    let _ = std::fs::remove_file(dir.join("r.redb"));
    let store = RedbStore::open(&dir.join("r.redb")).unwrap();
    let sources = files
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("f{i}"), Box::new(*f) as Box<dyn std::io::Read>))
        .collect();
    restore(sources, store, req, &mut |_| {})
}

fn restored(dir: &std::path::Path) -> RedbStore {
    RedbStore::open(&dir.join("r.redb")).unwrap()
}

type Dump = (u64, Vec<Vec<u8>>, Vec<(u64, String)>, Vec<(u64, Vec<u8>)>);

/// Everything a store holds up to its tree size: nodes, checkpoints, anchors.
fn dump(s: &impl Snapshot) -> Dump {
    let size = s.tree_size().unwrap().get();
    let mut nodes = Vec::new();
    s.scan_nodes(0, size, &mut |_, b| {
        nodes.push(b.to_vec());
        true
    })
    .unwrap();
    let mut cps = Vec::new();
    s.scan_checkpoints(0, size, &mut |t, n| {
        cps.push((t.get(), n.to_owned()));
        true
    })
    .unwrap();
    (size, nodes, cps, s.anchors().unwrap())
}

/// A log with three anchors, chunks of several sizes and a tail after the last anchor.
fn sample() -> (Ledger<MemoryStore>, MemoryStore) {
    let store = MemoryStore::new();
    let l = ledger(store.clone());
    append_n(&l, 0, 300, 37);
    l.anchor().unwrap();
    append_n(&l, 300, 5000, 500); // more than one chunk
    l.anchor().unwrap();
    append_n(&l, 5300, 10, 3);
    l.anchor().unwrap();
    append_n(&l, 5310, 7, 2);
    (l, store)
}

#[test]
fn full_backup_round_trip() {
    let (l, store) = sample();
    let req = BackupRequest::default();
    let pack = backup(&l, &req);
    assert_eq!(pack, backup(&l, &req), "backing up twice gives identical bytes");
    // Offline verification, in memory, streamed, and with the pack's own trust root.
    let report = l.trust_root().verify_pack(&pack).unwrap().into_inner();
    assert_eq!(report.kind, PackKind::Backup);
    let b = report.backup.clone().unwrap();
    assert_eq!((b.from, b.to, b.leaves), (0, 5317, 5317));
    assert_eq!(b.anchors_checked, 3);
    assert!(b.archived.is_empty());
    let streamed = verify_pack_reader(pack.as_slice(), None, &mut |_| {})
        .unwrap()
        .into_inner();
    assert_eq!(streamed.trust_root, TrustSource::Pack);
    assert_eq!(streamed.backup, report.backup);

    let dir = tempfile::tempdir().unwrap();
    let r = restore_into(dir.path(), &[&pack], &RestoreRequest::default()).unwrap();
    assert_eq!(
        (r.tree_size, r.nodes, r.anchors, r.anchors_verified),
        (5317, 5317, 3, 3)
    );
    assert!(r.cut.is_none());
    let back = restored(dir.path());
    assert_eq!(
        dump(&back.snapshot().unwrap()),
        dump(&store.snapshot().unwrap()),
        "identical nodes, checkpoints and anchors"
    );
    let reader = LedgerReader::open(back).unwrap();
    let src = l.reader();
    for a in src.anchors().unwrap() {
        let size = TreeSize::new(a.anchor.unwrap().payload().tree_size).unwrap();
        assert_eq!(reader.root_at(size).unwrap(), src.root_at(size).unwrap());
    }
    let v = verify(&reader, Mode::Full, &mut |_, _| {}).unwrap();
    assert!(v.ok(), "{:#?}", v.failures);
    // The restored store takes further appends and anchors with the same key.
    drop(reader);
    let again = Ledger::open(restored(dir.path()), key(), AnchorPolicy::default()).unwrap();
    append_n(&again, 9000, 3, 3);
    again.anchor().unwrap();
    assert!(again.reader().verify_anchor_chain().unwrap().failure.is_none());
}
