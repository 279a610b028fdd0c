//! Damage found by a full verify: `mark_corrupted` records it (reads fail with CORRUPTED, other
//! proofs keep working, verify reports it as recorded); `recover` puts it back from an export
//! made earlier, only if the bytes are the tree's, and refuses a backup that does not match.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity,
    missing_docs
)]

use evl_ledger::pack::ExportRequest;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{Snapshot, Store};
use evl_ledger::verify::{Mode, Report, verify};
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::pack::tar;
use evl_sdk::{LeafIndex, NodeId, SecretKey, Timestamp};
use std::path::Path;

const ORIGIN: &str = "recovery.test/log";

fn key() -> SecretKey {
    SecretKey::from_seed(ORIGIN, &[5u8; 32]).unwrap()
}

fn doc(tag: &str, i: u64) -> Vec<u8> {
    format!(r#"{{"type":"x-test","tag":"{tag}","i":{i}}}"#).into_bytes()
}

/// A ledger of 100 nodes and one anchor at `path`, its NodeIds, and an export of it all.
fn ledger(path: &Path, tag: &str) -> (Vec<NodeId>, Vec<u8>) {
    let l = Ledger::init(
        RedbStore::open(path).unwrap(),
        key(),
        Timestamp::parse("2020-01-01T00:00:00Z").unwrap(),
        AnchorPolicy::default(),
    )
    .unwrap();
    let docs: Vec<Vec<u8>> = (0..100).map(|i| doc(tag, i)).collect();
    let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
    let ids = l
        .append_json(&refs)
        .unwrap()
        .iter()
        .map(|o| o.receipt.node_id)
        .collect();
    l.anchor().unwrap();
    let mut export = Vec::new();
    l.export(&ExportRequest::default(), &mut export, &mut |_| {})
        .unwrap();
    (ids, export)
}

fn open(path: &Path) -> Ledger<RedbStore> {
    Ledger::open(RedbStore::open(path).unwrap(), key(), AnchorPolicy::default()).unwrap()
}

fn flip_node(path: &Path, i: u64) {
    let store = RedbStore::open(path).unwrap();
    let mut b = store
        .snapshot()
        .unwrap()
        .node(LeafIndex::new(i).unwrap())
        .unwrap()
        .unwrap();
    let at = b.len() / 2;
    b[at] ^= 0x01;
    store.overwrite_node(i, &b).unwrap();
}

fn flip_hash(path: &Path, level: u32, index: u64) {
    let store = RedbStore::open(path).unwrap();
    let mut h = *store
        .snapshot()
        .unwrap()
        .hash(level, index)
        .unwrap()
        .unwrap()
        .as_bytes();
    h[0] ^= 0x80;
    store.overwrite_hash(level, index, &h).unwrap();
}

fn full(l: &Ledger<RedbStore>) -> Report {
    verify(&l.reader(), Mode::Full, &mut |_, _| {}).unwrap()
}

fn found(r: &Report) -> Vec<(&str, Option<u64>, Option<(u32, u64)>)> {
    r.failures
        .iter()
        .map(|f| (f.what, f.leaf_index, f.position))
        .collect()
}

#[test]
fn marked_corruption_is_visible_reads_fail_and_other_proofs_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let (ids, _) = ledger(&path, "a");
    flip_node(&path, 17);
    let l = open(&path);
    let r = l.reader();
    // Damaged, unrecorded: never served.
    let e = r.node(&ids[17]).unwrap_err();
    assert_eq!(e.code(), "NODE_ID_MISMATCH", "{e}");
    // The library names the next step (the CLI renders it), never a command in its message.
    assert_eq!(
        e.next(),
        Some(evl_ledger::Next::RestoreContent { leaf: 17 }),
        "{e}"
    );
    assert!(!e.to_string().contains("evl "), "{e}");
    let v = full(&l);
    assert_eq!(found(&v), vec![("node", Some(17), Some((0, 17)))]);

    // Intact leaves and unknown NodeIds are refused.
    assert_eq!(
        l.mark_corrupted(LeafIndex::new(16), None, "x")
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );
    assert_eq!(
        l.mark_corrupted(LeafIndex::new(17), Some(ids[18]), "x")
            .unwrap_err()
            .code(),
        "NODE_ID_MISMATCH"
    );
    assert_eq!(
        l.mark_corrupted(LeafIndex::new(17), None, "  ")
            .unwrap_err()
            .code(),
        "NODE_INVALID"
    );

    let m = l
        .mark_corrupted(LeafIndex::new(17), None, "bit rot found by verify")
        .unwrap();
    assert!(m.created);
    assert_eq!(
        (m.record.corrupted, m.record.corrupted_leaf, m.record.leaf_index),
        (ids[17], 17, 100)
    );
    // The record is a node of the log, with a receipt like any other.
    let rc = m.receipt.unwrap();
    l.trust_root()
        .verify_receipt(&rc, evl_ledger::time::now())
        .unwrap();
    let (_, bytes) = r.node(&m.record.id).unwrap();
    let c =
        evl_sdk::corruption::Corruption::from_node(&evl_sdk::Node::from_canonical(&bytes).unwrap()).unwrap();
    assert_eq!(c.corrupted(), ids[17]);

    // Reads fail with CORRUPTED naming the record, from this reader and a fresh one.
    for reader in [r.clone(), l.reader()] {
        let e = reader.node(&ids[17]).unwrap_err();
        assert_eq!(e.code(), "CORRUPTED");
        assert!(e.to_string().contains(&m.record.id.to_string()), "{e}");
    }
    // Proofs for other entries (and for the damaged NodeId itself) still verify.
    for i in [0usize, 16, 18, 99] {
        let rc = r.prove(&ids[i], None).unwrap();
        l.trust_root()
            .verify_receipt(&rc, evl_ledger::time::now())
            .unwrap();
    }
    // verify: recorded, not failed.
    let v = full(&l);
    assert!(v.ok(), "{:#?}", v.failures);
    assert_eq!(v.recorded.len(), 1);
    assert_eq!(
        (v.recorded[0].leaf_index, v.recorded[0].code),
        (Some(17), "CORRUPTED")
    );
    assert!(v.recorded[0].message.contains(&m.record.id.to_string()));
    let q = verify(&l.reader(), Mode::Quick { stride: 1 }, &mut |_, _| {}).unwrap();
    assert!(q.ok() && q.recorded.len() == 1);
    // Marking again appends nothing.
    let again = l.mark_corrupted(None, Some(ids[17]), "again").unwrap();
    assert!(!again.created);
    assert_eq!(again.record.id, m.record.id);
    assert_eq!(r.tree_size().unwrap().get(), 101);

    // A damaged stored leaf hash is not content loss: mark refuses, verify still fails.
    drop((l, r));
    flip_hash(&path, 0, 42);
    let l = open(&path);
    let e = l.mark_corrupted(LeafIndex::new(42), None, "x").unwrap_err();
    assert_eq!(e.code(), "MERKLE_MISMATCH", "{e}");
    assert_eq!(e.next(), Some(evl_ledger::Next::RecoverHashes), "{e}");
    assert_eq!(found(&full(&l)), vec![("leaf_hash", Some(42), Some((0, 42)))]);
}

