//! VEX on the log: ingest + append of the 35 real samples, statement look-up by key, consensus
//! for sample groups of CONSENSUS.md (G1–G4) recorded as nodes, history, and replay of every
//! consensus node these tests create, from the nodes the log holds (SPEC.md §14.6–14.8).
//!
//! Samples are read from `tests/data/vex/` in the repository; their sources and licences
//! are in its README.md and SOURCES.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use evl_ledger::evl_sdk::vex::{
    CONSENSUS_TYPE, GroupKey, IssuerRegistry, Mode, Policy, STATEMENT_TYPE, Statement, Status, VexError,
};
use evl_ledger::evl_sdk::{ErrorCode, Node, NodeId, SecretKey, Timestamp};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::vex::{self, RecordedConsensus};
use evl_ledger::{AnchorPolicy, Ledger, LedgerError};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;

const ORIGIN: &str = "vex.test/log";
/// SPEC.md §14.1: the default policy and the empty registry.
const DEFAULT_POLICY: &str = "sha256:2a56a67cc7a70d7aa990f050a10dffa52ba1e1dfda0ff165a38a0600edc14cce";
const EMPTY_REGISTRY: &str = "sha256:c5555413b7480e27a7f19760534b965025b79331657d0d696dd6628fc3f73d39";

const G1: (&str, &str) = ("CVE-2022-3715", "pkg:deb/debian/bash@5.3");
const G2: (&str, &str) = ("CVE-1234-5678", "pkg:apk/wolfi/bash@1.0.0");
const G3: (&str, &str) = (
    "CVE-2021-44228",
    "pkg:maven/org.springframework.boot/spring-boot@2.6.0",
);
const G4: (&str, &str) = (
    "CVE-2025-54388",
    "pkg:golang/github.com/inspektor-gadget/inspektor-gadget@v0.41.0",
);

fn samples() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/vex"))
}

fn sample_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for fmt in ["openvex", "csaf", "cyclonedx"] {
        for e in std::fs::read_dir(samples().join(fmt)).unwrap() {
            out.push(e.unwrap().path());
        }
    }
    out.sort();
    assert_eq!(out.len(), 35, "the corpus has 35 documents");
    out
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(samples().join(rel)).unwrap()
}

fn ledger() -> Ledger<MemoryStore> {
    let key = SecretKey::from_seed(ORIGIN, &[7u8; 32]).unwrap();
    Ledger::init(
        MemoryStore::new(),
        key,
        Timestamp::parse("2020-01-01T00:00:00Z").unwrap(),
        AnchorPolicy::default(),
    )
    .unwrap()
}

fn now() -> Timestamp {
    evl_ledger::time::now()
}

fn as_of() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
}

fn key(g: (&str, &str)) -> GroupKey {
    GroupKey::new(g.0, g.1).unwrap()
}

