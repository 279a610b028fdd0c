//! The read handle: nodes, proofs, checkpoints and anchors (STYLE rule 11: no signing key here).

use crate::answer::{CheckpointCache, check_consistency, check_receipt};
use crate::error::{LedgerError, Next};
use crate::records::{RecordIndex, contains};
use crate::source::prefetched;
use crate::state::{Shared, read_identity};
use crate::store::{Snapshot, SnapshotSource, Store, StoreError};
use evl_sdk::anchor::AnchorSummary;
use evl_sdk::vex::{GroupKey, STATEMENT_TYPE, Statement};
use evl_sdk::{
    Anchor, ConsistencyProof, Digest, ErrorCode, LeafIndex, Node, NodeId, Receipt, TreeHead, TreeSize,
    TrustRoot, prove_consistency, prove_inclusion,
};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// Read access to a ledger. Cheap to clone.
pub struct LedgerReader<S: Store> {
    shared: Arc<Shared<S>>,
    /// `corruption/v1` records seen so far (consulted only when stored content is damaged).
    records: Arc<Mutex<RecordIndex>>,
    /// The last checkpoint whose signature verified (answers are checked before they leave).
    checked: Arc<CheckpointCache>,
}

impl<S: Store> Clone for LedgerReader<S> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            records: self.records.clone(),
            checked: self.checked.clone(),
        }
    }
}

/// One stored anchor, parsed if it parses.
#[derive(Debug)]
pub struct StoredAnchor {
    /// Its sequence number (the store key).
    pub seq: u64,
    /// The parsed anchor, or why it does not parse.
    pub anchor: Result<Anchor, evl_sdk::AnchorError>,
}

/// The outcome of verifying the stored anchor chain (SPEC.md §7.2).
#[derive(Debug, Serialize)]
pub struct ChainReport {
    /// Anchors that verified, in order.
    pub verified: Vec<AnchorSummary>,
    /// Segment breaks that verified (each with its reason).
    pub breaks: Vec<evl_sdk::anchor::SegmentBreak>,
    /// Anchors left behind in archived segments (not part of the verified chain).
    pub archived: Vec<u64>,
    /// The first failure, if the chain is broken: (seq, code, message).
    pub failure: Option<ChainFailure>,
    /// The last anchor that verified.
    pub last_good: Option<AnchorSummary>,
}

/// The tree as it stood at a stored anchor (as-of reads: `evl get|prove --as-of-anchor`).
#[derive(Clone, Debug)]
pub struct AsOfAnchor {
    /// The anchor's sequence number.
    pub seq: u64,
    /// Its tree size.
    pub tree_size: TreeSize,
    /// The signed checkpoint it embeds (SPEC.md §7.1).
    pub checkpoint: String,
}

impl AsOfAnchor {
    fn not_found(&self, id: &NodeId) -> LedgerError {
        LedgerError::NotFound(format!(
            "node {id} is not in the log as of anchor {} (tree size {})",
            self.seq, self.tree_size
        ))
    }
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, Serialize)]
pub struct ChainFailure {
    /// The anchor where verification failed.
    pub seq: u64,
    /// The stable code.
    pub code: &'static str,
    /// Detail.
    pub message: String,
}

impl<S: Store> LedgerReader<S> {
    pub(crate) fn from_shared(shared: Arc<Shared<S>>) -> Self {
        Self {
            shared,
            records: Arc::default(),
            checked: Arc::default(),
        }
    }

    /// Opens a store read-only (no signing key needed).
    pub fn open(store: S) -> Result<Self, LedgerError> {
        let snap = store.snapshot()?;
        let (origin, trust) = read_identity(&snap)?;
        drop(snap);
        Ok(Self::from_shared(Arc::new(Shared { store, origin, trust })))
    }

