//! The store conformance suite: every backend runs it (STYLE rule 22). A backend outside this
//! crate enables the `conformance` feature and calls [`suite`], [`redaction_suite`] and
//! [`error_suite`] on fresh, empty stores from its own tests. Each function panics (an
//! assertion) on the first deviation from the contract in `store/mod.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use super::{Batch, NewNode, Repair, Snapshot, Store, StoreError, Version};
use evl_sdk::{Frontier, LeafIndex, Node, TreeSize};

fn node(i: u64) -> Node {
    Node::from_json(format!(r#"{{"type":"x-test","i":{i}}}"#).as_bytes()).unwrap()
}

fn batch(frontier: &mut Frontier, from: u64, count: u64) -> Batch {
    let mut b = Batch::default();
    for i in from..from + count {
        let n = node(i);
        let index = frontier.size().next_index();
        b.hashes.extend(frontier.push(n.id().leaf_hash()).unwrap());
        b.nodes.push(NewNode {
            index,
            id: n.id(),
            bytes: n.bytes().to_vec(),
        });
    }
    b.tree_size = Some(frontier.size());
    b.checkpoints
        .push((frontier.size(), format!("cp {}", frontier.size())));
    b
}

/// Runs the whole suite against a fresh, empty store.
pub fn suite<S: Store>(store: &S) {
    let snap0 = store.snapshot().unwrap();
    assert_eq!(snap0.tree_size().unwrap(), TreeSize::ZERO);
    assert_eq!(
        snap0.node(LeafIndex::new(0).unwrap()).unwrap(),
        None,
        "not found is Ok(None)"
    );
    assert_eq!(snap0.latest_checkpoint().unwrap(), None);

    let mut f = Frontier::new();
    store.commit(batch(&mut f, 0, 5)).unwrap();
    let snap5 = store.snapshot().unwrap();
    assert_eq!(snap5.tree_size().unwrap().get(), 5);
    for i in 0..5 {
        let n = node(i);
        assert_eq!(
            snap5.node(LeafIndex::new(i).unwrap()).unwrap().unwrap(),
            n.bytes()
        );
        assert_eq!(snap5.index_of(&n.id()).unwrap(), LeafIndex::new(i));
        assert_eq!(snap5.hash(0, i).unwrap(), Some(n.id().leaf_hash()));
    }
    assert_eq!(
        evl_sdk::root(&super::SnapshotSource(&snap5), TreeSize::new(5).unwrap()).unwrap(),
        f.root()
    );

    // A batch that does not continue the log is rejected and changes nothing (atomicity).
    let mut wrong = Frontier::new();
    let bad = batch(&mut wrong, 100, 2);
    assert!(store.commit(bad).is_err());
    let after = store.snapshot().unwrap();
    assert_eq!(after.tree_size().unwrap().get(), 5);
    assert_eq!(after.index_of(&node(100).id()).unwrap(), None);

    // Snapshots are stable: a later commit does not change what an older snapshot sees.
    store.commit(batch(&mut f, 5, 3)).unwrap();
    assert_eq!(snap5.tree_size().unwrap().get(), 5);
    assert_eq!(snap5.node(LeafIndex::new(6).unwrap()).unwrap(), None);
    assert_eq!(snap5.index_of(&node(6).id()).unwrap(), None);
    let snap8 = store.snapshot().unwrap();
    assert_eq!(snap8.tree_size().unwrap().get(), 8);
    assert_eq!(snap8.latest_checkpoint().unwrap().unwrap().1, "cp 8");
    assert_eq!(
        snap8.checkpoint(TreeSize::new(5).unwrap()).unwrap().unwrap(),
        "cp 5"
    );
    let mut seen = Vec::new();
    snap8
        .scan_nodes(2, 6, &mut |i, _| {
            seen.push(i);
            true
        })
        .unwrap();
    assert_eq!(seen, vec![2, 3, 4, 5]);
    let mut hs = Vec::new();
    snap8
        .scan_hashes(1, 0, 5, &mut |i, h| {
            hs.push((i, h.is_some()));
            true
        })
        .unwrap();
    assert_eq!(hs, vec![(0, true), (1, true), (2, true), (3, true), (4, false)]);

    // Anchors and metadata.
    store
        .commit(Batch {
            anchors: vec![(0, b"a0".to_vec()), (1, b"a1".to_vec())],
            meta: vec![("k".into(), b"v".to_vec())],
            ..Batch::default()
        })
        .unwrap();
    let s = store.snapshot().unwrap();
    assert_eq!(
        s.anchors().unwrap(),
        vec![(0, b"a0".to_vec()), (1, b"a1".to_vec())]
    );
    assert_eq!(s.anchor(1).unwrap(), Some(b"a1".to_vec()));
    assert_eq!(s.anchor(2).unwrap(), None);
    assert_eq!(s.meta("k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(s.meta("nope").unwrap(), None);

    // The id map, scanned: every entry below the tree size, once.
    let mut ids = Vec::new();
    s.scan_ids(&mut |id, i| {
        ids.push((i, id));
        true
    })
    .unwrap();
    ids.sort();
    assert_eq!(ids, (0..8).map(|i| (i, node(i).id())).collect::<Vec<_>>());

    // Repair rewrites entries below the tree size, all or nothing.
    let leaf = |i: u64| LeafIndex::new(i).unwrap();
    let h = |level: u32, index: u64, b: u8| evl_sdk::StoredHash {
        level,
        index,
        hash: evl_sdk::Digest::from_bytes([b; 32]),
    };
    for out_of_bounds in [
        Repair {
            nodes: vec![(leaf(1), b"x".to_vec()), (leaf(8), b"x".to_vec())],
            ..Repair::default()
        },
        Repair {
            hashes: vec![h(0, 2, 1), h(2, 1, 1)], // (2,1) covers leaves 4..8: fine; then:
            ids: vec![(node(1).id(), leaf(9))],
            ..Repair::default()
        },
        Repair {
            hashes: vec![h(3, 0, 1)], // leaves 0..8: inside; (3,1) would not be
            nodes: vec![(leaf(0), b"x".to_vec())],
            ids: vec![],
        }
        .with_hash(h(3, 1, 1)),
    ] {
        assert!(store.repair(out_of_bounds).is_err());
        let s = store.snapshot().unwrap();
        assert_eq!(
            s.node(leaf(1)).unwrap().unwrap(),
            node(1).bytes(),
            "nothing written"
        );
        assert_eq!(
            s.node(leaf(0)).unwrap().unwrap(),
            node(0).bytes(),
            "nothing written"
        );
        assert_eq!(s.hash(0, 2).unwrap(), Some(node(2).id().leaf_hash()));
    }
    store
        .repair(Repair {
            nodes: vec![(leaf(3), b"fixed".to_vec())],
            hashes: vec![h(1, 3, 7)],
            ids: vec![(node(100).id(), leaf(2))],
        })
        .unwrap();
    let s = store.snapshot().unwrap();
    assert_eq!(s.tree_size().unwrap().get(), 8, "the tree does not grow");
    assert_eq!(s.node(leaf(3)).unwrap().unwrap(), b"fixed");
    assert_eq!(s.hash(1, 3).unwrap(), Some(evl_sdk::Digest::from_bytes([7; 32])));
    assert_eq!(s.index_of(&node(100).id()).unwrap(), Some(leaf(2)));
    assert_eq!(s.latest_checkpoint().unwrap().unwrap().1, "cp 8");
}

impl Repair {
    fn with_hash(mut self, h: evl_sdk::StoredHash) -> Self {
        self.hashes.push(h);
        self
    }
}

#[test]
fn memory_store_passes_the_suite() {
    suite(&super::memory::MemoryStore::new());
}

#[test]
fn redb_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    suite(&super::redb_store::RedbStore::open(&dir.path().join("s.redb")).unwrap());
}

#[test]
fn redb_load_store_passes_the_suites_and_reopens_as_a_plain_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let s = super::redb_store::RedbStore::create_for_load(&path).unwrap();
    suite(&s);
    drop(s);
    let s = super::redb_store::RedbStore::open(&path).unwrap();
    assert!(s.snapshot().unwrap().tree_size().unwrap().get() > 0);
    drop(s);
    let other = dir.path().join("r.redb");
    redaction_suite(&super::redb_store::RedbStore::create_for_load(&other).unwrap());
    // A load store is always a new file: an existing one is refused, not overwritten.
    let err = super::redb_store::RedbStore::create_for_load(&path)
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Other(_)), "{err}");
    assert!(super::redb_store::RedbStore::open(&path).is_ok());
}

