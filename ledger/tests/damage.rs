//! A damaged store is reported, never served and never made worse (issue "trustworthy under
//! damage"): engine panics become `STORE_DAMAGED`, verify reports every unreadable page and
//! goes on, read-only opens never write, receipts and proofs that do not verify against the
//! signed checkpoint are refused, backups and exports stop at damage, and the time and
//! authority rules for signing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::pack::{BackupRequest, ExportRequest};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{Snapshot, Store, StoreFormat};
use evl_ledger::verify::{Mode, verify};
use evl_ledger::{AnchorPolicy, Ledger, LedgerReader, MAX_CLOCK_SKEW_SECS};
use evl_sdk::corruption::{Corruption, Damage};
use evl_sdk::{LeafIndex, NodeId, SecretKey, Timestamp};
use std::path::Path;

const ORIGIN: &str = "damage.test/log";

fn key() -> SecretKey {
    SecretKey::from_seed(ORIGIN, &[7u8; 32]).unwrap()
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn doc(i: u64) -> Vec<u8> {
    format!(
        r#"{{"type":"x-damage","i":{i},"pad":"{}"}}"#,
        "d".repeat((i % 5) as usize * 90)
    )
    .into_bytes()
}

/// A ledger of `n` nodes with an anchor after every 100, at `path`; its NodeIds.
fn ledger(path: &Path, n: u64) -> Vec<NodeId> {
    ledger_with_format(path, n, 1)
}

/// [`ledger`] in store format `format` (1 or 2).
fn ledger_with_format(path: &Path, n: u64, format: u32) -> Vec<NodeId> {
    let store = match format {
        2 => RedbStore::create(path, StoreFormat::V2).unwrap(),
        _ => RedbStore::create(path, StoreFormat::V1).unwrap(),
    };
    let l = Ledger::init(store, key(), t("2020-01-01T00:00:00Z"), AnchorPolicy::default()).unwrap();
    let mut ids = Vec::new();
    for start in (0..n).step_by(100) {
        let docs: Vec<Vec<u8>> = (start..(start + 100).min(n)).map(doc).collect();
        let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
        ids.extend(l.append_json(&refs).unwrap().iter().map(|o| o.receipt.node_id));
        l.anchor().unwrap();
    }
    ids
}

/// The error of a full backup that must fail.
fn backup_error(l: &Ledger<RedbStore>) -> evl_ledger::LedgerError {
    let mut out = Vec::new();
    l.backup(&BackupRequest::default(), &mut out, &mut |_| {})
        .unwrap_err()
}

/// The checkpoint text stored for tree size `size` (every batch end has one).
fn stored_checkpoint(store: &RedbStore, size: u64) -> String {
    store
        .snapshot()
        .unwrap()
        .checkpoint(evl_sdk::TreeSize::new(size).unwrap())
        .unwrap()
        .expect("a checkpoint at every batch end")
}

fn open(path: &Path) -> Ledger<RedbStore> {
    Ledger::open(RedbStore::open(path).unwrap(), key(), AnchorPolicy::default()).unwrap()
}

/// Zeroing any one 4 KiB page of the store never makes a read-only command panic or change the
/// file: opening read-only, a full verify, reading every node and proving every node either
/// work or fail with a stable code, and at least some pages are reported as `STORE_DAMAGED`.
#[test]
fn zeroing_any_page_never_panics_and_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("p.redb");
    let ids = ledger(&pristine, 400);
    let bytes = std::fs::read(&pristine).unwrap();
    let pages = bytes.len() / 4096;
    let mut damaged_reports = 0;
    for page in 0..pages {
        let mut b = bytes.clone();
        b[page * 4096..(page + 1) * 4096].fill(0);
        let path = dir.path().join("c.redb");
        std::fs::write(&path, &b).unwrap();
        let Ok(store) = RedbStore::open_read_only(&path) else {
            continue; // refused to open: reported, nothing changed (checked below)
        };
        if let Ok(reader) = LedgerReader::open(store) {
            match verify(&reader, Mode::Full, &mut |_, _| {}) {
                Ok(report) => {
                    damaged_reports += usize::from(report.failures.iter().any(|f| f.code == "STORE_DAMAGED"));
                    for f in &report.failures {
                        assert!(!f.code.is_empty(), "page {page}: {f:?}");
                    }
                }
                Err(e) => assert!(!e.code().is_empty()),
            }
            for id in ids.iter().step_by(7) {
                let _ = reader.node(id).map_err(|e| e.code());
                let _ = reader.prove(id, None).map_err(|e| e.code());
            }
        }
        assert!(
            std::fs::read(&path).unwrap() == b,
            "page {page}: a read-only command changed the file"
        );
    }
    assert!(
        damaged_reports > 0,
        "no zeroed page was reported as STORE_DAMAGED"
    );
}