#[test]
fn recover_puts_back_content_and_hashes_from_an_earlier_export() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let (ids, export) = ledger(&path, "a");
    flip_node(&path, 17);
    flip_node(&path, 64);
    flip_hash(&path, 0, 42);
    flip_hash(&path, 2, 3);
    // Record one loss first: recover repairs recorded leaves too.
    let m = open(&path)
        .mark_corrupted(LeafIndex::new(64), None, "lost")
        .unwrap();
    flip_hash(&path, 5, 2); // a peak of the tree: the writer's frontier is wrong too
    let l = open(&path);
    // Appending now would sign a wrong root: mark refuses until the hashes are repaired.
    let e = l.mark_corrupted(LeafIndex::new(17), None, "x").unwrap_err();
    assert_eq!(e.code(), "MERKLE_MISMATCH", "{e}");
    let before = full(&l);
    let f = found(&before);
    for want in [
        ("node", Some(17), Some((0, 17))),
        ("leaf_hash", Some(42), Some((0, 42))),
        ("hash", None, Some((2, 3))),
        ("hash", None, Some((5, 2))),
        ("checkpoint", None, Some((0, 101))), // the damaged peak changes the root
    ] {
        assert!(f.contains(&want), "{want:?} in {f:?}");
    }
    // Content needs a backup.
    assert_eq!(l.recover(None).unwrap_err().code(), "OUT_OF_RANGE");
    let rep = l.recover(Some(&mut export.as_slice())).unwrap();
    assert!(rep.after.ok(), "{:#?}", rep.after.failures);
    assert!(rep.after.recorded.is_empty());
    let nodes: Vec<(u64, NodeId, Option<NodeId>)> = rep
        .nodes
        .iter()
        .map(|n| (n.leaf_index, n.node_id, n.was_recorded_by))
        .collect();
    assert_eq!(nodes, vec![(17, ids[17], None), (64, ids[64], Some(m.record.id))]);
    for h in [(0, 42), (2, 3), (5, 2)] {
        assert!(rep.hashes.contains(&h), "{h:?} in {:?}", rep.hashes);
    }
    let r = l.reader();
    assert_eq!(
        r.node(&ids[17]).unwrap().1,
        evl_sdk::Node::from_json(&doc("a", 17)).unwrap().into_bytes()
    );
    assert!(r.node(&ids[64]).is_ok());
    // The writer's frontier was reloaded: later appends and anchors verify.
    l.append_json(&[&doc("a", 1000)]).unwrap();
    l.anchor().unwrap();
    let v = full(&l);
    assert!(v.ok(), "{:#?}", v.failures);
    // Nothing left to do: a second recover repairs nothing.
    let again = l.recover(None).unwrap();
    assert!(!again.repaired_anything() && again.after.ok());
}