/// A load: non-durable bulk commits (each starts a background writeback), one durable commit
/// (waits for it and syncs), more of both after it; the file reopens as a plain store.
#[test]
fn redb_load_store_bulk_commits_then_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let mut f = Frontier::new();
    {
        let s = super::redb_store::RedbStore::create_for_load(&path).unwrap();
        for k in 0..5 {
            s.bulk_commit(&batch(&mut f, k * 100, 100), false).unwrap();
        }
        s.bulk_commit(&batch(&mut f, 500, 100), true).unwrap();
        s.bulk_commit(&batch(&mut f, 600, 100), false).unwrap();
        s.bulk_commit(&batch(&mut f, 700, 100), true).unwrap();
    }
    let s = super::redb_store::RedbStore::open(&path).unwrap();
    let snap = s.snapshot().unwrap();
    assert_eq!(snap.tree_size().unwrap().get(), 800);
    assert_eq!(
        evl_sdk::root(&super::SnapshotSource(&snap), TreeSize::new(800).unwrap()).unwrap(),
        f.root()
    );
}

#[test]
fn redb_store_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let mut f = Frontier::new();
    {
        let s = super::redb_store::RedbStore::open(&path).unwrap();
        s.commit(batch(&mut f, 0, 10)).unwrap();
    }
    let s = super::redb_store::RedbStore::open(&path).unwrap();
    let snap = s.snapshot().unwrap();
    assert_eq!(snap.tree_size().unwrap().get(), 10);
    assert_eq!(
        evl_sdk::root(&super::SnapshotSource(&snap), TreeSize::new(10).unwrap()).unwrap(),
        f.root()
    );
}

