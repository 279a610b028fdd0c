//! The log's records about other nodes, as the store holds them: `corruption/v1` records of
//! lost content (SPEC.md §3.5) and `redaction/v1` records of deleted content (§3.4). Readers
//! consult them to say why content is missing; verify, retention and recovery build on them.
//! Above `store` and `state`, below the reader.

use crate::error::{LedgerError, Next};
use crate::store::{Snapshot, StoreError};
use evl_sdk::corruption::{CORRUPTION_TYPE, Corruption, Damage};
use evl_sdk::redaction::Redaction;
use evl_sdk::{Digest, ErrorCode, LeafIndex, Node, NodeId};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A `corruption/v1` record found in the log.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// The record's own NodeId.
    pub id: NodeId,
    /// The record's leaf index.
    pub leaf_index: u64,
    /// The damaged entry's NodeId.
    pub corrupted: NodeId,
    /// The damaged entry's leaf index.
    pub corrupted_leaf: u64,
    /// What was damaged.
    pub what: Damage,
    /// When it was found.
    pub detected: evl_sdk::Timestamp,
    /// Why, in the log's words.
    pub reason: String,
}

impl Record {
    /// The sentence reads and verify print.
    pub fn describe(&self) -> String {
        format!(
            "recorded as corrupted by {} (leaf {}, detected {}: {})",
            self.id, self.leaf_index, self.detected, self.reason
        )
    }
}

/// Scans leaves `from..to` of `snap` for intact `corruption/v1` records (their bytes hash to
/// their stored leaf hash and parse), calling `f` with each.
fn scan_records<Sn: Snapshot>(
    snap: &Sn,
    from: u64,
    to: u64,
    f: &mut dyn FnMut(Record),
) -> Result<(), LedgerError> {
    let needle = format!("\"type\":\"{CORRUPTION_TYPE}\"");
    let failure: std::cell::RefCell<Option<StoreError>> = std::cell::RefCell::new(None);
    let mut visit = |i: u64, bytes: &[u8]| -> bool {
        if !contains(bytes, needle.as_bytes()) {
            return true;
        }
        let id = NodeId::of_canonical(bytes);
        match snap.hash(0, i) {
            Ok(Some(h)) if h == id.leaf_hash() => {}
            Ok(_) => return true, // a damaged record explains nothing
            Err(e) => {
                *failure.borrow_mut() = Some(e);
                return false;
            }
        }
        if let Ok(c) = Node::from_canonical(bytes).and_then(|n| Corruption::from_node(&n)) {
            f(Record {
                id,
                leaf_index: i,
                corrupted: c.corrupted(),
                corrupted_leaf: c.leaf_index(),
                what: c.what(),
                detected: c.detected(),
                reason: c.reason().to_owned(),
            });
        }
        true
    };
    // Content the engine cannot read is skipped (an unreadable record explains nothing; verify
    // reports the leaves): the scan resumes after the first leaf that fails to read.
    let mut start = from;
    while start < to {
        let mut next = start;
        let scanned = snap.scan_nodes(start, to, &mut |i, bytes| {
            next = i + 1;
            visit(i, bytes)
        });
        if scanned.is_ok() || failure.borrow().is_some() {
            break;
        }
        let mut j = next;
        while j < to {
            let read = LeafIndex::new(j).map(|x| snap.node(x));
            j += 1;
            match read {
                Some(Ok(Some(bytes))) => {
                    if !visit(j - 1, &bytes) {
                        break;
                    }
                }
                Some(Ok(None)) => {}
                Some(Err(_)) | None => break,
            }
        }
        start = j;
    }
    failure.into_inner().map_or(Ok(()), |e| Err(e.into()))
}

/// Every intact record in `snap`, by damaged leaf (an O(n) scan with a byte prefilter).
pub(crate) fn records<Sn: Snapshot>(snap: &Sn) -> Result<BTreeMap<u64, Vec<Record>>, LedgerError> {
    let mut out: BTreeMap<u64, Vec<Record>> = BTreeMap::new();
    scan_records(snap, 0, snap.tree_size()?.get(), &mut |r| {
        out.entry(r.corrupted_leaf).or_default().push(r)
    })?;
    Ok(out)
}

