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

mod hasher;
mod levels;
mod offload;

use crate::error::LedgerError;
use crate::reader::LedgerReader;
use crate::store::{Snapshot, SnapshotSource, Store};
use evl_sdk::redaction::{REDACTION_TYPE, Redaction};
use evl_sdk::{Digest, ErrorCode, LeafIndex, Node, NodeId, SignedCheckpoint, TreeSize, node_hash};
use serde::Serialize;
use std::collections::BTreeSet;

/// log2 of [`WINDOW`]: the tree levels whose stored hashes step 1 checks window by window.
const WINDOW_LEVELS: u32 = 16;
/// Nodes (or hashes) read per window: bounds memory regardless of tree size.
const WINDOW: u64 = 1 << WINDOW_LEVELS;

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
    /// For a run of consecutive positions the engine could not read (content, leaf hashes or
    /// stored hashes of one level): the last one; `leaf_index` or `position` names the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<u64>,
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
        last: None,
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
    let mut ids = IdCheck::new(n);
    let levels = if n == 0 { 0 } else { 64 - n.leading_zeros() };
    let first_level = match mode {
        Mode::Full => 1,
        Mode::Quick { .. } => levels.saturating_sub(TOP_LEVELS).max(1),
    };
    // Levels below `low_top` are checked right after each window's leaves: the window's stored
    // hashes are then read while they are still in the store's cache (a v2 tile holds eight
    // levels, and a level-by-level pass over the whole tree would decode each tile eight times).
    let low_top = levels.min(WINDOW_LEVELS + 1);
    let mut bad_nodes: BTreeSet<(u32, u64)> = BTreeSet::new(); // interior hashes that disagree with their children
    let mut hasher = hasher::Hasher::new(REDACTION_NEEDLE.as_bytes());
    // The previous window's lower levels, being recomputed beside this window's reading.
    let mut pending_levels: Option<levels::Pending> = None;
    let mut start = 0;
    while start < n {
        let end = (start + WINDOW).min(n);
        let leaf_hashes = read_level(&snap, 0, start, end, &mut report.failures);
        let mut st = Window {
            start,
            n,
            stride,
            leaf_hashes,
            next: start,
            gaps: Vec::new(),
            records: Vec::new(),
            unreadable: Vec::new(),
        };
        let scanned = snap.scan_nodes(start, end, &mut |i, bytes| {
            st.visit(&mut report, &mut suspects, &mut ids, &mut hasher, i, bytes);
            true
        });
        if scanned.is_err() {
            // The engine could not read part of this window: read on leaf by leaf from where the
            // scan stopped, so every readable leaf is still checked and every unreadable one is
            // reported (once per run of consecutive leaves).
            for i in st.next..end {
                match LeafIndex::new(i).map(|x| snap.node(x)) {
                    Some(Ok(Some(bytes))) => {
                        st.visit(&mut report, &mut suspects, &mut ids, &mut hasher, i, &bytes);
                    }
                    Some(Ok(None)) | None => {}
                    Some(Err(e)) => st.unreadable(i, e),
                }
            }
        }
        // The window's lower levels are read while its last chunks are hashing, and
        // recomputed while the next window is read.
        hasher.dispatch();
        let window_levels = read_window_levels(
            &snap,
            first_level..low_top,
            (start, end),
            &st.leaf_hashes,
            &mut report.failures,
        );
        if let Some(p) = pending_levels.take() {
            apply_levels(p.finish(), &mut report, &mut bad_nodes);
        }
        pending_levels = Some(levels::Pending::start(window_levels));
        hasher.finish(&mut |h| st.hashed(&mut report, &mut suspects, &mut ids, h));
        let Window {
            next,
            mut gaps,
            records,
            unreadable,
            ..
        } = st;
        gaps.extend((next..end).filter(|j| sampled(*j, n, stride)));
        for (from, to, e) in unreadable {
            report.failures.push(Failure {
                what: "node",
                leaf_index: Some(from),
                position: Some((0, from)),
                code: e.code(),
                message: if from == to {
                    format!("leaf {from}: the stored content cannot be read: {e}")
                } else {
                    format!("leaves {from}..={to}: the stored content cannot be read: {e}")
                },
                last: (to > from).then_some(to),
            });
        }
        if let Err(e) = check_redactions(&snap, &gaps, &records, &mut report) {
            report
                .failures
                .push(store_failure("redaction", Some(start), (0, start), &e));
        }
        progress(end, n);
        start = end;
    }

    if let Some(p) = pending_levels.take() {
        apply_levels(p.finish(), &mut report, &mut bad_nodes);
    }

    // Step 1b: the id map, for every leaf whose content checked out.
    ids.check(&snap, &mut report.failures);

    // Step 2: interior hashes against their stored children. Levels up to WINDOW_LEVELS were
    // checked window by window in step 1 (below); the few above them are checked here.
    let mut pending_leaf: Vec<(u64, Digest)> = suspects;
    for level in first_level.max(low_top)..levels {
        // The level below was read, and its unreadable hashes reported, as the stored level
        // of an earlier check unless it is below the first checked level.
        let report_children = level - 1 < first_level;
        check_level(
            &snap,
            level,
            0,
            n >> level,
            report_children,
            &mut report,
            &mut bad_nodes,
        );
    }
    // Attribute: a suspect leaf whose parent disagrees → the stored leaf hash is damaged (if the
    // content-implied hash fixes the parent); otherwise the content is damaged.
    for (i, implied) in pending_leaf.drain(..) {
        let parent = (1u32, i / 2);
        let stored_hash_damaged = if bad_nodes.contains(&parent) {
            // An unreadable hash counts as missing (it is reported by the scans above).
            let sib = snap.hash(0, i ^ 1).ok().flatten();
            let stored_parent = snap.hash(1, i / 2).ok().flatten();
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
            last: None,
        });
    }

    // Step 3: signed checkpoints.
    let trust = reader.trust_root();
    let src = SnapshotSource(&snap);
    // The latest checkpoint and the one at every anchored size.
    let mut sizes = vec![size];
    match reader.anchors() {
        Ok(anchors) => sizes.extend(
            anchors
                .into_iter()
                .filter_map(|a| a.anchor.ok())
                .filter_map(|a| TreeSize::new(a.payload().tree_size))
                .filter(|sz| *sz <= size),
        ),
        Err(e) => report.failures.push(store_failure("anchor", None, (0, 0), &e)),
    }
    let mut cps = Vec::new();
    for sz in sizes {
        match snap.checkpoint(sz) {
            Ok(Some(t)) => cps.push((sz, t)),
            Ok(None) => {}
            Err(e) => report
                .failures
                .push(store_failure("checkpoint", None, (0, sz.get()), &e.into())),
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
            last: None,
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
    match reader.verify_anchor_chain() {
        Ok(chain) => {
            report.anchors_verified = chain.verified.len() as u64;
            if let Some(f) = chain.failure {
                report.failures.push(Failure {
                    what: "anchor",
                    leaf_index: None,
                    position: Some((0, f.seq)),
                    code: f.code,
                    message: f.message,
                    last: None,
                });
            }
        }
        Err(e) => report.failures.push(store_failure("anchor", None, (0, 0), &e)),
    }
    // Content damage recorded by a corruption/v1 node is reported, not failed.
    if let Err(e) = attribute(&snap, &mut report)
        && !report.failures.iter().any(|f| f.code == e.code())
    {
        // Unreadable content is already reported, leaf by leaf, by step 1.
        report.failures.push(store_failure("node", None, (0, 0), &e));
    }
    report
        .failures
        .sort_by_key(|f| (f.leaf_index.unwrap_or(u64::MAX), f.position));
    Ok(report)
}

/// Whether leaf `i` is checked in a run with `stride` over a tree of `n` leaves.
fn sampled(i: u64, n: u64, stride: u64) -> bool {
    (i % stride) == (n / 2) % stride
}

/// A failure to read the store itself (code `STORE_DAMAGED` for damage the engine found).
fn store_failure(what: &'static str, leaf: Option<u64>, position: (u32, u64), e: &LedgerError) -> Failure {
    Failure {
        what,
        leaf_index: leaf,
        position: Some(position),
        code: e.code(),
        message: format!("the store cannot be read here: {e}"),
        last: None,
    }
}

/// The stored hashes of one level in `from..to`, `None` where missing. If the engine cannot
/// read the range, they are read one by one; each unreadable one is `None` and reported.
fn read_level<Sn: Snapshot>(
    snap: &Sn,
    level: u32,
    from: u64,
    to: u64,
    failures: &mut Vec<Failure>,
) -> Vec<Option<Digest>> {
    let mut out = Vec::with_capacity((to - from) as usize);
    if snap
        .scan_hashes(level, from, to, &mut |_, h| {
            out.push(h);
            true
        })
        .is_ok()
    {
        return out;
    }
    out.clear();
    let mut first_bad: Option<(u64, LedgerError)> = None;
    let flush = |first_bad: &mut Option<(u64, LedgerError)>, last: u64, failures: &mut Vec<Failure>| {
        if let Some((k, e)) = first_bad.take() {
            let mut f = store_failure(
                if level == 0 { "leaf_hash" } else { "hash" },
                (level == 0).then_some(k),
                (level, k),
                &e,
            );
            if last > k {
                f.message = format!("stored hashes {level}/{k}..={level}/{last}: {}", f.message);
                f.last = Some(last);
            }
            failures.push(f);
        }
    };
    for k in from..to {
        match snap.hash(level, k) {
            Ok(h) => {
                flush(&mut first_bad, k.saturating_sub(1), failures);
                out.push(h);
            }
            Err(e) => {
                if first_bad.is_none() {
                    first_bad = Some((k, e.into()));
                }
                out.push(None);
            }
        }
    }
    flush(&mut first_bad, to.saturating_sub(1), failures);
    out
}

/// Step 1's state over one window of leaves.
struct Window {
    start: u64,
    n: u64,
    stride: u64,
    leaf_hashes: Vec<Option<Digest>>,
    /// The leaf after the last one visited (leaves skipped before it have no content).
    next: u64,
    /// Sampled leaves without content (a redaction, or a loss).
    gaps: Vec<u64>,
    /// Sampled `redaction/v1` records.
    records: Vec<(u64, Node)>,
    /// Runs of leaves the engine could not read: (first, last, error).
    unreadable: Vec<(u64, u64, crate::store::StoreError)>,
}

impl Window {
    /// Leaf `i`'s content was read: counted, and queued on `hasher` if sampled.
    fn visit(
        &mut self,
        report: &mut Report,
        suspects: &mut Vec<(u64, Digest)>,
        ids: &mut IdCheck,
        hasher: &mut hasher::Hasher,
        i: u64,
        bytes: &[u8],
    ) {
        let (n, stride) = (self.n, self.stride);
        self.gaps
            .extend((self.next..i).filter(|j| sampled(*j, n, stride)));
        self.next = i + 1;
        if !sampled(i, n, stride) {
            return;
        }
        report.nodes_checked += 1;
        report.node_bytes += bytes.len() as u64;
        hasher.add(i, bytes, &mut |h| self.hashed(report, suspects, ids, h));
    }

    /// A sampled leaf's content, hashed.
    fn hashed(
        &mut self,
        report: &mut Report,
        suspects: &mut Vec<(u64, Digest)>,
        ids: &mut IdCheck,
        h: hasher::Hashed<'_>,
    ) {
        let hasher::Hashed {
            leaf: i,
            bytes,
            id,
            leaf_hash,
            has_needle,
        } = h;
        let stored = self.leaf_hashes.get((i - self.start) as usize).copied().flatten();
        // One SHA-256 per node and no parse: bytes that hash to the leaf the tree commits to
        // are the bytes that were appended, which were checked then. Only redaction records
        // are parsed (step 1 checks them against what the store deleted). (Public hashes:
        // compared as plain bytes, not in constant time.)
        if stored.map(|s| *s.as_bytes()) != Some(*leaf_hash.as_bytes()) {
            // Rare: name content that is not even a valid node by the parser's code.
            match Node::from_canonical(bytes) {
                Err(e) => report.failures.push(leaf_failure(
                    "node",
                    i,
                    e.code(),
                    format!("stored content is not a valid node: {e}"),
                )),
                Ok(_) => suspects.push((i, leaf_hash)),
            }
            return;
        }
        if has_needle
            && let Ok(node) = Node::from_canonical(bytes)
            && node.node_type() == REDACTION_TYPE
        {
            self.records.push((i, node));
        }
        // The id map is checked in bulk after step 1 ([`IdCheck`]).
        ids.add(id, i);
    }

    /// Leaf `i` could not be read: extend the current run of unreadable leaves or start one.
    fn unreadable(&mut self, i: u64, e: crate::store::StoreError) {
        let (n, stride) = (self.n, self.stride);
        self.gaps
            .extend((self.next..i).filter(|j| sampled(*j, n, stride)));
        self.next = i + 1;
        match self.unreadable.last_mut() {
            Some((_, last, _)) if *last + 1 == i => *last = i,
            _ => self.unreadable.push((i, i, e)),
        }
    }
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
        match crate::records::redaction_at(snap, index) {
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
            Err(e) => match e.kind() {
                LedgerError::Integrity { code, message } => {
                    report
                        .failures
                        .push(leaf_failure("redaction", i, *code, message.clone()));
                }
                _ => return Err(e),
            },
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

/// Moves the `node` failures that an intact record explains from `report.failures` to
/// `report.recorded` (verify calls this; it scans only when there is content damage).
fn attribute<Sn: Snapshot>(snap: &Sn, report: &mut Report) -> Result<(), LedgerError> {
    if !report.failures.iter().any(|f| f.what == "node") {
        return Ok(());
    }
    let recs = crate::records::records(snap)?;
    let mut kept = Vec::with_capacity(report.failures.len());
    for f in std::mem::take(&mut report.failures) {
        let rec = match (f.what, f.leaf_index) {
            ("node", Some(i)) => match recs.get(&i) {
                Some(rs) => crate::records::explaining(rs, snap.hash(0, i)?).cloned(),
                None => None,
            },
            _ => None,
        };
        match rec {
            Some(r) => report.recorded.push(Failure {
                code: ErrorCode::Corrupted.as_str(),
                message: format!("{}; found: {}: {}", r.describe(), f.code, f.message),
                ..f
            }),
            None => kept.push(f),
        }
    }
    report.failures = kept;
    Ok(())
}

/// The text every `redaction/v1` node contains (canonical JSON: no space after the colon).
const REDACTION_NEEDLE: &str = "\"type\":\"redaction/v1\"";

/// Step 1b: the id map must send the NodeId of every leaf whose content step 1 checked to that
/// leaf. Asking the map once per node is a random lookup per node; instead step 1 adds each
/// (NodeId, leaf) to an order-independent sum, and one sequential pass over the map
/// (`scan_ids`) adds the entries for the same leaves. Equal sums and counts mean every checked
/// leaf has exactly its entry (a damaged, missing or extra entry changes the sum with
/// overwhelming probability); otherwise each checked leaf is looked up, to name the failures.
struct IdCheck {
    /// Leaves whose (NodeId, leaf) went into `sum`.
    checked: Vec<u64>,
    sum: u128,
    count: u64,
}

impl IdCheck {
    fn new(n: u64) -> Self {
        Self {
            checked: vec![0; n.div_ceil(64) as usize],
            sum: 0,
            count: 0,
        }
    }

    fn term(id: &NodeId, leaf: u64) -> u128 {
        let d = id.digest().as_bytes();
        let mut lo = [0u8; 16];
        lo.copy_from_slice(&d[..16]);
        u128::from_le_bytes(lo) ^ u128::from(leaf).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
    }

    fn is_checked(&self, leaf: u64) -> bool {
        self.checked
            .get((leaf / 64) as usize)
            .is_some_and(|w| w & (1 << (leaf % 64)) != 0)
    }

    fn add(&mut self, id: NodeId, leaf: u64) {
        if let Some(w) = self.checked.get_mut((leaf / 64) as usize) {
            *w |= 1 << (leaf % 64);
            self.sum = self.sum.wrapping_add(Self::term(&id, leaf));
            self.count += 1;
        }
    }

    fn check<Sn: Snapshot>(&self, snap: &Sn, failures: &mut Vec<Failure>) {
        if self.count == 0 {
            return;
        }
        let (mut sum, mut count) = (0u128, 0u64);
        let scanned = snap.scan_ids(&mut |id, leaf| {
            if self.is_checked(leaf) {
                sum = sum.wrapping_add(Self::term(&id, leaf));
                count += 1;
            }
            true
        });
        if scanned.is_ok() && sum == self.sum && count == self.count {
            return;
        }
        // Something differs: find it leaf by leaf.
        let mut leaves = (0..self.checked.len() as u64 * 64).filter(|l| self.is_checked(*l));
        let mut next = leaves.next();
        while let Some(from) = next {
            let to = from.saturating_add(WINDOW);
            let upto = std::cell::Cell::new(from);
            let mut visit = |i: u64, bytes: &[u8]| {
                upto.set(i + 1);
                if !self.is_checked(i) {
                    return true;
                }
                let id = NodeId::of_canonical(bytes);
                match snap.index_of(&id) {
                    Ok(Some(j)) if j.get() == i => {}
                    Ok(other) => failures.push(leaf_failure(
                        "id_map",
                        i,
                        ErrorCode::NodeIdMismatch,
                        format!(
                            "leaf {i}: the id map sends {id} to {:?}",
                            other.map(LeafIndex::get)
                        ),
                    )),
                    Err(e) => failures.push(Failure {
                        what: "id_map",
                        leaf_index: Some(i),
                        position: Some((0, i)),
                        code: e.code(),
                        message: format!("leaf {i}: the id map entry of {id} cannot be read: {e}"),
                        last: None,
                    }),
                }
                true
            };
            if snap.scan_nodes(from, to, &mut visit).is_err() {
                // Step 1 read these leaves; read the rest one by one now.
                for i in upto.get()..to {
                    if let Some(Ok(Some(b))) = LeafIndex::new(i).map(|x| snap.node(x)) {
                        visit(i, &b);
                    }
                }
            }
            next = leaves.find(|l| *l >= to);
        }
    }
}

/// Step 2 for the perfect subtrees `k0..k1` of `level`: each stored hash against its two stored
/// children; a disagreement (or an unreadable hash) goes into `bad_nodes`.
/// The stored hashes of `levels` (all at most [`WINDOW_LEVELS`]) over the window of leaves
/// `start..end` (`start` a multiple of [`WINDOW`]) whose stored leaf hashes are `leaves`, each
/// read once, with the level below the first (the children it is checked against) first.
fn read_window_levels<Sn: Snapshot>(
    snap: &Sn,
    levels: std::ops::Range<u32>,
    (start, end): (u64, u64),
    leaves: &[Option<Digest>],
    failures: &mut Vec<Failure>,
) -> Vec<levels::Level> {
    let mut out = Vec::new();
    let Some(below) = levels.start.checked_sub(1) else {
        return out;
    };
    if levels.is_empty() {
        return out;
    }
    let read = |level: u32, failures: &mut Vec<Failure>| levels::Level {
        level,
        first: start >> level,
        hashes: read_level(snap, level, start >> level, end >> level, failures),
    };
    out.push(if below == 0 {
        levels::Level {
            level: 0,
            first: start,
            hashes: leaves.to_vec(),
        }
    } else {
        // Only the children of the first level's hashes (in a window's last, partial range
        // the level below may hold one more, which no checked hash covers).
        let (a, b) = ((start >> levels.start) << 1, (end >> levels.start) << 1);
        levels::Level {
            level: below,
            first: a,
            hashes: read_level(snap, below, a, b, failures),
        }
    });
    for level in levels {
        out.push(read(level, failures));
    }
    out
}

/// Records what recomputing a window's levels found.
fn apply_levels(found: levels::Found, report: &mut Report, bad_nodes: &mut BTreeSet<(u32, u64)>) {
    report.hashes_checked += found.checked;
    bad_nodes.extend(found.bad);
}

/// Level `level`'s stored hashes `k0..k1` against their stored children, in windows: a
/// mismatch (or a missing child) goes to `bad_nodes`. Unreadable stored hashes are reported;
/// unreadable children only if `report_children` (otherwise an earlier check read that level
/// as its stored level and reported them: each damaged entry is reported once).
fn check_level<Sn: Snapshot>(
    snap: &Sn,
    level: u32,
    k0: u64,
    k1: u64,
    report_children: bool,
    report: &mut Report,
    bad_nodes: &mut BTreeSet<(u32, u64)>,
) {
    let mut a = k0;
    let mut already_reported = Vec::new();
    while a < k1 {
        let b = (a + WINDOW).min(k1);
        let sink = if report_children {
            &mut report.failures
        } else {
            &mut already_reported
        };
        let children = levels::Level {
            level: level - 1,
            first: 2 * a,
            hashes: read_level(snap, level - 1, 2 * a, 2 * b, sink),
        };
        let stored = levels::Level {
            level,
            first: a,
            hashes: read_level(snap, level, a, b, &mut report.failures),
        };
        apply_levels(levels::recompute(&[children, stored]), report, bad_nodes);
        a = b;
    }
}