/// A stored interior hash on a proof path (not on the right edge) is damaged: `prove` refuses
/// with `STORE_DAMAGED` instead of handing out a proof that does not verify, and counts it.
#[test]
fn a_proof_that_does_not_verify_is_refused_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let ids = ledger(&path, 300);
    {
        let store = RedbStore::open(&path).unwrap();
        let h = store.snapshot().unwrap().hash(3, 1).unwrap().unwrap();
        let mut bad = *h.as_bytes();
        bad[5] ^= 0x10;
        store.overwrite_hash(3, 1, &bad).unwrap();
    }
    let l = open(&path);
    let r = l.reader();
    let before = evl_ledger::refused_answers();
    // Leaf 0's path at size 300 uses the hash of leaves 8..16 (level 3, index 1).
    let e = r.prove(&ids[0], None).unwrap_err();
    assert_eq!(e.code(), "STORE_DAMAGED", "{e}");
    assert!(evl_ledger::refused_answers() > before);
    // Leaves whose proofs do not use it are still served, and verify.
    let ok = r.prove(&ids[200], None).unwrap();
    l.trust_root()
        .verify_receipt(&ok, t("2030-01-01T00:00:00Z"))
        .unwrap();
    // An append of an existing node re-proves it: the same refusal, nothing appended.
    let e = l.append_json(&[&doc(0)]).unwrap_err();
    assert_eq!(e.code(), "STORE_DAMAGED", "{e}");
    assert_eq!(r.tree_size().unwrap().get(), 300);
    // A consistency proof through the damaged hash is refused as well.
    let e = r
        .consistency(
            evl_sdk::TreeSize::new(8).unwrap(),
            evl_sdk::TreeSize::new(300).unwrap(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "STORE_DAMAGED", "{e}");
}

/// One flipped bit in one stored node: a backup and an export stop with the leaf's code
/// instead of signing a pack that does not verify.
#[test]
fn backup_and_export_stop_at_damaged_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    ledger(&path, 250);
    {
        let store = RedbStore::open(&path).unwrap();
        let mut b = store
            .snapshot()
            .unwrap()
            .node(LeafIndex::new(123).unwrap())
            .unwrap()
            .unwrap();
        let at = b.len() / 2;
        b[at] ^= 0x01;
        store.overwrite_node(123, &b).unwrap();
    }
    let l = open(&path);
    let e = backup_error(&l);
    assert_eq!(e.code(), "NODE_ID_MISMATCH", "{e}");
    assert!(e.to_string().contains("leaf 123"), "{e}");
    let mut out = Vec::new();
    let e = l
        .export(&ExportRequest::default(), &mut out, &mut |_| {})
        .unwrap_err();
    assert_eq!(e.code(), "NODE_ID_MISMATCH", "{e}");
}

/// A stored checkpoint whose signature no longer verifies (one flipped byte of its signature
/// line), on both formats: a backup stops with `SIGNATURE_INVALID` instead of writing a pack
/// whose checkpoints file fails in the auditor's verifier; the store is left as it was.
#[test]
fn backup_stops_at_a_damaged_checkpoint() {
    for format in [1u32, 2] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        ledger_with_format(&path, 250, format);
        let damaged_at = 200u64;
        let damaged = {
            let store = RedbStore::open(&path).unwrap();
            let text = stored_checkpoint(&store, damaged_at);
            // The last character before the final newline is in the base64 signature.
            let mut b = text.into_bytes();
            let at = b.len() - 3;
            b[at] = if b[at] == b'A' { b'B' } else { b'A' };
            let damaged = String::from_utf8(b).unwrap();
            store.overwrite_checkpoint(damaged_at, &damaged).unwrap();
            damaged
        };
        let l = open(&path);
        let e = backup_error(&l);
        assert_eq!(e.code(), "SIGNATURE_INVALID", "format {format}: {e}");
        // Nothing stored changed: the log's size and the damaged checkpoint as they were.
        drop(l);
        let snap = RedbStore::open(&path).unwrap().snapshot().unwrap();
        assert_eq!(snap.tree_size().unwrap().get(), 250, "format {format}");
        let at = evl_sdk::TreeSize::new(damaged_at).unwrap();
        assert_eq!(snap.checkpoint(at).unwrap(), Some(damaged), "format {format}");
    }
}

