//! Integrity verification of a store: `evl verify --mode quick|full`.
//!
//! Checks, in order (full mode; quick mode samples step 1 and checks only the top levels in 2):
//! 1. every node: canonical JSON, a valid node, its leaf hash equal to the stored leaf hash, and
//!    the id → index map pointing back at it; a leaf without content must be redacted by an
//!    intact `redaction/v1` record, and every record must match what the store deleted
//!    ([`Report::redactions`] lists them);
//! 2. every stored interior hash equal to the hash of its two stored children;
//! 3. the latest signed checkpoint and the one at every anchored size: signature under the trust
//!    root and root equal to the stored tree;
//! 4. the anchor chain (SPEC.md §7.2) with consistency proofs between consecutive anchors.
//!
//! A damaged entry is reported once, by position: content damage and stored-hash damage are
//! told apart by whether the parent hash still agrees with the stored child (docs/design.md).
//! Content damage that an intact `corruption/v1` record explains moves to [`Report::recorded`].

use crate::error::LedgerError;
use crate::reader::LedgerReader;
use crate::store::{Snapshot, SnapshotSource, Store};
use evl_sdk::redaction::{REDACTION_TYPE, Redaction};
use evl_sdk::{Digest, ErrorCode, LeafIndex, Node, NodeId, SignedCheckpoint, TreeSize, node_hash};
use serde::Serialize;
use std::collections::BTreeSet;

/// Nodes (or hashes) read per window: bounds memory regardless of tree size.
const WINDOW: u64 = 1 << 16;

/// How thoroughly to verify.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every node and every stored hash.
    Full,
    /// One node in `stride` (from a fixed offset), the top `TOP_LEVELS` levels of hashes, every
    /// checkpoint and anchor.
    Quick {
        /// Check one node in this many.
        stride: u64,
    },
}

/// Levels of stored hashes quick mode checks, counted down from the largest.
pub const TOP_LEVELS: u32 = 12;

/// One failure.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Failure {
    /// What is damaged: `node`, `leaf_hash`, `hash`, `id_map`, `checkpoint`, `anchor`, or
    /// `redaction` (a record that does not match what the store deleted, SPEC.md §3.4).
    pub what: &'static str,
    /// The leaf index, for `node`, `leaf_hash` and `id_map`.
    pub leaf_index: Option<u64>,
    /// Level and index of a stored hash; tree size of a checkpoint; seq of an anchor.
    pub position: Option<(u32, u64)>,
    /// The stable code.
    pub code: &'static str,
    /// Detail.
    pub message: String,
}

/// The verification report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The mode.
    pub mode: Mode,
    /// Tree size verified.
    pub tree_size: u64,
    /// Nodes re-hashed.
    pub nodes_checked: u64,
    /// Bytes of node content re-hashed.
    pub node_bytes: u64,
    /// Interior hashes recomputed.
    pub hashes_checked: u64,
    /// Checkpoints verified.
    pub checkpoints_checked: u64,
    /// Anchors verified.
    pub anchors_verified: u64,
    /// Every failure found.
    pub failures: Vec<Failure>,
    /// Content damage the log has recorded in an intact `corruption/v1` node naming the leaf and
    /// the NodeId the tree commits to there (code `CORRUPTED`; the message names the record).
    /// Reported, not failed: see docs/design.md, recovery.
    pub recorded: Vec<Failure>,
    /// Leaves whose content the log redacted, each with its intact `redaction/v1` record
    /// (SPEC.md §3.4): reported, not failed. Content missing without such a record is a `node`
    /// failure.
    pub redactions: Vec<RedactionEntry>,
}

/// A redaction found by verification.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RedactionEntry {
    /// The redacted leaf.
    pub leaf_index: u64,
    /// The NodeId the tree holds there.
    pub id: NodeId,
    /// The `redaction/v1` record's NodeId.
    pub record: NodeId,
    /// The record's leaf index.
    pub record_index: u64,
    /// When the content was deleted (the record's `time`).
    pub time: evl_sdk::Timestamp,
    /// The record's `policy`.
    pub policy: String,
}

