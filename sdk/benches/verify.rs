//! SDK verification benchmarks (issue: inclusion ≤ 3 µs and consistency ≤ 5 µs at 2^20 leaves).
//! Run: `cargo bench -p evl-sdk --bench verify`. The `sha256_64B` case is the physical
//! reference: one proof step is one SHA-256 over 65 bytes.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use evl_sdk::{
    LeafIndex, MemoryTree, Node, TreeHead, TreeSize, leaf_hash, prove_consistency, prove_inclusion, sha256,
};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let n: u64 = 1 << 20;
    let tree = MemoryTree::from_leaf_hashes((0..n).map(|i| leaf_hash(sha256(&i.to_be_bytes()).as_bytes())));
    let size = TreeSize::new(n).unwrap();
    let head = TreeHead::new(size, tree.root());
    let index = LeafIndex::new(n / 3).unwrap();
    let leaf = leaf_hash(sha256(&(n / 3).to_be_bytes()).as_bytes());
    let proof = prove_inclusion(&tree, index, size).unwrap();
    c.bench_function("inclusion_verify_2^20", |b| {
        b.iter(|| {
            black_box(&head)
                .verify_inclusion(black_box(&leaf), black_box(&proof))
                .unwrap()
        })
    });
    let old_size = TreeSize::new(n / 3 + 7).unwrap();
    let old = TreeHead::new(old_size, tree.root_at(old_size).unwrap());
    let cproof = prove_consistency(&tree, old_size, size).unwrap();
    c.bench_function("consistency_verify_2^20", |b| {
        b.iter(|| {
            black_box(&head)
                .verify_consistency(black_box(&old), black_box(&cproof))
                .unwrap()
        })
    });
    c.bench_function("inclusion_prove_2^20_memory", |b| {
        b.iter(|| prove_inclusion(black_box(&tree), index, size).unwrap())
    });
    let block = [7u8; 65];
    c.bench_function("sha256_65B", |b| b.iter(|| sha256(black_box(&block))));
    let doc = format!(
        r#"{{"type":"vex.statement/v1","vulnerability":"CVE-2024-0001","status":"not_affected","justification":"vulnerable_code_not_in_execute_path","products":["pkg:npm/example@1.0.0"],"pad":"{}"}}"#,
        "x".repeat(800)
    );
    c.bench_function("node_from_json_1KB", |b| {
        b.iter(|| Node::from_json(black_box(doc.as_bytes())).unwrap())
    });
    c.bench_function("sha256_1KB", |b| b.iter(|| sha256(black_box(doc.as_bytes()))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