    /// The log origin.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }
    /// The trust root stored at init.
    pub fn trust_root(&self) -> &TrustRoot {
        &self.shared.trust
    }
    /// The store's format tag (`evl-store/1`, `evl-store/2`).
    pub fn store_format(&self) -> Result<&'static str, LedgerError> {
        Ok(self.snapshot()?.format())
    }
    /// Store statistics.
    pub fn stats(&self) -> crate::store::StoreStats {
        self.shared.store.stats()
    }
    pub(crate) fn snapshot(&self) -> Result<S::Snapshot, LedgerError> {
        Ok(self.shared.store.snapshot()?)
    }

    /// The committed tree size.
    pub fn tree_size(&self) -> Result<TreeSize, LedgerError> {
        Ok(self.snapshot()?.tree_size()?)
    }

    /// The latest signed checkpoint (note text) and its size.
    pub fn latest_checkpoint(&self) -> Result<(TreeSize, String), LedgerError> {
        self.snapshot()?
            .latest_checkpoint()?
            .ok_or_else(|| LedgerError::NotFound("no checkpoint yet".into()))
    }

    /// The root hash at `size`.
    pub fn root_at(&self, size: TreeSize) -> Result<Digest, LedgerError> {
        let snap = self.snapshot()?;
        if size > snap.tree_size()? {
            return Err(LedgerError::OutOfRange(format!(
                "size {size} is beyond the tree ({})",
                snap.tree_size()?
            )));
        }
        Ok(evl_sdk::root(&SnapshotSource(&snap), size)?)
    }

    /// A node's index and canonical bytes.
    pub fn node(&self, id: &NodeId) -> Result<(LeafIndex, Vec<u8>), LedgerError> {
        let snap = self.snapshot()?;
        let index = self
            .locate(&snap, id)?
            .ok_or_else(|| LedgerError::NotFound(format!("node {id} is not in the log")))?;
        self.node_at(&snap, id, index)
    }

    /// The leaf index of `id`: the id map's answer, or, when the map has fewer entries than the
    /// tree has leaves (a damaged id map lost some), a scan of the stored leaf hashes for it, so a
    /// node in the log is never answered "not found" because its id-map entry is gone. Each node
    /// found that way is logged and counted ([`crate::id_map_fallbacks`]).
    fn locate(&self, snap: &S::Snapshot, id: &NodeId) -> Result<Option<LeafIndex>, LedgerError> {
        if let Some(i) = snap.index_of(id)? {
            return Ok(Some(i));
        }
        let size = snap.tree_size()?.get();
        match snap.id_count()? {
            Some(n) if n < size => {}
            _ => return Ok(None),
        }
        let want = id.leaf_hash();
        let mut found = None;
        snap.scan_hashes(0, 0, size, &mut |i, h| {
            if h == Some(want) {
                found = LeafIndex::new(i);
            }
            found.is_none()
        })?;
        if let Some(i) = found {
            crate::answer::count_id_map_fallback();
            tracing::warn!(%id, leaf = i.get(), "the id map has no entry for a node in the log (damaged id map); found it by a scan");
        }
        Ok(found)
    }

    fn node_at(
        &self,
        snap: &S::Snapshot,
        id: &NodeId,
        index: LeafIndex,
    ) -> Result<(LeafIndex, Vec<u8>), LedgerError> {
        let bytes = snap
            .node(index)?
            .ok_or_else(|| crate::records::missing_content(snap, id, index))?;
        // Never serve content that does not hash to its NodeId (SPEC.md §3.1 rule 3).
        if NodeId::of_canonical(&bytes) != *id {
            let i = index.get();
            let record = self
                .records
                .lock()
                .map_err(|_| LedgerError::Store(StoreError::Other("record index lock poisoned".into())))?
                .find(snap, i, id)?;
            return Err(LedgerError::Integrity {
                code: match record {
                    Some(_) => ErrorCode::Corrupted,
                    None => ErrorCode::NodeIdMismatch,
                },
                message: match &record {
                    Some(r) => format!(
                        "the stored content of node {id} (leaf {i}) is lost: {}; a backup can put it back",
                        r.describe()
                    ),
                    None => format!("the stored content of node {id} (leaf {i}) is damaged"),
                },
            }
            .advise(match record {
                Some(_) => Next::RecoverContent,
                None => Next::RestoreContent { leaf: i },
            }));
        }
        Ok((index, bytes))
    }

    /// The tree as it stood at anchor `seq` (as-of reads). The stored anchor must parse, verify
    /// on its own under the trust root (signature and embedded checkpoint, SPEC.md §7.2 steps
    /// 1–3) and commit to this store's root at its tree size; whether it continues the chain is
    /// [`LedgerReader::verify_anchor_chain`]'s question. `NOT_FOUND` if no anchor has that seq.
    pub fn as_of_anchor(&self, seq: u64) -> Result<AsOfAnchor, LedgerError> {
        let snap = self.snapshot()?;
        self.as_of_in(&snap, seq)
    }

    fn as_of_in(&self, snap: &S::Snapshot, seq: u64) -> Result<AsOfAnchor, LedgerError> {
        let bytes = snap
            .anchor(seq)?
            .ok_or_else(|| LedgerError::NotFound(format!("no anchor with seq {seq}")))?;
        let integrity = |code: ErrorCode, message: String| LedgerError::Integrity { code, message };
        let anchor = Anchor::from_json(&bytes)
            .map_err(|e| integrity(e.code(), format!("stored anchor {seq}: {e}")))?;
        let summary = self
            .shared
            .trust
            .verify_anchor(&anchor)
            .map_err(|e| {
                integrity(
                    e.code(),
                    format!("stored anchor {seq} does not verify: {}", e.message()),
                )
            })?
            .into_inner();
        let tree = snap.tree_size()?;
        let size = Some(summary.tree_size).filter(|s| *s <= tree).ok_or_else(|| {
            integrity(
                ErrorCode::MerkleMismatch,
                format!(
                    "anchor {seq} is for tree size {}, beyond this store's tree ({tree})",
                    summary.tree_size
                ),
            )
        })?;
        if evl_sdk::root(&SnapshotSource(snap), size)? != summary.root {
            return Err(integrity(
                ErrorCode::MerkleMismatch,
                format!("anchor {seq} does not match this store's root at size {size}"),
            )
            .advise(Next::VerifyFull));
        }
        Ok(AsOfAnchor {
            seq,
            tree_size: size,
            checkpoint: anchor.payload().checkpoint.clone(),
        })
    }

    /// A node's index and canonical bytes as the log stood at anchor `seq`
    /// ([`LedgerReader::as_of_anchor`]): `NOT_FOUND` if it was appended after that anchor.
    pub fn node_as_of(&self, id: &NodeId, seq: u64) -> Result<(LeafIndex, Vec<u8>), LedgerError> {
        let snap = self.snapshot()?;
        let at = self.as_of_in(&snap, seq)?;
        match self.locate(&snap, id)? {
            Some(index) if at.tree_size.contains(index) => self.node_at(&snap, id, index),
            _ => Err(at.not_found(id)),
        }
    }

    /// A receipt for `id` as the log stood at anchor `seq`: the inclusion proof at the anchor's
    /// tree size with the checkpoint the anchor signed. `NOT_FOUND` if the node was appended
    /// after that anchor.
    pub fn prove_as_of(&self, id: &NodeId, seq: u64) -> Result<Receipt, LedgerError> {
        let snap = self.snapshot()?;
        let at = self.as_of_in(&snap, seq)?;
        let index = match self.locate(&snap, id)? {
            Some(index) if at.tree_size.contains(index) => index,
            _ => return Err(at.not_found(id)),
        };
        let inclusion = prefetched(&snap, |src| {
            prove_inclusion(src, index, at.tree_size).map_err(LedgerError::from)
        })?;
        let r = Receipt {
            node_id: *id,
            leaf_index: index.get(),
            inclusion,
            checkpoint: at.checkpoint,
        };
        check_receipt(&self.checked, &self.shared.trust, &r)?;
        Ok(r)
    }

    /// A receipt for `id` at `size` (default: the latest checkpoint). A signed checkpoint must
    /// exist for exactly that size (every commit and every anchor stores one).
    pub fn prove(&self, id: &NodeId, size: Option<TreeSize>) -> Result<Receipt, LedgerError> {
        let snap = self.snapshot()?;
        let index = self
            .locate(&snap, id)?
            .ok_or_else(|| LedgerError::NotFound(format!("node {id} is not in the log")))?;
        let (size, checkpoint) = match size {
            None => snap
                .latest_checkpoint()?
                .ok_or_else(|| LedgerError::NotFound("no checkpoint yet".into()))?,
            Some(s) => {
                let cp = snap.checkpoint(s)?.ok_or_else(|| {
                    LedgerError::NotFound(format!("no signed checkpoint at size {s}; ask for the latest one, or for a size at which one was signed (every commit and every anchor signs one)"))
                })?;
                (s, cp)
            }
        };
        if !size.contains(index) {
            return Err(LedgerError::OutOfRange(format!(
                "node {id} (index {index}) is not in the tree of size {size}"
            )));
        }
        let inclusion = prefetched(&snap, |src| {
            prove_inclusion(src, index, size).map_err(LedgerError::from)
        })?;
        let r = Receipt {
            node_id: *id,
            leaf_index: index.get(),
            inclusion,
            checkpoint,
        };
        check_receipt(&self.checked, &self.shared.trust, &r)?;
        Ok(r)
    }

    /// The consistency proof between two sizes (0 < from ≤ to ≤ tree size).
    pub fn consistency(&self, from: TreeSize, to: TreeSize) -> Result<ConsistencyProof, LedgerError> {
        let snap = self.snapshot()?;
        let size = snap.tree_size()?;
        if to > size {
            return Err(LedgerError::OutOfRange(format!(
                "size {to} is beyond the tree ({size})"
            )));
        }
        let proof = prefetched(&snap, |src| {
            prove_consistency(src, from, to).map_err(LedgerError::from)
        })?;
        let old = self.head_in(&snap, from)?;
        let new = self.head_in(&snap, to)?;
        check_consistency(&old, &new, &proof)?;
        Ok(proof)
    }

    /// The tree head at `size`: the signed checkpoint's root when one is stored for that size
    /// (its signature checked), otherwise the root computed from the stored hashes.
    fn head_in(&self, snap: &S::Snapshot, size: TreeSize) -> Result<TreeHead, LedgerError> {
        if let Some(text) = snap.checkpoint(size)? {
            return crate::answer::signed_head(&self.shared.trust, &text)
                .map_err(|m| LedgerError::Store(StoreError::Damaged(format!("size {size}: {m}"))));
        }
        let root = evl_sdk::root(&SnapshotSource(snap), size)?;
        Ok(TreeHead::new(size, root))
    }

    /// Every node of type `node_type` among the first `size` leaves (default: the whole tree), in
    /// leaf order, each with its leaf index.
    ///
    /// An O(n) scan of the log: there is no secondary index yet. A cheap byte prefilter on the
    /// canonical `"type":"<node_type>"` member skips most nodes without parsing them; candidates
    /// are then parsed (SPEC.md §3.2 read rules) and their `type` compared exactly. A node that
    /// appears at several leaves is returned once per leaf.
    pub fn nodes_of_type(
        &self,
        node_type: &str,
        size: Option<TreeSize>,
    ) -> Result<Vec<(LeafIndex, Node)>, LedgerError> {
        let mut out = Vec::new();
        self.scan_type(node_type, size, &mut |index, node| {
            out.push((index, node));
            Ok(())
        })?;
        Ok(out)
    }

    /// The node of type `node_type` at the highest leaf index, if any (an O(n) scan, see
    /// [`LedgerReader::nodes_of_type`]).
    pub fn latest_of_type(&self, node_type: &str) -> Result<Option<(LeafIndex, Node)>, LedgerError> {
        let mut last = None;
        self.scan_type(node_type, None, &mut |index, node| {
            last = Some((index, node));
            Ok(())
        })?;
        Ok(last)
    }

    /// The `vex.statement/v1` nodes about `key` (SPEC.md §14.6 step 2: same `vuln_id` and
    /// `product_key`, and for a subcomponent key no or a matching subcomponent), distinct by
    /// NodeId, in leaf order. Same as [`LedgerReader::statements_for_at`] over the whole tree.
    pub fn statements_for(&self, key: &GroupKey) -> Result<Vec<Node>, LedgerError> {
        self.statements_for_at(key, None)
    }

    /// The statements about `key` among the first `size` leaves (default: the whole tree), so
    /// that a consensus reads exactly the statements in the log at its checkpoint.
    ///
    /// An O(n) scan with a byte prefilter (see [`LedgerReader::nodes_of_type`]). A node typed
    /// `vex.statement/v1` that does not parse as a statement (appended through the generic
    /// append, which checks only SPEC.md §3.2) cannot be weighed: it is skipped with a warning.
    pub fn statements_for_at(
        &self,
        key: &GroupKey,
        size: Option<TreeSize>,
    ) -> Result<Vec<Node>, LedgerError> {
        let mut out: Vec<Node> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        self.scan_type(STATEMENT_TYPE, size, &mut |index, node| {
            match Statement::from_node(&node) {
                Ok(s) if key.matches(&s) => {
                    if seen.insert(node.id()) {
                        out.push(node);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(leaf = index.get(), id = %node.id(), error = %e, "malformed statement node skipped"),
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` with every node of type `node_type` among the first `size` leaves.
    fn scan_type(
        &self,
        node_type: &str,
        size: Option<TreeSize>,
        f: &mut dyn FnMut(LeafIndex, Node) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        let snap = self.snapshot()?;
        let tree = snap.tree_size()?;
        let end = match size {
            Some(s) if s > tree => {
                return Err(LedgerError::OutOfRange(format!(
                    "size {s} is beyond the tree ({tree})"
                )));
            }
            Some(s) => s,
            None => tree,
        };
        // Canonical JSON (SPEC.md §2.1) writes a member as `"type":"<value>"` with no
        // whitespace; inside a string value the quotes would be escaped, so the needle only
        // matches a real `type` member (of the node or of a nested object: the exact check
        // after parsing decides).
        let needle = format!("\"type\":{}", serde_json::Value::String(node_type.to_owned()));
        let needle = needle.as_bytes();
        let mut failure: Option<LedgerError> = None;
        snap.scan_nodes(0, end.get(), &mut |i, bytes| {
            if !contains(bytes, needle) {
                return true;
            }
            let index = LeafIndex::new(i);
            let node = match Node::from_canonical(bytes) {
                Ok(n) => n,
                Err(e) => {
                    failure = Some(LedgerError::Integrity {
                        code: e.code(),
                        message: format!("stored node at leaf {i} does not parse: {e}"),
                    });
                    return false;
                }
            };
            if node.node_type() != node_type {
                return true;
            }
            match index {
                Some(index) => match f(index, node) {
                    Ok(()) => true,
                    Err(e) => {
                        failure = Some(e);
                        false
                    }
                },
                None => {
                    failure = Some(LedgerError::OutOfRange(format!("leaf index {i} is out of range")));
                    false
                }
            }
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// Every stored anchor in sequence order.
    pub fn anchors(&self) -> Result<Vec<StoredAnchor>, LedgerError> {
        Ok(self
            .snapshot()?
            .anchors()?
            .into_iter()
            .map(|(seq, bytes)| StoredAnchor {
                seq,
                anchor: Anchor::from_json(&bytes),
            })
            .collect())
    }

    /// Verifies the stored anchor chain (SPEC.md §7.2) and that every anchor's root is this
    /// store's root at its size. Anchors of archived segments after their last good anchor are
    /// reported, not verified.
    pub fn verify_anchor_chain(&self) -> Result<ChainReport, LedgerError> {
        let snap = self.snapshot()?;
        let tree_size = snap.tree_size()?;
        let src = SnapshotSource(&snap);
        let trust = &self.shared.trust;
        let mut report = ChainReport {
            verified: Vec::new(),
            breaks: Vec::new(),
            archived: Vec::new(),
            failure: None,
            last_good: None,
        };
        let mut walk = evl_sdk::anchor::ChainWalk::new();
        for (seq, bytes) in snap.anchors()? {
            let fail = |code: ErrorCode, message: String| ChainFailure {
                seq,
                code: code.as_str(),
                message,
            };
            let anchor = match Anchor::from_json(&bytes) {
                Ok(a) => a,
                Err(e) => {
                    report.failure.get_or_insert(fail(e.code(), e.to_string()));
                    report.archived.push(seq);
                    continue;
                }
            };
            let p = anchor.payload().clone();
            // A new segment's genesis may archive anchors after its link (SPEC.md §7.3).
            let retired = walk.retire(&anchor);
            for s in retired.seqs {
                report.archived.push(s);
                report.verified.pop();
            }
            if retired.links_last {
                report.failure = None;
            } else if p.archived.is_none() && report.failure.is_some() {
                report.archived.push(seq);
                continue;
            }
            let prev = walk.last();
            let proof = match prev {
                Some(q)
                    if q.payload().tree_size > 0
                        && q.payload().tree_size < p.tree_size
                        && p.tree_size <= tree_size.get() =>
                {
                    let (m, n) = (TreeSize::new(q.payload().tree_size), TreeSize::new(p.tree_size));
                    match (m, n) {
                        (Some(m), Some(n)) => Some(prove_consistency(&src, m, n)?),
                        _ => None,
                    }
                }
                _ => None,
            };
            let pair: Vec<Anchor> = prev
                .into_iter()
                .cloned()
                .chain(std::iter::once(anchor.clone()))
                .collect();
            let proofs = if pair.len() == 2 {
                vec![None, proof]
            } else {
                vec![None]
            };
            match trust.verify_anchor_chain(&pair, &proofs) {
                Ok(ev) => {
                    // The anchor must commit to this store's tree.
                    let stored_root = TreeSize::new(p.tree_size)
                        .filter(|s| *s <= tree_size)
                        .map(|s| evl_sdk::root(&src, s))
                        .transpose()?;
                    let summary = ev.into_inner();
                    if stored_root != summary.anchors.last().map(|a| a.root) {
                        report.failure.get_or_insert(fail(
                            ErrorCode::MerkleMismatch,
                            format!(
                                "anchor {seq} does not match this store's root at size {}",
                                p.tree_size
                            ),
                        ));
                        report.archived.push(seq);
                        continue;
                    }
                    report.breaks.extend(summary.breaks);
                    if let Some(s) = summary.anchors.last() {
                        report.verified.push(s.clone());
                        report.last_good = Some(s.clone());
                    }
                    walk.push(anchor);
                }
                Err(e) => {
                    let mut msg = e.message().to_string();
                    if let Some(q) = prev
                        && p.seq > q.payload().seq + 1
                        && p.segment == q.payload().segment
                    {
                        msg = format!(
                            "anchors {}..{} are missing: {msg}",
                            q.payload().seq + 1,
                            p.seq - 1
                        );
                    }
                    report.failure.get_or_insert(fail(e.code(), msg));
                    report.archived.push(seq);
                }
            }
        }
        report.last_good = report.verified.last().cloned();
        Ok(report)
    }
}
