//! The consensus algorithm `vex-consensus/1` and its offline replay (SPEC.md §14.5–14.8).

use super::{
    ALGORITHM, CONSENSUS_TYPE, IssuerRegistry, Justification, Mode, Obj, PPM_I128, Policy, SignatureState,
    Statement, Status, Tier, VexError, check_id, mul_ppm, pointer_push, round_half_up,
};
use crate::hash::Digest;
use crate::limits::MAX_SAFE_INTEGER;
use crate::node::{Node, NodeId};
use crate::proof::TreeHead;
use crate::time::Timestamp;
use crate::tree::TreeSize;
use crate::verified::Verified;
use core::cmp::Ordering;
use serde_json::Value;
use std::collections::BTreeSet;

/// Nanoseconds per day, for whole-day ages (SPEC.md §14.5 rule 3).
const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;

/// Reasons recorded in `ignored` (SPEC.md §14.6).
mod reason {
    pub const KEY_MISMATCH: &str = "key_mismatch";
    pub const SIGNATURE_INVALID: &str = "signature_invalid";
    pub const SUPERSEDED: &str = "superseded";
    pub const ISSUER_SELF_CONFLICT: &str = "issuer_self_conflict";
    pub const JUSTIFICATION_REQUIRED: &str = "justification_required";
    pub const BELOW_THRESHOLD: &str = "below_threshold";
}

/// Codes recorded in the consensus node's `findings` (SPEC.md §14.6).
mod finding {
    pub const ISSUER_SELF_CONFLICT: &str = "issuer_self_conflict";
    pub const ISSUERS_MISMATCH: &str = "issuers_mismatch";
}

/// What a consensus is about: a canonical vulnerability id and product key, optionally narrowed
/// to one subcomponent of the product (SPEC.md §14.6 step 2).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    vuln_id: String,
    product_key: String,
    subcomponent_key: Option<String>,
}

fn key_err(member: &'static str) -> VexError {
    VexError::Invalid {
        node_type: CONSENSUS_TYPE,
        pointer: format!("/key/{member}"),
        reason: "must be a non-empty string of at most MAX_VEX_ID_BYTES",
    }
}

fn id_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= crate::limits::MAX_VEX_ID_BYTES
}

impl GroupKey {
    /// A product-level key.
    pub fn new(vuln_id: &str, product_key: &str) -> Result<Self, VexError> {
        if !id_ok(vuln_id) {
            return Err(key_err("vuln_id"));
        }
        if !id_ok(product_key) {
            return Err(key_err("product_key"));
        }
        Ok(Self {
            vuln_id: vuln_id.to_owned(),
            product_key: product_key.to_owned(),
            subcomponent_key: None,
        })
    }
    /// Narrows the key to one subcomponent of the product.
    pub fn with_subcomponent(mut self, subcomponent_key: &str) -> Result<Self, VexError> {
        if !id_ok(subcomponent_key) {
            return Err(key_err("subcomponent_key"));
        }
        self.subcomponent_key = Some(subcomponent_key.to_owned());
        Ok(self)
    }
    /// Canonical vulnerability id.
    pub fn vuln_id(&self) -> &str {
        &self.vuln_id
    }
    /// Canonical product key.
    pub fn product_key(&self) -> &str {
        &self.product_key
    }
    /// The subcomponent, if the key is narrowed to one.
    pub fn subcomponent_key(&self) -> Option<&str> {
        self.subcomponent_key.as_deref()
    }
    /// Whether a statement is about this key: same `vuln_id` and `product_key`, and, for a
    /// subcomponent key, a statement that lists no subcomponents (it covers the whole product)
    /// or lists this one (SPEC.md §14.6 step 2).
    pub fn matches(&self, s: &Statement) -> bool {
        s.vuln_id() == self.vuln_id
            && s.product_key() == Some(self.product_key.as_str())
            && self.subcomponent_key.as_ref().is_none_or(|sub| {
                s.subcomponent_keys().is_empty() || s.subcomponent_keys().binary_search(sub).is_ok()
            })
    }
}

/// The kind of a reported conflict (SPEC.md §14.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConflictKind {
    /// Eligible statements are in both the SAFE and the UNSAFE group.
    Hard,
    /// Any other conflict.
    Soft,
}