fn ingest_all(l: &Ledger<MemoryStore>) {
    for f in sample_files() {
        vex::ingest_and_append(l, &std::fs::read(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

/// Replays a recorded consensus from the log and checks it is the node that was appended.
fn replays(l: &Ledger<MemoryStore>, rec: &RecordedConsensus) -> Value {
    let id = rec.result.node().id();
    let r = vex::replay_from_log(&l.reader(), &id).unwrap_or_else(|e| panic!("replay {id}: {e}"));
    assert_eq!(r.result.node(), rec.result.node());
    assert_eq!(r.leaf_index.get(), rec.appended.receipt.leaf_index);
    let mut ids: Vec<NodeId> = r.statements.iter().map(|(id, _)| *id).collect();
    ids.sort();
    assert_eq!(ids, rec.statements);
    rec.result.node().value()
}

fn compute(l: &Ledger<MemoryStore>, g: (&str, &str), mode: Option<Mode>) -> RecordedConsensus {
    vex::compute_consensus(l, &key(g), mode, as_of(), None).unwrap()
}

#[test]
fn every_sample_is_appended_blob_first_and_mirrors_are_not_stored_twice() {
    let l = ledger();
    let trust = l.trust_root().clone();
    let mut statement_ids = BTreeSet::new();
    for f in sample_files() {
        let raw = std::fs::read(&f).unwrap();
        let expected = vex::ingest(&raw).unwrap();
        let before = l.reader().tree_size().unwrap().get();
        let out = vex::ingest_and_append(&l, &raw).unwrap();
        // One batch: the blob first, then the statements in document order, all at one size.
        assert_eq!(out.document.receipt.node_id, expected.blob().id());
        assert_eq!(out.document.receipt.leaf_index, before, "{}", f.display());
        assert_eq!(out.statements.len(), expected.statements().len());
        assert_eq!(out.findings, expected.findings());
        assert_eq!(out.format, expected.format());
        let size = out.document.receipt.inclusion.size();
        trust.verify_receipt(&out.document.receipt, now()).unwrap();
        for (o, n) in out.statements.iter().zip(expected.statements()) {
            assert_eq!(o.receipt.node_id, n.id());
            assert_eq!(o.receipt.inclusion.size(), size);
            trust.verify_receipt(&o.receipt, now()).unwrap();
            // The stored statement is the node ingest built, and it links its document.
            let (_, bytes) = l.reader().node(&n.id()).unwrap();
            let s = Statement::from_node(&Node::from_canonical(&bytes).unwrap()).unwrap();
            assert_eq!(s.source_doc(), expected.blob().id());
            statement_ids.insert(n.id());
        }
    }
    let size = l.reader().tree_size().unwrap();
    // A mirrored copy of every document (same bytes): nothing new, same leaves.
    for f in sample_files() {
        let out = vex::ingest_and_append(&l, &std::fs::read(&f).unwrap()).unwrap();
        assert!(!out.document.created);
        assert!(out.statements.iter().all(|o| !o.created), "{}", f.display());
    }
    assert_eq!(l.reader().tree_size().unwrap(), size);
    // Every statement node in the log parses, and they are the ones ingest built.
    let stored = l.reader().nodes_of_type(STATEMENT_TYPE, None).unwrap();
    let stored_ids: BTreeSet<NodeId> = stored.iter().map(|(_, n)| n.id()).collect();
    assert_eq!(stored_ids, statement_ids);
    assert_eq!(stored.len(), statement_ids.len(), "no statement is stored twice");
}

#[test]
fn not_vex_is_rejected_with_its_code_and_stores_nothing() {
    let l = ledger();
    for (raw, code) in [
        (&br#"{"hello":1}"#[..], "NOT_VEX"),
        (br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#, "NOT_VEX"),
        (b"{not json", "JSON_SYNTAX"),
        (br#"{"a":1,"a":2}"#, "DUPLICATE_KEY"),
    ] {
        let e = vex::ingest_and_append(&l, raw).unwrap_err();
        assert!(matches!(e, LedgerError::Ingest(_)), "{e}");
        assert_eq!(e.code(), code);
    }
    assert_eq!(l.reader().tree_size().unwrap().get(), 0);
}

#[test]
fn statements_for_a_key_come_from_every_document_of_the_group() {
    let l = ledger();
    ingest_all(&l);
    let r = l.reader();
    for (g, n, docs) in [
        (G1, 2, 2),
        (G2, 2, 2),
        (G3, 3, 2), // trivy__openvex-multiple (2) and trivy__cyclonedx (1)
        (G4, 2, 2),
    ] {
        let found = r.statements_for(&key(g)).unwrap();
        assert_eq!(found.len(), n, "{g:?}");
        let sources: BTreeSet<NodeId> = found
            .iter()
            .map(|n| Statement::from_node(n).unwrap().source_doc())
            .collect();
        assert_eq!(sources.len(), docs, "{g:?}");
        for s in &found {
            let s = Statement::from_node(s).unwrap();
            assert!(key(g).matches(&s));
        }
    }
    assert!(
        r.statements_for(&key(("CVE-0000-0000", "pkg:npm/none@1")))
            .unwrap()
            .is_empty()
    );
    // The latest node of a type.
    let (i, n) = r.latest_of_type(STATEMENT_TYPE).unwrap().unwrap();
    assert_eq!(n.node_type(), STATEMENT_TYPE);
    assert!(i.get() < r.tree_size().unwrap().get());
    assert!(r.latest_of_type(CONSENSUS_TYPE).unwrap().is_none());
}

#[test]
fn g2_vexctl_supersession_gives_fixed_with_one_contributor() {
    let l = ledger();
    for f in [
        "openvex/vexctl__document1.vex.json",
        "openvex/vexctl__document2.vex.json",
    ] {
        vex::ingest_and_append(&l, &read(f)).unwrap();
    }
    let size_before = l.reader().tree_size().unwrap().get();
    let rec = compute(&l, G2, None);
    assert!(rec.appended.created);
    assert_eq!(rec.result.status(), Some(Status::Fixed));
    assert_eq!(rec.result.conflict(), None);
    assert_eq!(rec.result.confidence_ppm(), 1_000_000);
    let v = replays(&l, &rec);
    assert_eq!(v["mode"], json!("WeightedVote"));
    assert_eq!(v["contributors"].as_array().unwrap().len(), 1);
    assert_eq!(v["contributors"][0]["status"], json!("fixed"));
    assert_eq!(v["ignored"][0]["reason"], json!("superseded"));
    assert_eq!(rec.statements.len(), 2);
    // The default policy and the empty registry were appended so the links resolve, before
    // the checkpoint the consensus records.
    assert_eq!(v["policy"], json!(DEFAULT_POLICY));
    assert_eq!(v["links"][0], json!({"rel": "policy", "id": DEFAULT_POLICY}));
    assert_eq!(v["links"][1], json!({"rel": "issuers", "id": EMPTY_REGISTRY}));
    for id in [DEFAULT_POLICY, EMPTY_REGISTRY] {
        l.reader().node(&id.parse().unwrap()).unwrap();
    }
    let cp_size = v["checkpoint"]["tree_size"].as_u64().unwrap();
    assert_eq!(cp_size, size_before + 2);
    assert_eq!(rec.appended.receipt.leaf_index, cp_size);
    let root = l
        .reader()
        .root_at(evl_ledger::evl_sdk::TreeSize::new(cp_size).unwrap())
        .unwrap();
    assert_eq!(v["checkpoint"]["root"], json!(root.to_base64()));
    // Computing again with the same inputs at the same checkpoint is the same node... but the
    // checkpoint moved (the consensus node itself was appended), so it is a new node.
    let again = compute(&l, G2, None);
    assert_ne!(again.result.node().id(), rec.result.node().id());
    assert_eq!(again.result.status(), Some(Status::Fixed));
    replays(&l, &again);
}

#[test]
fn g4_inspektor_gadget_two_files_one_vote() {
    let l = ledger();
    for f in [
        "openvex/vexhub__inspektor-gadget__golang.vex.json",
        "openvex/vexhub__inspektor-gadget__v0.41.0.vex.json",
    ] {
        vex::ingest_and_append(&l, &read(f)).unwrap();
    }
    let rec = compute(&l, G4, None);
    assert_eq!(rec.result.status(), Some(Status::NotAffected));
    assert_eq!(rec.result.conflict(), None);
    let v = replays(&l, &rec);
    assert_eq!(v["contributors"].as_array().unwrap().len(), 1);
    assert_eq!(v["justification"], json!("vulnerable_code_not_in_execute_path"));
    assert_eq!(v["ignored"].as_array().unwrap().len(), 1);
    assert_eq!(v["ignored"][0]["reason"], json!("superseded"));
    // The kept statement is the 2025-11-12 one, from golang.vex.json.
    let kept = v["contributors"][0]["statement_digest"].as_str().unwrap();
    let stmts = l.reader().statements_for(&key(G4)).unwrap();
    let newest = stmts
        .iter()
        .map(|n| Statement::from_node(n).unwrap())
        .max_by_key(|s| s.timestamp().map(|t| t.unix_nanos()))
        .unwrap();
    assert_eq!(kept, newest.statement_digest().to_hex());
    assert!(newest.timestamp().unwrap().to_string().starts_with("2025-11-12"));
}

#[test]
fn g1_and_g3_in_every_mode_replay() {
    let l = ledger();
    ingest_all(&l);
    // G1: one issuer, identical times and document ids: the tie goes to the higher rank and is
    // recorded as issuer_self_conflict.
    let g1 = compute(&l, G1, None);
    assert_eq!(g1.result.status(), Some(Status::Affected));
    let v = replays(&l, &g1);
    assert_eq!(v["findings"][0]["code"], json!("issuer_self_conflict"));
    // G3: the undated not_affected inherits the later document time and supersedes.
    let g3 = compute(&l, G3, None);
    assert_eq!(g3.result.status(), Some(Status::NotAffected));
    replays(&l, &g3);
    for mode in Mode::ALL {
        for g in [G1, G2, G3, G4] {
            let rec = compute(&l, g, Some(*mode));
            let v = replays(&l, &rec);
            assert_eq!(v["mode"], json!(mode.as_str()));
        }
    }
}

#[test]
fn consensus_for_the_first_key_of_every_document_replays() {
    let l = ledger();
    ingest_all(&l);
    let mut keys = BTreeSet::new();
    for f in sample_files() {
        let ing = vex::ingest(&std::fs::read(&f).unwrap()).unwrap();
        if let Some(s) = ing
            .statements()
            .iter()
            .map(|n| Statement::from_node(n).unwrap())
            .find(|s| s.product_key().is_some())
        {
            keys.insert((s.vuln_id().to_owned(), s.product_key().unwrap().to_owned()));
        }
    }
    assert!(keys.len() > 20, "{}", keys.len());
    let mut recorded = Vec::new();
    for (v, p) in &keys {
        let rec = vex::compute_consensus(&l, &GroupKey::new(v, p).unwrap(), None, as_of(), None).unwrap();
        assert!(
            rec.result.status().is_some(),
            "{v} {p}: every key has a statement"
        );
        assert!(!rec.statements.is_empty());
        recorded.push(rec.result.node().id());
    }
    // Replay every consensus node in the log.
    let all = l.reader().nodes_of_type(CONSENSUS_TYPE, None).unwrap();
    assert_eq!(all.len(), keys.len());
    for (_, n) in all {
        assert!(recorded.contains(&n.id()));
        vex::replay_from_log(&l.reader(), &n.id()).unwrap();
    }
}

#[test]
fn explicit_policy_with_its_registry() {
    let l = ledger();
    for f in [
        "openvex/vexctl__document1.vex.json",
        "openvex/vexctl__document2.vex.json",
    ] {
        vex::ingest_and_append(&l, &read(f)).unwrap();
    }
    let registry = Node::from_value(json!({"type": "vex.issuers/v1", "issuers": [
        {"issuer_id": "john-doe", "tier": "trusted", "authoritative_for": ["pkg:apk/wolfi/"], "public_key": null}
    ]}))
    .unwrap();
    let policy = Node::from_value(
        json!({"type": "vex.policy/v1", "mode": "Lattice", "issuers": registry.id().to_string()}),
    )
    .unwrap();
    // Not in the log yet: NOT_FOUND.
    let e = vex::compute_consensus(&l, &key(G2), None, as_of(), Some(policy.id())).unwrap_err();
    assert_eq!(e.code(), "NOT_FOUND");
    l.append(vec![policy.clone()]).unwrap();
    let e = vex::compute_consensus(&l, &key(G2), None, as_of(), Some(policy.id())).unwrap_err();
    assert_eq!(
        e.code(),
        "NOT_FOUND",
        "the registry the policy names is missing: {e}"
    );
    l.append(vec![registry.clone()]).unwrap();
    let rec = vex::compute_consensus(&l, &key(G2), None, as_of(), Some(policy.id())).unwrap();
    let v = replays(&l, &rec);
    assert_eq!(v["mode"], json!("Lattice"), "the policy's mode");
    assert_eq!(v["contributors"][0]["tier"], json!("authoritative"));
    assert_eq!(
        v["links"][1],
        json!({"rel": "issuers", "id": registry.id().to_string()})
    );
    // The empty registry was not needed, so not appended.
    assert!(l.reader().node(&IssuerRegistry::empty().node().id()).is_err());
    // A NodeId that is not a policy.
    let stmt = l.reader().statements_for(&key(G2)).unwrap()[0].id();
    let e = vex::compute_consensus(&l, &key(G2), None, as_of(), Some(stmt)).unwrap_err();
    assert_eq!(e.code(), "VEX_INVALID");
    assert!(Policy::from_node(&policy).is_ok());
}

#[test]
fn history_is_newest_first_and_filters_by_mode() {
    let l = ledger();
    ingest_all(&l);
    let a = compute(&l, G2, None);
    let b = compute(&l, G2, Some(Mode::Lattice));
    let c = compute(&l, G2, None);
    compute(&l, G4, None);
    let h = vex::consensus_history(&l.reader(), &key(G2), None).unwrap();
    let ids: Vec<NodeId> = h.iter().map(|(_, n)| n.id()).collect();
    assert_eq!(
        ids,
        [c.result.node().id(), b.result.node().id(), a.result.node().id()]
    );
    let h = vex::consensus_history(&l.reader(), &key(G2), Some(Mode::WeightedVote)).unwrap();
    let ids: Vec<NodeId> = h.iter().map(|(_, n)| n.id()).collect();
    assert_eq!(ids, [c.result.node().id(), a.result.node().id()]);
    let sub = key(G2).with_subcomponent("pkg:apk/wolfi/x").unwrap();
    assert!(
        vex::consensus_history(&l.reader(), &sub, None)
            .unwrap()
            .is_empty()
    );
}

fn tampered(node: &Node, pointer: &str, to: Value) -> Node {
    let mut v = node.value();
    *v.pointer_mut(pointer).unwrap() = to;
    Node::from_value(v).unwrap()
}

fn mismatch_at(e: LedgerError) -> String {
    match e {
        LedgerError::Vex(VexError::Mismatch { pointer }) => pointer,
        other => panic!("expected CONSENSUS_MISMATCH, got {other}"),
    }
}

#[test]
fn a_tampered_consensus_node_fails_replay_with_consensus_mismatch() {
    let l = ledger();
    ingest_all(&l);
    let rec = compute(&l, G2, None);
    let good = rec.result.node().clone();
    let r = l.reader();
    for (pointer, to, at) in [
        ("/status", json!("not_affected"), "/status"),
        ("/confidence_ppm", json!(999_999), "/confidence_ppm"),
        (
            "/contributors/0/weight_ppm",
            json!(1),
            "/contributors/0/weight_ppm",
        ),
        ("/policy", json!(EMPTY_REGISTRY), "/policy"),
        // Inputs, not outputs: the sdk replay accepts another checkpoint, but it is not this
        // log's tree.
        (
            "/checkpoint/root",
            json!(evl_ledger::evl_sdk::empty_root().to_base64()),
            "/checkpoint/root",
        ),
    ] {
        let bad = tampered(&good, pointer, to);
        l.append(vec![bad.clone()]).unwrap();
        let e = vex::replay_from_log(&r, &bad.id()).unwrap_err();
        assert_eq!(e.code(), "CONSENSUS_MISMATCH", "{pointer}: {e}");
        assert_eq!(mismatch_at(e), at);
    }
    // A consensus claiming a checkpoint beyond the tree.
    let bad = tampered(&good, "/checkpoint/tree_size", json!(1_000_000));
    l.append(vec![bad.clone()]).unwrap();
    assert_eq!(
        mismatch_at(vex::replay_from_log(&r, &bad.id()).unwrap_err()),
        "/checkpoint/tree_size"
    );
    // A dropped statement link: the recomputation over the remaining statements differs.
    let mut v = good.value();
    v["links"].as_array_mut().unwrap().pop();
    let bad = Node::from_value(v).unwrap();
    l.append(vec![bad.clone()]).unwrap();
    let at = mismatch_at(vex::replay_from_log(&r, &bad.id()).unwrap_err());
    assert!(!at.starts_with("/links"), "{at}");
    // A link that is not one a consensus node has.
    let n = good.links().len();
    let bad = tampered(&good, &format!("/links/{}/rel", n - 1), json!("source"));
    l.append(vec![bad.clone()]).unwrap();
    assert_eq!(
        mismatch_at(vex::replay_from_log(&r, &bad.id()).unwrap_err()),
        format!("/links/{}", n - 1)
    );
    // Not a consensus node; not in the log.
    let stmt = r.statements_for(&key(G2)).unwrap()[0].id();
    assert_eq!(
        vex::replay_from_log(&r, &stmt).unwrap_err().code(),
        ErrorCode::VexInvalid.as_str()
    );
    let absent: NodeId = format!("sha256:{}", "0".repeat(64)).parse().unwrap();
    assert_eq!(vex::replay_from_log(&r, &absent).unwrap_err().code(), "NOT_FOUND");
    // The good node still replays.
    vex::replay_from_log(&r, &good.id()).unwrap();
}

#[test]
fn as_of_accepts_rfc3339_and_keeps_whole_seconds() {
    let t = |s| vex::parse_as_of(s).map(|t| t.to_string());
    assert_eq!(t("2026-01-01T00:00:00Z").as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(
        t("2026-01-01T02:00:00.999+02:00").as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
    assert_eq!(t("2025-12-31 23:59:59z").as_deref(), Some("2025-12-31T23:59:59Z"));
    for bad in [
        "2026-01-01",
        "2026-01-01T00:00:00",
        "yesterday",
        "2026-13-01T00:00:00Z",
        "",
    ] {
        assert_eq!(t(bad), None, "{bad}");
    }
}
