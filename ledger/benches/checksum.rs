//! Storage v2's per-row checksums (docs/design.md, "Storage v2"): BLAKE3 against SHA-256 (the
//! `sha2` crate, SHA-NI where the CPU has it) on the two row sizes the layout uses, a hash tile
//! (256 × 32 B = 8 KiB) and an entry bundle (256 nodes of ~1 KB = 256 KiB).
//! Run: `cargo bench -p evl-ledger --bench checksum`; the design records the ratio.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn bytes(n: usize) -> Vec<u8> {
    // Not all zeros, not compressible to a trick: the SHA-256 chain of a counter.
    let mut out = Vec::with_capacity(n + 32);
    let mut x = evl_sdk::sha256(b"checksum bench");
    while out.len() < n {
        out.extend_from_slice(x.as_bytes());
        x = evl_sdk::sha256(x.as_bytes());
    }
    out.truncate(n);
    out
}

fn checksums(c: &mut Criterion) {
    for (name, n) in [("tile 8 KiB", 8 * 1024), ("bundle 256 KiB", 256 * 1024)] {
        let data = bytes(n);
        let mut g = c.benchmark_group(format!("checksum/{name}"));
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_function("sha256", |b| b.iter(|| evl_sdk::sha256(black_box(&data))));
        g.bench_function("blake3", |b| b.iter(|| blake3::hash(black_box(&data))));
        g.finish();
    }
}

criterion_group!(benches, checksums);
criterion_main!(benches);
