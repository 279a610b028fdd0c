//! Retention with provable redaction (SPEC.md §3.4; docs/design.md, redaction): proofs made
//! before a redaction still verify after it, verify reports redactions and fails on unrecorded
//! loss, exports across redacted ranges verify, the legal hold and ages are respected, and on
//! redb the redacted bytes are gone from every file of the store's directory after a rebuild.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::pack::{EvidenceRequest, ExportRequest, verify_pack_reader};
use evl_ledger::retention::{RedactionRequest, RetentionPolicy, RetentionRule, archive_anchor, uncovered};
use evl_ledger::store::Store;
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::verify::{Mode, verify};
use evl_ledger::{AnchorPolicy, Ledger, LedgerError};
use evl_sdk::redaction::{MANUAL_POLICY, Redaction};
use evl_sdk::{
    ConsistencyProof, ErrorCode, LeafIndex, Node, NodeId, Receipt, SecretKey, Timestamp, TreeHead, TreeSize,
};
use proptest::prelude::*;
use std::collections::BTreeSet;

const ORIGIN: &str = "test.example/log";

fn key() -> SecretKey {
    SecretKey::from_seed(ORIGIN, &[9u8; 32]).unwrap()
}

fn ledger_on<S: Store>(store: S) -> Ledger<S> {
    let t0 = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
    Ledger::init(store, key(), t0, AnchorPolicy::default()).unwrap()
}

fn append<S: Store>(l: &Ledger<S>, doc: &str) -> NodeId {
    l.append_json(&[doc.as_bytes()]).unwrap()[0].receipt.node_id
}

fn days_later(days: i64) -> Timestamp {
    Timestamp::from_unix(evl_ledger::time::now().unix() + days * 86_400).unwrap()
}

fn policy(rules: &[(&str, u64)]) -> RetentionPolicy {
    RetentionPolicy {
        rules: rules
            .iter()
            .map(|(t, d)| RetentionRule {
                node_type: (*t).into(),
                max_age_days: *d,
            })
            .collect(),
        legal_hold: BTreeSet::new(),
    }
}

/// Everything a client may have saved before a redaction.
struct Saved {
    receipts: Vec<Receipt>,
    heads: Vec<TreeHead>,
    consistency: Vec<(TreeHead, TreeHead, ConsistencyProof)>,
}

fn save<S: Store>(l: &Ledger<S>, ids: &[NodeId]) -> Saved {
    let r = l.reader();
    let now = evl_ledger::time::now();
    let receipts: Vec<Receipt> = ids.iter().map(|id| r.prove(id, None).unwrap()).collect();
    let mut heads: Vec<TreeHead> = receipts
        .iter()
        .map(|rc| l.trust_root().verify_receipt(rc, now).unwrap().into_inner().head)
        .collect();
    heads.sort_by_key(|h| h.size());
    heads.dedup();
    for a in r.anchors().unwrap() {
        let p = a.anchor.unwrap().payload().clone();
        let size = TreeSize::new(p.tree_size).unwrap();
        heads.push(TreeHead::new(size, r.root_at(size).unwrap()));
    }
    heads.sort_by_key(|h| h.size());
    heads.dedup();
    let mut consistency = Vec::new();
    for w in heads.windows(2) {
        if w[0].size().get() > 0 {
            consistency.push((w[0], w[1], r.consistency(w[0].size(), w[1].size()).unwrap()));
        }
    }
    Saved {
        receipts,
        heads,
        consistency,
    }
}

fn check_saved<S: Store>(l: &Ledger<S>, s: &Saved) {
    let r = l.reader();
    let now = evl_ledger::time::now();
    for rc in &s.receipts {
        l.trust_root().verify_receipt(rc, now).unwrap();
        // A fresh proof still verifies too, redacted or not.
        let fresh = r.prove(&rc.node_id, None).unwrap();
        l.trust_root().verify_receipt(&fresh, now).unwrap();
    }
    for h in &s.heads {
        assert_eq!(r.root_at(h.size()).unwrap(), h.root(), "root at {}", h.size());
    }
    for (old, new, p) in &s.consistency {
        new.verify_consistency(old, p).unwrap();
        assert_eq!(&r.consistency(old.size(), new.size()).unwrap(), p);
    }
}

