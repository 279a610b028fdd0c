//! Model-based: random append / duplicate append / anchor / restart / verify sequences against a
//! simple in-memory reference (a list of NodeIds and a naive recursive RFC 6962 root). The ledger
//! and the reference must agree on every receipt, root and proof.
#![no_main]
use arbitrary::Arbitrary;
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::{Digest, NodeId, SecretKey, Timestamp, TreeHead, TreeSize, node_hash, sha256};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

#[derive(Arbitrary, Debug)]
enum Op {
    Append(Vec<u16>),
    Duplicate(u16),
    Anchor,
    Restart,
    Prove(u16),
    Consistency(u16),
    Verify,
}

fn mth(l: &[Digest]) -> Digest {
    match l.len() {
        0 => sha256(b""),
        1 => l[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&mth(&l[..k]), &mth(&l[k..]))
        }
    }
}

fn doc(i: u16) -> Vec<u8> {
    format!(r#"{{"type":"x-model","i":{i}}}"#).into_bytes()
}

fuzz_target!(|ops: Vec<Op>| {
    let store = MemoryStore::new();
    let key = || SecretKey::from_seed("model.example/log", &[7; 32]).expect("key");
    let t0 = Timestamp::from_unix(0).expect("epoch");
    let mut ledger = Ledger::init(store.clone(), key(), t0, AnchorPolicy::default()).expect("init");
    let mut ids: Vec<NodeId> = Vec::new();
    let mut index: HashMap<NodeId, u64> = HashMap::new();
    let mut heads: Vec<TreeHead> = Vec::new();
    let at = Timestamp::from_unix(1_800_000_000).expect("t");
    for op in ops.into_iter().take(48) {
        match op {
            Op::Append(docs) => {
                let docs: Vec<Vec<u8>> = docs.into_iter().take(16).map(doc).collect();
                let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
                let out = ledger.append_json(&refs).expect("append");
                // The reference assigns indices first (the whole batch is one commit) ...
                let mut want = Vec::with_capacity(out.len());
                for o in &out {
                    let id = o.receipt.node_id;
                    want.push(*index.entry(id).or_insert_with(|| {
                        ids.push(id);
                        ids.len() as u64 - 1
                    }));
                }
                // ... then every receipt must agree with it. A batch is one commit, so its
                // receipts share one signed head: the reference root is computed once per head
                // and the signature checked once (the rest verify against that head), which
                // keeps an input O(n log n) instead of O(n²).
                let mut checked: Option<TreeHead> = None;
                for (o, want) in out.iter().zip(want) {
                    assert_eq!(o.receipt.leaf_index, want, "leaf index");
                    let head = match checked {
                        Some(h) => {
                            h.verify_inclusion(&o.receipt.node_id.leaf_hash(), &o.receipt.inclusion).expect("receipt verifies");
                            h
                        }
                        None => {
                            let ev = ledger.trust_root().verify_receipt(&o.receipt, at).expect("receipt verifies");
                            let size = ev.head.size().get() as usize;
                            assert_eq!(ev.head.root(), mth(&ids[..size].iter().map(NodeId::leaf_hash).collect::<Vec<_>>()));
                            heads.push(ev.head);
                            checked = Some(ev.head);
                            ev.head
                        }
                    };
                    assert_eq!(head.size().get(), o.receipt.inclusion.size().get());
                }
            }
            Op::Duplicate(i) => {
                if let Some(id) = ids.get(usize::from(i) % ids.len().max(1)).copied() {
                    let bytes = ledger.reader().node(&id).expect("stored").1;
                    let out = ledger.append_json(&[&bytes]).expect("dup append");
                    assert!(!out[0].created);
                    assert_eq!(out[0].receipt.leaf_index, index[&id]);
                }
            }
            Op::Anchor => {
                let a = ledger.anchor().expect("anchor");
                assert_eq!(a.payload().tree_size, ids.len() as u64);
                // The new anchor on its own; the whole chain is verified by `Verify` (full
                // verify), so an input does not re-verify every anchor at every anchor.
                let summary = ledger.trust_root().verify_anchor(&a).expect("anchor verifies").into_inner();
                let leaves: Vec<Digest> = ids.iter().map(NodeId::leaf_hash).collect();
                assert_eq!(summary.root, mth(&leaves).to_hex(), "anchored root is the reference root");
            }
            Op::Restart => {
                drop(ledger);
                ledger = Ledger::open(store.clone(), key(), AnchorPolicy::default()).expect("reopen");
            }
            Op::Prove(i) => {
                if let Some(id) = ids.get(usize::from(i) % ids.len().max(1)) {
                    let r = ledger.reader().prove(id, None).expect("prove");
                    let ev = ledger.trust_root().verify_receipt(&r, at).expect("verifies");
                    assert_eq!(ev.head.size().get(), ids.len() as u64);
                }
            }
            Op::Consistency(i) => {
                if let Some(old) = heads.get(usize::from(i) % heads.len().max(1)).copied() {
                    let n = TreeSize::new(ids.len() as u64).expect("size");
                    if old.size().get() > 0 && old.size() <= n {
                        let p = ledger.reader().consistency(old.size(), n).expect("consistency");
                        let new = TreeHead::new(n, mth(&ids.iter().map(NodeId::leaf_hash).collect::<Vec<_>>()));
                        new.verify_consistency(&old, &p).expect("consistent with every head ever signed");
                    }
                }
            }
            Op::Verify => {
                let r = evl_ledger::verify::verify(&ledger.reader(), evl_ledger::verify::Mode::Full, &mut |_, _| {}).expect("verify");
                assert!(r.ok(), "{:?}", r.failures);
                let chain = ledger.reader().verify_anchor_chain().expect("chain");
                assert!(chain.failure.is_none(), "{:?}", chain.failure);
            }
        }
    }
});
