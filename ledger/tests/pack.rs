//! Evidence packs and compliance exports written by the ledger and verified by the SDK
//! (SPEC.md §9): round trips, determinism, multi-leaf proofs, filters, deltas.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::pack::{EvidenceRequest, ExportRequest, verify_pack_reader};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::pack::{NodeRole, PackKind, ProofKind, TrustSource, verify_pack_self_contained};
use evl_sdk::{NodeId, SecretKey, Timestamp};

const ORIGIN: &str = "test.example/log";

fn key() -> SecretKey {
    SecretKey::from_seed(ORIGIN, &[9u8; 32]).unwrap()
}

fn ledger() -> Ledger<MemoryStore> {
    let t0 = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
    Ledger::init(MemoryStore::new(), key(), t0, AnchorPolicy::default()).unwrap()
}

fn append(l: &Ledger<MemoryStore>, doc: String) -> NodeId {
    l.append_json(&[doc.as_bytes()]).unwrap()[0].receipt.node_id
}

fn pack_evidence(l: &Ledger<MemoryStore>, req: &EvidenceRequest) -> Vec<u8> {
    let mut out = Vec::new();
    l.export_evidence(req, &mut out).unwrap();
    out
}

#[test]
fn evidence_pack_round_trip_with_dependencies() {
    let l = ledger();
    for i in 0..20 {
        append(&l, format!(r#"{{"type":"x-filler","i":{i}}}"#));
    }
    let a = append(&l, r#"{"type":"x-input","v":1}"#.into());
    let b = append(
        &l,
        format!(r#"{{"type":"x-result","links":[{{"rel":"input","id":"{a}"}}]}}"#),
    );
    l.anchor().unwrap();
    let req = EvidenceRequest {
        subjects: vec![b],
        include_deps: true,
        ..Default::default()
    };
    let pack = pack_evidence(&l, &req);
    assert_eq!(
        pack,
        pack_evidence(&l, &req),
        "exporting twice gives identical bytes"
    );
    let report = l.trust_root().verify_pack(&pack).unwrap().into_inner();
    assert_eq!(report.kind, PackKind::Evidence);
    assert_eq!(report.trust_root, TrustSource::Argument);
    assert_eq!(report.nodes.len(), 2);
    assert_eq!(report.nodes[0].id, b);
    assert_eq!(report.nodes[0].role, NodeRole::Subject);
    assert_eq!(report.nodes[1].id, a);
    assert_eq!(report.nodes[1].role, NodeRole::Dependency);
    assert_eq!(report.nodes[1].index.get(), 20);
    // The streaming reader agrees, and the pack's own trust root gives the same verdict.
    let streamed = verify_pack_reader(pack.as_slice(), Some(l.trust_root().clone()), &mut |_| {}).unwrap();
    assert_eq!(streamed.into_inner(), report);
    let own = verify_pack_self_contained(&pack).unwrap().into_inner();
    assert_eq!(own.trust_root, TrustSource::Pack);
}

#[test]
fn many_nodes_use_one_multi_leaf_proof() {
    let l = ledger();
    let ids: Vec<NodeId> = (0..64)
        .map(|i| append(&l, format!(r#"{{"type":"x-n","i":{i}}}"#)))
        .collect();
    l.anchor().unwrap();
    let pack = pack_evidence(
        &l,
        &EvidenceRequest {
            subjects: ids[..40].to_vec(),
            ..Default::default()
        },
    );
    let report = l.trust_root().verify_pack(&pack).unwrap().into_inner();
    assert_eq!(report.nodes.len(), 40);
    assert!(report.nodes.iter().all(|n| n.proof == ProofKind::Multi));
    // One node alone: its own proof.
    let one = pack_evidence(
        &l,
        &EvidenceRequest {
            subjects: vec![ids[3]],
            ..Default::default()
        },
    );
    let r = l.trust_root().verify_pack(&one).unwrap().into_inner();
    assert_eq!(r.nodes[0].proof, ProofKind::Single);
}

#[test]
fn unanchored_nodes_are_refused_with_advice() {
    let l = ledger();
    append(&l, r#"{"type":"x-a"}"#.into());
    l.anchor().unwrap();
    let late = append(&l, r#"{"type":"x-b"}"#.into());
    let mut out = Vec::new();
    let e = l
        .export_evidence(
            &EvidenceRequest {
                subjects: vec![late],
                ..Default::default()
            },
            &mut out,
        )
        .unwrap_err();
    assert_eq!(e.code(), "OUT_OF_RANGE", "{e}");
    assert_eq!(e.next(), Some(evl_ledger::Next::AnchorCreate), "{e}");
}

fn export(l: &Ledger<MemoryStore>, req: &ExportRequest) -> Vec<u8> {
    let mut out = Vec::new();
    l.export(req, &mut out, &mut |_| {}).unwrap();
    out
}

#[test]
fn full_filtered_and_delta_exports_verify() {
    let l = ledger();
    for i in 0..5000u32 {
        let t = if i % 3 == 0 { "x-keep" } else { "x-other" };
        append(&l, format!(r#"{{"type":"{t}","i":{i}}}"#));
    }
    let a0 = l.anchor().unwrap().payload().seq;
    for i in 0..700u32 {
        append(&l, format!(r#"{{"type":"x-keep","j":{i}}}"#));
    }
    let a1 = l.anchor().unwrap().payload().seq;

    let full = export(&l, &ExportRequest::default());
    assert_eq!(full, export(&l, &ExportRequest::default()), "deterministic");
    let r = l.trust_root().verify_pack(&full).unwrap().into_inner();
    let e = r.export.unwrap();
    assert_eq!((e.leaves, e.included, e.omitted), (5700, 5700, 0));

    let filtered = ExportRequest {
        filter: Some(vec!["x-keep".into()]),
        ..Default::default()
    };
    let r = l
        .trust_root()
        .verify_pack(&export(&l, &filtered))
        .unwrap()
        .into_inner();
    let e = r.export.unwrap();
    assert_eq!((e.leaves, e.included), (5700, 1667 + 700));

    let first = export(
        &l,
        &ExportRequest {
            to_anchor: Some(a0),
            ..Default::default()
        },
    );
    let first_id = l.trust_root().verify_pack(&first).unwrap().into_inner().pack_id;
    let delta = export(
        &l,
        &ExportRequest {
            from_anchor: Some(a0),
            to_anchor: Some(a1),
            prev_export: Some(first_id),
            ..Default::default()
        },
    );
    let r = l.trust_root().verify_pack(&delta).unwrap().into_inner();
    let e = r.export.unwrap();
    assert_eq!(e.leaves, 700);
    assert_eq!(e.prev_export, Some(first_id));
    assert_eq!(r.anchors.len(), 2);
}
