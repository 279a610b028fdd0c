//! Ledger behaviour: append, dedup, receipts that verify, group commit, anchors, integrity.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::store::memory::MemoryStore;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::verify::{Mode, verify};
use evl_ledger::{AnchorPolicy, Ledger, LedgerReader};
use evl_sdk::{ErrorCode, SecretKey, Timestamp, TreeSize};

const ORIGIN: &str = "test.example/log";

fn key() -> SecretKey {
    SecretKey::from_seed(ORIGIN, &[9u8; 32]).unwrap()
}

fn t0() -> Timestamp {
    Timestamp::parse("2020-01-01T00:00:00Z").unwrap()
}

fn doc(i: u64) -> Vec<u8> {
    format!(
        r#"{{ "type": "x-test", "i": {i}, "pad": "{}" }}"#,
        "p".repeat(100)
    )
    .into_bytes()
}

/// A new ledger on a redb store at `path`, with the test key and the default anchor policy.
fn init_redb(path: &std::path::Path) -> Ledger<RedbStore> {
    Ledger::init(
        RedbStore::open(path).unwrap(),
        key(),
        t0(),
        AnchorPolicy::default(),
    )
    .unwrap()
}

fn now() -> Timestamp {
    evl_ledger::time::now()
}

#[test]
fn receipts_verify_and_dedup_returns_the_existing_leaf() {
    let l = Ledger::init(MemoryStore::new(), key(), t0(), AnchorPolicy::default()).unwrap();
    let docs: Vec<Vec<u8>> = (0..10).map(doc).collect();
    let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
    let out = l.append_json(&refs).unwrap();
    assert_eq!(out.len(), 10);
    for (i, o) in out.iter().enumerate() {
        assert!(o.created);
        assert_eq!(o.receipt.leaf_index, i as u64);
        let ev = l.trust_root().verify_receipt(&o.receipt, now()).unwrap();
        assert_eq!(ev.head.size().get(), 10);
    }
    // Same node, different whitespace: no second leaf.
    let again = l.append_json(&[br#"{"i":3,"pad":"pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp","type":"x-test"}"#]).unwrap();
    assert!(!again[0].created);
    assert_eq!(again[0].receipt.leaf_index, 3);
    assert_eq!(l.reader().tree_size().unwrap().get(), 10);
    // Duplicates inside one batch.
    let d = doc(50);
    let out = l.append_json(&[&d, &d]).unwrap();
    assert!(out[0].created && !out[1].created);
    assert_eq!(out[0].receipt.leaf_index, out[1].receipt.leaf_index);
}

#[test]
fn a_bad_document_rejects_the_whole_batch() {
    let l = Ledger::init(MemoryStore::new(), key(), t0(), AnchorPolicy::default()).unwrap();
    let good = doc(1);
    let err = l
        .append_json(&[&good, br#"{"type":"x-a","a":1,"a":2}"#])
        .unwrap_err();
    assert_eq!(err.code(), "DUPLICATE_KEY");
    assert_eq!(l.reader().tree_size().unwrap().get(), 0);
}

#[test]
fn concurrent_appends_share_commits_and_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::init(
        RedbStore::open(&dir.path().join("s.redb")).unwrap(),
        key(),
        t0(),
        AnchorPolicy::default(),
    )
    .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let l = l.clone();
            std::thread::spawn(move || {
                let mut receipts = Vec::new();
                for i in 0..25u64 {
                    let d = doc(t * 1000 + i);
                    receipts.push(l.append_json(&[&d]).unwrap().remove(0).receipt);
                }
                receipts
            })
        })
        .collect();
    let receipts: Vec<_> = threads.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let r = l.reader();
    assert_eq!(r.tree_size().unwrap().get(), 200);
    let mut indices: Vec<u64> = receipts.iter().map(|x| x.leaf_index).collect();
    indices.sort();
    indices.dedup();
    assert_eq!(indices.len(), 200, "every append got its own leaf");
    for rc in &receipts {
        l.trust_root().verify_receipt(rc, now()).unwrap();
        // Every checkpoint ever signed is consistent with the final tree.
        let size = rc.inclusion.size();
        let proof = if size.get() < 200 {
            Some(r.consistency(size, TreeSize::new(200).unwrap()).unwrap())
        } else {
            None
        };
        let final_root = r.root_at(TreeSize::new(200).unwrap()).unwrap();
        let cp = evl_sdk::SignedCheckpoint::parse(rc.checkpoint.as_bytes()).unwrap();
        if let Some(p) = proof {
            evl_sdk::TreeHead::new(TreeSize::new(200).unwrap(), final_root)
                .verify_consistency(&cp.checkpoint().head(), &p)
                .unwrap();
        }
    }
}

/// Threads append overlapping batches at once: a group's nodes are committed and deduplicated
/// against while its receipts are still being built (outside the writer lock). Every document
/// gets exactly one leaf, created once, and every receipt verifies.
fn overlapping_appends_are_deduplicated_across_groups<S: evl_ledger::store::Store + 'static>(l: Ledger<S>) {
    let threads: Vec<_> = (0..6u64)
        .map(|t| {
            let l = l.clone();
            std::thread::spawn(move || {
                let mut out = Vec::new();
                for round in 0..10u64 {
                    // Each batch shares half its documents with the next thread's.
                    let docs: Vec<Vec<u8>> = (0..8).map(|k| doc(round * 100 + (t * 4 + k) % 24)).collect();
                    let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
                    for (d, o) in docs.iter().zip(l.append_json(&refs).unwrap()) {
                        out.push((d.clone(), o));
                    }
                }
                out
            })
        })
        .collect();
    let all: Vec<_> = threads.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let mut leaf_of = std::collections::HashMap::new();
    let mut created = std::collections::HashMap::<u64, u32>::new();
    for (d, o) in &all {
        let leaf = *leaf_of.entry(d.clone()).or_insert(o.receipt.leaf_index);
        assert_eq!(leaf, o.receipt.leaf_index, "one document, one leaf");
        *created.entry(leaf).or_default() += u32::from(o.created);
        l.trust_root().verify_receipt(&o.receipt, now()).unwrap();
    }
    let size = l.reader().tree_size().unwrap().get();
    assert_eq!(
        size,
        leaf_of.len() as u64,
        "no leaf beyond the distinct documents"
    );
    assert_eq!(size, 10 * 24);
    assert!(
        created.values().all(|c| *c == 1),
        "each leaf created exactly once"
    );
    assert!(verify(&l.reader(), Mode::Full, &mut |_, _| {}).unwrap().ok());
}