/// The record that explains content damage at `leaf`, if any: it names `leaf` and a NodeId whose
/// leaf hash is the stored leaf hash there (the entry the tree commits to).
pub(crate) fn explaining(records: &[Record], stored_leaf_hash: Option<Digest>) -> Option<&Record> {
    records
        .iter()
        .find(|r| r.what == Damage::Node && Some(r.corrupted.leaf_hash()) == stored_leaf_hash)
}

/// The records a reader has seen so far, by damaged leaf: the log is scanned once, then only the
/// leaves appended since (reads of damaged content must not cost a scan each).
#[derive(Default)]
pub(crate) struct RecordIndex {
    scanned: u64,
    by_leaf: HashMap<u64, Vec<Record>>,
}

impl RecordIndex {
    /// The record explaining damaged content of `id` at `leaf` in `snap`.
    pub(crate) fn find<Sn: Snapshot>(
        &mut self,
        snap: &Sn,
        leaf: u64,
        id: &NodeId,
    ) -> Result<Option<Record>, LedgerError> {
        let size = snap.tree_size()?.get();
        if size > self.scanned {
            let by_leaf = &mut self.by_leaf;
            scan_records(snap, self.scanned, size, &mut |r| {
                by_leaf.entry(r.corrupted_leaf).or_default().push(r)
            })?;
            self.scanned = size;
        }
        Ok(self.by_leaf.get(&leaf).and_then(|rs| {
            rs.iter()
                .find(|r| r.what == Damage::Node && r.corrupted == *id && r.leaf_index < size)
                .cloned()
        }))
    }
}

/// A redaction as the store holds it: the record's NodeId and leaf, parsed.
#[derive(Clone, Debug)]
pub struct RedactionRef {
    /// The record's NodeId.
    pub record_id: NodeId,
    /// The record's leaf index.
    pub record_index: LeafIndex,
    /// The record.
    pub redaction: Redaction,
}

/// The redaction of leaf `index`: `Ok(None)` if the store records none. The record must be
/// intact (its bytes hash to the stored leaf hash at its own leaf), parse as `redaction/v1`, name
/// `index` and a NodeId whose leaf hash is the stored leaf hash at `index`, and come after it;
/// anything else is an integrity error.
pub(crate) fn redaction_at<Sn: Snapshot>(
    snap: &Sn,
    index: LeafIndex,
) -> Result<Option<RedactionRef>, LedgerError> {
    let Some(at) = snap.redaction(index)? else {
        return Ok(None);
    };
    let i = index.get();
    let broken = |m: String| {
        LedgerError::Integrity {
            code: ErrorCode::NodeIdMismatch,
            message: format!("the redaction record of leaf {i} (at leaf {at}) {m}"),
        }
        .advise(Next::VerifyFull)
    };
    let bytes = snap
        .node(at)?
        .ok_or_else(|| broken("has no stored content".into()))?;
    let record_id = NodeId::of_canonical(&bytes);
    if snap.hash(0, at.get())? != Some(record_id.leaf_hash()) {
        return Err(broken("is damaged".into()));
    }
    let redaction = Node::from_canonical(&bytes)
        .and_then(|n| Redaction::from_node(&n))
        .map_err(|e| broken(format!("is not a valid redaction/v1 node: {e}")))?;
    if redaction.leaf_index() != i
        || at.get() <= i
        || snap.hash(0, i)? != Some(redaction.redacted().leaf_hash())
    {
        return Err(broken("names another leaf".into()));
    }
    Ok(Some(RedactionRef {
        record_id,
        record_index: at,
        redaction,
    }))
}

/// The error for a read of node `id` at `index`, whose content the store does not hold:
/// `REDACTED` naming the record, or `NOT_FOUND`.
pub(crate) fn missing_content<Sn: Snapshot>(snap: &Sn, id: &NodeId, index: LeafIndex) -> LedgerError {
    match redaction_at(snap, index) {
        Ok(Some(r)) => LedgerError::Integrity {
            code: ErrorCode::Redacted,
            message: format!(
                "the content of node {id} (leaf {index}) was redacted by {} (leaf {}) at {}: {} (policy: {}); its leaf and its inclusion proofs remain",
                r.record_id,
                r.record_index,
                r.redaction.time(),
                r.redaction.reason(),
                r.redaction.policy()
            ),
        },
        Ok(None) => LedgerError::NotFound(format!("node {id} (leaf {index}) has no stored content")),
        Err(e) => e,
    }
}

/// Whether `needle` occurs in `haystack` (memchr's SIMD substring search: step 1 of a full
/// verify runs this over every stored node).
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}