impl ConflictKind {
    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConflictKind::Hard => "hard",
            ConflictKind::Soft => "soft",
        }
    }
}

/// A computed consensus: the canonical `vex.consensus/v1` node and its headline values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusResult {
    node: Node,
    status: Option<Status>,
    justification: Option<Justification>,
    confidence_ppm: u64,
    dissent_ppm: u64,
    conflict: Option<ConflictKind>,
}

impl ConsensusResult {
    /// The `vex.consensus/v1` node (canonical bytes, NodeId).
    pub fn node(&self) -> &Node {
        &self.node
    }
    /// Gives up the node.
    pub fn into_node(self) -> Node {
        self.node
    }
    /// The consensus status; `None` when no statement was eligible.
    pub fn status(&self) -> Option<Status> {
        self.status
    }
    /// The consensus justification.
    pub fn justification(&self) -> Option<Justification> {
        self.justification
    }
    /// Share of the eligible weight that supports the status, ppm (0 without a status).
    pub fn confidence_ppm(&self) -> u64 {
        self.confidence_ppm
    }
    /// `10^6 − confidence` (0 without a status), ppm.
    pub fn dissent_ppm(&self) -> u64 {
        self.dissent_ppm
    }
    /// The conflict, if dissent reached the policy's threshold.
    pub fn conflict(&self) -> Option<ConflictKind> {
        self.conflict
    }
}

/// One statement after supersession, with its weight (SPEC.md §14.5).
struct Weighed<'a> {
    s: &'a Statement,
    tier: Tier,
    age_days: u64,
    fresh: i128,
    boost: i128,
    w: i128,
    eligible: bool,
}

/// Natural order of version strings: runs of ASCII digits compare as numbers, other runs
/// bytewise, a digit run sorts before a non-digit run; equal under that, bytewise (SPEC.md §14.6
/// step 5). `None` sorts first.
fn cmp_version(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => natural(a.as_bytes(), b.as_bytes()).then_with(|| a.cmp(b)),
    }
}

