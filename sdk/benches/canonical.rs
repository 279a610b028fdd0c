//! Canonical-form check of stored node bytes: the one-pass scan against the strict parse +
//! re-serialize path, next to SHA-256 of the same bytes (the physical reference).
//! Run: `cargo bench -p evl-sdk --bench canonical`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evl_sdk::{Node, jcs, sha256};
use serde_json::json;
use std::hint::black_box;

/// A VEX statement node as ingest writes them (about 1.1 KB canonical).
fn statement() -> Vec<u8> {
    let source = format!("sha256:{}", "ab".repeat(32));
    let v = json!({
        "type": "vex.statement/v1", "vuln_id": "CVE-2023-38545", "vuln_aliases": ["GHSA-xxxx-yyyy-zzzz"],
        "product_key": "pkg:rpm/redhat/curl@7.76.1-26.el9", "product_identifiers": {"purl": "pkg:rpm/redhat/curl@7.76.1-26.el9"},
        "subcomponent_keys": [], "status": "not_affected", "justification": "vulnerable_code_not_present",
        "source_status": "not_affected", "source_justification": null, "impact_statement": "Moderate: a heap overflow in the SOCKS5 proxy handshake",
        "action_statement": null, "remediation_categories": [], "cvss": 7.5,
        "timestamp": "2025-12-01T10:00:00.000000000Z", "timestamp_source": "document",
        "issuer_id": "redhat", "issuer_claimed": "Red Hat Product Security", "signature": "verified",
        "doc_id": "RHSA-2023:5763", "doc_version": "3", "statement_version": null, "position": 12,
        "format": "csaf", "format_version": "2.0", "source_pointer": "/vulnerabilities/0/product_status/known_not_affected/0",
        "source_doc": source, "lossy": [], "findings": [], "links": [{"rel": "source", "id": source}],
        "statement_digest": "cd".repeat(32),
    });
    Node::from_value(v).unwrap().into_bytes()
}

fn bench(c: &mut Criterion) {
    let bytes = statement();
    let mut g = c.benchmark_group("canonical");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("sha256 (reference)", |b| b.iter(|| sha256(black_box(&bytes))));
    g.bench_function("parse_canonical (parse, serialize, compare)", |b| {
        b.iter(|| jcs::parse_canonical(black_box(&bytes)).unwrap())
    });
    g.bench_function("is_canonical (one-pass scan)", |b| {
        b.iter(|| assert!(jcs::is_canonical(black_box(&bytes))))
    });
    g.bench_function("Node::from_canonical", |b| {
        b.iter(|| Node::from_canonical(black_box(&bytes)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