impl Report {
    /// Whether nothing failed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

fn leaf_failure(what: &'static str, i: u64, code: ErrorCode, message: String) -> Failure {
    Failure {
        what,
        leaf_index: Some(i),
        position: Some((0, i)),
        code: code.as_str(),
        message,
    }
}

/// Verifies the store behind `reader`. `progress(done, total)` is called as nodes are checked.
pub fn verify<S: Store>(
    reader: &LedgerReader<S>,
    mode: Mode,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, LedgerError> {
    let snap = reader.snapshot()?;
    let size = snap.tree_size()?;
    let n = size.get();
    let mut report = Report {
        mode,
        tree_size: n,
        nodes_checked: 0,
        node_bytes: 0,
        hashes_checked: 0,
        checkpoints_checked: 0,
        anchors_verified: 0,
        failures: Vec::new(),
        recorded: Vec::new(),
        redactions: Vec::new(),
    };
    // Step 1: nodes against stored leaf hashes. `suspects` are leaves whose content and stored
    // leaf hash disagree; step 2 decides which of the two is damaged.
    let stride = match mode {
        Mode::Full => 1,
        Mode::Quick { stride } => stride.max(1),
    };
    let mut suspects: Vec<(u64, Digest)> = Vec::new(); // (leaf, leaf hash implied by content)
    let mut start = 0;
    while start < n {
        let end = (start + WINDOW).min(n);
        let mut leaf_hashes = Vec::with_capacity((end - start) as usize);
        snap.scan_hashes(0, start, end, &mut |_, h| {
            leaf_hashes.push(h);
            true
        })?;
        let mut err = None;
        let sampled = |i: u64| (i % stride) == (n / 2) % stride;
        // Sampled leaves without content (a redaction, or a loss), and sampled redaction records.
        let (mut gaps, mut records) = (Vec::new(), Vec::new());
        let mut next = start;
        snap.scan_nodes(start, end, &mut |i, bytes| {
            gaps.extend((next..i).filter(|j| sampled(*j)));
            next = i + 1;
            if !sampled(i) {
                return true;
            }
            report.nodes_checked += 1;
            report.node_bytes += bytes.len() as u64;
            let stored = leaf_hashes.get((i - start) as usize).copied().flatten();
            // One SHA-256 per node: the id comes from the parsed node, not hashed twice.
            let parsed = Node::from_canonical(bytes).map(|node| (node.id(), node));
            match parsed {
                Err(e) => report.failures.push(leaf_failure(
                    "node",
                    i,
                    e.code(),
                    format!("stored content is not a valid node: {e}"),
                )),
                Ok((id, _)) if stored != Some(id.leaf_hash()) => suspects.push((i, id.leaf_hash())),
                Ok((id, node)) => match snap.index_of(&id) {
                    Ok(Some(j)) if j.get() == i && node.node_type() == REDACTION_TYPE => {
                        records.push((i, node))
                    }
                    Ok(Some(j)) if j.get() == i => {}
                    Ok(other) => report.failures.push(leaf_failure(
                        "id_map",
                        i,
                        ErrorCode::NodeIdMismatch,
                        format!(
                            "leaf {i}: the id map sends {id} to {:?}",
                            other.map(LeafIndex::get)
                        ),
                    )),
                    Err(e) => err = Some(e),
                },
            }
            true
        })?;
        if let Some(e) = err {
            return Err(e.into());
        }
        gaps.extend((next..end).filter(|j| sampled(*j)));
        check_redactions(&snap, &gaps, &records, &mut report)?;
        progress(end, n);
        start = end;
    }

    // Step 2: interior hashes against their stored children, level by level.
    let levels = if n == 0 { 0 } else { 64 - n.leading_zeros() };
    let first_level = match mode {
        Mode::Full => 1,
        Mode::Quick { .. } => levels.saturating_sub(TOP_LEVELS).max(1),
    };
    let mut bad_nodes: BTreeSet<(u32, u64)> = BTreeSet::new(); // interior hashes that disagree with their children
    let mut pending_leaf: Vec<(u64, Digest)> = suspects;
    for level in first_level..levels {
        let count = n >> level; // perfect subtrees at this level
        let mut k0 = 0;
        while k0 < count {
            let k1 = (k0 + WINDOW).min(count);
            let mut children = Vec::with_capacity(((k1 - k0) * 2) as usize);
            snap.scan_hashes(level - 1, 2 * k0, 2 * k1, &mut |_, h| {
                children.push(h);
                true
            })?;
            snap.scan_hashes(level, k0, k1, &mut |k, h| {
                report.hashes_checked += 1;
                let j = ((k - k0) * 2) as usize;
                let want = match (
                    children.get(j).copied().flatten(),
                    children.get(j + 1).copied().flatten(),
                ) {
                    (Some(l), Some(r)) => Some(node_hash(&l, &r)),
                    _ => None,
                };
                if want.is_none() || want != h {
                    bad_nodes.insert((level, k));
                }
                true
            })?;
            k0 = k1;
        }
    }
    // Attribute: a suspect leaf whose parent disagrees → the stored leaf hash is damaged (if the
    // content-implied hash fixes the parent); otherwise the content is damaged.
    for (i, implied) in pending_leaf.drain(..) {
        let parent = (1u32, i / 2);
        let stored_hash_damaged = if bad_nodes.contains(&parent) {
            let sib = snap.hash(0, i ^ 1)?;
            let stored_parent = snap.hash(1, i / 2)?;
            let fixed = sib.map(|s| {
                if i % 2 == 0 {
                    node_hash(&implied, &s)
                } else {
                    node_hash(&s, &implied)
                }
            });
            fixed.is_some() && fixed == stored_parent
        } else {
            false
        };
        if stored_hash_damaged {
            bad_nodes.remove(&parent);
            report.failures.push(leaf_failure(
                "leaf_hash",
                i,
                ErrorCode::MerkleMismatch,
                "the stored leaf hash is damaged (content and parent hash agree)".to_string(),
            ));
        } else {
            report.failures.push(leaf_failure(
                "node",
                i,
                ErrorCode::NodeIdMismatch,
                "stored content does not hash to the leaf hash in the tree".to_string(),
            ));
        }
    }
    // An interior hash is damaged if its parent also disagrees; report it once.
    let bad: Vec<(u32, u64)> = bad_nodes.iter().copied().collect();
    let mut explained = BTreeSet::new();
    for (level, k) in &bad {
        if explained.contains(&(*level, *k)) {
            continue;
        }
        let parent = (level + 1, k / 2);
        if bad_nodes.contains(&parent) {
            explained.insert(parent);
        }
        report.failures.push(Failure {
            what: "hash",
            leaf_index: None,
            position: Some((*level, *k)),
            code: ErrorCode::MerkleMismatch.as_str(),
            message: format!("stored hash at level {level}, index {k} does not match its children"),
        });
    }

    // Step 3: signed checkpoints.
    let trust = reader.trust_root();
    let src = SnapshotSource(&snap);
    // The latest checkpoint and the one at every anchored size.
    let mut cps = Vec::new();
    if let Some(text) = snap.checkpoint(size)? {
        cps.push((size, text));
    }
    for a in reader.anchors()? {
        if let Ok(a) = a.anchor
            && let Some(sz) = TreeSize::new(a.payload().tree_size)
            && sz <= size
            && let Some(t) = snap.checkpoint(sz)?
        {
            cps.push((sz, t));
        }
    }
    cps.sort();
    cps.dedup();
    for (sz, text) in cps {
        report.checkpoints_checked += 1;
        let fail = |code: ErrorCode, message: String| Failure {
            what: "checkpoint",
            leaf_index: None,
            position: Some((0, sz.get())),
            code: code.as_str(),
            message,
        };
        let parsed = match SignedCheckpoint::parse(text.as_bytes()) {
            Ok(p) => p,
            Err(e) => {
                report
                    .failures
                    .push(fail(e.code(), format!("checkpoint at size {sz}: {e}")));
                continue;
            }
        };
        // A checkpoint's key must be valid when it was made; the ledger checks it now.
        if let Err(e) = trust.verify_checkpoint(&parsed, crate::time::now()) {
            report
                .failures
                .push(fail(e.code(), format!("checkpoint at size {sz}: {e}")));
            continue;
        }
        match evl_sdk::root(&src, sz) {
            Ok(r) if r == parsed.checkpoint().head().root() => {}
            Ok(_) => report.failures.push(fail(
                ErrorCode::MerkleMismatch,
                format!("checkpoint at size {sz}: the stored tree's root differs from the signed root"),
            )),
            Err(e) => report.failures.push(fail(
                ErrorCode::MerkleMismatch,
                format!("checkpoint at size {sz}: {e}"),
            )),
        }
    }

    // Step 4: the anchor chain.
    let chain = reader.verify_anchor_chain()?;
    report.anchors_verified = chain.verified.len() as u64;
    if let Some(f) = chain.failure {
        report.failures.push(Failure {
            what: "anchor",
            leaf_index: None,
            position: Some((0, f.seq)),
            code: f.code,
            message: f.message,
        });
    }
    // Content damage recorded by a corruption/v1 node is reported, not failed.
    crate::recovery::attribute(&snap, &mut report)?;
    report
        .failures
        .sort_by_key(|f| (f.leaf_index.unwrap_or(u64::MAX), f.position));
    Ok(report)
}

/// Leaves without content (`gaps`) must each be redacted by an intact record; records
/// (`records`: leaf, node of type `redaction/v1`) must each have deleted the content they name and
/// be the store's record for it (SPEC.md §3.4; docs/design.md, integrity verification).
fn check_redactions<Sn: Snapshot>(
    snap: &Sn,
    gaps: &[u64],
    records: &[(u64, Node)],
    report: &mut Report,
) -> Result<(), LedgerError> {
    for &i in gaps {
        let Some(index) = LeafIndex::new(i) else { continue };
        match crate::retention::redaction_at(snap, index) {
            Ok(Some(r)) => report.redactions.push(RedactionEntry {
                leaf_index: i,
                id: r.redaction.redacted(),
                record: r.record_id,
                record_index: r.record_index.get(),
                time: r.redaction.time(),
                policy: r.redaction.policy().to_owned(),
            }),
            Ok(None) => report.failures.push(leaf_failure(
                "node",
                i,
                ErrorCode::NodeIdMismatch,
                "the leaf has no stored content and no redaction/v1 record: content is lost".into(),
            )),
            Err(LedgerError::Integrity { code, message }) => {
                report.failures.push(leaf_failure("redaction", i, code, message));
            }
            Err(e) => return Err(e),
        }
    }
    for (j, node) in records {
        let fail = |code: ErrorCode, m: String| {
            leaf_failure(
                "redaction",
                *j,
                code,
                format!("the redaction/v1 record at leaf {j} {m}"),
            )
        };
        let r = match Redaction::from_node(node) {
            Ok(r) => r,
            Err(e) => {
                report.failures.push(fail(e.code(), format!("is not valid: {e}")));
                continue;
            }
        };
        let t = r.leaf_index();
        let Some(target) = LeafIndex::new(t).filter(|_| t < *j) else {
            report.failures.push(fail(
                ErrorCode::NodeIdMismatch,
                format!("names leaf {t}, which is not before it"),
            ));
            continue;
        };
        if snap.hash(0, t)? != Some(r.redacted().leaf_hash()) {
            report.failures.push(fail(
                ErrorCode::NodeIdMismatch,
                format!(
                    "names {} at leaf {t}, where the tree holds another NodeId",
                    r.redacted()
                ),
            ));
        } else if snap.node(target)?.is_some() {
            report.failures.push(fail(
                ErrorCode::NodeIdMismatch,
                format!("names leaf {t}, whose content is stored (again)"),
            ));
        } else if snap.redaction(target)?.map(LeafIndex::get) != Some(*j) {
            report.failures.push(fail(
                ErrorCode::NodeIdMismatch,
                format!(
                    "names leaf {t}, which the store records as redacted by another record or not at all"
                ),
            ));
        }
    }
    Ok(())
}
