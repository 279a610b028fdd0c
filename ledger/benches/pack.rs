//! Pack verification benchmark (issue 6: an evidence pack of 10 000 nodes verifies in ≤ 0.5 s).
//! Run: `cargo bench -p evl-ledger --bench pack`. Side by side, in the same run: SHA-256 over
//! the pack's decompressed archive (the physical floor of checking every byte once) and the
//! decompression alone, so the overhead of each layer is visible.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use evl_ledger::pack::{EvidenceRequest, verify_pack_reader};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::{SecretKey, Timestamp};
use std::hint::black_box;

/// A ledger of `n` ~1 KB nodes, anchored, and an evidence pack of every one of them.
fn pack_of(n: usize) -> (Ledger<MemoryStore>, Vec<u8>) {
    let key = SecretKey::from_seed("bench.example/log", &[5u8; 32]).unwrap();
    let t0 = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
    let l = Ledger::init(MemoryStore::new(), key, t0, AnchorPolicy::default()).unwrap();
    let pad = "p".repeat(960);
    let docs: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"type":"x-bench","i":{i},"pad":"{pad}"}}"#))
        .collect();
    let mut subjects = Vec::with_capacity(n);
    for chunk in docs.chunks(1000) {
        let refs: Vec<&[u8]> = chunk.iter().map(|d| d.as_bytes()).collect();
        subjects.extend(
            l.append_json(&refs)
                .unwrap()
                .into_iter()
                .map(|o| o.receipt.node_id),
        );
    }
    l.anchor().unwrap();
    let mut pack = Vec::new();
    l.export_evidence(
        &EvidenceRequest {
            subjects,
            ..Default::default()
        },
        &mut pack,
    )
    .unwrap();
    (l, pack)
}

fn bench(c: &mut Criterion) {
    let (l, pack) = pack_of(10_000);
    let trust = l.trust_root().clone();
    let tar = evl_sdk::pack::decompress(&pack, usize::MAX).unwrap();
    eprintln!(
        "pack of 10000 nodes: {} bytes compressed, {} bytes of archive",
        pack.len(),
        tar.len()
    );
    let mut g = c.benchmark_group("pack_10k_nodes");
    g.sample_size(10);
    g.bench_function("verify_in_memory", |b| {
        b.iter(|| trust.verify_pack(black_box(&pack)).unwrap())
    });
    g.bench_function("verify_streaming", |b| {
        b.iter(|| verify_pack_reader(black_box(pack.as_slice()), Some(trust.clone()), &mut |_| {}).unwrap())
    });
    g.bench_function("reference_decompress_only", |b| {
        b.iter(|| evl_sdk::pack::decompress(black_box(&pack), usize::MAX).unwrap())
    });
    g.bench_function("reference_sha256_of_archive", |b| {
        b.iter(|| evl_sdk::sha256(black_box(&tar)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