/// Redaction (`Batch::redact`, the module contract's exception): every backend runs it on a fresh
/// store.
pub fn redaction_suite<S: Store>(store: &S) {
    use super::Redact;
    let leaf = |i: u64| LeafIndex::new(i).unwrap();
    let mut f = Frontier::new();
    store.commit(batch(&mut f, 0, 6)).unwrap();
    let before = store.snapshot().unwrap();
    let root6 = f.root();

    // The record must be new in the same batch; the leaf must be committed, present, once.
    let mut g = f.clone();
    let mut b = batch(&mut g, 6, 1); // record at leaf 6
    for bad in [
        vec![Redact {
            index: leaf(6),
            record: leaf(6),
        }], // not committed before the batch
        vec![Redact {
            index: leaf(1),
            record: leaf(2),
        }], // record not in the batch
        vec![
            Redact {
                index: leaf(1),
                record: leaf(6),
            },
            Redact {
                index: leaf(1),
                record: leaf(6),
            },
        ],
    ] {
        b.redact = bad;
        assert!(store.commit(b.clone()).is_err());
        let s = store.snapshot().unwrap();
        assert_eq!(s.tree_size().unwrap().get(), 6, "nothing written");
        assert_eq!(
            s.node(leaf(1)).unwrap().unwrap(),
            node(1).bytes(),
            "nothing written"
        );
    }
    assert!(
        store
            .commit(Batch {
                redact: vec![Redact {
                    index: leaf(1),
                    record: leaf(1)
                }],
                ..Batch::default()
            })
            .is_err(),
        "no record without a node"
    );

    b.redact = vec![
        Redact {
            index: leaf(1),
            record: leaf(6),
        },
        Redact {
            index: leaf(4),
            record: leaf(6),
        },
    ];
    store.commit(b.clone()).unwrap();
    let s = store.snapshot().unwrap();
    assert_eq!(s.tree_size().unwrap().get(), 7);
    for i in [1, 4] {
        assert_eq!(s.node(leaf(i)).unwrap(), None, "content gone");
        assert_eq!(s.redaction(leaf(i)).unwrap(), Some(leaf(6)));
        assert_eq!(s.index_of(&node(i).id()).unwrap(), Some(leaf(i)), "id map kept");
        assert_eq!(
            s.hash(0, i).unwrap(),
            Some(node(i).id().leaf_hash()),
            "leaf hash kept"
        );
    }
    assert_eq!(s.redaction(leaf(0)).unwrap(), None);
    assert_eq!(s.redaction(leaf(60)).unwrap(), None, "beyond the tree");
    assert_eq!(s.node(leaf(0)).unwrap().unwrap(), node(0).bytes());
    assert_eq!(
        evl_sdk::root(&super::SnapshotSource(&s), TreeSize::new(6).unwrap()).unwrap(),
        root6,
        "roots unchanged"
    );
    assert_eq!(
        evl_sdk::root(&super::SnapshotSource(&s), TreeSize::new(7).unwrap()).unwrap(),
        g.root()
    );
    let mut seen = Vec::new();
    s.scan_nodes(0, 7, &mut |i, _| {
        seen.push(i);
        true
    })
    .unwrap();
    assert_eq!(seen, vec![0, 2, 3, 5, 6], "scans skip redacted leaves");
    // The old snapshot still answers for its tree (redb: with the content; memory: without).
    assert_eq!(before.tree_size().unwrap().get(), 6);

    // Redacting again fails: no content.
    let mut h = g.clone();
    let mut again = batch(&mut h, 7, 1);
    again.redact = vec![Redact {
        index: leaf(1),
        record: leaf(7),
    }];
    assert!(store.commit(again).is_err());
    assert_eq!(store.snapshot().unwrap().tree_size().unwrap().get(), 7);
}