#[test]
fn overlapping_concurrent_appends_on_memory_and_redb() {
    overlapping_appends_are_deduplicated_across_groups(
        Ledger::init(MemoryStore::new(), key(), t0(), AnchorPolicy::default()).unwrap(),
    );
    for format in [
        evl_ledger::store::StoreFormat::V1,
        evl_ledger::store::StoreFormat::V2,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::create(&dir.path().join("s.redb"), format).unwrap();
        overlapping_appends_are_deduplicated_across_groups(
            Ledger::init(store, key(), t0(), AnchorPolicy::default()).unwrap(),
        );
    }
}

#[test]
fn anchors_chain_and_new_chain_after_a_break() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let l = init_redb(&path);
    for round in 0..4u64 {
        let docs: Vec<Vec<u8>> = (round * 10..round * 10 + 7).map(doc).collect();
        let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
        l.append_json(&refs).unwrap();
        l.anchor().unwrap();
    }
    let report = l.reader().verify_anchor_chain().unwrap();
    assert!(report.failure.is_none(), "{report:?}");
    assert_eq!(report.verified.len(), 4);
    drop(l);
    // Delete anchor 2: the chain is broken there.
    let store = RedbStore::open(&path).unwrap();
    store.remove_anchor(2).unwrap();
    let l = Ledger::open(store, key(), AnchorPolicy::default()).unwrap();
    let report = l.reader().verify_anchor_chain().unwrap();
    let f = report.failure.expect("broken");
    assert_eq!((f.seq, f.code), (3, "CHAIN_BROKEN"));
    assert!(f.message.contains("anchors 2..2 are missing"), "{}", f.message);
    // A plain anchor refuses? No: the last anchor (3) parses; but the chain is broken, so start a
    // new segment that archives everything after anchor 1.
    let g = l.new_chain("anchor 2 deleted in test").unwrap();
    assert_eq!(g.payload().segment, 1);
    assert_eq!(g.payload().archived.as_ref().unwrap().last_seq, 1);
    l.append_json(&[&doc(999)]).unwrap();
    l.anchor().unwrap();
    let report = l.reader().verify_anchor_chain().unwrap();
    assert!(report.failure.is_none(), "{report:?}");
    assert_eq!(report.breaks.len(), 1);
    assert_eq!(report.archived, vec![3]);
    let v = verify(&l.reader(), Mode::Full, &mut |_, _| {}).unwrap();
    assert!(v.ok(), "{:?}", v.failures);
}

