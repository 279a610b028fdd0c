//! Retention with provable redaction (SPEC.md §3.4; docs/design.md, redaction and space
//! reclamation).
//!
//! - A [`RetentionPolicy`] names node types and how many days each is kept, and a legal hold.
//! - [`LedgerReader::retention_plan`] finds the candidates: nodes of a ruled type whose **age**,
//!   `now` minus the time of the first verified anchor whose tree contains them, is at least the
//!   rule's days. Unanchored nodes, `redaction/v1` and `corruption/v1` records, nodes on legal
//!   hold and content already gone are never candidates.
//! - [`Ledger::redact`] deletes the content of chosen nodes and appends one `redaction/v1` record
//!   per node, in the same commit (`store::Batch::redact`): the leaf, its NodeId and every stored
//!   hash stay, so every root, checkpoint and proof is unchanged.
//! - [`uncovered`] checks a verified archive export against the candidates, so that a caller can
//!   refuse to redact what no archive holds.
//!
//! Freed pages of the store file may still hold redacted bytes until the file is rebuilt
//! (`RedbStore::reclaim`); the redb backend records that in its metadata.

use crate::error::{LedgerError, Next};
use crate::reader::LedgerReader;
pub use crate::records::RedactionRef;
use crate::records::{missing_content, redaction_at};
use crate::store::{Snapshot, Store};
use crate::writer::Ledger;
use evl_sdk::anchor::AnchorSummary;
use evl_sdk::corruption::CORRUPTION_TYPE;
use evl_sdk::pack::{PackKind, PackReport};
use evl_sdk::redaction::{REDACTION_TYPE, Redaction};
use evl_sdk::{ErrorCode, LeafIndex, Node, NodeId, Timestamp};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Seconds in a retention day.
const DAY: i64 = 86_400;

/// Most redactions per commit. Rationale: each commit is atomic (records and deletions
/// together); bounding it keeps one batch's records, hashes and redb dirty pages to a few tens
/// of MB however many nodes a policy reaches.
pub const MAX_REDACTIONS_PER_COMMIT: usize = 16_384;

/// Longest node type a retention rule may name. Rationale: the rule's name goes into each
/// record's `policy`, which SPEC.md §3.4 bounds at 256 bytes.
pub const MAX_RULE_TYPE_BYTES: usize = 128;

/// Keep nodes of one type for a number of days after they were first anchored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionRule {
    /// The node `type` the rule applies to (compared exactly).
    pub node_type: String,
    /// Days a node is kept after its first anchor; 0 = redact as soon as anchored.
    pub max_age_days: u64,
}

impl RetentionRule {
    /// The rule's name, recorded as each record's `policy`.
    pub fn policy(&self) -> String {
        format!(
            "retention type={} max_age_days={}",
            self.node_type, self.max_age_days
        )
    }
}

/// A retention policy. The default has no rule: nothing is ever redacted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    /// At most one rule per type.
    pub rules: Vec<RetentionRule>,
    /// Nodes never redacted, whatever their type and age.
    pub legal_hold: BTreeSet<NodeId>,
}

impl RetentionPolicy {
    /// `OUT_OF_RANGE` if a type has two rules, a rule names a record type (`redaction/v1`,
    /// `corruption/v1`: never redacted), an empty type or one over [`MAX_RULE_TYPE_BYTES`], or
    /// an age whose seconds overflow.
    pub fn check(&self) -> Result<(), LedgerError> {
        let mut seen = BTreeSet::new();
        for r in &self.rules {
            let bad = |m: &str| {
                Err(LedgerError::OutOfRange(format!(
                    "retention rule for {:?}: {m}",
                    r.node_type
                )))
            };
            if r.node_type.is_empty() || r.node_type.len() > MAX_RULE_TYPE_BYTES {
                return bad("the type must be 1 to 128 bytes");
            }
            if r.node_type == REDACTION_TYPE || r.node_type == CORRUPTION_TYPE {
                return bad("redaction/v1 and corruption/v1 records are never redacted");
            }
            if !seen.insert(&r.node_type) {
                return bad("a type has at most one rule");
            }
            if i64::try_from(r.max_age_days)
                .ok()
                .and_then(|d| d.checked_mul(DAY))
                .is_none()
            {
                return bad("max_age_days is out of range");
            }
        }
        Ok(())
    }

