//! VEX consensus benchmark (issue 5: consensus over 10 statements ≤ 50 µs).
//! Run: `cargo bench -p evl-sdk --bench vex`. `consensus_10` computes the canonical
//! `vex.consensus/v1` node (weights, mode, JSON, RFC 8785 bytes, NodeId); `replay_10` also parses
//! the policy, registry and ten statement nodes strictly (digest checks included).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use evl_sdk::vex::{self, GroupKey, IssuerRegistry, Mode, Policy, Statement};
use evl_sdk::{Node, NodeId, Timestamp, TreeHead, TreeSize, sha256};
use serde_json::json;
use std::hint::black_box;

const STATUSES: [&str; 4] = ["not_affected", "fixed", "under_investigation", "affected"];
const ISSUERS: [&str; 5] = ["alpine", "distro", "redhat", "scanner", "vendor"];

fn statement(i: usize) -> Node {
    let status = STATUSES[i % 4];
    let source = NodeId::of_canonical(format!("doc-{i}").as_bytes()).to_string();
    let mut v = json!({
        "type": "vex.statement/v1", "vuln_id": "CVE-2023-38545", "vuln_aliases": ["GHSA-xxxx-yyyy-zzzz"],
        "product_key": "pkg:rpm/redhat/curl@7.76.1-26.el9", "product_identifiers": {"purl": "pkg:rpm/redhat/curl@7.76.1-26.el9"},
        "subcomponent_keys": [], "status": status,
        "justification": if status == "not_affected" { json!("vulnerable_code_not_present") } else { json!(null) },
        "source_status": status, "source_justification": null, "impact_statement": "Moderate",
        "action_statement": null, "remediation_categories": [],
        "timestamp": format!("2025-12-{:02}T10:00:00.000000000Z", 1 + i), "timestamp_source": "document",
        "issuer_id": ISSUERS[i % 5], "issuer_claimed": ISSUERS[i % 5], "signature": if i.is_multiple_of(3) { "verified" } else { "absent" },
        "doc_id": format!("doc-{i}"), "doc_version": format!("{i}"), "statement_version": null, "position": i,
        "format": "csaf", "format_version": "2.0", "source_pointer": "/vulnerabilities/0/product_status/fixed/0",
        "source_doc": source, "lossy": [], "findings": [], "links": [{"rel": "source", "id": source}],
    });
    v["statement_digest"] = json!(vex::statement_digest(&v).unwrap().to_hex());
    Node::from_value(v).unwrap()
}

fn bench(c: &mut Criterion) {
    let nodes: Vec<Node> = (0..10).map(statement).collect();
    let statements: Vec<Statement> = nodes.iter().map(|n| Statement::from_node(n).unwrap()).collect();
    let policy = Policy::default();
    let issuers = IssuerRegistry::from_node(
        &Node::from_value(json!({"type": "vex.issuers/v1", "issuers": [
            {"issuer_id": "distro", "tier": "known", "authoritative_for": [], "public_key": null},
            {"issuer_id": "redhat", "tier": "trusted", "authoritative_for": ["pkg:rpm/redhat/"], "public_key": "k"},
            {"issuer_id": "scanner", "tier": "untrusted", "authoritative_for": [], "public_key": null},
        ]}))
        .unwrap(),
    )
    .unwrap();
    let key = GroupKey::new("CVE-2023-38545", "pkg:rpm/redhat/curl@7.76.1-26.el9").unwrap();
    let as_of = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    let head = TreeHead::new(TreeSize::new(1_000_000).unwrap(), sha256(b"root"));
    let result = vex::consensus(
        &statements,
        &policy,
        &issuers,
        &key,
        as_of,
        head,
        Mode::WeightedVote,
    )
    .unwrap();
    for mode in [Mode::WeightedVote, Mode::Lattice] {
        c.bench_function(&format!("consensus_10_{mode}"), |b| {
            b.iter(|| {
                vex::consensus(
                    black_box(&statements),
                    &policy,
                    &issuers,
                    &key,
                    as_of,
                    head,
                    black_box(mode),
                )
                .unwrap()
            })
        });
    }
    c.bench_function("replay_10", |b| {
        b.iter(|| vex::replay(black_box(result.node()), &nodes, policy.node(), issuers.node()).unwrap())
    });
    c.bench_function("statement_from_node", |b| {
        b.iter(|| Statement::from_node(black_box(&nodes[0])).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