/// `Ledger::anchor` checks the whole stored chain only when the last stored anchor is not the
/// one it last verified or wrote; the chain it builds that way must verify in full, also after
/// a new segment and a reopen.
#[test]
fn anchors_built_on_a_checked_chain_verify_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let l = init_redb(&path);
    for i in 0..24u64 {
        l.append_json(&[&doc(i)]).unwrap();
        let a = l.anchor().unwrap();
        assert_eq!(a.payload().seq, i);
    }
    l.new_chain("test segment").unwrap();
    l.append_json(&[&doc(100)]).unwrap();
    l.anchor().unwrap();
    drop(l);
    let l = Ledger::open(RedbStore::open(&path).unwrap(), key(), AnchorPolicy::default()).unwrap();
    l.append_json(&[&doc(101)]).unwrap();
    assert_eq!(l.anchor().unwrap().payload().seq, 26);
    let report = l.reader().verify_anchor_chain().unwrap();
    assert!(report.failure.is_none(), "{report:?}");
    assert_eq!(report.verified.len(), 27);
    let v = verify(&l.reader(), Mode::Full, &mut |_, _| {}).unwrap();
    assert!(v.ok(), "{:?}", v.failures);
}

#[test]
fn flipped_bytes_are_reported_exactly_and_other_proofs_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let l = init_redb(&path);
    let docs: Vec<Vec<u8>> = (0..100).map(doc).collect();
    let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
    let out = l.append_json(&refs).unwrap();
    l.anchor().unwrap();
    let ids: Vec<_> = out.iter().map(|o| o.receipt.node_id).collect();
    drop(l);
    let store = RedbStore::open(&path).unwrap();
    // Flip one byte in node 17's content.
    let mut b = docs_canonical(&store, 17);
    let at = b.len() / 2;
    b[at] ^= 0x01;
    store.overwrite_node(17, &b).unwrap();
    // Flip one bit in the stored leaf hash of node 42.
    let h = ids[42].leaf_hash();
    let mut raw = *h.as_bytes();
    raw[0] ^= 0x80;
    store.overwrite_hash(0, 42, &raw).unwrap();
    let r = LedgerReader::open(store).unwrap();
    let v = verify(&r, Mode::Full, &mut |_, _| {}).unwrap();
    let found: Vec<(Option<u64>, &str)> = v.failures.iter().map(|f| (f.leaf_index, f.what)).collect();
    assert_eq!(
        found,
        vec![(Some(17), "node"), (Some(42), "leaf_hash")],
        "{:#?}",
        v.failures
    );
    // Proofs for other entries still verify.
    for i in [0usize, 16, 18, 50, 99] {
        let rc = r.prove(&ids[i], None).unwrap();
        r.trust_root().verify_receipt(&rc, now()).unwrap();
    }
    let _ = ErrorCode::MerkleMismatch;
}

