//! Model-based: random append / duplicate append / anchor / restart / verify sequences against a
//! simple in-memory reference (a list of leaf hashes and a naive recursive RFC 6962 root). The
//! ledger and the reference must agree on every receipt, root and proof.
//!
//! Cost: under coverage instrumentation an Ed25519 signature or verification takes about 0.1 ms
//! and dominates everything else, so an input gets a budget of them ([`FUEL`]) and an operation
//! that would overspend it is skipped. Within it the model checks everything: the signature of
//! each distinct signed checkpoint is verified once, and every later receipt at the same
//! checkpoint text is checked against that verified head (its root equal to the reference root,
//! leaf index, inclusion proof). Receipts, proofs and duplicate appends cost no fuel.
#![no_main]
use arbitrary::{Arbitrary, Unstructured};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::{Digest, NodeId, Receipt, SecretKey, Timestamp, TreeHead, TreeSize, node_hash, sha256};
use libfuzzer_sys::fuzz_target;
use std::collections::{HashMap, HashSet};

/// Operations read from one input; the rest of an input is ignored, so a grown corpus of long
/// inputs does not slow the target down.
const MAX_OPS: usize = 48;
/// Documents per append batch: in-batch duplicates and several tree levels per commit (leaves
/// are cheap; a commit signs once however many it holds).
const MAX_BATCH: usize = 16;
/// Ed25519 operations (signatures, verifications, key derivations) an input may spend after
/// `Ledger::init` (about 3, the same again in parsing and libFuzzer's own work). 10 keep an
/// execution near 1.1 ms of CPU under coverage instrumentation, so a million executions fit in
/// about 20 minutes on one core; they buy, e.g., five commits, or a commit and two anchors, or a
/// commit, an anchor and a restart or a full verification, plus any number of cheap operations.
/// The price: a chain walk over two anchors (a consistency proof between anchors, 9 for a full
/// verification) does not fit; `Consistency` checks the same proofs against the reference.
const FUEL: u32 = 10;

/// Ed25519 operations `op` costs with `anchors` anchors stored; `None` for the cheap ones.
/// An append that creates a leaf signs a checkpoint and the model verifies it (2); a restart
/// derives the key from its seed and parses the trust root (3). `Ledger::anchor` verifies the
/// stored chain pairwise (each anchor's envelope and checkpoint, every anchor but the first
/// twice: 4k - 2 for k anchors) and signs; the model verifies the new anchor (2). A full
/// verification checks the latest and every anchored checkpoint, then walks the chain.
fn cost(op: &Op, anchors: u32) -> Option<u32> {
    let walk = if anchors == 0 { 0 } else { 4 * anchors - 2 };
    match op {
        Op::Append(docs) if !docs.is_empty() => Some(2),
        Op::Restart => Some(3),
        Op::Anchor => Some(3 + walk),
        Op::Verify => Some(1 + anchors + walk),
        _ => None,
    }
}

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