fn natural(mut a: &[u8], mut b: &[u8]) -> Ordering {
    fn run(s: &[u8]) -> (&[u8], &[u8]) {
        let digits = s.first().is_some_and(u8::is_ascii_digit);
        let n = s
            .iter()
            .position(|c| c.is_ascii_digit() != digits)
            .unwrap_or(s.len());
        s.split_at(n)
    }
    loop {
        match (a.is_empty(), b.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        let ((ra, rest_a), (rb, rest_b)) = (run(a), run(b));
        let (da, db) = (ra[0].is_ascii_digit(), rb[0].is_ascii_digit());
        let ord = match (da, db) {
            (true, true) => {
                let strip = |r: &[u8]| {
                    let z = r.iter().position(|&c| c != b'0').unwrap_or(r.len());
                    r[z..].to_vec()
                };
                let (na, nb) = (strip(ra), strip(rb));
                na.len().cmp(&nb.len()).then_with(|| na.cmp(&nb))
            }
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => ra.cmp(rb),
        };
        if ord != Ordering::Equal {
            return ord;
        }
        (a, b) = (rest_a, rest_b);
    }
}

/// The supersession order without its tie-breaks: (t_stmt, doc_version, statement version,
/// position), ascending; undated and absent values first.
fn supersession_cmp(a: &Statement, b: &Statement) -> Ordering {
    a.timestamp()
        .cmp(&b.timestamp())
        .then_with(|| cmp_version(a.doc_version(), b.doc_version()))
        .then_with(|| a.statement_version().cmp(&b.statement_version()))
        .then_with(|| a.position().cmp(&b.position()))
}

/// `fresh = 10^6 − round_half_up((10^6 − min_freshness) · min(age, D) / D)` (SPEC.md §14.5 rule 4).
fn freshness(min_freshness: i128, decay: i128, age_days: i128) -> i128 {
    PPM_I128 - round_half_up((PPM_I128 - min_freshness) * age_days.min(decay), decay)
}

/// HighestWeight order: weight desc, rank desc, t_stmt desc, digest asc.
fn weight_order(a: &Weighed<'_>, b: &Weighed<'_>) -> Ordering {
    b.w.cmp(&a.w)
        .then_with(|| b.s.status().cmp(&a.s.status()))
        .then_with(|| b.s.timestamp().cmp(&a.s.timestamp()))
        .then_with(|| a.s.statement_digest().cmp(&b.s.statement_digest()))
}

/// `argmax_x W(x)` over `set`, exact ties to the higher rank. `set` is non-empty.
fn weighted_vote(set: &[&Weighed<'_>]) -> Status {
    let mut sums = [0i128; 4];
    for e in set {
        sums[usize::from(e.s.status().rank())] += e.w;
    }
    let mut best = Status::NotAffected;
    for st in Status::ALL {
        // Later (higher-rank) statuses win exact ties: `>=`.
        if sums[usize::from(st.rank())] > 0 && sums[usize::from(st.rank())] >= sums[usize::from(best.rank())]
        {
            best = *st;
        }
    }
    best
}

/// Among not_affected voters, the justification with the largest summed weight; ties to the
/// earlier OpenVEX enum value.
fn voted_justification(set: &[&Weighed<'_>]) -> Option<Justification> {
    let mut sums = [0i128; 5];
    for e in set {
        if e.s.status() == Status::NotAffected
            && let Some(j) = e.s.justification()
        {
            sums[j as usize] += e.w;
        }
    }
    let mut best: Option<Justification> = None;
    for j in Justification::ALL {
        let sum = sums[*j as usize];
        if sum > 0 && best.is_none_or(|b| sum > sums[b as usize]) {
            best = Some(*j);
        }
    }
    best
}

fn num(x: i128) -> Value {
    // Every weight, share and sum is non-negative and below 2^53 by the policy bounds
    // (MAX_VEX_FACTOR_PPM, MAX_VEX_STATEMENTS); `Null` is unreachable.
    u64::try_from(x).map(Value::from).unwrap_or(Value::Null)
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn obj<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The links of a consensus node: policy, issuers, then every distinct statement by NodeId.
fn links_for(policy: NodeId, issuers: NodeId, statements: &[NodeId]) -> Vec<(&'static str, NodeId)> {
    let mut out = vec![("policy", policy), ("issuers", issuers)];
    out.extend(statements.iter().map(|id| ("statement", *id)));
    out
}

/// Computes the consensus of `statements` about `key` (SPEC.md §14.6–14.7) and returns the
/// canonical `vex.consensus/v1` node.
///
/// Pure and deterministic: the node depends only on the arguments, never on the order of
/// `statements` or on repeated statements. `as_of` is the time freshness is measured at;
/// `checkpoint` is the ledger snapshot the statements were selected from (recorded, not
/// checked here). `mode` may differ from the policy's default mode.
///
/// Fails with `VEX_INVALID` when there are more distinct statement nodes than the policy's
/// `max_statements_per_computation`, or the checkpoint's tree size is not a JSON-safe integer.
pub fn consensus(
    statements: &[Statement],
    policy: &Policy,
    issuers: &IssuerRegistry,
    key: &GroupKey,
    as_of: Timestamp,
    checkpoint: TreeHead,
    mode: Mode,
) -> Result<ConsensusResult, VexError> {
    // SPEC.md §14.6 step 1: the input set, distinct statement nodes.
    let mut input: Vec<&Statement> = statements.iter().collect();
    input.sort_by_key(|s| s.node_id());
    input.dedup_by_key(|s| s.node_id());
    if input.len() as u64 > policy.max_statements_per_computation() {
        return Err(VexError::TooManyStatements {
            count: input.len(),
            limit: policy.max_statements_per_computation(),
        });
    }
    if checkpoint.size().get() > MAX_SAFE_INTEGER {
        return Err(VexError::Invalid {
            node_type: CONSENSUS_TYPE,
            pointer: "/checkpoint/tree_size".into(),
            reason: "tree size above 2^53-1 cannot be written in JSON",
        });
    }

    let mut ignored: Vec<(Digest, &'static str)> = Vec::new();
    let mut findings: Vec<(&'static str, String)> = Vec::new();

    // Steps 2–3: the group key; invalid signatures are rejected before they can supersede.
    let mut candidates: Vec<&Statement> = Vec::with_capacity(input.len());
    for s in &input {
        if !key.matches(s) {
            ignored.push((s.statement_digest(), reason::KEY_MISMATCH));
        } else if s.signature() == SignatureState::Invalid {
            ignored.push((s.statement_digest(), reason::SIGNATURE_INVALID));
        } else {
            candidates.push(s);
        }
    }

    // Step 4: dedupe by (issuer_id, statement_digest).
    candidates.sort_by(|a, b| {
        a.issuer_id()
            .cmp(b.issuer_id())
            .then_with(|| a.statement_digest().cmp(&b.statement_digest()))
    });
    candidates
        .dedup_by(|a, b| a.issuer_id() == b.issuer_id() && a.statement_digest() == b.statement_digest());

    // Step 5: per-issuer supersession.
    let mut survivors: Vec<&Statement> = Vec::new();
    for run in candidates.chunk_by(|a, b| a.issuer_id() == b.issuer_id()) {
        let mut run = run.to_vec();
        run.sort_by(|a, b| {
            supersession_cmp(a, b)
                .then_with(|| a.status().cmp(&b.status()))
                .then_with(|| a.statement_digest().cmp(&b.statement_digest()))
        });
        let Some((winner, losers)) = run.split_last() else {
            continue;
        };
        let tied = |s: &Statement| supersession_cmp(s, winner) == Ordering::Equal;
        let self_conflict = losers.iter().any(|s| tied(s) && s.status() != winner.status());
        if self_conflict {
            findings.push((finding::ISSUER_SELF_CONFLICT, winner.issuer_id().to_owned()));
        }
        for s in losers {
            let why = if tied(s) && s.status() != winner.status() {
                reason::ISSUER_SELF_CONFLICT
            } else {
                reason::SUPERSEDED
            };
            ignored.push((s.statement_digest(), why));
        }
        survivors.push(winner);
    }

    // Step 6: weight and eligibility (§14.5).
    let decay = i128::from(policy.freshness_decay_days());
    let as_of_ns = i128::from(as_of.unix()) * 1_000_000_000;
    let threshold = i128::from(policy.minimum_weight_threshold_ppm());
    let mut weighed: Vec<Weighed<'_>> = Vec::with_capacity(survivors.len());
    for s in survivors {
        let tier = issuers.tier_for(s.issuer_id(), key.product_key());
        let base = i128::from(policy.weight_ppm(tier));
        let sig = match s.signature() {
            SignatureState::Verified => i128::from(policy.signed_multiplier_ppm()),
            _ => PPM_I128,
        };
        let age = match s.timestamp() {
            None => decay,
            Some(t) => (as_of_ns - t.unix_nanos()).div_euclid(NANOS_PER_DAY).max(0),
        };
        let fresh = freshness(i128::from(policy.min_freshness_ppm()), decay, age);
        let boost = match (s.status(), s.justification()) {
            (Status::NotAffected, Some(_)) => i128::from(policy.justified_not_affected_boost_ppm()),
            (Status::Fixed, _) => i128::from(policy.fixed_status_boost_ppm()),
            _ => PPM_I128,
        };
        let w = mul_ppm(mul_ppm(mul_ppm(base, sig), fresh), boost);
        let unjustified = policy.require_justification_for_not_affected()
            && s.status() == Status::NotAffected
            && s.justification().is_none();
        let eligible = !unjustified && w >= threshold;
        if unjustified {
            ignored.push((s.statement_digest(), reason::JUSTIFICATION_REQUIRED));
        } else if !eligible {
            ignored.push((s.statement_digest(), reason::BELOW_THRESHOLD));
        }
        weighed.push(Weighed {
            s,
            tier,
            // Ages are at most ~3.7 million days (years 1970–9999).
            age_days: u64::try_from(age).unwrap_or(u64::MAX),
            fresh,
            boost,
            w,
            eligible,
        });
    }
    weighed.sort_by_key(|e| e.s.statement_digest());

    // Step 7: the mode's result over the eligible statements (§14.7).
    let mut ranked: Vec<&Weighed<'_>> = weighed.iter().filter(|e| e.eligible).collect();
    ranked.sort_by(|a, b| weight_order(a, b));
    let decided = decide(&ranked, mode);

    // Outputs common to all modes, over every eligible statement.
    let mut support = [0i128; 4];
    for e in &ranked {
        support[usize::from(e.s.status().rank())] += e.w;
    }
    let total: i128 = support.iter().sum();
    let (status, confidence, dissent, conflict, dissenting) = match &decided {
        None => (None, 0, 0, None, Vec::new()),
        Some(d) => {
            let confidence = round_half_up(support[usize::from(d.status.rank())] * PPM_I128, total);
            let dissent = PPM_I128 - confidence;
            let conflict = (dissent >= i128::from(policy.conflict_threshold_ppm())).then(|| {
                let safe = ranked.iter().any(|e| e.s.status().is_safe());
                let unsafe_ = ranked.iter().any(|e| e.s.status().is_unsafe());
                if safe && unsafe_ {
                    ConflictKind::Hard
                } else {
                    ConflictKind::Soft
                }
            });
            let mut dissenting: Vec<Digest> = ranked
                .iter()
                .filter(|e| e.s.status() != d.status)
                .map(|e| e.s.statement_digest())
                .collect();
            dissenting.sort();
            (Some(d.status), confidence, dissent, conflict, dissenting)
        }
    };

    // Step 8: a registry the policy is not bound to.
    if let Some(bound) = policy.issuers()
        && bound != issuers.node().id()
    {
        findings.push((finding::ISSUERS_MISMATCH, bound.to_string()));
    }
    findings.sort();
    findings.dedup();
    ignored.sort();
    ignored.dedup();

    // The node (SPEC.md §14.7, "consensus node"), built member by member: `json!` would
    // re-serialize every nested `Value` through serde.
    let support_obj = Value::Object(
        Status::ALL
            .iter()
            .map(|st| (st.as_str().to_owned(), num(support[usize::from(st.rank())])))
            .collect(),
    );
    let contributors: Vec<Value> = weighed
        .iter()
        .map(|e| {
            obj([
                ("statement_digest", Value::String(e.s.statement_digest().to_hex())),
                ("issuer_id", text(e.s.issuer_id())),
                ("tier", text(e.tier.as_str())),
                ("signature", text(e.s.signature().as_str())),
                ("age_days", Value::from(e.age_days)),
                ("fresh_ppm", num(e.fresh)),
                ("boost_ppm", num(e.boost)),
                ("weight_ppm", num(e.w)),
                ("status", text(e.s.status().as_str())),
                ("eligible", Value::Bool(e.eligible)),
            ])
        })
        .collect();
    let statement_ids: Vec<NodeId> = input.iter().map(|s| s.node_id()).collect();
    let links: Vec<Value> = links_for(policy.node().id(), issuers.node().id(), &statement_ids)
        .into_iter()
        .map(|(rel, id)| obj([("rel", text(rel)), ("id", Value::String(id.to_string()))]))
        .collect();
    let meta = decided.as_ref().and_then(|d| d.meta);
    let justifications: Vec<Value> = decided.as_ref().map_or(Vec::new(), |d| {
        d.justifications.iter().map(|j| text(j.as_str())).collect()
    });
    let value = obj([
        ("type", text(CONSENSUS_TYPE)),
        ("algo", text(ALGORITHM)),
        ("mode", text(mode.as_str())),
        ("policy", Value::String(policy.node().id().to_string())),
        ("as_of", Value::String(as_of.to_string())),
        (
            "checkpoint",
            obj([
                ("tree_size", Value::from(checkpoint.size().get())),
                ("root", Value::String(checkpoint.root().to_base64())),
            ]),
        ),
        (
            "key",
            obj([
                ("vuln_id", text(key.vuln_id())),
                ("product_key", text(key.product_key())),
                ("subcomponent_key", opt_str(key.subcomponent_key())),
            ]),
        ),
        ("status", opt_str(status.map(Status::as_str))),
        (
            "justification",
            opt_str(
                decided
                    .as_ref()
                    .and_then(|d| d.justification)
                    .map(Justification::as_str),
            ),
        ),
        ("justifications", Value::Array(justifications)),
        (
            "impact_statement",
            opt_str(meta.and_then(|m| m.s.impact_statement())),
        ),
        (
            "action_statement",
            opt_str(meta.and_then(|m| m.s.action_statement())),
        ),
        ("confidence_ppm", num(confidence)),
        ("support_ppm", support_obj),
        ("contributors", Value::Array(contributors)),
        (
            "ignored",
            Value::Array(
                ignored
                    .iter()
                    .map(|(d, r)| {
                        obj([
                            ("statement_digest", Value::String(d.to_hex())),
                            ("reason", text(r)),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "conflict",
            obj([
                ("has_conflict", Value::Bool(conflict.is_some())),
                ("kind", opt_str(conflict.map(ConflictKind::as_str))),
                ("dissent_ppm", num(dissent)),
                (
                    "dissenting",
                    Value::Array(dissenting.iter().map(|d| Value::String(d.to_hex())).collect()),
                ),
            ]),
        ),
        (
            "findings",
            Value::Array(
                findings
                    .iter()
                    .map(|(c, d)| obj([("code", text(c)), ("detail", text(d))]))
                    .collect(),
            ),
        ),
        ("links", Value::Array(links)),
    ]);
    let node = Node::from_value(value)?;
    Ok(ConsensusResult {
        node,
        status,
        justification: decided.as_ref().and_then(|d| d.justification),
        confidence_ppm: u64::try_from(confidence).unwrap_or(0),
        dissent_ppm: u64::try_from(dissent).unwrap_or(0),
        conflict,
    })
}

/// A mode's decision.
struct Decision<'w, 'a> {
    status: Status,
    justification: Option<Justification>,
    justifications: BTreeSet<Justification>,
    /// The statement whose impact and action statements are copied.
    meta: Option<&'w Weighed<'a>>,
}

/// Applies `mode` to the eligible statements, already in HighestWeight order (SPEC.md §14.7).
fn decide<'w, 'a>(ranked: &[&'w Weighed<'a>], mode: Mode) -> Option<Decision<'w, 'a>> {
    let first = ranked.first()?;
    let (set, status, copy_justification): (Vec<&Weighed<'_>>, Status, bool) = match mode {
        Mode::HighestWeight => (ranked.to_vec(), first.s.status(), true),
        Mode::Lattice => {
            let top = ranked
                .iter()
                .map(|e| e.s.status())
                .max()
                .unwrap_or(first.s.status());
            (ranked.to_vec(), top, true)
        }
        Mode::WeightedVote => (ranked.to_vec(), weighted_vote(ranked), false),
        Mode::AuthoritativeFirst => {
            let tier = ranked.iter().map(|e| e.tier).min().unwrap_or(first.tier);
            let set: Vec<&Weighed<'_>> = ranked.iter().copied().filter(|e| e.tier == tier).collect();
            let status = weighted_vote(&set);
            (set, status, false)
        }
    };
    // `set` is in HighestWeight order: the first statement with the result status carries the
    // metadata (for HighestWeight that is `first`).
    let meta = set.iter().copied().find(|e| e.s.status() == status);
    let justification = if copy_justification {
        meta.and_then(|m| m.s.justification())
    } else if status == Status::NotAffected {
        voted_justification(&set)
    } else {
        None
    };
    let justifications = set
        .iter()
        .filter(|e| e.s.status() == status)
        .filter_map(|e| e.s.justification())
        .collect();
    Some(Decision {
        status,
        justification,
        justifications,
        meta,
    })
}

// ---- replay (SPEC.md §14.8) ----

fn invalid(pointer: &str, reason: &'static str) -> VexError {
    VexError::Invalid {
        node_type: CONSENSUS_TYPE,
        pointer: pointer.into(),
        reason,
    }
}

/// The recorded inputs of a consensus node.
struct Header {
    mode: Mode,
    as_of: Timestamp,
    checkpoint: TreeHead,
    key: GroupKey,
    policy: NodeId,
}

fn read_header(value: &Value) -> Result<Header, VexError> {
    let mut o = Obj::new(value, CONSENSUS_TYPE, String::new())?;
    if o.string("type")? != CONSENSUS_TYPE {
        return Err(o.err("type", "wrong node type"));
    }
    if o.string("algo")? != ALGORITHM {
        return Err(o.err("algo", "must be \"vex-consensus/1\""));
    }
    let mode = Mode::parse(o.string("mode")?).ok_or_else(|| o.err("mode", "not a consensus mode"))?;
    let as_of =
        Timestamp::parse(o.string("as_of")?).map_err(|_| o.err("as_of", "not YYYY-MM-DDTHH:MM:SSZ"))?;
    let policy = o
        .string("policy")?
        .parse()
        .map_err(|_| o.err("policy", "must be a NodeId"))?;
    let mut c = Obj::new(o.req("checkpoint")?, CONSENSUS_TYPE, o.path("checkpoint"))?;
    let size = TreeSize::new(c.uint("tree_size")?).ok_or_else(|| c.err("tree_size", "out of range"))?;
    let root =
        Digest::from_base64(c.string("root")?).ok_or_else(|| c.err("root", "not base64 of 32 bytes"))?;
    let mut k = Obj::new(o.req("key")?, CONSENSUS_TYPE, o.path("key"))?;
    let vuln_id = k.string("vuln_id")?;
    check_id(&k, "vuln_id", vuln_id)?;
    let product_key = k.string("product_key")?;
    check_id(&k, "product_key", product_key)?;
    let mut key = GroupKey::new(vuln_id, product_key)?;
    if let Some(sub) = k.string_or_null("subcomponent_key")? {
        key = key.with_subcomponent(sub)?;
    }
    Ok(Header {
        mode,
        as_of,
        checkpoint: TreeHead::new(size, root),
        key,
        policy,
    })
}

/// Compares two JSON values in canonical member order and returns the RFC 6901 pointer of the
/// first difference.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            // RFC 8785 member order: UTF-16 code units.
            keys.sort_by(|p, q| p.encode_utf16().cmp(q.encode_utf16()));
            keys.dedup();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, &pointer_push(at, k)),
                _ => Some(pointer_push(at, k)),
            })
        }
        (Value::Array(x), Value::Array(y)) => (0..x.len().max(y.len())).find_map(|i| {
            let here = pointer_push(at, &i.to_string());
            match (x.get(i), y.get(i)) {
                (Some(p), Some(q)) => first_difference(p, q, &here),
                _ => Some(here),
            }
        }),
        _ => (a != b).then(|| at.to_owned()),
    }
}

/// Replays a recorded `vex.consensus/v1` node offline (SPEC.md §14.8): parses the policy, the
/// issuer registry and every statement strictly, checks they are the nodes the consensus node
/// names, recomputes the consensus from the recorded `mode`, `as_of`, `checkpoint` and `key`,
/// and compares the canonical bytes.
///
/// Fails with `VEX_INVALID` for a malformed input node, and with `CONSENSUS_MISMATCH` naming
/// the JSON Pointer of the first differing member: `/policy` or `/links/<i>/…` when the inputs
/// are not the recorded ones, else the first difference in canonical member order.
///
/// `as_of`, `checkpoint`, `key` and `mode` are inputs: a node that changes them is the correct
/// consensus for other inputs, so callers check them against what they expect, and check that
/// the statements are in the log at `checkpoint`.
pub fn replay(
    consensus_node: &Node,
    statements: &[Node],
    policy: &Node,
    issuers: &Node,
) -> Result<Verified<ConsensusResult>, VexError> {
    if consensus_node.node_type() != CONSENSUS_TYPE {
        return Err(invalid("/type", "wrong node type"));
    }
    let recorded = consensus_node.value();
    let header = read_header(&recorded)?;
    let policy_t = Policy::from_node(policy)?;
    let issuers_t = IssuerRegistry::from_node(issuers)?;
    let parsed = statements
        .iter()
        .map(Statement::from_node)
        .collect::<Result<Vec<_>, _>>()?;

    if policy.id() != header.policy {
        return Err(VexError::Mismatch {
            pointer: "/policy".into(),
        });
    }
    let mut ids: Vec<NodeId> = statements.iter().map(Node::id).collect();
    ids.sort();
    ids.dedup();
    let expected = links_for(policy.id(), issuers.id(), &ids);
    let actual = consensus_node.links();
    for i in 0..expected.len().max(actual.len()) {
        let at = format!("/links/{i}");
        match (expected.get(i), actual.get(i)) {
            (Some((rel, id)), Some(l)) => {
                if l.rel != *rel {
                    return Err(VexError::Mismatch {
                        pointer: format!("{at}/rel"),
                    });
                }
                if l.id != *id {
                    return Err(VexError::Mismatch {
                        pointer: format!("{at}/id"),
                    });
                }
            }
            _ => return Err(VexError::Mismatch { pointer: at }),
        }
    }

    let result = consensus(
        &parsed,
        &policy_t,
        &issuers_t,
        &header.key,
        header.as_of,
        header.checkpoint,
        header.mode,
    )?;
    if result.node().bytes() == consensus_node.bytes() {
        return Ok(Verified::new(result));
    }
    let pointer = first_difference(&recorded, &result.node().value(), "").unwrap_or_default();
    Err(VexError::Mismatch { pointer })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_order_is_natural() {
        let v = |s: &str| Some(s.to_owned());
        let mut xs = vec![
            v("10"),
            v("9"),
            None,
            v("1.10.0"),
            v("1.9.2"),
            v("1.9"),
            v("01"),
            v("1"),
            v("b"),
            v("a"),
        ];
        xs.sort_by(|a, b| cmp_version(a.as_deref(), b.as_deref()));
        let got: Vec<_> = xs.iter().map(|x| x.as_deref().unwrap_or("-")).collect();
        assert_eq!(
            got,
            ["-", "01", "1", "1.9", "1.9.2", "1.10.0", "9", "10", "a", "b"]
        );
    }

    #[test]
    fn freshness_table() {
        for (days, fresh) in [
            (0, 1_000_000),
            (1, 983_333),
            (2, 966_667),
            (5, 916_667),
            (10, 833_333),
            (15, 750_000),
            (29, 516_667),
            (30, 500_000),
            (31, 500_000),
            (10_000, 500_000),
        ] {
            assert_eq!(freshness(500_000, 30, days), fresh, "{days} days");
        }
        // Other knobs: a 7-day decay to 0.2.
        assert_eq!(freshness(200_000, 7, 1), 885_714);
        assert_eq!(freshness(200_000, 7, 7), 200_000);
    }

    #[test]
    fn weights_of_worked_example_d() {
        // mul(mul(mul(base, sig), fresh), boost), in this order.
        assert_eq!(
            mul_ppm(mul_ppm(mul_ppm(1_000_000, 1_200_000), 1_000_000), 1_050_000),
            1_260_000
        );
        assert_eq!(
            mul_ppm(mul_ppm(mul_ppm(800_000, 1_000_000), 1_000_000), 1_100_000),
            880_000
        );
        assert_eq!(round_half_up(1_260_000 * PPM_I128, 2_140_000), 588_785);
        // Untrusted, unsigned, fresh: exactly the default threshold.
        assert_eq!(
            mul_ppm(mul_ppm(mul_ppm(100_000, 1_000_000), 1_000_000), 1_000_000),
            100_000
        );
    }

    #[test]
    fn rounding_is_half_up() {
        assert_eq!(round_half_up(5, 10), 1);
        assert_eq!(round_half_up(4, 10), 0);
        assert_eq!(round_half_up(15, 10), 2);
        assert_eq!(round_half_up(500_000 * 2, 30), 33_333);
        assert_eq!(mul_ppm(1_260_000, 1_000_000), 1_260_000);
        assert_eq!(mul_ppm(1, 500_000), 1);
        assert_eq!(mul_ppm(1, 499_999), 0);
    }

    #[test]
    fn first_difference_uses_canonical_order() {
        let a = json!({"b": [1, {"x": 1}], "a": 1, "c~/": 0});
        let b = json!({"b": [1, {"x": 2}], "a": 1, "c~/": 1});
        assert_eq!(first_difference(&a, &b, "").as_deref(), Some("/b/1/x"));
        let c = json!({"b": [1, {"x": 1}], "a": 1, "c~/": 1});
        assert_eq!(first_difference(&a, &c, "").as_deref(), Some("/c~0~1"));
        assert_eq!(first_difference(&a, &a, ""), None);
        assert_eq!(
            first_difference(&json!([1]), &json!([1, 2]), "").as_deref(),
            Some("/1")
        );
    }
}