#[test]
fn a_backup_that_does_not_match_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let (_, export) = ledger(&path, "a");
    // Another log's export: same shape, other content.
    let (_, other) = ledger(&dir.path().join("other.redb"), "b");
    // This log's export with node 17's bytes altered (re-packed; recovery does not need the
    // manifest, so only the hash check can catch it).
    let tar_bytes = evl_sdk::pack::decompress(&export, 1 << 30).unwrap();
    let mut entries: Vec<(String, Vec<u8>)> = tar::entries(&tar_bytes)
        .unwrap()
        .into_iter()
        .map(|(p, d)| (p, d.to_vec()))
        .collect();
    let nodes = entries
        .iter_mut()
        .find(|(p, _)| p.ends_with(".nodes.jsonl"))
        .unwrap();
    let mut lines: Vec<Vec<u8>> = nodes.1.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    lines[17] = lines[17]
        .iter()
        .map(|b| if *b == b'a' { b'z' } else { *b })
        .collect();
    nodes.1 = lines.join(&b'\n');
    let tampered = ruzstd::encoding::compress_to_vec(
        tar::build(&entries).unwrap().as_slice(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );

    flip_node(&path, 17);
    flip_hash(&path, 1, 5);
    let l = open(&path);
    let before = found(&full(&l))
        .into_iter()
        .map(|(a, b, c)| (a.to_owned(), b, c))
        .collect::<Vec<_>>();
    for (backup, code) in [
        (other.as_slice(), "NODE_ID_MISMATCH"),
        (tampered.as_slice(), "NODE_ID_MISMATCH"),
        (&b"not a backup"[..], "PACK_MALFORMED"),
        (&export[..export.len() / 2], "PACK_MALFORMED"),
    ] {
        let e = l.recover(Some(&mut &backup[..])).unwrap_err();
        assert_eq!(e.code(), code, "{e}");
        let now: Vec<_> = found(&full(&l))
            .into_iter()
            .map(|(a, b, c)| (a.to_owned(), b, c))
            .collect();
        assert_eq!(now, before, "nothing changed");
    }
    // The right backup still works afterwards.
    assert!(l.recover(Some(&mut export.as_slice())).unwrap().after.ok());
}