/// Three kinds of damage in a 10 k-node log: flipped content (canonical, wrong hash), content
/// made non-canonical (the one-pass scan refuses it, the strict parser names it) and a flipped
/// stored leaf hash. Each is reported once, in leaf order, with its code.
#[test]
fn damage_at_several_leaves_is_reported_once_each_in_leaf_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let l = init_redb(&path);
    let docs: Vec<Vec<u8>> = (0..10_000).map(doc).collect();
    let mut ids = Vec::new();
    for chunk in docs.chunks(1000) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        ids.extend(
            l.append_json(&refs)
                .unwrap()
                .into_iter()
                .map(|o| o.receipt.node_id),
        );
    }
    l.anchor().unwrap();
    drop(l);
    let store = RedbStore::open(&path).unwrap();
    let mut b = docs_canonical(&store, 5);
    let at = b.len() / 2;
    b[at] ^= 0x01;
    store.overwrite_node(5, &b).unwrap();
    let mut b = docs_canonical(&store, 4100);
    b.insert(1, b' ');
    store.overwrite_node(4100, &b).unwrap();
    let mut raw = *ids[9000].leaf_hash().as_bytes();
    raw[0] ^= 0x80;
    store.overwrite_hash(0, 9000, &raw).unwrap();
    let r = LedgerReader::open(store).unwrap();
    let v = verify(&r, Mode::Full, &mut |_, _| {}).unwrap();
    let found: Vec<(Option<u64>, &str, &str)> = v
        .failures
        .iter()
        .map(|f| (f.leaf_index, f.what, f.code))
        .collect();
    assert_eq!(
        found,
        vec![
            (Some(5), "node", "NODE_ID_MISMATCH"),
            (Some(4100), "node", "NONCANONICAL_JSON"),
            (Some(9000), "leaf_hash", "MERKLE_MISMATCH"),
        ],
        "{:#?}",
        v.failures
    );
    assert_eq!(v.nodes_checked, 10_000);
}

fn docs_canonical(store: &RedbStore, i: u64) -> Vec<u8> {
    use evl_ledger::store::{Snapshot, Store};
    store
        .snapshot()
        .unwrap()
        .node(evl_sdk::LeafIndex::new(i).unwrap())
        .unwrap()
        .unwrap()
}

#[test]
fn time_policy_anchors_an_old_log_once() {
    // The log was created in 2020 and never anchored: the first append is past 6 hours.
    let l = Ledger::init(MemoryStore::new(), key(), t0(), AnchorPolicy::DEFAULT_INTERVAL).unwrap();
    l.append_json(&[&doc(1)]).unwrap();
    assert_eq!(l.reader().anchors().unwrap().len(), 1);
    // The anchor is fresh now: more appends do not anchor again.
    l.append_json(&[&doc(2)]).unwrap();
    assert_eq!(l.reader().anchors().unwrap().len(), 1);
    // An entry-count policy anchors every N entries.
    let l = Ledger::init(
        MemoryStore::new(),
        key(),
        now(),
        AnchorPolicy {
            every_entries: Some(3),
            every_seconds: None,
        },
    )
    .unwrap();
    for i in 0..7 {
        l.append_json(&[&doc(i)]).unwrap();
    }
    let sizes: Vec<u64> = l
        .reader()
        .anchors()
        .unwrap()
        .into_iter()
        .map(|a| a.anchor.unwrap().payload().tree_size)
        .collect();
    assert_eq!(sizes, vec![3, 6]);
}

#[test]
fn a_damaged_right_edge_refuses_to_sign_until_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let l = init_redb(&path);
    let docs: Vec<Vec<u8>> = (0..100).map(doc).collect();
    let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
    l.append_json(&refs).unwrap();
    drop(l);
    // 100 = 64 + 32 + 4: the level-6 peak (leaves 0..64) is on the right edge.
    let store = RedbStore::open(&path).unwrap();
    store.overwrite_hash(6, 0, &[0x5a; 32]).unwrap();
    let l = Ledger::open(store, key(), AnchorPolicy::default()).unwrap();
    // Append and anchor refuse with the same code (the group commit hands the typed error on).
    let e = l.append_json(&[&doc(1000)]).unwrap_err();
    assert_eq!(e.code(), "MERKLE_MISMATCH", "{e}");
    let e = l.anchor().unwrap_err();
    assert_eq!(e.code(), "MERKLE_MISMATCH");
    // Nothing was signed over the wrong root.
    assert_eq!(l.reader().tree_size().unwrap().get(), 100);
}
