//! Backups and restores (SPEC.md §9.9): full and incremental backups verify offline; a restore
//! rebuilds a store with identical nodes, checkpoints, anchors and roots; point-in-time restores
//! stop exactly at an anchor; chained restores need identical overlaps; every fault is a stable
//! code and no restore reports success on a damaged backup.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::pack::{BackupRequest, RestoreReport, RestoreRequest, restore, verify_pack_reader};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{Batch, Snapshot, Store};
use evl_ledger::verify::{Mode, verify};
use evl_ledger::{AnchorPolicy, Ledger, LedgerError, LedgerReader};
use evl_sdk::pack::backup::{BACKUP_PATH, BackupParams, CheckpointLine, checkpoints_path};
use evl_sdk::pack::export::leaves_path;
use evl_sdk::pack::manifest::{FileEntry, MANIFEST_PATH, Manifest, ManifestPayload};
use evl_sdk::pack::{
    MAX_INMEMORY_PACK_BYTES, PackError, PackKind, PackReport, TrustSource, decompress, tar,
    verify_pack_self_contained,
};
use evl_sdk::{
    Checkpoint, Digest, ErrorCode, NodeId, SecretKey, Timestamp, TreeHead, TreeSize, TrustRoot, TrustedKey,
};
use proptest::prelude::*;
use ruzstd::encoding::{CompressionLevel, compress_to_vec};

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

// ---------------------------------------------------------------------------------------------
// Point in time and incremental chains.

#[test]
fn point_in_time_restore_to_each_anchor() {
    let (l, store) = sample();
    let pack = backup(&l, &BackupRequest::default());
    let dir = tempfile::tempdir().unwrap();
    let src = l.reader();
    let anchors: Vec<_> = src
        .anchors()
        .unwrap()
        .into_iter()
        .map(|a| a.anchor.unwrap())
        .collect();
    let total = store.snapshot().unwrap().tree_size().unwrap().get();
    for a in &anchors {
        let p = a.payload();
        let req = RestoreRequest {
            to_anchor: Some(p.seq),
            ..RestoreRequest::default()
        };
        let r = restore_into(dir.path(), &[&pack], &req).unwrap();
        assert_eq!(r.tree_size, p.tree_size, "anchor {}", p.seq);
        assert_eq!(
            r.root,
            Digest::from_base64(&p.root).unwrap().to_hex(),
            "anchor {}",
            p.seq
        );
        assert_eq!(r.last_anchor, Some(p.seq));
        let cut = r.cut.unwrap();
        assert_eq!((cut.anchor, cut.tree_size), (p.seq, p.tree_size));
        assert_eq!(cut.leaves, total - p.tree_size, "leaves cut");
        assert_eq!(cut.anchors, (p.seq + 1..anchors.len() as u64).collect::<Vec<_>>());
        let back = restored(dir.path());
        let snap = back.snapshot().unwrap();
        assert_eq!(snap.tree_size().unwrap().get(), p.tree_size);
        assert_eq!(snap.latest_checkpoint().unwrap().unwrap().0.get(), p.tree_size);
        assert_eq!(snap.anchors().unwrap().len() as u64, p.seq + 1);
        // Exactly the source's nodes and checkpoints up to that size.
        let (size, nodes, cps, _) = dump(&snap);
        let (_, all_nodes, all_cps, _) = dump(&store.snapshot().unwrap());
        assert_eq!(size, p.tree_size);
        assert_eq!(nodes, all_nodes[..size as usize]);
        let want: Vec<_> = all_cps.into_iter().filter(|(s, _)| *s <= size).collect();
        assert_eq!(cps, want);
        assert_eq!(
            cut.checkpoints as usize + cps.len(),
            dump(&store.snapshot().unwrap()).2.len()
        );
        drop(snap);
        let reader = LedgerReader::open(back).unwrap();
        let v = verify(&reader, Mode::Full, &mut |_, _| {}).unwrap();
        assert!(v.ok(), "anchor {}: {:#?}", p.seq, v.failures);
    }
    // An anchor that is not there.
    let req = RestoreRequest {
        to_anchor: Some(99),
        ..RestoreRequest::default()
    };
    assert_eq!(
        restore_into(dir.path(), &[&pack], &req).unwrap_err().code(),
        "NOT_FOUND"
    );
}