fn doc(i: u16) -> Vec<u8> {
    format!(r#"{{"type":"x-model","i":{i}}}"#).into_bytes()
}

/// The reference log: leaves in order, the index of each id, and the RFC 6962 root by its
/// recursive definition. The log is append-only, so the hash of a range of leaves never changes:
/// it is memoized, which makes a root O(log n) once its left subtrees are known instead of O(n).
#[derive(Default)]
struct Reference {
    ids: Vec<NodeId>,
    leaves: Vec<Digest>,
    index: HashMap<NodeId, u64>,
    memo: HashMap<(usize, usize), Digest>,
}

impl Reference {
    /// The index `id` has (a new id gets the next one).
    fn place(&mut self, id: NodeId) -> u64 {
        let (ids, leaves) = (&mut self.ids, &mut self.leaves);
        *self.index.entry(id).or_insert_with(|| {
            ids.push(id);
            leaves.push(id.leaf_hash());
            leaves.len() as u64 - 1
        })
    }

    fn len(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// MTH(leaves[a..b]) (RFC 6962 §2.1).
    fn mth(&mut self, a: usize, b: usize) -> Digest {
        match b - a {
            0 => sha256(b""),
            1 => self.leaves[a],
            n => {
                if let Some(d) = self.memo.get(&(a, b)) {
                    return *d;
                }
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                let d = node_hash(&self.mth(a, a + k), &self.mth(a + k, b));
                self.memo.insert((a, b), d);
                d
            }
        }
    }

    fn head(&mut self, size: u64) -> TreeHead {
        let root = self.mth(0, size as usize);
        TreeHead::new(TreeSize::new(size).expect("size"), root)
    }
}

struct Model {
    reference: Reference,
    /// Every signed checkpoint seen, by its text, with its head: the signature is verified the
    /// first time a text is seen; afterwards equal text means the same verified head.
    heads: HashMap<String, TreeHead>,
    /// Heads in the order first seen (for consistency proofs to older heads).
    order: Vec<TreeHead>,
    at: Timestamp,
}

impl Model {
    /// Checks a receipt completely: signed head (signature once per distinct checkpoint), the
    /// head's root against the reference, leaf index, and the inclusion proof.
    fn check_receipt<S: evl_ledger::store::Store>(&mut self, ledger: &Ledger<S>, r: &Receipt) -> TreeHead {
        let head = match self.heads.get(&r.checkpoint) {
            Some(h) => {
                assert_eq!(
                    r.inclusion.index().get(),
                    r.leaf_index,
                    "leaf_index is the proof's index"
                );
                h.verify_inclusion(&r.node_id.leaf_hash(), &r.inclusion)
                    .expect("receipt verifies against its head");
                *h
            }
            None => {
                let ev = ledger
                    .trust_root()
                    .verify_receipt(r, self.at)
                    .expect("receipt verifies");
                let h = ev.head;
                assert_eq!(
                    h,
                    self.reference.head(h.size().get()),
                    "signed root is the reference root"
                );
                self.heads.insert(r.checkpoint.clone(), h);
                self.order.push(h);
                h
            }
        };
        assert_eq!(head.size(), r.inclusion.size(), "proof is at the head's size");
        assert_eq!(
            self.reference.index.get(&r.node_id),
            Some(&r.leaf_index),
            "leaf index"
        );
        head
    }
}

fn run(data: &[u8]) -> arbitrary::Result<()> {
    let mut u = Unstructured::new(data);
    let store = MemoryStore::new();
    let key = || SecretKey::from_seed("model.example/log", &[7; 32]).expect("key");
    let t0 = Timestamp::from_unix(0).expect("epoch");
    let mut ledger = Ledger::init(store.clone(), key(), t0, AnchorPolicy::default()).expect("init");
    let mut m = Model {
        reference: Reference::default(),
        heads: HashMap::new(),
        order: Vec::new(),
        at: Timestamp::from_unix(1_800_000_000).expect("t"),
    };
    let mut anchors: Vec<NodeId> = Vec::new();
    let mut fuel = FUEL;
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        let op = Op::arbitrary(&mut u)?;
        if let Some(c) = cost(&op, anchors.len() as u32) {
            if c > fuel {
                continue;
            }
            fuel -= c;
        }
        match op {
            Op::Append(docs) => {
                let docs: Vec<Vec<u8>> = docs.into_iter().take(MAX_BATCH).map(doc).collect();
                let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
                let out = ledger.append_json(&refs).expect("append");
                assert_eq!(out.len(), refs.len());
                let before = m.reference.len();
                let mut seen = HashSet::new();
                for o in &out {
                    let i = m.reference.place(o.receipt.node_id);
                    // New exactly when the reference had not seen it before this batch and it is
                    // its first occurrence in the batch.
                    assert_eq!(o.created, i >= before && seen.insert(i), "created flag");
                }
                for o in &out {
                    let head = m.check_receipt(&ledger, &o.receipt);
                    assert_eq!(
                        head.size().get(),
                        m.reference.len(),
                        "receipt at the size after the commit"
                    );
                }
                if !out.is_empty() && !out.iter().any(|o| o.created) {
                    fuel += 2; // charged, but nothing new: no checkpoint was signed (see `cost`)
                }
            }
            Op::Duplicate(i) => {
                if let Some(id) = m
                    .reference
                    .ids
                    .get(usize::from(i) % m.reference.ids.len().max(1))
                    .copied()
                {
                    let bytes = ledger.reader().node(&id).expect("stored").1;
                    let out = ledger.append_json(&[&bytes]).expect("dup append");
                    assert!(!out[0].created);
                    assert_eq!(out[0].receipt.node_id, id);
                    let head = m.check_receipt(&ledger, &out[0].receipt);
                    assert_eq!(head.size().get(), m.reference.len());
                }
            }
            Op::Anchor => {
                let a = ledger.anchor().expect("anchor");
                let p = a.payload();
                assert_eq!(p.tree_size, m.reference.len());
                assert_eq!(p.seq, anchors.len() as u64);
                assert_eq!(p.prev, anchors.last().copied(), "chained to the previous anchor");
                // The new anchor on its own; the whole chain is verified by the next anchor
                // (`Ledger::anchor` walks it) and by `Verify`.
                let summary = ledger
                    .trust_root()
                    .verify_anchor(&a)
                    .expect("anchor verifies")
                    .into_inner();
                let root = m.reference.head(m.reference.len()).root();
                assert_eq!(summary.root, root, "anchored root is the reference root");
                anchors.push(a.id());
            }
            Op::Restart => {
                drop(ledger);
                ledger = Ledger::open(store.clone(), key(), AnchorPolicy::default()).expect("reopen");
            }
            Op::Prove(i) => {
                if let Some(id) = m
                    .reference
                    .ids
                    .get(usize::from(i) % m.reference.ids.len().max(1))
                    .copied()
                {
                    let r = ledger.reader().prove(&id, None).expect("prove");
                    let head = m.check_receipt(&ledger, &r);
                    assert_eq!(head.size().get(), m.reference.len());
                }
            }
            Op::Consistency(i) => {
                if let Some(old) = m.order.get(usize::from(i) % m.order.len().max(1)).copied() {
                    let n = m.reference.len();
                    if old.size().get() > 0 && old.size().get() <= n {
                        let new = m.reference.head(n);
                        let p = ledger
                            .reader()
                            .consistency(old.size(), new.size())
                            .expect("consistency");
                        new.verify_consistency(&old, &p)
                            .expect("consistent with every head ever signed");
                    }
                }
            }
            Op::Verify => {
                let r = evl_ledger::verify::verify(
                    &ledger.reader(),
                    evl_ledger::verify::Mode::Full,
                    &mut |_, _| {},
                )
                .expect("verify");
                // Step 4 of `verify` is the anchor chain (`verify_anchor_chain`); a break is a failure.
                assert!(r.ok(), "{:?}", r.failures);
                assert_eq!(r.tree_size, m.reference.len());
                assert_eq!(r.nodes_checked, m.reference.len());
                assert_eq!(r.anchors_verified, anchors.len() as u64);
            }
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