/// A checkpoint stored under the wrong tree size (a valid signature for another size, as a
/// damaged key would leave it): the backup stops with `MERKLE_MISMATCH`.
#[test]
fn backup_stops_at_a_checkpoint_under_the_wrong_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    ledger_with_format(&path, 250, 2);
    {
        let store = RedbStore::open(&path).unwrap();
        let other = stored_checkpoint(&store, 100);
        store.overwrite_checkpoint(200, &other).unwrap();
    }
    let l = open(&path);
    let e = backup_error(&l);
    assert_eq!(e.code(), "MERKLE_MISMATCH", "{e}");
}

/// A damaged stored leaf hash (content intact): the leaves a backup writes no longer rebuild
/// the signed root, so it stops with `MERKLE_MISMATCH` (or the leaf's own check first).
#[test]
fn backup_stops_when_the_leaves_do_not_rebuild_the_signed_root() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    ledger(&path, 150);
    {
        let store = RedbStore::open(&path).unwrap();
        // An interior hash a backup does not read itself, but whose damage changes nothing a
        // backup writes: the backup must still succeed and verify.
        let h = store.snapshot().unwrap().hash(3, 2).unwrap().unwrap();
        let mut bad = *h.as_bytes();
        bad[0] ^= 1;
        store.overwrite_hash(3, 2, &bad).unwrap();
    }
    let l = open(&path);
    let mut out = Vec::new();
    match l.backup(&BackupRequest::default(), &mut out, &mut |_| {}) {
        // The leaves are intact: what was written verifies.
        Ok(_) => {
            evl_ledger::pack::verify_pack_reader(out.as_slice(), Some(l.trust_root().clone()), &mut |_| {})
                .unwrap();
        }
        Err(e) => assert!(["MERKLE_MISMATCH", "STORE_DAMAGED"].contains(&e.code()), "{e}"),
    }
}

/// Records that change how other nodes are read need an operator's authority.
#[test]
fn corruption_records_need_the_admin_path() {
    let l = Ledger::init(
        evl_ledger::store::memory::MemoryStore::new(),
        key(),
        t("2020-01-01T00:00:00Z"),
        AnchorPolicy::default(),
    )
    .unwrap();
    let out = l.append_json(&[&doc(1)]).unwrap();
    let id = out[0].receipt.node_id;
    let c = Corruption::new(id, 0, "claimed lost", t("2021-01-01T00:00:00Z"), Damage::Node).unwrap();
    let e = l.append(vec![c.to_node()]).unwrap_err();
    assert_eq!(e.code(), "NODE_INVALID", "{e}");
    assert_eq!(l.reader().tree_size().unwrap().get(), 1, "nothing appended");
    // The node is still readable.
    assert!(l.reader().node(&id).is_ok());
    // The operator path takes it.
    l.append_admin(vec![c.to_node()]).unwrap();
    assert_eq!(l.reader().tree_size().unwrap().get(), 2);
}

/// The time rule for anchors, with a fake clock.
#[test]
fn anchor_times_follow_the_clock_rule() {
    let l = Ledger::init(
        evl_ledger::store::memory::MemoryStore::new(),
        key(),
        t("2026-06-01T00:00:00Z"),
        AnchorPolicy::default(),
    )
    .unwrap();
    l.append_json(&[&doc(1)]).unwrap();
    // A clock before the key's not_before: nothing is signed.
    let e = l.anchor_at(t("2026-05-01T00:00:00Z")).unwrap_err();
    assert_eq!(e.code(), "CLOCK_SKEW", "{e}");
    assert!(l.reader().anchors().unwrap().is_empty());

    let a0 = l.anchor_at(t("2026-07-01T00:00:00Z")).unwrap();
    assert_eq!(a0.payload().time, t("2026-07-01T00:00:00Z"));
    // A clock a little behind the last anchor (within the skew) takes the last anchor's time.
    l.append_json(&[&doc(2)]).unwrap();
    let behind = Timestamp::from_unix(a0.payload().time.unix() - MAX_CLOCK_SKEW_SECS / 2).unwrap();
    let a1 = l.anchor_at(behind).unwrap();
    assert_eq!(a1.payload().time, a0.payload().time);
    // One anchor made with the clock a year ahead ...
    l.append_json(&[&doc(3)]).unwrap();
    let a2 = l.anchor_at(t("2027-07-01T00:00:00Z")).unwrap();
    // ... is not copied forward: with the clock back, anchoring refuses until it catches up.
    l.append_json(&[&doc(4)]).unwrap();
    let e = l.anchor_at(t("2026-07-02T00:00:00Z")).unwrap_err();
    assert_eq!(e.code(), "CLOCK_SKEW", "{e}");
    assert_eq!(l.reader().anchors().unwrap().len(), 3);
    let a3 = l.anchor_at(t("2027-07-01T00:01:00Z")).unwrap();
    assert!(a3.payload().time > a2.payload().time);
    // Every anchor signed verifies.
    let report = l.reader().verify_anchor_chain().unwrap();
    assert!(report.failure.is_none(), "{:?}", report.failure);
}

