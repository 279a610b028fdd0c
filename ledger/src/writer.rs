//! The writer: append with dedup and group commit, checkpoints, anchors (SPEC.md §4, §5, §7).

use crate::error::LedgerError;
use crate::reader::LedgerReader;
use crate::source::CachedSource;
use crate::state::{Shared, meta, read_identity};
use crate::store::{Batch, NewNode, Snapshot, Store, StoreError};
use evl_sdk::{
    Checkpoint, Digest, Frontier, LeafIndex, Node, NodeId, Receipt, SecretKey, Timestamp, TreeHead, TreeSize,
    TrustRoot, TrustedKey, prove_inclusion,
};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How many times a group is placed again after another process committed first (a shared
/// database's `CONFLICT`): each retry reloads the state, so only a writer that loses every race
/// (other front ends committing continuously) runs out, and its callers get `CONFLICT`.
const CONFLICT_RETRIES: u32 = 16;

/// The result of appending one node.
#[derive(Clone, Debug)]
pub struct AppendOutcome {
    /// The receipt: inclusion proof at the commit's tree size and its signed checkpoint.
    pub receipt: Receipt,
    /// False when the node was already in the log (its existing index is returned).
    pub created: bool,
}

/// Automatic anchoring (checked after each commit).
#[derive(Clone, Copy, Debug, Default)]
pub struct AnchorPolicy {
    /// Anchor when this many entries were appended since the last anchor.
    pub every_entries: Option<u64>,
    /// Anchor when the last anchor is this many seconds old and the tree grew.
    pub every_seconds: Option<u64>,
}

impl AnchorPolicy {
    /// The operators' default: anchor when the last anchor is 6 hours old and the tree grew.
    pub const DEFAULT_INTERVAL: AnchorPolicy = AnchorPolicy {
        every_entries: None,
        every_seconds: Some(6 * 3600),
    };
}

pub(crate) struct Inner<S: Store> {
    pub(crate) shared: Arc<Shared<S>>,
    pub(crate) key: SecretKey,
    pub(crate) policy: AnchorPolicy,
    pub(crate) writer: Mutex<Frontier>,
    /// Set when the stored right edge of the tree does not reproduce the latest signed
    /// checkpoint (damaged stored hashes): appends and anchors would sign a wrong root, so they
    /// are refused until `evl recover` repairs the hashes ([`Ledger::repair_locked`]).
    pub(crate) edge_fault: Mutex<Option<String>>,
    /// The newest anchor (seq and AnchorId) this process wrote or verified the whole stored
    /// chain through. While the store's last anchor is still that one, the chain up to it is
    /// known good (anchors are only added, by the writer this lock-holder is) and
    /// [`Ledger::anchor`] skips re-verifying it: a full check per anchor costs 4k-2 signature
    /// verifications for the k-th, quadratic over the ledger's life.
    pub(crate) chain_checked: Mutex<Option<(u64, NodeId)>>,
    /// Set when a commit failed because the disk was full or an I/O failure closed the store:
    /// writes cannot succeed until [`Ledger::write_health`] finds the store writable again.
    write_fault: Mutex<Option<String>>,
    /// The largest tree size this process committed (and so may have acknowledged). A store
    /// found smaller lost acknowledged commits (an asynchronously replicated database failed
    /// over): the writer then refuses to sign rather than sign a second root for a size.
    committed_size: std::sync::atomic::AtomicU64,
    queue: Mutex<Queue>,
    done: Condvar,
}

/// Whether `frontier` reproduces the latest signed checkpoint when it is for the same size.
fn edge_fault(snap: &impl Snapshot, frontier: &Frontier) -> Result<Option<String>, LedgerError> {
    let Some((size, text)) = snap.latest_checkpoint()? else {
        return Ok(None);
    };
    if size != frontier.size() {
        return Ok(None);
    }
    let root = evl_sdk::SignedCheckpoint::parse(text.as_bytes()).map(|c| c.checkpoint().head().root());
    Ok(match root {
        Ok(r) if r == frontier.root() => None,
        _ => Some(format!(
            "the stored hashes at the tree's right edge do not reproduce the signed checkpoint at size {size}; appending now would sign a wrong root"
        )),
    })
}

type Outcomes = Result<Vec<AppendOutcome>, Arc<LedgerError>>;

/// Where one appended node landed: its index, id, and whether it is new.
type Placed = (LeafIndex, NodeId, bool);

/// A group committed durably, before its receipts are built.
struct Committed {
    /// (ticket, its nodes' places).
    placed: Vec<(u64, Vec<Placed>)>,
    /// The hashes the commit stored, for proving without reading them back.
    known: Vec<((u32, u64), Digest)>,
    /// The tree head just signed.
    head: TreeHead,
    /// Its signed checkpoint.
    checkpoint: String,
}

#[derive(Default)]
struct Queue {
    pending: Vec<(u64, Vec<Node>)>,
    results: HashMap<u64, Outcomes>,
    next_ticket: u64,
    committing: bool,
}

/// The writer handle: append and anchor. Clone it freely; all clones share one group-commit queue.
pub struct Ledger<S: Store> {
    pub(crate) inner: Arc<Inner<S>>,
}

impl<S: Store> Clone for Ledger<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, LedgerError> {
    m.lock().map_err(|_| {
        LedgerError::Store(StoreError::Other(
            "a writer thread panicked; the ledger must be reopened".into(),
        ))
    })
}

impl<S: Store> Ledger<S> {
    /// Initializes an empty store for `origin` with `key`, valid from `not_before`.
    pub fn init(
        store: S,
        key: SecretKey,
        not_before: Timestamp,
        policy: AnchorPolicy,
    ) -> Result<Self, LedgerError> {
        let snap = store.snapshot()?;
        if snap.meta(meta::FORMAT)?.is_some() {
            return Err(LedgerError::Mismatch("the store is already initialized".into()));
        }
        let origin = key.public().name().to_owned();
        let trust = TrustRoot::new(
            &origin,
            vec![TrustedKey::new(key.public().clone(), not_before, None, false)],
        )
        .map_err(|e| LedgerError::Mismatch(e.to_string()))?;
        let empty = Checkpoint::new(&origin, TreeHead::new(TreeSize::ZERO, evl_sdk::empty_root()))
            .and_then(|c| c.sign(&key))
            .map_err(|e| LedgerError::Mismatch(e.to_string()))?;
        let format = store.snapshot()?.format();
        store.commit(Batch {
            checkpoints: vec![(TreeSize::ZERO, empty.to_text())],
            meta: vec![
                (meta::FORMAT.into(), format.as_bytes().to_vec()),
                (meta::ORIGIN.into(), origin.as_bytes().to_vec()),
                (meta::TRUST_ROOT.into(), trust.to_json()),
            ],
            ..Batch::default()
        })?;
        Self::open(store, key, policy)
    }

    /// Opens an initialized store; `key` must be in its trust root.
    pub fn open(store: S, key: SecretKey, policy: AnchorPolicy) -> Result<Self, LedgerError> {
        let snap = store.snapshot()?;
        let (origin, trust) = read_identity(&snap)?;
        if trust.find(key.public().name(), key.public().id()).is_none() {
            return Err(LedgerError::Mismatch(format!(
                "signing key {} is not in this store's trust root",
                key.public().vkey()
            )));
        }
        let size = snap.tree_size()?;
        let frontier = Frontier::load(&crate::store::SnapshotSource(&snap), size)?;
        let fault = edge_fault(&snap, &frontier)?;
        drop(snap);
        Ok(Self {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared { store, origin, trust }),
                key,
                policy,
                writer: Mutex::new(frontier),
                edge_fault: Mutex::new(fault),
                chain_checked: Mutex::new(None),
                write_fault: Mutex::new(None),
                committed_size: std::sync::atomic::AtomicU64::new(0),
                queue: Mutex::new(Queue::default()),
                done: Condvar::new(),
            }),
        })
    }

    /// Runs a store repair (`crate::recovery`) with the writer lock held, so no append or anchor
    /// runs meanwhile, then reloads the in-memory frontier from the repaired store. `f` writes
    /// nothing when it fails (the `Store::repair` contract), so the frontier stays as it was.
    pub(crate) fn repair_locked<T>(
        &self,
        f: impl FnOnce(&S) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let mut w = lock(&self.inner.writer)?;
        // Other processes' writers (a shared database) wait too.
        let _held = self.inner.shared.store.writer_lock()?;
        let out = f(&self.inner.shared.store)?;
        let snap = self.inner.shared.store.snapshot()?;
        *w = Frontier::load(&crate::store::SnapshotSource(&snap), snap.tree_size()?)?;
        *lock(&self.inner.edge_fault)? = edge_fault(&snap, &w)?;
        Ok(out)
    }

    /// Appends records the ledger writes itself (never through [`Ledger::append`]) together
    /// with the redactions they record, in one commit under the writer lock (SPEC.md §3.4;
    /// `crate::retention`). `build` sees the committed state and returns, per redaction, the
    /// redacted leaf and its `redaction/v1` node; it runs under the lock, so what it checked
    /// still holds at the commit. Returns (redacted leaf, record leaf, record NodeId) in order.
    pub(crate) fn commit_records(
        &self,
        build: impl FnOnce(&S::Snapshot) -> Result<Vec<(LeafIndex, Node)>, LedgerError>,
    ) -> Result<Vec<(LeafIndex, LeafIndex, NodeId)>, LedgerError> {
        let inner = &self.inner;
        let mut w = lock(&inner.writer)?;
        let _held = inner.shared.store.writer_lock()?;
        let snap = inner.shared.store.snapshot()?;
        self.follow(&mut w, &snap)?;
        self.check_edge()?;
        let records = build(&snap)?;
        let mut frontier = w.clone();
        let mut batch = Batch {
            expect: Some(snap.version()?),
            ..Batch::default()
        };
        let mut out = Vec::with_capacity(records.len());
        for (target, node) in records {
            let id = node.id();
            if snap.index_of(&id)?.is_some() {
                return Err(LedgerError::OutOfRange(format!(
                    "record {id} is already in the log"
                )));
            }
            let index = frontier.size().next_index();
            let stored = frontier
                .push(id.leaf_hash())
                .ok_or_else(|| LedgerError::OutOfRange("the log is full".into()))?;
            batch.hashes.extend(stored);
            batch.nodes.push(NewNode {
                index,
                id,
                bytes: node.into_bytes(),
            });
            batch.redact.push(crate::store::Redact {
                index: target,
                record: index,
            });
            out.push((target, index, id));
        }
        drop(snap);
        if out.is_empty() {
            return Ok(out);
        }
        let size = frontier.size();
        let text = self.sign_checkpoint(TreeHead::new(size, frontier.root()))?;
        batch.tree_size = Some(size);
        batch.checkpoints.push((size, text));
        self.commit_locked(&mut w, batch)?;
        *w = frontier;
        Ok(out)
    }

    /// The signing key (for pack manifests, `crate::pack`).
    pub(crate) fn signing_key(&self) -> &SecretKey {
        &self.inner.key
    }

    /// Refuses to sign while the stored right edge is damaged (see `Inner::edge_fault`).
    pub(crate) fn check_edge(&self) -> Result<(), LedgerError> {
        match lock(&self.inner.edge_fault)?.as_ref() {
            Some(m) => Err(LedgerError::Integrity {
                code: evl_sdk::ErrorCode::MerkleMismatch,
                message: m.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Brings the writer's frontier up to `snap` when another process committed since this one
    /// last wrote (several front ends on one shared database: each commit's precondition is
    /// checked by the store, so a stale frontier only costs this reload). A no-op for a store
    /// that only this process writes.
    pub(crate) fn follow(&self, w: &mut Frontier, snap: &S::Snapshot) -> Result<(), LedgerError> {
        let size = snap.tree_size()?;
        let committed = self
            .inner
            .committed_size
            .load(std::sync::atomic::Ordering::Acquire);
        if size.get() < committed {
            return Err(LedgerError::Integrity {
                code: evl_sdk::ErrorCode::TreeShrank,
                message: format!(
                    "the store holds tree size {size}, but this process committed tree size {committed}: acknowledged commits are gone (a database restored or failed over to a replica that lacked them); nothing is signed until an operator restores them (docs/operations/postgresql.md)"
                ),
            });
        }
        if size != w.size() {
            tracing::debug!(from = w.size().get(), to = size.get(), "following the store");
            *w = Frontier::load(&crate::store::SnapshotSource(snap), size)?;
            let mut fault = edge_fault(snap, w)?;
            if fault.is_some() {
                // Perhaps a cache of the store's rows from before the store went back: read
                // them again before calling the edge damaged.
                self.inner.shared.store.forget_caches();
                *w = Frontier::load(&crate::store::SnapshotSource(snap), size)?;
                fault = edge_fault(snap, w)?;
            }
            *lock(&self.inner.edge_fault)? = fault;
        }
        Ok(())
    }

    /// A read handle sharing this ledger's store.
    pub fn reader(&self) -> LedgerReader<S> {
        LedgerReader::from_shared(self.inner.shared.clone())
    }

    /// The trust root verifiers need.
    pub fn trust_root(&self) -> &TrustRoot {
        &self.inner.shared.trust
    }

    /// Appends JSON documents (any whitespace or member order): each is canonicalized and
    /// checked first; if any is rejected nothing is appended and the error names its position.
    pub fn append_json(&self, docs: &[&[u8]]) -> Result<Vec<AppendOutcome>, LedgerError> {
        let mut nodes = Vec::with_capacity(docs.len());
        for (i, d) in docs.iter().enumerate() {
            nodes.push(Node::from_json(d).map_err(|error| LedgerError::Rejected { index: i, error })?);
        }
        self.append(nodes)
    }

    /// Appends nodes. Returns when they are durable, with one receipt per node (SPEC.md §5.4).
    /// Concurrent callers share one commit and one signed checkpoint (group commit).
    /// `score.manifest/v1` and `proof.bundle/v1` nodes are checked first
    /// ([`evl_sdk::bundle::check_node`]); if one is rejected, nothing of the batch is appended.
    ///
    /// Records that change how other nodes are read ([`evl_sdk::node::changes_reads`]) are
    /// refused: a `redaction/v1` always (the log writes those itself), a `corruption/v1` unless
    /// appended with [`Ledger::append_admin`] by an operator.
    pub fn append(&self, nodes: Vec<Node>) -> Result<Vec<AppendOutcome>, LedgerError> {
        self.append_as(nodes, false)
    }

    /// [`Ledger::append`] on an operator's authority (an admin token, `evl mark-corrupted`): may
    /// also append `corruption/v1` records.
    pub fn append_admin(&self, nodes: Vec<Node>) -> Result<Vec<AppendOutcome>, LedgerError> {
        self.append_as(nodes, true)
    }

    fn append_as(&self, nodes: Vec<Node>, admin: bool) -> Result<Vec<AppendOutcome>, LedgerError> {
        let _span = tracing::debug_span!("append", nodes = nodes.len()).entered();
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        // SPEC.md §15.6: manifests and bundles pass their trust-free checks before anything is
        // queued, so a rejected one leaves the whole batch unappended.
        for (index, n) in nodes.iter().enumerate() {
            evl_sdk::bundle::check_node(n).map_err(|error| LedgerError::Bundle { index, error })?;
            // SPEC.md §3.4: a log writes redaction records itself, in the commit that deletes
            // the content; one appended by a client would claim a redaction that never happened.
            if n.node_type() == evl_sdk::redaction::REDACTION_TYPE {
                return Err(LedgerError::Rejected {
                    index,
                    error: evl_sdk::NodeError::Invalid(
                        "redaction/v1 records are written only by the log's own redaction (its retention cleanup)",
                    ),
                });
            }
            // SPEC.md §3.5: a corruption record makes reads of the node it names fail; only an
            // operator may claim that content was lost.
            if !admin && evl_sdk::node::changes_reads(n.node_type()) {
                return Err(LedgerError::Rejected {
                    index,
                    error: evl_sdk::NodeError::Invalid(
                        "corruption/v1 records are appended only on an operator's authority (an admin token)",
                    ),
                });
            }
        }
        let inner = &self.inner;
        let mut q = lock(&inner.queue)?;
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.pending.push((ticket, nodes));
        loop {
            if let Some(r) = q.results.remove(&ticket) {
                return r.map_err(LedgerError::Group);
            }
            // Wait while a group is being committed, or while nothing is queued (this
            // caller's nodes are then in a group whose receipts are being built).
            if q.committing || q.pending.is_empty() {
                q = inner.done.wait(q).map_err(|_| {
                    LedgerError::Store(StoreError::Other("the group-commit queue is poisoned".into()))
                })?;
                continue;
            }
            // Become the leader: commit everything queued so far. Once the commit is durable
            // the next leader may start its own while this one builds the receipts (on the
            // other core), so proving and checking receipts is off the commit path.
            q.committing = true;
            let group = std::mem::take(&mut q.pending);
            drop(q);
            let committed = self.commit_group(&group);
            q = lock(&inner.queue)?;
            q.committing = false;
            inner.done.notify_all();
            drop(q);
            let results = committed.and_then(|c| self.receipts(c));
            q = lock(&inner.queue)?;
            match results {
                Ok(mut per) => {
                    for (t, _) in &group {
                        let r = per.remove(t).unwrap_or_else(|| {
                            Err(Arc::new(LedgerError::Store(StoreError::Other(
                                "internal: a group-commit result is missing".into(),
                            ))))
                        });
                        q.results.insert(*t, r);
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    for (t, _) in &group {
                        q.results.insert(*t, Err(e.clone()));
                    }
                }
            }
            inner.done.notify_all();
        }
    }

    /// Commits a group durably under the writer lock (and anchors if the policy says so); the
    /// receipts are [`Ledger::receipts`]' work, outside the lock.
    fn commit_group(&self, group: &[(u64, Vec<Node>)]) -> Result<Committed, LedgerError> {
        let mut w = lock(&self.inner.writer)?;
        let _held = self.inner.shared.store.writer_lock()?;
        // Another process on a shared database may commit between this one's snapshot and its
        // commit: the store refuses the batch (CONFLICT, nothing written), and the group is
        // placed again on the state it now holds, a bounded number of times.
        let mut conflicts = 0;
        loop {
            match self.commit_group_locked(&mut w, group) {
                Err(LedgerError::Store(StoreError::Conflict { .. })) if conflicts < CONFLICT_RETRIES => {
                    conflicts += 1;
                }
                r => return r,
            }
        }
    }

    /// [`Ledger::commit_group`] once, on the store's current state.
    fn commit_group_locked(
        &self,
        w: &mut Frontier,
        group: &[(u64, Vec<Node>)],
    ) -> Result<Committed, LedgerError> {
        let inner = &self.inner;
        let snap = inner.shared.store.snapshot()?;
        self.follow(w, &snap)?;
        self.check_edge()?;
        let mut frontier = w.clone();
        let old_size = frontier.size();
        let mut batch = Batch {
            expect: Some(snap.version()?),
            ..Batch::default()
        };
        let mut in_batch: HashMap<NodeId, LeafIndex> = HashMap::new();
        let mut known = Vec::new();
        // (ticket, [(index, id, created)])
        let mut placed: Vec<(u64, Vec<Placed>)> = Vec::with_capacity(group.len());
        let started = std::time::Instant::now();
        // Which of the group's nodes are stored already: one batched lookup (one round trip
        // to a networked store).
        let t = std::time::Instant::now();
        let ids: Vec<NodeId> = group
            .iter()
            .flat_map(|(_, nodes)| nodes.iter().map(Node::id))
            .collect();
        let stored_at: HashMap<NodeId, LeafIndex> = ids
            .iter()
            .zip(snap.index_of_many(&ids)?)
            .filter_map(|(id, at)| Some((*id, at?)))
            .collect();
        let dedup = t.elapsed();
        for (ticket, nodes) in group {
            let mut mine = Vec::with_capacity(nodes.len());
            for n in nodes {
                let id = n.id();
                if let Some(i) = in_batch.get(&id) {
                    mine.push((*i, id, false));
                    continue;
                }
                let stored = stored_at.get(&id).copied();
                if let Some(i) = stored {
                    mine.push((i, id, false));
                    continue;
                }
                let index = frontier.size().next_index();
                let stored = frontier
                    .push(id.leaf_hash())
                    .ok_or_else(|| LedgerError::OutOfRange("the log is full".into()))?;
                for s in &stored {
                    known.push(((s.level, s.index), s.hash));
                }
                batch.hashes.extend(stored);
                batch.nodes.push(NewNode {
                    index,
                    id,
                    bytes: n.bytes().to_vec(),
                });
                in_batch.insert(id, index);
                mine.push((index, id, true));
            }
            placed.push((*ticket, mine));
        }
        let size = frontier.size();
        let checkpoint = if size != old_size {
            let text = self.sign_checkpoint(TreeHead::new(size, frontier.root()))?;
            batch.tree_size = Some(size);
            batch.checkpoints.push((size, text.clone()));
            text
        } else {
            match snap.checkpoint(size)? {
                Some(t) => t,
                None => {
                    let text = self.sign_checkpoint(TreeHead::new(size, frontier.root()))?;
                    batch.checkpoints.push((size, text.clone()));
                    text
                }
            }
        };
        let anchor_due = self.anchor_due(&snap, size)?;
        drop(snap);
        let seq = started.elapsed().saturating_sub(dedup);
        crate::profile::add(crate::profile::Phase::Dedup, dedup);
        crate::profile::add(crate::profile::Phase::Sequence, seq);
        crate::profile::group();
        if !batch.nodes.is_empty() || !batch.checkpoints.is_empty() {
            let _c = tracing::debug_span!("commit", new = batch.nodes.len(), size = size.get()).entered();
            self.commit_locked(w, batch)?;
        }
        *w = frontier;
        if anchor_due {
            // The append is already durable; a failed policy anchor is logged, not reported to
            // the appender.
            if let Err(e) = self.anchor_locked(w, crate::time::now()) {
                tracing::warn!(error = %e, "policy anchor failed");
            }
        }
        Ok(Committed {
            placed,
            known,
            head: TreeHead::new(size, w.root()),
            checkpoint,
        })
    }

    /// The receipts of a committed group, proven at its size from the committed state plus the
    /// batch's hashes, each checked against the root just signed before it is handed out.
    fn receipts(&self, c: Committed) -> Result<HashMap<u64, Outcomes>, LedgerError> {
        let started = std::time::Instant::now();
        let snap = self.inner.shared.store.snapshot()?;
        let src = CachedSource::new(&snap, c.known);
        let size = c.head.size();
        let mut out = HashMap::new();
        for (ticket, mine) in c.placed {
            let mut receipts = Vec::with_capacity(mine.len());
            for (index, id, created) in mine {
                let inclusion = prove_inclusion(&src, index, size)?;
                let receipt = Receipt {
                    node_id: id,
                    leaf_index: index.get(),
                    inclusion,
                    checkpoint: c.checkpoint.clone(),
                };
                crate::answer::check_inclusion(&c.head, &receipt)?;
                receipts.push(AppendOutcome { receipt, created });
            }
            out.insert(ticket, Ok(receipts));
        }
        crate::profile::add(crate::profile::Phase::Receipts, started.elapsed());
        Ok(out)
    }

    /// Commits `batch` with the writer lock held (`w` is its frontier). The batch carries its
    /// precondition ([`Batch::expect`]); when another writer committed first, nothing is
    /// written, the frontier is reloaded from the store, and the caller gets `CONFLICT`.
    fn commit_locked(&self, w: &mut Frontier, batch: Batch) -> Result<(), LedgerError> {
        let size = batch.tree_size.map(TreeSize::get);
        let result = self.inner.shared.store.commit(batch);
        if let (Ok(()), Some(size)) = (&result, size) {
            self.inner
                .committed_size
                .fetch_max(size, std::sync::atomic::Ordering::AcqRel);
        }
        match result {
            Err(e @ StoreError::Conflict { .. }) => {
                tracing::warn!(error = %e, "commit conflict: reloading the writer's state");
                let snap = self.inner.shared.store.snapshot()?;
                *w = Frontier::load(&crate::store::SnapshotSource(&snap), snap.tree_size()?)?;
                *lock(&self.inner.edge_fault)? = edge_fault(&snap, w)?;
                Err(LedgerError::Store(e))
            }
            Err(e @ (StoreError::Full(_) | StoreError::Unavailable(_))) => {
                *lock(&self.inner.write_fault)? = Some(format!("{} ({})", e.code(), e));
                Err(LedgerError::Store(e))
            }
            r => {
                r?;
                *lock(&self.inner.write_fault)? = None;
                Ok(())
            }
        }
    }

    /// Whether writes can succeed now (what `/health/readiness` reports). After a commit failed
    /// because the disk was full or an I/O failure closed the store, this probes the store with
    /// an empty durable commit, which reopens it once space has returned; success clears the
    /// fault. Without a fault it costs nothing.
    pub fn write_health(&self) -> Result<(), LedgerError> {
        if lock(&self.inner.write_fault)?.is_none() {
            return Ok(());
        }
        let _w = lock(&self.inner.writer)?;
        match self.inner.shared.store.probe_writable() {
            Ok(()) => {
                *lock(&self.inner.write_fault)? = None;
                tracing::info!("the store is writable again");
                Ok(())
            }
            Err(e) => Err(LedgerError::Store(e)),
        }
    }

    pub(crate) fn sign_checkpoint(&self, head: TreeHead) -> Result<String, LedgerError> {
        Checkpoint::new(&self.inner.shared.origin, head)
            .and_then(|c| c.sign(&self.inner.key))
            .map(|c| c.to_text())
            .map_err(|e| LedgerError::Mismatch(e.to_string()))
    }
}
