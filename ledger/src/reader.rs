//! The read handle: nodes, proofs, checkpoints and anchors (STYLE rule 11: no signing key here).

use crate::error::LedgerError;
use crate::ledger::{Shared, read_identity};
use crate::store::{Snapshot, SnapshotSource, Store, StoreError};
use evl_sdk::anchor::AnchorSummary;
use evl_sdk::tree::ProveError;
use evl_sdk::{
    Anchor, ConsistencyProof, Digest, ErrorCode, LeafIndex, NodeId, Receipt, TreeSize, TrustRoot,
    prove_consistency, prove_inclusion,
};
use serde::Serialize;
use std::sync::Arc;

/// Read access to a ledger. Cheap to clone.
pub struct LedgerReader<S: Store> {
    shared: Arc<Shared<S>>,
}

impl<S: Store> Clone for LedgerReader<S> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

fn prove_err(e: ProveError<StoreError>) -> LedgerError {
    match e {
        ProveError::Source(s) => LedgerError::Store(s),
        ProveError::OutOfRange(m) => LedgerError::OutOfRange(m.into()),
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
        Self { shared }
    }

    /// Opens a store read-only (no signing key needed).
    pub fn open(store: S) -> Result<Self, LedgerError> {
        let snap = store.snapshot()?;
        let (origin, trust) = read_identity(&snap)?;
        drop(snap);
        Ok(Self {
            shared: Arc::new(Shared { store, origin, trust }),
        })
    }

    /// The log origin.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }
    /// The trust root stored at init.
    pub fn trust_root(&self) -> &TrustRoot {
        &self.shared.trust
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
        let index = snap
            .index_of(id)?
            .ok_or_else(|| LedgerError::NotFound(format!("node {id} is not in the log")))?;
        let bytes = snap
            .node(index)?
            .ok_or_else(|| LedgerError::NotFound(format!("node {id} has no content")))?;
        Ok((index, bytes))
    }

    /// A receipt for `id` at `size` (default: the latest checkpoint). A signed checkpoint must
    /// exist for exactly that size (every commit and every anchor stores one).
    pub fn prove(&self, id: &NodeId, size: Option<TreeSize>) -> Result<Receipt, LedgerError> {
        let snap = self.snapshot()?;
        let index = snap
            .index_of(id)?
            .ok_or_else(|| LedgerError::NotFound(format!("node {id} is not in the log")))?;
        let (size, checkpoint) = match size {
            None => snap
                .latest_checkpoint()?
                .ok_or_else(|| LedgerError::NotFound("no checkpoint yet".into()))?,
            Some(s) => {
                let cp = snap.checkpoint(s)?.ok_or_else(|| {
                    LedgerError::NotFound(format!("no signed checkpoint at size {s}; omit --size, or use a size at which a checkpoint was signed (every commit and every anchor signs one; `evl anchor list` shows the anchored sizes)"))
                })?;
                (s, cp)
            }
        };
        if !size.contains(index) {
            return Err(LedgerError::OutOfRange(format!(
                "node {id} (index {index}) is not in the tree of size {size}"
            )));
        }
        let inclusion = prove_inclusion(&SnapshotSource(&snap), index, size).map_err(prove_err)?;
        Ok(Receipt {
            node_id: *id,
            leaf_index: index.get(),
            inclusion,
            checkpoint,
        })
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
        prove_consistency(&SnapshotSource(&snap), from, to).map_err(prove_err)
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
        let mut chain: Vec<Anchor> = Vec::new();
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
            // A new segment's genesis may archive anchors after its link.
            if let Some(link) = &p.archived {
                while chain.last().is_some_and(|a| a.payload().seq > link.last_seq) {
                    if let Some(a) = chain.pop() {
                        report.archived.push(a.payload().seq);
                        report.verified.pop();
                    }
                }
                if chain.last().is_some_and(|a| a.payload().seq == link.last_seq) {
                    report.failure = None;
                }
            } else if report.failure.is_some() {
                report.archived.push(seq);
                continue;
            }
            let prev = chain.last();
            let proof = match prev {
                Some(q)
                    if q.payload().tree_size > 0
                        && q.payload().tree_size < p.tree_size
                        && p.tree_size <= tree_size.get() =>
                {
                    let (m, n) = (TreeSize::new(q.payload().tree_size), TreeSize::new(p.tree_size));
                    match (m, n) {
                        (Some(m), Some(n)) => Some(prove_consistency(&src, m, n).map_err(prove_err)?),
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
                    if stored_root.map(|r| r.to_hex()).as_deref()
                        != summary.anchors.last().map(|a| a.root.as_str())
                    {
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
                    chain.push(anchor);
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