/// A node whose id-map entry is gone (a damaged id map) is still found, by its leaf hash, and
/// served verified: never a silent "not found".
#[test]
fn a_node_missing_from_the_id_map_is_found_not_404() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let ids = ledger(&path, 120);
    RedbStore::open(&path).unwrap().remove_id(&ids[77]).unwrap();
    let l = open(&path);
    let r = l.reader();
    let before = evl_ledger::id_map_fallbacks();
    let (i, bytes) = r.node(&ids[77]).unwrap();
    assert_eq!(i.get(), 77);
    assert_eq!(NodeId::of_canonical(&bytes), ids[77]);
    let rc = r.prove(&ids[77], None).unwrap();
    assert_eq!(rc.leaf_index, 77);
    assert!(evl_ledger::id_map_fallbacks() >= before + 2);
    // A NodeId that is not in the log is still not found.
    let other = NodeId::of_canonical(br#"{"type":"x-other"}"#);
    assert_eq!(r.node(&other).unwrap_err().code(), "NOT_FOUND");
    // A full verify reports the damage.
    let report = verify(&r, Mode::Full, &mut |_, _| {}).unwrap();
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.what == "id_map" && f.leaf_index == Some(77)),
        "{:?}",
        report.failures
    );
}

/// A store whose status byte says it needs redb's crash repair (a crash, or one flipped bit at
/// offset 9) is read through a repaired copy: a read-only open never rewrites it.
#[test]
fn a_store_that_needs_crash_repair_is_read_without_writing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let ids = ledger(&path, 150);
    let mut b = std::fs::read(&path).unwrap();
    b[9] ^= 0x02; // redb's "recovery required" bit
    std::fs::write(&path, &b).unwrap();
    let store = RedbStore::open_read_only(&path).unwrap();
    assert!(store.is_read_only());
    let r = LedgerReader::open(store).unwrap();
    assert_eq!(r.tree_size().unwrap().get(), 150);
    let (_, bytes) = r.node(&ids[42]).unwrap();
    assert_eq!(NodeId::of_canonical(&bytes), ids[42]);
    assert!(verify(&r, Mode::Full, &mut |_, _| {}).unwrap().ok());
    drop(r);
    assert!(
        std::fs::read(&path).unwrap() == b,
        "a read-only open rewrote the store"
    );
}

/// The id map is checked in bulk by a full verify (one pass over the map against a sum over
/// the checked leaves): an entry that sends a NodeId to the wrong leaf is still reported at the
/// leaf whose NodeId it is, on both store formats, and an intact map reports nothing.
#[test]
fn a_wrong_id_map_entry_is_reported_on_both_formats() {
    use evl_ledger::store::{Repair, StoreFormat};
    for format in StoreFormat::ALL {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let l = Ledger::init(
            RedbStore::create(&path, format).unwrap(),
            key(),
            t("2020-01-01T00:00:00Z"),
            AnchorPolicy::default(),
        )
        .unwrap();
        let docs: Vec<Vec<u8>> = (0..600).map(doc).collect();
        let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
        let ids: Vec<NodeId> = l
            .append_json(&refs)
            .unwrap()
            .iter()
            .map(|o| o.receipt.node_id)
            .collect();
        l.anchor().unwrap();
        drop(l);
        let clean = verify(&open(&path).reader(), Mode::Full, &mut |_, _| {}).unwrap();
        assert!(clean.ok(), "{format}: {:?}", clean.failures);
        let store = RedbStore::open(&path).unwrap();
        store
            .repair(Repair {
                ids: vec![(ids[300], LeafIndex::new(301).unwrap())],
                ..Repair::default()
            })
            .unwrap();
        drop(store);
        let report = verify(&open(&path).reader(), Mode::Full, &mut |_, _| {}).unwrap();
        let id_map: Vec<_> = report
            .failures
            .iter()
            .filter(|f| f.what == "id_map")
            .map(|f| (f.leaf_index, f.code))
            .collect();
        assert_eq!(
            id_map,
            vec![(Some(300), "NODE_ID_MISMATCH")],
            "{format}: {:?}",
            report.failures
        );
    }
}
