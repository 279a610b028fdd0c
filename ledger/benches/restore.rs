//! Restore throughput against its floors, on the same 50 000 ~1 KB nodes (docs/benchmarks.md,
//! "Backup and restore"): `restore` (verify and bulk-load a backup into a new redb store), the
//! streaming verification alone, decompression alone, and raw redb inserts of exactly the rows a
//! restore writes (nodes, ids, hashes; the same transaction sizes, non-durable, one durable
//! commit at the end).
//!
//! `cargo bench -p evl-ledger --bench restore`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use evl_ledger::pack::{BULK_BATCH_BYTES, BackupRequest, RestoreRequest, restore, verify_pack_reader};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::pack::compress::Decompressor;
use evl_sdk::{Frontier, NodeId, SecretKey, Timestamp};
use redb::{Database, Durability, TableDefinition};
use std::io::Read;

const NODES: u32 = 50_000;

const T_NODES: TableDefinition<u64, &[u8]> = TableDefinition::new("nodes");
const T_IDS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("ids");
const T_HASHES: TableDefinition<u128, &[u8; 32]> = TableDefinition::new("hashes");

fn docs() -> Vec<String> {
    let pad = "p".repeat(960);
    (0..NODES)
        .map(|i| format!(r#"{{"type":"x-item","i":{i},"pad":"{pad}"}}"#))
        .collect()
}

fn backup_bytes() -> Vec<u8> {
    let key = SecretKey::from_seed("bench.example/log", &[3; 32]).unwrap();
    let t0 = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
    let l = Ledger::init(MemoryStore::new(), key, t0, AnchorPolicy::default()).unwrap();
    let docs = docs();
    for chunk in docs.chunks(1000) {
        let refs: Vec<&[u8]> = chunk.iter().map(|d| d.as_bytes()).collect();
        l.append_json(&refs).unwrap();
    }
    l.anchor().unwrap();
    let mut out = Vec::new();
    l.backup(&BackupRequest::default(), &mut out, &mut |_| {})
        .unwrap();
    out
}

/// One row set a restore writes per leaf: its index, canonical bytes, NodeId and the stored
/// hashes its append completes.
struct Row {
    index: u64,
    bytes: Vec<u8>,
    id: NodeId,
    hashes: Vec<(u128, [u8; 32])>,
}

fn rows() -> Vec<Row> {
    let mut f = Frontier::new();
    docs()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let n = evl_sdk::Node::from_json(d.as_bytes()).unwrap();
            let hashes = f
                .push(n.id().leaf_hash())
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        (u128::from(h.level) << 64) | u128::from(h.index),
                        *h.hash.as_bytes(),
                    )
                })
                .collect();
            Row {
                index: i as u64,
                bytes: n.bytes().to_vec(),
                id: n.id(),
                hashes,
            }
        })
        .collect()
}

fn raw_insert(dir: &std::path::Path, nodes: &[Row]) {
    let db = Database::builder()
        .set_cache_size(evl_ledger::store::redb_store::REDB_CACHE_BYTES)
        .create(dir.join("raw.redb"))
        .unwrap();
    let per_txn = BULK_BATCH_BYTES / 1024;
    for (k, batch) in nodes.chunks(per_txn).enumerate() {
        let mut txn = db.begin_write().unwrap();
        let last = (k + 1) * per_txn >= nodes.len();
        if !last {
            txn.set_durability(Durability::None).unwrap();
        }
        {
            let mut t = txn.open_table(T_NODES).unwrap();
            for r in batch {
                t.insert(r.index, r.bytes.as_slice()).unwrap();
            }
            let mut ids: Vec<(&[u8; 32], u64)> = batch
                .iter()
                .map(|r| (r.id.digest().as_bytes(), r.index))
                .collect();
            ids.sort_unstable();
            let mut t = txn.open_table(T_IDS).unwrap();
            for (d, i) in ids {
                t.insert(d, i).unwrap();
            }
            let mut t = txn.open_table(T_HASHES).unwrap();
            for (key, v) in batch.iter().flat_map(|r| &r.hashes) {
                t.insert(*key, v).unwrap();
            }
        }
        txn.commit().unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let pack = backup_bytes();
    let rows = rows();
    let mut g = c.benchmark_group("restore_50k_nodes");
    g.sample_size(10);
    g.bench_function("restore_verify_and_bulk_load", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let store = RedbStore::create_for_load(&dir.path().join("r.redb")).unwrap();
                let src: Vec<(String, Box<dyn Read>)> = vec![("b".into(), Box::new(pack.as_slice()))];
                restore(src, store, &RestoreRequest::default(), &mut |_| {}).unwrap();
                dir
            },
            BatchSize::PerIteration,
        );
    });
    g.bench_function("verify_only", |b| {
        b.iter(|| verify_pack_reader(pack.as_slice(), None, &mut |_| {}).unwrap());
    });
    g.bench_function("reference_decompress_only", |b| {
        b.iter(|| {
            let mut d = Decompressor::new(pack.as_slice()).unwrap();
            std::io::copy(&mut d, &mut std::io::sink()).unwrap()
        });
    });
    g.bench_function("reference_raw_redb_inserts_same_rows", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                raw_insert(dir.path(), &rows);
                dir
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