    /// The types the rules name, ascending (an archive's export filter).
    pub fn types(&self) -> Vec<String> {
        let mut t: Vec<String> = self.rules.iter().map(|r| r.node_type.clone()).collect();
        t.sort();
        t.dedup();
        t
    }
}

/// A node that retention would redact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// Its leaf index.
    pub leaf_index: u64,
    /// Its NodeId.
    pub id: NodeId,
    /// Its type.
    #[serde(rename = "type")]
    pub node_type: String,
    /// The first verified anchor whose tree contains it.
    pub anchor_seq: u64,
    /// That anchor's time: the node's age runs from here.
    pub anchored: Timestamp,
    /// Whole days since then.
    pub age_days: u64,
    /// The rule that applies ([`RetentionRule::policy`]).
    pub policy: String,
}

impl Candidate {
    /// The record's `reason`.
    pub fn reason(&self) -> String {
        format!(
            "retention: first anchored at {} (anchor {}), {} days old",
            self.anchored, self.anchor_seq, self.age_days
        )
    }
}

/// What retention would do at `now`.
#[derive(Clone, Debug, Serialize)]
pub struct RetentionPlan {
    /// The time ages are measured at.
    pub now: Timestamp,
    /// Leaves covered by a verified anchor (the rest are never candidates).
    pub anchored_leaves: u64,
    /// The nodes to redact, by leaf index.
    pub candidates: Vec<Candidate>,
    /// Nodes a rule reaches but the legal hold keeps.
    pub held: Vec<Candidate>,
    /// Leaves of a ruled type whose stored content does not hash to the tree's leaf (damaged:
    /// run `evl verify --mode full`); not redacted.
    pub damaged: Vec<u64>,
}

/// One redaction done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Redacted {
    /// The redacted node's leaf index.
    pub leaf_index: u64,
    /// Its NodeId.
    pub id: NodeId,
    /// Its type.
    #[serde(rename = "type")]
    pub node_type: String,
    /// The `redaction/v1` record's NodeId.
    pub record: NodeId,
    /// The record's leaf index.
    pub record_index: u64,
    /// The record's `policy`.
    pub policy: String,
}

/// A redaction to make: the node at `index`, why and under which policy.
#[derive(Clone, Debug)]
pub struct RedactionRequest {
    /// The node's leaf index.
    pub index: LeafIndex,
    /// The NodeId the caller means (checked against the tree).
    pub id: NodeId,
    /// The record's `reason`.
    pub reason: String,
    /// The record's `policy` (`evl_sdk::redaction::MANUAL_POLICY` or a rule).
    pub policy: String,
}

impl Candidate {
    /// The request that redacts this candidate.
    pub fn request(&self) -> Option<RedactionRequest> {
        Some(RedactionRequest {
            index: LeafIndex::new(self.leaf_index)?,
            id: self.id,
            reason: self.reason(),
            policy: self.policy.clone(),
        })
    }
}

/// The first verified anchor whose tree contains leaf `index` (anchors in chain order, tree
/// sizes non-decreasing).
fn first_anchor(chain: &[AnchorSummary], index: u64) -> Option<&AnchorSummary> {
    let k = chain.partition_point(|a| a.tree_size.get() <= index);
    chain.get(k)
}