#[test]
fn memory_store_passes_the_redaction_suite() {
    redaction_suite(&super::memory::MemoryStore::new());
}

#[test]
fn redb_store_passes_the_redaction_suite() {
    let dir = tempfile::tempdir().unwrap();
    redaction_suite(&super::redb_store::RedbStore::open(&dir.path().join("s.redb")).unwrap());
}

/// The numbers `i` for which `SECRET-<i, 6 digits>` occurs in the file at `path` (one pass).
#[cfg(test)]
fn secrets_in(path: &std::path::Path) -> std::collections::BTreeSet<u64> {
    let data = std::fs::read(path).unwrap();
    let tag = b"SECRET-";
    (0..data.len().saturating_sub(tag.len() + 6))
        .filter(|&k| &data[k..k + tag.len()] == tag)
        .filter_map(|k| {
            std::str::from_utf8(&data[k + tag.len()..k + tag.len() + 6])
                .ok()?
                .parse()
                .ok()
        })
        .collect()
}

/// The measurement behind `RedbStore::reclaim` (docs/design.md, space reclamation): after a
/// redaction commit, the deleted bytes are still in the file; redb's `compact()` leaves some of
/// them in freed pages; a rebuild leaves none, and the file shrinks.
#[test]
fn redb_reclaim_removes_redacted_bytes_and_shrinks_the_file() {
    use super::Redact;
    use super::redb_store::{Reclaimed, RedbStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let secret = |i: u64| format!("SECRET-{i:06}-{}", "x".repeat(200));
    let n = 4000u64;
    let mut f = Frontier::new();
    let store = RedbStore::open(&path).unwrap();
    let nodes: Vec<Node> = (0..n)
        .map(|i| Node::from_json(format!(r#"{{"type":"x-test","s":"{}"}}"#, secret(i)).as_bytes()).unwrap())
        .collect();
    for chunk in nodes.chunks(500) {
        let mut b = Batch::default();
        for nd in chunk {
            let index = f.size().next_index();
            b.hashes.extend(f.push(nd.id().leaf_hash()).unwrap());
            b.nodes.push(NewNode {
                index,
                id: nd.id(),
                bytes: nd.bytes().to_vec(),
            });
        }
        b.tree_size = Some(f.size());
        store.commit(b).unwrap();
    }
    // Redact every other node, one record node for all of them.
    let record = Node::from_json(br#"{"type":"x-record"}"#).unwrap();
    let mut b = Batch::default();
    let ri = f.size().next_index();
    b.hashes.extend(f.push(record.id().leaf_hash()).unwrap());
    b.nodes.push(NewNode {
        index: ri,
        id: record.id(),
        bytes: record.bytes().to_vec(),
    });
    b.tree_size = Some(f.size());
    let targets: Vec<u64> = (0..n).step_by(2).collect();
    b.redact = targets
        .iter()
        .map(|i| Redact {
            index: LeafIndex::new(*i).unwrap(),
            record: ri,
        })
        .collect();
    store.commit(b).unwrap();
    assert!(store.reclaim_pending().unwrap());
    let root = f.root();
    drop(store);
    let left = |p: &std::path::Path| {
        let found = secrets_in(p);
        targets.iter().filter(|i| found.contains(i)).count()
    };
    assert!(
        left(&path) > 0,
        "a redaction commit alone leaves the bytes in the file"
    );

    let Reclaimed {
        bytes_before,
        bytes_after,
    } = RedbStore::reclaim(&path).unwrap();
    assert!(bytes_after < bytes_before, "{bytes_after} < {bytes_before}");
    assert_eq!(left(&path), 0, "no redacted byte string remains in the file");
    assert!(!dir.path().join("s.redb.reclaim").exists());
    let store = RedbStore::open(&path).unwrap();
    assert!(!store.reclaim_pending().unwrap());
    let s = store.snapshot().unwrap();
    assert_eq!(evl_sdk::root(&super::SnapshotSource(&s), f.size()).unwrap(), root);
    for i in [0, 1, 2, 3, n - 1] {
        let kept = s.node(LeafIndex::new(i).unwrap()).unwrap();
        assert_eq!(kept.is_some(), i % 2 == 1, "leaf {i}");
        assert_eq!(s.index_of(&nodes[i as usize].id()).unwrap(), LeafIndex::new(i));
    }
    assert_eq!(s.redaction(LeafIndex::new(0).unwrap()).unwrap(), Some(ri));
}

/// The error kinds callers act on: a batch whose precondition ([`Batch::expect`]) does not
/// hold is [`StoreError::Conflict`] naming both versions, a bulk load of a NodeId already
/// stored is [`StoreError::DuplicateNodeId`], a batch that does not continue the log is
/// [`StoreError::Invalid`]; each writes nothing. Also: [`Snapshot::version`] follows commits
/// and anchors, and [`Snapshot::subtrees`] answers as [`Snapshot::hash`] does, in order.
pub fn error_suite<S: Store>(store: &S) {
    let size = |s: &S| s.snapshot().unwrap().tree_size().unwrap().get();
    let mut f = Frontier::new();
    store.commit(batch(&mut f, 0, 3)).unwrap();
    let v3 = store.snapshot().unwrap().version().unwrap();
    assert_eq!(
        v3,
        Version {
            tree_size: 3,
            last_anchor: None
        }
    );

    // The right precondition commits.
    let mut b = batch(&mut f, 3, 2);
    b.expect = Some(v3);
    store.commit(b).unwrap();
    assert_eq!(size(store), 5);

    // A stale one is a conflict naming both versions, and writes nothing.
    let mut stale = batch(&mut f.clone(), 5, 1);
    stale.expect = Some(v3);
    match store.commit(stale) {
        Err(e @ StoreError::Conflict { .. }) => {
            assert_eq!(e.code(), "CONFLICT");
            let StoreError::Conflict { expected, found } = e else {
                unreachable!()
            };
            assert_eq!(expected, v3);
            assert_eq!(
                found,
                Version {
                    tree_size: 5,
                    last_anchor: None
                }
            );
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(size(store), 5);

    // An anchor is part of the version: a batch built before it conflicts.
    store
        .commit(Batch {
            anchors: vec![(0, b"anchor 0".to_vec())],
            ..Batch::default()
        })
        .unwrap();
    let v5a = store.snapshot().unwrap().version().unwrap();
    assert_eq!(
        v5a,
        Version {
            tree_size: 5,
            last_anchor: Some(0)
        }
    );
    let mut before_anchor = batch(&mut f.clone(), 5, 1);
    before_anchor.expect = Some(Version {
        tree_size: 5,
        last_anchor: None,
    });
    assert!(matches!(
        store.commit(before_anchor),
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(size(store), 5);

    // A batch that does not continue the log is refused (a caller's bug), nothing written.
    let mut gap = batch(&mut Frontier::new(), 100, 1);
    gap.nodes[0].index = LeafIndex::new(9).unwrap();
    let e = store.commit(gap).unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
    assert_eq!(e.code(), "STORAGE_ERROR");
    assert_eq!(size(store), 5);

    // A bulk load of a NodeId the store holds is a duplicate, nothing written.
    let mut dup = batch(&mut f.clone(), 5, 2);
    dup.nodes[1].id = node(1).id();
    match store.load(&dup, true) {
        Err(e @ StoreError::DuplicateNodeId { .. }) => {
            assert_eq!(e.code(), "DUPLICATE_NODE_ID");
            let StoreError::DuplicateNodeId { id, index } = e else {
                unreachable!()
            };
            assert_eq!((id, index), (node(1).id(), 1));
        }
        other => panic!("expected DuplicateNodeId, got {other:?}"),
    }
    assert_eq!(size(store), 5);
    let snap = store.snapshot().unwrap();
    assert_eq!(
        snap.index_of(&node(5).id()).unwrap(),
        None,
        "nothing of the load was written"
    );

    // Batched hash reads answer in the order asked, missing ones as None.
    let at = [(0, 4), (1, 0), (2, 0), (0, 0), (7, 0)];
    let one_by_one: Vec<_> = at.iter().map(|&(l, i)| snap.hash(l, i).unwrap()).collect();
    assert_eq!(snap.subtrees(&at).unwrap(), one_by_one);
    assert!(one_by_one[..4].iter().all(Option::is_some) && one_by_one[4].is_none());
}

#[test]
fn memory_store_passes_the_error_suite() {
    error_suite(&super::memory::MemoryStore::new());
}

#[test]
fn redb_store_passes_the_error_suite() {
    let dir = tempfile::tempdir().unwrap();
    error_suite(&super::redb_store::RedbStore::open(&dir.path().join("s.redb")).unwrap());
}

/// A store opened read-only reads what was committed and refuses every write with
/// `STORAGE_UNAVAILABLE`, leaving the file byte for byte as it was.
#[test]
fn redb_read_only_store_reads_and_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let mut f = Frontier::new();
    {
        let s = super::redb_store::RedbStore::open(&path).unwrap();
        s.commit(batch(&mut f, 0, 4)).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let s = super::redb_store::RedbStore::open_read_only(&path).unwrap();
    assert!(s.is_read_only());
    let snap = s.snapshot().unwrap();
    assert_eq!(snap.tree_size().unwrap().get(), 4);
    assert_eq!(snap.hash(0, 3).unwrap(), Some(node(3).id().leaf_hash()));
    drop(snap);
    let e = s.commit(batch(&mut f, 4, 1)).unwrap_err();
    assert_eq!(e.code(), "STORAGE_UNAVAILABLE", "{e}");
    drop(s);
    assert!(
        std::fs::read(&path).unwrap() == before,
        "a read-only open changed the file"
    );
}

/// A full disk or quota is `STORAGE_FULL`, whichever way the OS reports it; other I/O errors
/// are not.
#[test]
fn a_full_disk_is_storage_full() {
    use super::redb_store::io_error;
    for e in [
        std::io::Error::from_raw_os_error(28),  // ENOSPC
        std::io::Error::from_raw_os_error(122), // EDQUOT
        std::io::Error::from(std::io::ErrorKind::StorageFull),
        std::io::Error::from(std::io::ErrorKind::QuotaExceeded),
    ] {
        assert_eq!(io_error(e).code(), "STORAGE_FULL");
    }
    assert_eq!(
        io_error(std::io::Error::from_raw_os_error(5)).code(),
        "STORAGE_ERROR"
    ); // EIO
}

// ---- evl-store/2 (docs/design.md, "Storage v2"): the same suites on the v2 layout. ----

#[cfg(test)]
fn v2(dir: &tempfile::TempDir) -> super::redb_store::RedbStore {
    let s = super::redb_store::RedbStore::create_v2(&dir.path().join("v2.redb")).unwrap();
    assert_eq!(s.format(), super::FORMAT_2);
    s
}

#[test]
fn redb_v2_store_passes_the_suites() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    suite(&v2(&a));
    redaction_suite(&v2(&b));
    error_suite(&v2(&c));
}

/// A v2 store reopens in its layout (detected from its tables), with the same root, every
/// node and every id, across tile and segment boundaries; a read-only open reads it too.
#[test]
fn redb_v2_store_reopens_in_its_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.redb");
    let mut f = Frontier::new();
    {
        let s = super::redb_store::RedbStore::create_v2(&path).unwrap();
        // Uneven commits: segments start mid-bundle, tiles are rewritten partially.
        let mut at = 0;
        for n in [1, 7, 250, 3, 300, 1, 513] {
            s.commit(batch(&mut f, at, n)).unwrap();
            at += n;
        }
        assert!(
            super::redb_store::RedbStore::create_v2(&path).is_err(),
            "create_v2 needs a new file"
        );
    }
    for read_only in [false, true] {
        let s = if read_only {
            super::redb_store::RedbStore::open_read_only(&path).unwrap()
        } else {
            super::redb_store::RedbStore::open(&path).unwrap()
        };
        assert_eq!(s.format(), super::FORMAT_2);
        let snap = s.snapshot().unwrap();
        assert_eq!(snap.format(), super::FORMAT_2);
        let size = snap.tree_size().unwrap();
        assert_eq!(size.get(), 1075);
        assert_eq!(
            evl_sdk::root(&super::SnapshotSource(&snap), size).unwrap(),
            f.root()
        );
        for i in 0..size.get() {
            let n = node(i);
            let li = LeafIndex::new(i).unwrap();
            assert_eq!(snap.node(li).unwrap().as_deref(), Some(n.bytes()), "leaf {i}");
            assert_eq!(snap.index_of(&n.id()).unwrap(), Some(li), "id of leaf {i}");
            assert_eq!(snap.hash(0, i).unwrap(), Some(n.id().leaf_hash()));
        }
        let mut seen = 0;
        snap.scan_nodes(100, 900, &mut |i, b| {
            assert_eq!(b, node(i).bytes());
            seen += 1;
            true
        })
        .unwrap();
        assert_eq!(seen, 800);
        let mut ids = Vec::new();
        snap.scan_ids(&mut |id, i| {
            ids.push((id, i));
            true
        })
        .unwrap();
        assert_eq!(ids.len(), 1075);
        assert!(
            ids.windows(2).all(|w| w[0].0 < w[1].0),
            "scan_ids is in digest order"
        );
        assert_eq!(snap.id_count().unwrap(), Some(1075));
    }
    // A v1 file stays v1.
    let v1 = dir.path().join("v1.redb");
    assert_eq!(
        super::redb_store::RedbStore::open(&v1).unwrap().format(),
        super::FORMAT_1
    );
    assert_eq!(
        super::redb_store::RedbStore::open(&v1).unwrap().format(),
        super::FORMAT_1
    );
}

/// The v2 load store: bulk commits, redaction suite, reopen as a plain v2 store.
#[test]
fn redb_v2_load_store_passes_the_suites_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let s = super::redb_store::RedbStore::create_for_load_v2(&path).unwrap();
    suite(&s);
    drop(s);
    let s = super::redb_store::RedbStore::open(&path).unwrap();
    assert_eq!(s.format(), super::FORMAT_2);
    assert!(s.snapshot().unwrap().tree_size().unwrap().get() > 0);
    redaction_suite(&super::redb_store::RedbStore::create_for_load_v2(&dir.path().join("r.redb")).unwrap());
    let mut f = Frontier::new();
    let path = dir.path().join("b.redb");
    {
        let s = super::redb_store::RedbStore::create_for_load_v2(&path).unwrap();
        s.bulk_commit(&batch(&mut f, 0, 600), false).unwrap();
        s.bulk_commit(&batch(&mut f, 600, 100), true).unwrap();
        // A NodeId already loaded is refused.
        let mut again = batch(&mut f.clone(), 0, 1);
        again.nodes[0].index = LeafIndex::new(700).unwrap();
        again.hashes.clear();
        again.tree_size = TreeSize::new(701);
        let e = s.bulk_commit(&again, true).unwrap_err();
        assert_eq!(e.code(), "DUPLICATE_NODE_ID", "{e}");
    }
    let s = super::redb_store::RedbStore::open(&path).unwrap();
    let snap = s.snapshot().unwrap();
    assert_eq!(
        evl_sdk::root(&super::SnapshotSource(&snap), TreeSize::new(700).unwrap()).unwrap(),
        f.root()
    );
}