#[test]
fn incremental_chain_restores_what_a_full_backup_restores() {
    let store = MemoryStore::new();
    let l = ledger(store.clone());
    append_n(&l, 0, 200, 50);
    l.anchor().unwrap(); // 0
    append_n(&l, 200, 120, 7);
    let full = backup(&l, &BackupRequest::default());
    let full_id = l.trust_root().verify_pack(&full).unwrap().into_inner().pack_id;
    l.anchor().unwrap(); // 1 (after the full backup: not in it)
    append_n(&l, 320, 300, 40);
    l.anchor().unwrap(); // 2
    append_n(&l, 620, 9, 2);
    // Incremental since anchor 0, inside the full backup's range: the overlap must be identical.
    let inc1 = backup(
        &l,
        &BackupRequest {
            since_anchor: Some(0),
            base: Some(full_id),
        },
    );
    let r1 = l.trust_root().verify_pack(&inc1).unwrap().into_inner();
    let b1 = r1.backup.clone().unwrap();
    assert_eq!(
        (b1.from, b1.to, b1.since_anchor.as_ref().map(|a| a.seq)),
        (200, 629, Some(0))
    );
    append_n(&l, 629, 50, 10);
    l.anchor().unwrap(); // 3
    let inc2 = backup(
        &l,
        &BackupRequest {
            since_anchor: Some(2),
            base: Some(r1.pack_id),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let r = restore_into(dir.path(), &[&full, &inc1, &inc2], &RestoreRequest::default()).unwrap();
    assert_eq!(r.tree_size, 679);
    assert_eq!(
        r.files.iter().map(|f| f.leaves_added).collect::<Vec<_>>(),
        vec![320, 309, 50]
    );
    assert_eq!(
        dump(&restored(dir.path()).snapshot().unwrap()),
        dump(&store.snapshot().unwrap()),
        "the chain restores the log"
    );
    let reader = LedgerReader::open(restored(dir.path())).unwrap();
    assert!(verify(&reader, Mode::Full, &mut |_, _| {}).unwrap().ok());
    drop(reader);
    // Point in time inside the second file's range.
    let req = RestoreRequest {
        to_anchor: Some(2),
        ..RestoreRequest::default()
    };
    let r = restore_into(dir.path(), &[&full, &inc1, &inc2], &req).unwrap();
    assert_eq!(r.tree_size, 620);
    assert_eq!(r.cut.unwrap().anchors, vec![3]);

    // Chains that do not hold.
    let code = |files: &[&[u8]]| {
        restore_into(dir.path(), files, &RestoreRequest::default())
            .unwrap_err()
            .code()
    };
    assert_eq!(code(&[&inc1]), "PACK_INCOMPLETE", "an incremental backup alone");
    assert_eq!(code(&[&full, &inc2]), "PACK_INCOMPLETE", "a gap");
    assert_eq!(code(&[&full, &inc2, &inc1]), "PACK_INCOMPLETE", "out of order");
    assert_eq!(code(&[&full, &full]), "CHAIN_BROKEN", "a full backup twice");
    let unbased = backup(
        &l,
        &BackupRequest {
            since_anchor: Some(2),
            base: Some(full_id),
        },
    );
    assert_eq!(
        code(&[&full, &inc1, &unbased]),
        "CHAIN_BROKEN",
        "base names another file"
    );
    // Without a base the chain is checked by its leaves alone.
    let no_base = backup(
        &l,
        &BackupRequest {
            since_anchor: Some(0),
            base: None,
        },
    );
    assert_eq!(
        restore_into(dir.path(), &[&full, &no_base], &RestoreRequest::default())
            .unwrap()
            .tree_size,
        679
    );

    // A fork: the same key and history up to anchor 0, other leaves after it. Its incremental
    // backup since anchor 0 overlaps the full backup with different leaves.
    let fork_store = MemoryStore::new();
    let fork = ledger(fork_store.clone());
    append_n(&fork, 0, 200, 50);
    copy_anchor(&l, &fork_store, 0);
    // One commit, so no checkpoint of the fork has a size the full backup has one at.
    append_n(&fork, 5000, 150, 150);
    let forked = backup(
        &fork,
        &BackupRequest {
            since_anchor: Some(0),
            base: None,
        },
    );
    assert_eq!(
        code(&[&full, &forked]),
        "MERKLE_MISMATCH",
        "another tree after the same anchor"
    );
}

/// Stores `from`'s anchor `seq`, byte for byte, in `to` (which has the same leaves up to it).
fn copy_anchor<S: Store>(from: &Ledger<S>, to: &MemoryStore, seq: u64) {
    let a = from
        .reader()
        .anchors()
        .unwrap()
        .remove(seq as usize)
        .anchor
        .unwrap();
    to.commit(Batch {
        anchors: vec![(seq, a.to_json())],
        ..Batch::default()
    })
    .unwrap();
}

#[test]
fn archived_segments_and_logs_without_anchors() {
    // No anchor at all, and an empty log: backups verify and restore.
    for n in [0u32, 25] {
        let store = MemoryStore::new();
        let l = ledger(store.clone());
        append_n(&l, 0, n, 4);
        let pack = backup(&l, &BackupRequest::default());
        let report = l.trust_root().verify_pack(&pack).unwrap().into_inner();
        assert!(report.anchors.is_empty());
        assert_eq!(report.backup.unwrap().to, u64::from(n));
        let dir = tempfile::tempdir().unwrap();
        let r = restore_into(dir.path(), &[&pack], &RestoreRequest::default()).unwrap();
        assert_eq!((r.tree_size, r.anchors), (u64::from(n), 0));
        assert_eq!(
            dump(&restored(dir.path()).snapshot().unwrap()),
            dump(&store.snapshot().unwrap())
        );
    }

    // An anchor of another tree stored after anchor 1 breaks the chain; a new segment archives
    // it. The backup carries it, verifies without it, and the restore holds it as stored.
    let store = MemoryStore::new();
    let l = ledger(store.clone());
    append_n(&l, 0, 40, 8);
    l.anchor().unwrap();
    append_n(&l, 40, 40, 8);
    l.anchor().unwrap();
    let other = ledger(MemoryStore::new());
    append_n(&other, 1000, 90, 9);
    other.anchor().unwrap();
    let bogus = other.anchor().unwrap(); // seq 1 of a tree of 90 leaves
    let mut payload = bogus.payload().clone();
    payload.seq = 2;
    store
        .commit(Batch {
            anchors: vec![(2, payload.sign(&key()).to_json())],
            ..Batch::default()
        })
        .unwrap();
    assert!(l.reader().verify_anchor_chain().unwrap().failure.is_some());
    l.new_chain("anchor 2 does not match this tree").unwrap(); // seq 3, segment 1
    append_n(&l, 80, 10, 3);
    l.anchor().unwrap(); // 4
    let pack = backup(&l, &BackupRequest::default());
    let report = l.trust_root().verify_pack(&pack).unwrap().into_inner();
    let b = report.backup.clone().unwrap();
    assert_eq!(b.archived, vec![2]);
    assert_eq!(
        report.anchors.iter().map(|a| a.seq).collect::<Vec<_>>(),
        vec![0, 1, 3, 4]
    );
    assert_eq!(report.breaks.len(), 1);
    let dir = tempfile::tempdir().unwrap();
    let r = restore_into(dir.path(), &[&pack], &RestoreRequest::default()).unwrap();
    assert_eq!((r.anchors, r.anchors_verified), (5, 4));
    assert_eq!(
        dump(&restored(dir.path()).snapshot().unwrap()),
        dump(&store.snapshot().unwrap())
    );
    // Point in time before the break, and at the archived anchor (refused).
    let to = |seq| RestoreRequest {
        to_anchor: Some(seq),
        ..RestoreRequest::default()
    };
    assert_eq!(
        restore_into(dir.path(), &[&pack], &to(1))
            .unwrap()
            .cut
            .unwrap()
            .anchors,
        vec![2, 3, 4]
    );
    assert_eq!(
        restore_into(dir.path(), &[&pack], &to(2)).unwrap_err().code(),
        "NOT_FOUND"
    );
    assert_eq!(restore_into(dir.path(), &[&pack], &to(3)).unwrap().tree_size, 80);
}

// ---------------------------------------------------------------------------------------------
// Tampering: every fault is a stable code, from both verifiers and from a restore.

/// A pack's entries, to be changed, re-signed and rebuilt.
#[derive(Clone)]
struct Unpacked {
    files: Vec<(String, Vec<u8>)>,
}

impl Unpacked {
    fn of(pack: &[u8]) -> Self {
        let t = decompress(pack, MAX_INMEMORY_PACK_BYTES).unwrap();
        let files = tar::entries(&t)
            .unwrap()
            .into_iter()
            .map(|(p, d)| (p, d.to_vec()))
            .collect();
        Self { files }
    }
    fn paths(&self, prefix: &str) -> Vec<String> {
        self.files
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| p.starts_with(prefix))
            .collect()
    }
    fn pos(&self, path: &str) -> usize {
        self.files
            .iter()
            .position(|(p, _)| p == path)
            .unwrap_or_else(|| panic!("no entry {path}"))
    }
    fn data(&mut self, path: &str) -> &mut Vec<u8> {
        let i = self.pos(path);
        &mut self.files[i].1
    }
    fn remove(&mut self, path: &str) {
        let i = self.pos(path);
        self.files.remove(i);
    }
    fn pack(&self) -> Vec<u8> {
        compress_to_vec(
            tar::build(&self.files).unwrap().as_slice(),
            CompressionLevel::Fastest,
        )
    }
    fn params(&self) -> BackupParams {
        let i = self.pos(BACKUP_PATH);
        BackupParams::parse(&self.files[i].1).unwrap().0
    }
    fn set_params(&mut self, p: &BackupParams) {
        *self.data(BACKUP_PATH) = p.to_bytes();
    }
    /// Re-signs the manifest with the log key over the entries as they are now: what an
    /// attacker holding the key can do.
    fn resign_with(&mut self, edit: impl FnOnce(&mut ManifestPayload)) {
        let i = self.pos(MANIFEST_PATH);
        let mut m = Manifest::parse(&self.files[i].1).unwrap().payload;
        self.files.retain(|(p, _)| p != MANIFEST_PATH);
        m.files = self.files.iter().map(|(p, d)| FileEntry::of(p, d)).collect();
        edit(&mut m);
        self.files.push((MANIFEST_PATH.to_owned(), m.sign(&key())));
    }
    fn resign(&mut self) {
        self.resign_with(|_| {});
    }
}

fn lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.strip_suffix(b"\n")
        .unwrap()
        .split(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn unlines(lines: &[Vec<u8>]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect()
}

/// Both verifiers (which must agree) and a restore reject `pack` with `want`.
#[track_caller]
fn rejected(case: &str, trust: Option<&TrustRoot>, pack: &[u8], want: ErrorCode, dir: &std::path::Path) {
    let mem: Result<PackReport, PackError> = match trust {
        Some(t) => t.verify_pack(pack),
        None => verify_pack_self_contained(pack),
    }
    .map(|v| v.into_inner());
    let streamed = verify_pack_reader(pack, trust.cloned(), &mut |_| {}).map(|v| v.into_inner());
    assert_eq!(
        mem.as_ref().map_err(PackError::code),
        streamed.as_ref().map_err(PackError::code),
        "{case}: the verifiers disagree"
    );
    match mem {
        Ok(_) => panic!("{case}: verified; expected {want}"),
        Err(e) => assert_eq!(e.code(), want, "{case}: {e}"),
    }
    let req = RestoreRequest {
        trust_root: trust.cloned(),
        ..RestoreRequest::default()
    };
    match restore_into(dir, &[pack], &req) {
        Ok(_) => panic!("{case}: restored; expected {want}"),
        Err(e) => assert_eq!(e.code(), want.as_str(), "{case}: restore: {e}"),
    }
}

#[test]
fn tampered_backups_are_rejected_with_stable_codes() {
    let (l, _) = sample();
    let trust = l.trust_root().clone();
    let pack = backup(&l, &BackupRequest::default());
    let good = Unpacked::of(&pack);
    let dir = tempfile::tempdir().unwrap();
    let t = Some(&trust);
    let nodes = good
        .paths("log/")
        .into_iter()
        .find(|p| p.ends_with(".nodes.jsonl"))
        .unwrap();
    let leaves = good
        .paths("log/")
        .into_iter()
        .filter(|p| p.ends_with(".leaves.jsonl"))
        .collect::<Vec<_>>();
    let cps = good
        .paths("log/")
        .into_iter()
        .filter(|p| p.ends_with(".checkpoints.jsonl"))
        .collect::<Vec<_>>();
    assert!(leaves.len() >= 2, "several chunks");

    // Container and listing faults.
    rejected(
        "truncated",
        t,
        &pack[..pack.len() - 9],
        ErrorCode::PackMalformed,
        dir.path(),
    );
    let mut u = good.clone();
    u.data(&nodes)[10] ^= 1;
    rejected(
        "a node byte flipped",
        t,
        &u.pack(),
        ErrorCode::ManifestMismatch,
        dir.path(),
    );
    let mut u = good.clone();
    u.remove(&leaves[1]);
    rejected(
        "a listing removed",
        t,
        &u.pack(),
        ErrorCode::ManifestMissing,
        dir.path(),
    );

    // Re-signed by the key holder: the content checks.
    let mut u = good.clone();
    u.data(&nodes)[10] ^= 1;
    u.resign();
    rejected(
        "re-signed: a node byte flipped",
        t,
        &u.pack(),
        ErrorCode::NodeIdMismatch,
        dir.path(),
    );
    let mut u = good.clone();
    u.remove(&leaves[0]);
    u.remove(&leaves[0].replace(".leaves.", ".nodes."));
    u.remove(&cps[0]);
    u.resign();
    rejected(
        "re-signed: a chunk left out",
        t,
        &u.pack(),
        ErrorCode::PackIncomplete,
        dir.path(),
    );
    let mut u = good.clone();
    let last = leaves.last().unwrap().clone();
    let mut ls = lines(&good.files[good.pos(&last)].1);
    ls.pop();
    *u.data(&last) = unlines(&ls);
    let last_cps = cps.last().unwrap().clone();
    let mut cl = lines(&good.files[good.pos(&last_cps)].1);
    cl.pop();
    *u.data(&last_cps) = unlines(&cl);
    let last_nodes = last.replace(".leaves.", ".nodes.");
    let mut ns = lines(&good.files[good.pos(&last_nodes)].1);
    ns.pop();
    *u.data(&last_nodes) = unlines(&ns);
    u.resign();
    rejected(
        "re-signed: the last leaf and its checkpoint left out",
        t,
        &u.pack(),
        ErrorCode::PackIncomplete,
        dir.path(),
    );
    let mut u = good.clone();
    let mut ls = lines(&good.files[good.pos(&leaves[0])].1);
    ls.swap(3, 4);
    *u.data(&leaves[0]) = unlines(&ls);
    u.resign();
    rejected(
        "re-signed: two leaves swapped",
        t,
        &u.pack(),
        ErrorCode::MerkleMismatch,
        dir.path(),
    );
    let mut u = good.clone();
    u.remove(cps.last().unwrap());
    u.resign();
    rejected(
        "re-signed: the end checkpoint's file left out",
        t,
        &u.pack(),
        ErrorCode::PackIncomplete,
        dir.path(),
    );

    // A checkpoint signed by the key over a root this tree never had.
    let mut u = good.clone();
    let mut cl = lines(&good.files[good.pos(&cps[0])].1);
    let line: CheckpointLine = serde_json::from_slice(&cl[1]).unwrap();
    let fake = Checkpoint::new(
        ORIGIN,
        TreeHead::new(
            TreeSize::new(line.tree_size).unwrap(),
            Digest::from_bytes([7; 32]),
        ),
    )
    .unwrap()
    .sign(&key())
    .unwrap()
    .to_text();
    cl[1] = CheckpointLine {
        note: fake,
        tree_size: line.tree_size,
    }
    .to_bytes();
    *u.data(&cps[0]) = unlines(&cl);
    u.resign();
    rejected(
        "re-signed: a checkpoint of another root",
        t,
        &u.pack(),
        ErrorCode::MerkleMismatch,
        dir.path(),
    );
    // A checkpoint line whose size is not its note's.
    let mut u = good.clone();
    let mut cl = lines(&good.files[good.pos(&cps[0])].1);
    let mut line: CheckpointLine = serde_json::from_slice(&cl[1]).unwrap();
    line.tree_size += 1;
    cl[1] = line.to_bytes();
    *u.data(&cps[0]) = unlines(&cl);
    u.resign();
    rejected(
        "re-signed: a checkpoint line's size",
        t,
        &u.pack(),
        ErrorCode::PackMalformed,
        dir.path(),
    );
    // A checkpoint whose signature does not verify.
    let mut u = good.clone();
    let mut cl = lines(&good.files[good.pos(&cps[0])].1);
    let mut line: CheckpointLine = serde_json::from_slice(&cl[0]).unwrap();
    let sig_at = line.note.rfind(' ').unwrap() + 10;
    let mut note = line.note.into_bytes();
    note[sig_at] = if note[sig_at] == b'A' { b'B' } else { b'A' };
    line.note = String::from_utf8(note).unwrap();
    cl[0] = line.to_bytes();
    *u.data(&cps[0]) = unlines(&cl);
    u.resign();
    rejected(
        "re-signed: a checkpoint's signature",
        t,
        &u.pack(),
        ErrorCode::SignatureInvalid,
        dir.path(),
    );

    // backup.json.
    let mut u = good.clone();
    let mut p = u.params();
    p.to -= 1;
    u.set_params(&p);
    u.resign();
    rejected(
        "re-signed: `to` changed",
        t,
        &u.pack(),
        ErrorCode::PackMalformed,
        dir.path(),
    );
    let mut u = good.clone();
    let mut p = u.params();
    p.time = Timestamp::parse("2030-01-01T00:00:00Z").unwrap();
    u.set_params(&p);
    u.resign();
    rejected(
        "re-signed: time not the manifest's",
        t,
        &u.pack(),
        ErrorCode::PackMalformed,
        dir.path(),
    );
    let other_key = SecretKey::from_seed(ORIGIN, &[8u8; 32]).unwrap();
    let other = TrustRoot::new(
        ORIGIN,
        vec![TrustedKey::new(other_key.public().clone(), t0(), None, false)],
    )
    .unwrap();
    let mut u = good.clone();
    let mut p = u.params();
    p.trust_root = BackupParams::trust_root_value(&other);
    u.set_params(&p);
    u.resign();
    rejected(
        "re-signed: trust_root not trust-root.json",
        t,
        &u.pack(),
        ErrorCode::PackMalformed,
        dir.path(),
    );
    let mut u = good.clone();
    u.remove(BACKUP_PATH);
    u.resign_with(|m| m.kind = PackKind::Backup);
    rejected(
        "re-signed: no backup.json",
        t,
        &u.pack(),
        ErrorCode::PackMalformed,
        dir.path(),
    );
    let mut u = good.clone();
    u.resign_with(|m| m.kind = PackKind::Export);
    rejected(
        "re-signed: kind export",
        t,
        &u.pack(),
        ErrorCode::PackMalformed,
        dir.path(),
    );

    // Anchors.
    let mut u = good.clone();
    u.remove(&u.paths("anchors/")[1].clone());
    u.resign();
    rejected(
        "re-signed: an anchor left out",
        t,
        &u.pack(),
        ErrorCode::ChainBroken,
        dir.path(),
    );

    // Keys: another log's trust root, and the pack's own trust root replaced.
    rejected(
        "another trust root",
        Some(&other),
        &pack,
        ErrorCode::KeyUnknown,
        dir.path(),
    );
    let mut u = good.clone();
    *u.data("trust-root.json") = other.to_json();
    rejected(
        "trust-root.json replaced",
        None,
        &u.pack(),
        ErrorCode::ManifestMismatch,
        dir.path(),
    );

    // A listing line with a leaf of another log.
    let mut u = good.clone();
    let mut ls = lines(&good.files[good.pos(&leaves[0])].1);
    ls[0] = evl_sdk::pack::export::ListingLine {
        id: NodeId::of_canonical(br#"{"type":"x-other"}"#),
        node_type: "x-other".into(),
        redacted: None,
    }
    .to_bytes();
    *u.data(&leaves[0]) = unlines(&ls);
    u.resign();
    // The checkpoint at the first size the leaf is in catches it before the node does.
    rejected(
        "re-signed: a foreign leaf",
        t,
        &u.pack(),
        ErrorCode::MerkleMismatch,
        dir.path(),
    );

    // The untouched backup, re-signed unchanged, still restores.
    let mut u = good.clone();
    u.resign();
    assert_eq!(
        restore_into(dir.path(), &[&u.pack()], &RestoreRequest::default())
            .unwrap()
            .tree_size,
        5317
    );
    let _ = (leaves_path(0), checkpoints_path(0));
}

// ---------------------------------------------------------------------------------------------
// Property: for random append/anchor sequences, a point-in-time restore to any anchor gives that
// anchor's size and root, and a full restore gives the log's.

#[derive(Clone, Debug)]
enum Op {
    Append(u8),
    Anchor,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![3 => (1u8..40).prop_map(Op::Append), 1 => Just(Op::Anchor)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    #[test]
    fn restore_to_any_anchor_gives_its_root(ops in proptest::collection::vec(op(), 1..16), pick in any::<prop::sample::Index>()) {
        let store = MemoryStore::new();
        let l = ledger(store.clone());
        let mut n = 0u32;
        for o in &ops {
            match o {
                Op::Append(k) => {
                    append_n(&l, n, u32::from(*k), 5);
                    n += u32::from(*k);
                }
                Op::Anchor => {
                    l.anchor().unwrap();
                }
            }
        }
        let pack = backup(&l, &BackupRequest::default());
        let dir = tempfile::tempdir().unwrap();
        let full = restore_into(dir.path(), &[&pack], &RestoreRequest::default()).unwrap();
        prop_assert_eq!(full.tree_size, u64::from(n));
        prop_assert_eq!(full.root, l.reader().root_at(TreeSize::new(u64::from(n)).unwrap()).unwrap().to_hex());
        let anchors = l.reader().anchors().unwrap();
        if anchors.is_empty() {
            return Ok(());
        }
        let a = anchors[pick.index(anchors.len())].anchor.as_ref().unwrap().payload().clone();
        let req = RestoreRequest { to_anchor: Some(a.seq), ..RestoreRequest::default() };
        let r = restore_into(dir.path(), &[&pack], &req).unwrap();
        prop_assert_eq!(r.tree_size, a.tree_size);
        prop_assert_eq!(r.root, Digest::from_base64(&a.root).unwrap().to_hex());
        let back = LedgerReader::open(restored(dir.path())).unwrap();
        prop_assert_eq!(back.root_at(TreeSize::new(a.tree_size).unwrap()).unwrap(), Digest::from_base64(&a.root).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// The worked example of SPEC.md §9.9: a full backup of the log of §1.1 (key seed 0x01, three
// nodes appended in one commit, the anchor of §1.1). A known answer: the PackId is frozen here.

#[test]
fn spec_example_backup_of_the_worked_example() {
    use evl_sdk::AnchorPayload;
    let key = SecretKey::from_seed("example.org/evl", &[1u8; 32]).unwrap();
    let t = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    let store = MemoryStore::new();
    let l = Ledger::init(
        store.clone(),
        SecretKey::from_seed("example.org/evl", &[1u8; 32]).unwrap(),
        t,
        AnchorPolicy::default(),
    )
    .unwrap();
    let docs = [
        r#"{"type":"blob/v1","media_type":"text/plain","data":"hello"}"#,
        r#"{"links":[{"id":"sha256:0d7d1975186c8db6be40ab869a2223a8918536e9c1cbb646ffd99b09dd166ccb","rel":"source"}],"type":"x-example.review/v1","verdict":"ok"}"#,
        r#"{"data":"world","media_type":"text/plain","type":"blob/v1"}"#,
    ];
    let refs: Vec<&[u8]> = docs.iter().map(|d| d.as_bytes()).collect();
    let r = l.append_json(&refs).unwrap();
    let size = TreeSize::new(3).unwrap();
    let root = l.reader().root_at(size).unwrap();
    assert_eq!(root.to_base64(), "OpV1IL0E3VxxYIOxoDr+xdWWQmNTD70d39Oljtk4yOQ=");
    // The anchor of §1.1, made at its time.
    let anchor = AnchorPayload {
        kind: evl_sdk::anchor::ANCHOR_TYPE.into(),
        origin: "example.org/evl".into(),
        seq: 0,
        segment: 0,
        tree_size: 3,
        root: root.to_base64(),
        checkpoint: r[0].receipt.checkpoint.clone(),
        prev: None,
        segment_reason: None,
        archived: None,
        time: t,
    }
    .sign(&key);
    assert_eq!(
        anchor.id().to_string(),
        "sha256:744201b017837396467bcc557610e5d111442db828386bbba8f448adcfee192b"
    );
    store
        .commit(Batch {
            anchors: vec![(0, anchor.to_json())],
            ..Batch::default()
        })
        .unwrap();
    let pack = backup(&l, &BackupRequest::default());
    let report = l.trust_root().verify_pack(&pack).unwrap().into_inner();
    let u = Unpacked::of(&pack);
    if std::env::var_os("EVL_PRINT_EXAMPLE").is_some() {
        for (p, d) in &u.files {
            eprintln!("{:5}  {p}", d.len());
        }
        for (p, d) in &u.files {
            if p == BACKUP_PATH || p.ends_with(".jsonl") || p == MANIFEST_PATH {
                eprintln!("--- {p}\n{}", String::from_utf8_lossy(d));
            }
        }
        let m = Manifest::parse(&u.files[u.pos(MANIFEST_PATH)].1).unwrap();
        eprintln!("--- payload\n{}", String::from_utf8_lossy(&m.payload.to_bytes()));
        eprintln!("PackId {}", report.pack_id);
    }
    assert_eq!(
        report.pack_id.to_string(),
        "sha256:bd1ea548023cdcd8a4699675816514f9ff144dc3986ab833f2a8fe127aaeb916"
    );
}

// ---------------------------------------------------------------------------------------------
// Redacted leaves (SPEC.md §3.4): a backup lists them with their record and no node; a restore
// keeps the content absent and the redaction recorded, and a later backup in a chain removes
// content an earlier one held. Point in time before a redaction needs a backup taken before it.

#[test]
fn redacted_leaves_round_trip_and_chain() {
    use evl_ledger::retention::RedactionRequest;
    let store = MemoryStore::new();
    let l = ledger(store.clone());
    append_n(&l, 0, 60, 10);
    l.anchor().unwrap(); // 0 at 60
    let before = backup(&l, &BackupRequest::default());
    let before_id = l.trust_root().verify_pack(&before).unwrap().into_inner().pack_id;
    let snap = store.snapshot().unwrap();
    let targets: Vec<RedactionRequest> = [3u64, 4, 41]
        .iter()
        .map(|&i| {
            let index = evl_sdk::LeafIndex::new(i).unwrap();
            RedactionRequest {
                index,
                id: NodeId::of_canonical(&snap.node(index).unwrap().unwrap()),
                reason: "test".into(),
                policy: evl_sdk::redaction::MANUAL_POLICY.into(),
            }
        })
        .collect();
    drop(snap);
    l.redact(&targets, Timestamp::parse("2026-01-02T00:00:00Z").unwrap())
        .unwrap();
    l.anchor().unwrap(); // 1, after the records
    append_n(&l, 60, 5, 5);
    let after = backup(&l, &BackupRequest::default());
    let report = l.trust_root().verify_pack(&after).unwrap().into_inner();
    assert_eq!(report.backup.unwrap().redacted, 3);

    // A full restore of the later backup: content absent, redactions recorded, reads say so.
    let dir = tempfile::tempdir().unwrap();
    let r = restore_into(dir.path(), &[&after], &RestoreRequest::default()).unwrap();
    assert_eq!((r.redacted, r.tree_size), (3, 68));
    assert_eq!(
        dump(&restored(dir.path()).snapshot().unwrap()),
        dump(&store.snapshot().unwrap())
    );
    let reader = LedgerReader::open(restored(dir.path())).unwrap();
    let v = verify(&reader, Mode::Full, &mut |_, _| {}).unwrap();
    assert!(v.ok(), "{:#?}", v.failures);
    assert_eq!(reader.node(&targets[0].id).unwrap_err().code(), "REDACTED");
    drop(reader);

    // A chain: the backup from before the redaction, then an incremental one since anchor 0.
    let inc = backup(
        &l,
        &BackupRequest {
            since_anchor: Some(0),
            base: Some(before_id),
        },
    );
    let r = restore_into(dir.path(), &[&before, &inc], &RestoreRequest::default()).unwrap();
    assert_eq!(r.redacted, 3);
    let back = restored(dir.path());
    let snap = back.snapshot().unwrap();
    for t in &targets {
        assert_eq!(
            snap.node(t.index).unwrap(),
            None,
            "leaf {} content removed",
            t.index
        );
        assert!(snap.redaction(t.index).unwrap().is_some());
    }
    assert_eq!(dump(&snap).1, dump(&store.snapshot().unwrap()).1);
    drop(snap);
    drop(back);

    // Point in time to anchor 0 (before the redaction): the later backup does not hold the
    // content; the one from before does.
    let to0 = RestoreRequest {
        to_anchor: Some(0),
        ..RestoreRequest::default()
    };
    assert_eq!(
        restore_into(dir.path(), &[&after], &to0).unwrap_err().code(),
        "REDACTED"
    );
    let r = restore_into(dir.path(), &[&before], &to0).unwrap();
    assert_eq!((r.tree_size, r.redacted), (60, 0));
}

/// `EVL_WRITE_FUZZ_SEEDS=1 cargo test -p evl-ledger --test backup write_fuzz_seeds` writes a
/// full and an incremental backup into the seeds of the `pack` fuzz target
/// (`fuzz/seeds.d/pack/`), signed by the key that target re-signs with (`tamper.example/log`,
/// seed 9; see ledger/tests/pack_tamper.rs).
#[test]
fn write_fuzz_seeds() {
    if std::env::var_os("EVL_WRITE_FUZZ_SEEDS").is_none() {
        return;
    }
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/seeds.d/pack"));
    std::fs::create_dir_all(dir).unwrap();
    let l = Ledger::init(
        MemoryStore::new(),
        SecretKey::from_seed("tamper.example/log", &[9u8; 32]).unwrap(),
        t0(),
        AnchorPolicy::default(),
    )
    .unwrap();
    append_n(&l, 0, 12, 4);
    l.anchor().unwrap();
    append_n(&l, 12, 9, 3);
    l.anchor().unwrap();
    append_n(&l, 21, 2, 1);
    let full = backup(&l, &BackupRequest::default());
    let inc = backup(
        &l,
        &BackupRequest {
            since_anchor: Some(0),
            base: None,
        },
    );
    for (name, pack) in [("backup", full), ("backup-incremental", inc)] {
        l.trust_root().verify_pack(&pack).unwrap();
        let t = decompress(&pack, MAX_INMEMORY_PACK_BYTES).unwrap();
        assert!(t.len() < 65536, "{name}: {} bytes", t.len());
        std::fs::write(dir.join(format!("{name}.tar.zst")), &pack).unwrap();
        std::fs::write(dir.join(format!("{name}.tar")), &t).unwrap();
    }
}

/// Restore goes through the `Store` trait: the same backup restores into the in-memory store
/// with the same tree.
#[test]
fn restore_into_any_backend() {
    let l = ledger(MemoryStore::new());
    append_n(&l, 0, 120, 25);
    l.anchor().unwrap();
    let pack = backup(&l, &BackupRequest::default());
    let target = MemoryStore::new();
    let sources = vec![(
        "f0".to_owned(),
        Box::new(pack.as_slice()) as Box<dyn std::io::Read>,
    )];
    let report = restore(sources, target.clone(), &RestoreRequest::default(), &mut |_| {}).unwrap();
    assert_eq!(report.tree_size, 120);
    let back = LedgerReader::open(target).unwrap();
    assert_eq!(
        back.root_at(TreeSize::new(120).unwrap()).unwrap(),
        l.reader().root_at(TreeSize::new(120).unwrap()).unwrap()
    );
}