/// 30 blobs and 30 kept nodes, interleaved, anchored in two steps.
fn populated<S: Store>(store: S) -> (Ledger<S>, Vec<NodeId>, Vec<NodeId>) {
    let l = ledger_on(store);
    let (mut blobs, mut kept) = (Vec::new(), Vec::new());
    for i in 0..60 {
        if i % 2 == 0 {
            blobs.push(append(
                &l,
                &format!(r#"{{"type":"blob/v1","data":"SECRET-{i:06}-payload"}}"#),
            ));
        } else {
            kept.push(append(&l, &format!(r#"{{"type":"x-keep","i":{i}}}"#)));
        }
        if i == 29 {
            l.anchor().unwrap();
        }
    }
    l.anchor().unwrap();
    (l, blobs, kept)
}

#[test]
fn redaction_keeps_every_proof_and_verify_reports_it() {
    let (l, blobs, kept) = populated(MemoryStore::new());
    let all: Vec<NodeId> = blobs.iter().chain(&kept).copied().collect();
    let saved = save(&l, &all);
    let reader = l.reader();

    let plan = reader
        .retention_plan(&policy(&[("blob/v1", 365)]), days_later(400))
        .unwrap();
    assert_eq!(plan.candidates.len(), 30);
    assert!(
        plan.candidates
            .iter()
            .all(|c| c.node_type == "blob/v1" && c.age_days >= 399)
    );
    assert_eq!(plan.candidates[0].anchor_seq, 0);
    assert_eq!(
        plan.candidates[29].anchor_seq, 1,
        "aged from the first anchor containing it"
    );
    let requests: Vec<RedactionRequest> = plan.candidates.iter().filter_map(|c| c.request()).collect();
    let done = l.redact(&requests, evl_ledger::time::now()).unwrap();
    assert_eq!(done.len(), 30);
    l.anchor().unwrap();

    check_saved(&l, &saved);

    // Reads of redacted content fail with REDACTED, naming the record; other nodes read fine.
    let e = reader.node(&blobs[3]).unwrap_err();
    assert_eq!(e.code(), "REDACTED");
    assert!(e.to_string().contains(&done[3].record.to_string()), "{e}");
    assert!(reader.node(&kept[3]).is_ok());
    // The record is a node like any other, and says what it must.
    let (_, rec) = reader.node(&done[3].record).unwrap();
    let rec = Redaction::from_node(&Node::from_canonical(&rec).unwrap()).unwrap();
    assert_eq!(rec.redacted(), blobs[3]);
    assert_eq!(rec.leaf_index(), 6);
    assert_eq!(rec.redacted_type(), "blob/v1");
    assert_eq!(rec.policy(), "retention type=blob/v1 max_age_days=365");

    // Full and quick verification pass and report the redactions.
    let report = verify(&reader, Mode::Full, &mut |_, _| {}).unwrap();
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.redactions.len(), 30);
    assert_eq!(report.redactions[1].leaf_index, 2);
    assert_eq!(report.redactions[1].record, done[1].record);
    let quick = verify(&reader, Mode::Quick { stride: 3 }, &mut |_, _| {}).unwrap();
    assert!(quick.ok(), "{:?}", quick.failures);

    // A second run finds nothing more to do.
    let again = reader
        .retention_plan(&policy(&[("blob/v1", 365)]), days_later(400))
        .unwrap();
    assert!(again.candidates.is_empty());

    // Redacting twice, or a record type, or the wrong NodeId, is refused and writes nothing.
    let size = reader.tree_size().unwrap();
    let twice = l.redact(&requests[..1], evl_ledger::time::now()).unwrap_err();
    assert_eq!(twice.code(), "REDACTED");
    let rec_req = RedactionRequest {
        index: LeafIndex::new(done[0].record_index).unwrap(),
        id: done[0].record,
        reason: "r".into(),
        policy: MANUAL_POLICY.into(),
    };
    assert_eq!(
        l.redact(&[rec_req], evl_ledger::time::now()).unwrap_err().code(),
        "OUT_OF_RANGE"
    );
    let wrong = RedactionRequest {
        index: LeafIndex::new(1).unwrap(),
        id: kept[5],
        reason: "r".into(),
        policy: MANUAL_POLICY.into(),
    };
    assert_eq!(
        l.redact(&[wrong], evl_ledger::time::now()).unwrap_err().code(),
        "OUT_OF_RANGE"
    );
    assert_eq!(reader.tree_size().unwrap(), size);

    // Clients cannot append redaction records.
    let forged = Redaction::new(kept[0], 1, "x-keep", "r", MANUAL_POLICY, evl_ledger::time::now())
        .unwrap()
        .to_node();
    let e = l.append(vec![forged]).unwrap_err();
    assert_eq!(e.code(), "NODE_INVALID");

    // An evidence pack of a redacted node is refused with REDACTED.
    let mut sink = Vec::new();
    let e = l
        .export_evidence(
            &EvidenceRequest {
                subjects: vec![blobs[0]],
                ..Default::default()
            },
            &mut sink,
        )
        .unwrap_err();
    assert_eq!(e.code(), "REDACTED");
}

#[test]
fn exports_across_redacted_ranges_verify_and_count_them() {
    let (l, blobs, _kept) = populated(MemoryStore::new());
    let reader = l.reader();
    let plan = reader
        .retention_plan(&policy(&[("blob/v1", 0)]), evl_ledger::time::now())
        .unwrap();
    assert_eq!(plan.candidates.len(), 30, "0 days: everything anchored");
    let requests: Vec<_> = plan
        .candidates
        .iter()
        .take(10)
        .filter_map(|c| c.request())
        .collect();
    l.redact(&requests, evl_ledger::time::now()).unwrap();
    l.anchor().unwrap();
    let export = |req: &ExportRequest| {
        let mut out = Vec::new();
        l.export(req, &mut out, &mut |_| {}).unwrap();
        verify_pack_reader(out.as_slice(), Some(l.trust_root().clone()), &mut |_| {})
            .unwrap()
            .into_inner()
            .export
            .unwrap()
    };
    // Everything, unfiltered: 70 leaves (60 + 10 records), 10 redacted.
    let all = export(&ExportRequest::default());
    assert_eq!(
        (all.leaves, all.included, all.omitted, all.redacted),
        (70, 60, 0, 10)
    );
    // Filtered to blobs: 20 remaining blobs included; 40 others omitted; 10 redacted.
    let f = export(&ExportRequest {
        filter: Some(vec!["blob/v1".into()]),
        ..Default::default()
    });
    assert_eq!((f.leaves, f.included, f.omitted, f.redacted), (70, 20, 40, 10));
    // A range that starts and ends among redacted leaves, and a delta after the redactions.
    let r = export(&ExportRequest {
        from_anchor: Some(0),
        to_anchor: Some(1),
        ..Default::default()
    });
    assert_eq!(
        (r.leaves, r.redacted),
        (30, 0),
        "anchor 0 holds leaves 0..30; 10 redacted are 0..20"
    );
    let r = export(&ExportRequest {
        to_anchor: Some(0),
        ..Default::default()
    });
    assert_eq!((r.leaves, r.redacted), (30, 10));
    // The listing names the record of each redacted leaf.
    let mut out = Vec::new();
    l.export(&ExportRequest::default(), &mut out, &mut |_| {})
        .unwrap();
    let tar = evl_sdk::pack::decompress(&out, 1 << 30).unwrap();
    let text = String::from_utf8_lossy(&tar);
    assert!(
        text.contains(&format!(r#"{{"id":"{}","redacted":"sha256:"#, blobs[0])),
        "listing line"
    );
    assert!(
        !text.contains("SECRET-000000"),
        "no redacted content in the export"
    );
}

#[test]
fn content_missing_without_a_record_fails_verify_and_exports() {
    let store = MemoryStore::new();
    let (l, _blobs, kept) = populated(store.clone());
    store.corrupt_node(3, Vec::new()); // lost: no content, no record
    let reader = l.reader();
    let report = verify(&reader, Mode::Full, &mut |_, _| {}).unwrap();
    assert!(!report.ok());
    assert_eq!(report.failures[0].what, "node");
    assert_eq!(report.failures[0].leaf_index, Some(3));
    assert_eq!(report.failures[0].code, "NODE_ID_MISMATCH");
    assert!(report.redactions.is_empty());
    assert_eq!(reader.node(&kept[1]).unwrap_err().code(), "NOT_FOUND");
    let mut out = Vec::new();
    let e = l
        .export(&ExportRequest::default(), &mut out, &mut |_| {})
        .unwrap_err();
    assert_eq!(e.code(), "PACK_INCOMPLETE");
}

#[test]
fn redacted_content_put_back_fails_verify() {
    let store = MemoryStore::new();
    let (l, blobs, _) = populated(store.clone());
    let reader = l.reader();
    let (_, original) = reader.node(&blobs[2]).unwrap();
    let plan = reader
        .retention_plan(&policy(&[("blob/v1", 0)]), evl_ledger::time::now())
        .unwrap();
    let req = plan.candidates[2].request().unwrap();
    l.redact(&[req], evl_ledger::time::now()).unwrap();
    assert!(verify(&reader, Mode::Full, &mut |_, _| {}).unwrap().ok());
    store.corrupt_node(4, original);
    let report = verify(&reader, Mode::Full, &mut |_, _| {}).unwrap();
    assert!(!report.ok());
    assert!(
        report.failures.iter().any(|f| f.what == "redaction"),
        "{:?}",
        report.failures
    );
}

#[test]
fn legal_hold_ages_records_and_unanchored_nodes() {
    let (l, blobs, _kept) = populated(MemoryStore::new());
    let unanchored = append(&l, r#"{"type":"blob/v1","data":"not anchored yet"}"#);
    let reader = l.reader();
    let mut p = policy(&[("blob/v1", 10)]);
    p.legal_hold.insert(blobs[5]);
    // Younger than the rule: nothing.
    assert!(
        reader
            .retention_plan(&p, days_later(9))
            .unwrap()
            .candidates
            .is_empty()
    );
    // Exactly at the boundary of the first anchor's age: the first 15 blobs (anchor 0).
    let anchors = reader.verify_anchor_chain().unwrap().verified;
    let at = |a: &evl_sdk::AnchorSummary, secs: i64| Timestamp::from_unix(a.time.unix() + secs).unwrap();
    let first = reader.retention_plan(&p, at(&anchors[0], 10 * 86_400)).unwrap();
    let second = reader.retention_plan(&p, at(&anchors[1], 10 * 86_400)).unwrap();
    let before = reader
        .retention_plan(&p, at(&anchors[0], 10 * 86_400 - 1))
        .unwrap();
    assert!(before.candidates.is_empty());
    assert!(first.candidates.len() >= 14 && first.candidates.len() <= second.candidates.len());
    assert_eq!(second.candidates.len(), 29, "30 blobs, one on hold");
    assert_eq!(second.held.len(), 1);
    assert_eq!(second.held[0].id, blobs[5]);
    assert!(second.candidates.iter().all(|c| c.id != unanchored));
    // Redact, then records are never candidates, even under a rule for everything old.
    let reqs: Vec<_> = second.candidates.iter().filter_map(|c| c.request()).collect();
    l.redact(&reqs, evl_ledger::time::now()).unwrap();
    l.anchor().unwrap();
    assert!(policy(&[("redaction/v1", 0)]).check().is_err());
    assert!(policy(&[("blob/v1", 1), ("blob/v1", 2)]).check().is_err());
    let later = reader.retention_plan(&p, days_later(1000)).unwrap();
    assert_eq!(later.candidates.len(), 1, "only the node anchored last");
    assert_eq!(later.candidates[0].id, unanchored);
    assert!(reader.node(&blobs[5]).is_ok(), "held");
}

#[test]
fn archive_export_covers_the_candidates() {
    let (l, _blobs, _kept) = populated(MemoryStore::new());
    let reader = l.reader();
    let p = policy(&[("blob/v1", 0)]);
    let now = evl_ledger::time::now();
    let plan = reader.retention_plan(&p, now).unwrap();
    let chain = reader.verify_anchor_chain().unwrap().verified;
    let to = archive_anchor(&chain, 0, now).unwrap();
    assert_eq!(to.seq, 1);
    assert!(archive_anchor(&chain, 3, now).is_err(), "no anchor is 3 days old");
    let archive = |filter: &[&str], to: u64| {
        let mut out = Vec::new();
        let req = ExportRequest {
            to_anchor: Some(to),
            filter: Some(filter.iter().map(|s| (*s).to_string()).collect()),
            ..Default::default()
        };
        l.export(&req, &mut out, &mut |_| {}).unwrap();
        verify_pack_reader(out.as_slice(), Some(l.trust_root().clone()), &mut |_| {})
            .unwrap()
            .into_inner()
    };
    let good = archive(&["blob/v1"], 1);
    assert!(
        uncovered(reader.origin(), &chain, &good, &plan.candidates)
            .unwrap()
            .is_empty()
    );
    let short = archive(&["blob/v1"], 0);
    assert_eq!(
        uncovered(reader.origin(), &chain, &short, &plan.candidates)
            .unwrap()
            .len(),
        15
    );
    let other = archive(&["x-keep"], 1);
    assert_eq!(
        uncovered(reader.origin(), &chain, &other, &plan.candidates)
            .unwrap()
            .len(),
        30
    );
    assert!(uncovered("other.example/log", &chain, &good, &plan.candidates).is_err());
}

/// The numbers `i` for which `SECRET-<i, 6 digits>` occurs in `data`.
fn secrets_in(data: &[u8]) -> BTreeSet<u64> {
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

/// Every secret in every file under `dir`.
fn secrets_in_dir(dir: &std::path::Path) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            out.extend(secrets_in(&std::fs::read(&p).unwrap()));
        }
    }
    out
}

#[test]
fn redb_redaction_and_rebuild_leave_no_redacted_bytes_in_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let (l, blobs, kept) = populated(RedbStore::open(&path).unwrap());
    // Enough content that page reuse matters.
    let docs: Vec<String> = (0..2000u64)
        .map(|i| {
            format!(
                r#"{{"type":"blob/v1","data":"SECRET-{:06}-{}"}}"#,
                100_000 + i,
                "p".repeat(300)
            )
        })
        .collect();
    for chunk in docs.chunks(500) {
        let refs: Vec<&[u8]> = chunk.iter().map(|d| d.as_bytes()).collect();
        l.append_json(&refs).unwrap();
    }
    l.anchor().unwrap();
    let all: Vec<NodeId> = blobs.iter().chain(&kept).copied().collect();
    let saved = save(&l, &all);
    let reader = l.reader();
    let plan = reader
        .retention_plan(&policy(&[("blob/v1", 0)]), evl_ledger::time::now())
        .unwrap();
    assert_eq!(plan.candidates.len(), 2030);
    let requests: Vec<_> = plan.candidates.iter().filter_map(|c| c.request()).collect();
    l.redact(&requests, evl_ledger::time::now()).unwrap();
    l.anchor().unwrap();
    drop(reader);
    drop(l);
    let before = std::fs::metadata(&path).unwrap().len();
    assert!(
        !secrets_in_dir(dir.path()).is_empty(),
        "deleted, not yet gone from the file"
    );
    let r = RedbStore::reclaim(&path).unwrap();
    assert_eq!(r.bytes_before, before);
    assert!(r.bytes_after < before / 2, "{} → {}", before, r.bytes_after);
    assert!(
        secrets_in_dir(dir.path()).is_empty(),
        "no redacted byte string in any file"
    );

    let store = RedbStore::open(&path).unwrap();
    assert!(!store.reclaim_pending().unwrap());
    let l = Ledger::open(store, key(), AnchorPolicy::default()).unwrap();
    check_saved(&l, &saved);
    let report = verify(&l.reader(), Mode::Full, &mut |_, _| {}).unwrap();
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.redactions.len(), 2030);
    // The log goes on: appends and anchors after the rebuild.
    append(&l, r#"{"type":"x-after","v":1}"#);
    l.anchor().unwrap();
    assert!(verify(&l.reader(), Mode::Full, &mut |_, _| {}).unwrap().ok());
}

/// Measures what redb's `compact()` leaves in the file against a rebuild (docs/design.md, space
/// reclamation). `cargo test -p evl-ledger --test retention -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_compact_against_rebuild() {
    for (n, every) in [(20_000u64, 2u64), (20_000, 10), (100_000, 3)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.redb");
        let l = ledger_on(RedbStore::open(&path).unwrap());
        let docs: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"type":"blob/v1","data":"SECRET-{i:06}-{}"}}"#,
                    "x".repeat(200)
                )
            })
            .collect();
        for chunk in docs.chunks(1000) {
            let refs: Vec<&[u8]> = chunk.iter().map(|d| d.as_bytes()).collect();
            l.append_json(&refs).unwrap();
        }
        l.anchor().unwrap();
        let reader = l.reader();
        let plan = reader
            .retention_plan(&policy(&[("blob/v1", 0)]), evl_ledger::time::now())
            .unwrap();
        let requests: Vec<_> = plan
            .candidates
            .iter()
            .filter(|c| c.leaf_index % every == 0)
            .filter_map(|c| c.request())
            .collect();
        let targets: BTreeSet<u64> = requests.iter().map(|r| r.index.get()).collect();
        let size0 = std::fs::metadata(&path).unwrap().len();
        l.redact(&requests, evl_ledger::time::now()).unwrap();
        drop(reader);
        drop(l);
        let left = |p: &std::path::Path| {
            secrets_in(&std::fs::read(p).unwrap())
                .intersection(&targets)
                .count()
        };
        let size1 = std::fs::metadata(&path).unwrap().len();
        let left1 = left(&path);
        let copy = dir.path().join("compacted.redb");
        std::fs::copy(&path, &copy).unwrap();
        let mut db = redb::Database::open(&copy).unwrap();
        while db.compact().unwrap() {}
        drop(db);
        let size2 = std::fs::metadata(&copy).unwrap().len();
        let left2 = left(&copy);
        let r = RedbStore::reclaim(&path).unwrap();
        let left3 = left(&path);
        println!(
            "n={n} redacted={}: before {size0} B; after redaction {size1} B ({left1} left); compact() {size2} B ({left2} left); reclaim {} B ({left3} left)",
            targets.len(),
            r.bytes_after
        );
        assert_eq!(left3, 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any set of redactions leaves every root, inclusion proof and consistency proof as it was,
    /// and full verification passes with exactly those redactions reported.
    #[test]
    fn random_redaction_sets_change_no_root_or_proof(
        n in 1usize..40,
        picks in proptest::collection::vec(any::<bool>(), 40),
        anchor_at in 1usize..40,
    ) {
        let l = ledger_on(MemoryStore::new());
        let mut ids = Vec::new();
        for i in 0..n {
            ids.push(append(&l, &format!(r#"{{"type":"blob/v1","data":"d{i}"}}"#)));
            if i + 1 == anchor_at.min(n) {
                l.anchor().unwrap();
            }
        }
        l.anchor().unwrap();
        let saved = save(&l, &ids);
        let reader = l.reader();
        let plan = reader.retention_plan(&policy(&[("blob/v1", 0)]), evl_ledger::time::now()).unwrap();
        prop_assert_eq!(plan.candidates.len(), n);
        let chosen: Vec<_> = plan
            .candidates
            .iter()
            .filter(|c| picks[c.leaf_index as usize])
            .filter_map(|c| c.request())
            .collect();
        let done = l.redact(&chosen, evl_ledger::time::now()).unwrap();
        prop_assert_eq!(done.len(), chosen.len());
        check_saved(&l, &saved);
        let report = verify(&reader, Mode::Full, &mut |_, _| {}).unwrap();
        prop_assert!(report.ok(), "{:?}", report.failures);
        let reported: Vec<u64> = report.redactions.iter().map(|r| r.leaf_index).collect();
        let wanted: Vec<u64> = chosen.iter().map(|r| r.index.get()).collect();
        prop_assert_eq!(reported, wanted);
        for (i, id) in ids.iter().enumerate() {
            let redacted = picks[i];
            match reader.node(id) {
                Ok(_) => prop_assert!(!redacted),
                Err(LedgerError::Integrity { code, .. }) => {
                    prop_assert!(redacted);
                    prop_assert_eq!(code, ErrorCode::Redacted);
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
        let snap_root = reader.root_at(reader.tree_size().unwrap()).unwrap();
        prop_assert_eq!(snap_root, l.reader().root_at(reader.tree_size().unwrap()).unwrap());
    }
}