impl<S: Store> LedgerReader<S> {
    /// What `policy` would redact at `now` (nothing changes). Needs a verified anchor chain:
    /// ages are measured from anchors.
    pub fn retention_plan(
        &self,
        policy: &RetentionPolicy,
        now: Timestamp,
    ) -> Result<RetentionPlan, LedgerError> {
        policy.check()?;
        let snap = self.snapshot()?;
        let chain = match crate::pack::verified_chain(self) {
            Ok(c) => c,
            Err(e) if matches!(e.kind(), LedgerError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let anchored = chain.iter().map(|a| a.tree_size.get()).max().unwrap_or(0);
        let mut plan = RetentionPlan {
            now,
            anchored_leaves: anchored,
            candidates: Vec::new(),
            held: Vec::new(),
            damaged: Vec::new(),
        };
        if policy.rules.is_empty() || anchored == 0 {
            return Ok(plan);
        }
        let rules: BTreeMap<&str, &RetentionRule> =
            policy.rules.iter().map(|r| (r.node_type.as_str(), r)).collect();
        // Canonical JSON writes the member as `"type":"<value>"` (see `LedgerReader::scan_type`):
        // a byte prefilter per rule, then an exact check after parsing.
        let needles: Vec<Vec<u8>> = policy
            .rules
            .iter()
            .map(|r| format!("\"type\":{}", serde_json::Value::String(r.node_type.clone())).into_bytes())
            .collect();
        let mut failure: Option<LedgerError> = None;
        snap.scan_nodes(0, anchored, &mut |i, bytes| {
            if !needles.iter().any(|n| crate::records::contains(bytes, n)) {
                return true;
            }
            let Ok(node) = Node::from_canonical(bytes) else {
                plan.damaged.push(i);
                return true;
            };
            let Some(rule) = rules.get(node.node_type()) else {
                return true;
            };
            match snap.hash(0, i) {
                Ok(h) if h == Some(node.id().leaf_hash()) => {}
                Ok(_) => {
                    plan.damaged.push(i);
                    return true;
                }
                Err(e) => {
                    failure = Some(e.into());
                    return false;
                }
            }
            let Some(a) = first_anchor(&chain, i) else {
                return true;
            };
            let age = now.unix() - a.time.unix();
            // `check` bounded the product.
            if age < rule.max_age_days as i64 * DAY {
                return true;
            }
            let c = Candidate {
                leaf_index: i,
                id: node.id(),
                node_type: rule.node_type.clone(),
                anchor_seq: a.seq,
                anchored: a.time,
                age_days: (age / DAY) as u64,
                policy: rule.policy(),
            };
            if policy.legal_hold.contains(&c.id) {
                plan.held.push(c);
            } else {
                plan.candidates.push(c);
            }
            true
        })?;
        failure.map_or(Ok(plan), Err)
    }

    /// The redaction of the node at `index`, if its content was redacted.
    pub fn redaction(&self, index: LeafIndex) -> Result<Option<RedactionRef>, LedgerError> {
        redaction_at(&self.snapshot()?, index)
    }
}

impl<S: Store> Ledger<S> {
    /// Deletes the content of the requested nodes, appending one `redaction/v1` record per node
    /// (time `now`) in the same commit as the deletions, [`MAX_REDACTIONS_PER_COMMIT`] per
    /// commit. Each request must name the NodeId the tree holds at its index, with content
    /// present and intact, of a type other than the record types; otherwise nothing of that
    /// commit is written. Roots, checkpoints and proofs are unchanged (SPEC.md §3.4).
    pub fn redact(
        &self,
        requests: &[RedactionRequest],
        now: Timestamp,
    ) -> Result<Vec<Redacted>, LedgerError> {
        let _span = tracing::info_span!("redact", nodes = requests.len()).entered();
        let mut out = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(MAX_REDACTIONS_PER_COMMIT) {
            let mut types = Vec::with_capacity(chunk.len());
            let done = self.commit_records(|snap| {
                let mut records = Vec::with_capacity(chunk.len());
                let mut seen = BTreeSet::new();
                for r in chunk {
                    let i = r.index;
                    let bad = |m: String| {
                        LedgerError::OutOfRange(format!("cannot redact leaf {i} ({}): {m}", r.id))
                    };
                    if !seen.insert(i) {
                        return Err(bad("requested twice".into()));
                    }
                    if snap.index_of(&r.id)? != Some(i) || snap.hash(0, i.get())? != Some(r.id.leaf_hash()) {
                        return Err(bad("the log holds another node at that leaf".into()));
                    }
                    let bytes = snap.node(i)?.ok_or_else(|| missing_content(snap, &r.id, i))?;
                    if NodeId::of_canonical(&bytes) != r.id {
                        return Err(LedgerError::Integrity {
                            code: ErrorCode::NodeIdMismatch,
                            message: format!(
                                "cannot redact leaf {i} ({}): its stored content is damaged",
                                r.id
                            ),
                        }
                        .advise(Next::VerifyFull));
                    }
                    let node = Node::from_canonical(&bytes)?;
                    let record = Redaction::new(r.id, i.get(), node.node_type(), &r.reason, &r.policy, now)
                        .map_err(|e| bad(e.to_string()))?;
                    types.push(node.node_type().to_owned());
                    records.push((i, record.to_node()));
                }
                Ok(records)
            })?;
            for (((target, record_index, record), req), node_type) in done.into_iter().zip(chunk).zip(types) {
                out.push(Redacted {
                    leaf_index: target.get(),
                    id: req.id,
                    node_type,
                    record,
                    record_index: record_index.get(),
                    policy: req.policy.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// The candidates a verified archive does not hold. The archive must be an export of this log
/// (`origin`, and its `to` anchor in `chain` with the same AnchorId); a candidate is held when
/// its leaf lies in the export's range and the export's filter includes its type, because a
/// verified export carries the node of every such leaf (SPEC.md §9.4 rules 4 and 7).
pub fn uncovered<'a>(
    origin: &str,
    chain: &[AnchorSummary],
    archive: &PackReport,
    candidates: &'a [Candidate],
) -> Result<Vec<&'a Candidate>, LedgerError> {
    let not_this = |m: &str| Err(LedgerError::OutOfRange(format!("the archive {m}")));
    let Some(ex) = archive
        .export
        .as_ref()
        .filter(|_| archive.kind == PackKind::Export)
    else {
        return not_this("is not a compliance export (the archive operation makes one)");
    };
    if archive.origin != origin {
        return not_this("is of another log (origin differs)");
    }
    if !chain.iter().any(|a| a.seq == ex.to.seq && a.id == ex.to.anchor) {
        return not_this("ends at an anchor that is not in this log's verified chain");
    }
    let start = ex.from.as_ref().map_or(0, |f| f.tree_size);
    let holds = |c: &Candidate| {
        (start..ex.to.tree_size).contains(&c.leaf_index)
            && ex.filter.as_ref().is_none_or(|f| f.contains(&c.node_type))
    };
    Ok(candidates.iter().filter(|c| !holds(c)).collect())
}

/// The anchor an archive of nodes older than `days` ends at: the last verified anchor whose
/// time is at least `days` before `now`. Every node it contains was first anchored at or before
/// it, so is at least `days` old; every node at least `days` old is in its tree.
pub fn archive_anchor(
    chain: &[AnchorSummary],
    days: u64,
    now: Timestamp,
) -> Result<AnchorSummary, LedgerError> {
    let cutoff = i64::try_from(days)
        .ok()
        .and_then(|d| d.checked_mul(DAY))
        .map(|s| now.unix() - s)
        .ok_or_else(|| LedgerError::OutOfRange("--older-than is out of range".into()))?;
    chain
        .iter()
        .rev()
        .find(|a| a.time.unix() <= cutoff)
        .cloned()
        .ok_or_else(|| {
            LedgerError::NotFound(format!(
                "no verified anchor is {days} days old; nothing is that old"
            ))
        })
}
