//! Each layer beside its physical reference and beside an independent implementation, in one
//! run (issue 8's benchmark report): the Merkle tree against rs_merkle on the same leaves, the
//! store's durable append against raw redb inserts of the same bytes, and Ed25519 sign/verify.
//! Run: `cargo bench -p evl-ledger --bench layers` (tests/bench-report.sh collects the medians).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::{Digest, Frontier, LeafIndex, MemoryTree, SecretKey, Timestamp, node_hash, prove_inclusion};
use redb::{Database, TableDefinition};
use std::hint::black_box;

const LEAVES: u64 = 100_000;
const NODES: usize = 10_000;

/// rs_merkle with RFC 6962 interior hashing (a lone right node is promoted unchanged, which
/// gives RFC 6962's shape; sdk/tests/multiproof_oracle.rs checks the roots agree).
#[derive(Clone)]
struct Rfc6962;
impl rs_merkle::Hasher for Rfc6962 {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        *evl_sdk::sha256(data).as_bytes()
    }
    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => *node_hash(&Digest::from_bytes(*left), &Digest::from_bytes(*r)).as_bytes(),
            None => *left,
        }
    }
}

fn nodes() -> Vec<Vec<u8>> {
    let pad = "p".repeat(960);
    (0..NODES)
        .map(|i| format!(r#"{{"i":{i},"pad":"{pad}","type":"x-bench"}}"#).into_bytes())
        .collect()
}

fn tree(c: &mut Criterion) {
    let leaves: Vec<Digest> = (0..LEAVES)
        .map(|i| evl_sdk::leaf_hash(&i.to_be_bytes()))
        .collect();
    let raw: Vec<[u8; 32]> = leaves.iter().map(|d| *d.as_bytes()).collect();
    let mut g = c.benchmark_group("tree_100k_leaves");
    g.sample_size(10);
    g.bench_function("reference_sha256_interior_hashes", |b| {
        // A tree of n leaves has n − 1 interior hashes of 65 bytes each.
        let block = [7u8; 65];
        b.iter(|| {
            for _ in 1..LEAVES {
                black_box(evl_sdk::sha256(black_box(&block)));
            }
        })
    });
    g.bench_function("ours_frontier_append", |b| {
        b.iter(|| {
            let mut f = Frontier::new();
            for l in &leaves {
                f.push(*l);
            }
            f.root()
        })
    });
    g.bench_function("ours_memory_tree", |b| {
        b.iter(|| MemoryTree::from_leaf_hashes(leaves.iter().copied()).root())
    });
    g.bench_function("rs_merkle_tree", |b| {
        b.iter(|| rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&raw).root())
    });
    let ours = MemoryTree::from_leaf_hashes(leaves.iter().copied());
    let theirs = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&raw);
    assert_eq!(theirs.root(), Some(*ours.root().as_bytes()), "same root");
    g.bench_function("ours_inclusion_proof", |b| {
        b.iter(|| prove_inclusion(&ours, LeafIndex::new(black_box(54_321)).unwrap(), ours.size()).unwrap())
    });
    g.bench_function("rs_merkle_inclusion_proof", |b| {
        b.iter(|| theirs.proof(black_box(&[54_321])))
    });
    g.finish();
}

const RAW: TableDefinition<u64, &[u8]> = TableDefinition::new("raw");

fn store(c: &mut Criterion) {
    let docs = nodes();
    let total: usize = docs.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("store_10k_nodes_1KB");
    g.sample_size(10);
    g.bench_function("reference_sha256_of_bytes", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(evl_sdk::sha256(d));
            }
        })
    });
    g.bench_function("raw_redb_insert_one_durable_txn", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let db = Database::create(dir.path().join("raw.redb")).unwrap();
                let txn = db.begin_write().unwrap();
                {
                    let mut t = txn.open_table(RAW).unwrap();
                    for (i, d) in docs.iter().enumerate() {
                        t.insert(i as u64, d.as_slice()).unwrap();
                    }
                }
                txn.commit().unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("raw_redb_insert_durable_txn_per_1000", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let db = Database::create(dir.path().join("raw.redb")).unwrap();
                for (c, chunk) in docs.chunks(1000).enumerate() {
                    let txn = db.begin_write().unwrap();
                    {
                        let mut t = txn.open_table(RAW).unwrap();
                        for (i, d) in chunk.iter().enumerate() {
                            t.insert((c * 1000 + i) as u64, d.as_slice()).unwrap();
                        }
                    }
                    txn.commit().unwrap();
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("ledger_append_batches_of_1000", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let key = SecretKey::from_seed("bench.example/log", &[1u8; 32]).unwrap();
                let t0 = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
                let store = RedbStore::open(&dir.path().join("ledger.redb")).unwrap();
                let l = Ledger::init(store, key, t0, AnchorPolicy::default()).unwrap();
                (dir, l)
            },
            |(_dir, l)| {
                for chunk in docs.chunks(1000) {
                    let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
                    l.append_json(&refs).unwrap();
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
    eprintln!("store benches: {NODES} nodes, {total} bytes");
}

fn signatures(c: &mut Criterion) {
    let key = SecretKey::from_seed("bench.example/log", &[1u8; 32]).unwrap();
    let msg = [42u8; 100];
    let sig = key.sign_raw(&msg);
    let mut g = c.benchmark_group("ed25519");
    g.bench_function("sign_100B", |b| b.iter(|| key.sign_raw(black_box(&msg))));
    g.bench_function("verify_strict_100B", |b| {
        b.iter(|| assert!(key.public().verify_strict(black_box(&msg), &sig)))
    });
    g.finish();
}

criterion_group!(benches, tree, store, signatures);
criterion_main!(benches);
