//! VEX on the log: ingest a document and append its nodes, compute a consensus over the
//! statements in the log and append it, find recorded consensus nodes, and replay one from the
//! nodes the log holds (SPEC.md §14.6–14.8, docs/vex-model.md).
//!
//! Statement and consensus look-ups are O(n) scans of the log with a byte prefilter
//! ([`LedgerReader::nodes_of_type`]); there is no secondary index yet. That is fine for logs of
//! up to a few hundred thousand nodes; a projection table is the next step when it is not.

use super::{Finding, VexFormat, ingest};
use crate::error::LedgerError;
use crate::reader::LedgerReader;
use crate::store::Store;
use crate::writer::{AppendOutcome, Ledger};
use evl_sdk::vex::{
    CONSENSUS_TYPE, ConsensusResult, GroupKey, IssuerRegistry, Mode, Policy, Statement, VexError, consensus,
    replay,
};
use evl_sdk::{Digest, LeafIndex, Node, NodeId, SignedCheckpoint, Timestamp, TreeHead, TreeSize, Verified};

/// Moved to `evl-vex` (it parses text, it does not touch the log); kept here under its old path.
pub use evl_vex::parse_as_of;

/// What [`ingest_and_append`] stored: the raw document's receipt, one receipt per statement (in
/// document order) and the document-level findings.
#[derive(Clone, Debug)]
pub struct IngestReceipts {
    /// The detected format.
    pub format: VexFormat,
    /// The declared format version.
    pub format_version: String,
    /// The `blob/v1` node holding the raw document.
    pub document: AppendOutcome,
    /// The `vex.statement/v1` nodes, in document order. `created` is false for a statement the
    /// log already held (a mirrored copy of a document: identical statements have identical
    /// NodeIds, so they are stored, and vote, once).
    pub statements: Vec<AppendOutcome>,
    /// Document-level findings (skipped entries, document defects), sorted by (pointer, code).
    pub findings: Vec<Finding>,
}

/// Ingests one OpenVEX, CSAF or CycloneDX document ([`ingest`]) and appends the raw document
/// and its statements in one batch, blob first: one commit, one signed checkpoint, and either
/// all of the nodes are stored or none.
pub fn ingest_and_append<S: Store>(ledger: &Ledger<S>, raw: &[u8]) -> Result<IngestReceipts, LedgerError> {
    let _span = tracing::debug_span!("vex_ingest", bytes = raw.len()).entered();
    let ingested = ingest(raw)?;
    let format = ingested.format();
    let format_version = ingested.format_version().to_owned();
    let (blob, statements, findings) = ingested.into_parts();
    let mut nodes = Vec::with_capacity(statements.len() + 1);
    nodes.push(blob);
    nodes.extend(statements);
    let mut out = ledger.append(nodes)?.into_iter();
    let document = out
        .next()
        .ok_or_else(|| LedgerError::OutOfRange("the append returned no receipt for the document".into()))?;
    Ok(IngestReceipts {
        format,
        format_version,
        document,
        statements: out.collect(),
        findings,
    })
}

/// A consensus computed over the log and appended to it.
#[derive(Clone, Debug)]
pub struct RecordedConsensus {
    /// The consensus (its `vex.consensus/v1` node and headline values).
    pub result: ConsensusResult,
    /// The consensus node's receipt (`created` false when an identical node was already there).
    pub appended: AppendOutcome,
    /// The NodeIds of the statements it was computed from (distinct, sorted).
    pub statements: Vec<NodeId>,
}

/// Computes the consensus about `key` over the statements in the log and appends the
/// `vex.consensus/v1` node (SPEC.md §14.6–14.7).
///
/// * `policy`: the NodeId of a `vex.policy/v1` node in the log; its issuer registry is the
///   policy's `issuers` node (which must be in the log), or the empty registry when that is
///   null. Without `policy`, the default policy (SPEC.md §14.1) and the empty registry are used.
///   The default policy and the empty registry are appended first if the log lacks them, so
///   every link of the consensus node resolves in the log.
/// * `mode`: overrides the policy's mode.
/// * `as_of`: the time freshness is measured at (the caller's clock, never read here).
///
/// The checkpoint recorded is the latest signed checkpoint when the computation starts, and the
/// statements are exactly those of `key` among its leaves, so a replay can check that every
/// input was in the log at the recorded checkpoint.
pub fn compute_consensus<S: Store>(
    ledger: &Ledger<S>,
    key: &GroupKey,
    mode: Option<Mode>,
    as_of: Timestamp,
    policy: Option<NodeId>,
) -> Result<RecordedConsensus, LedgerError> {
    let _span =
        tracing::debug_span!("vex_consensus", vuln = key.vuln_id(), product = key.product_key()).entered();
    let reader = ledger.reader();
    let (policy, issuers) = match policy {
        None => (Policy::default(), IssuerRegistry::empty()),
        Some(id) => {
            let policy = Policy::from_node(&load(&reader, &id, "policy")?)?;
            let issuers = match policy.issuers() {
                Some(rid) => IssuerRegistry::from_node(&load(&reader, &rid, "issuer registry")?)?,
                None => IssuerRegistry::empty(),
            };
            (policy, issuers)
        }
    };
    ensure_in_log(ledger, &[policy.node(), issuers.node()])?;

    let head = latest_head(&reader)?;
    let nodes = reader.statements_for_at(key, Some(head.size()))?;
    let statements = nodes
        .iter()
        .map(Statement::from_node)
        .collect::<Result<Vec<_>, _>>()?;
    let mode = mode.unwrap_or_else(|| policy.mode());
    let result = consensus(&statements, &policy, &issuers, key, as_of, head, mode)?;
    let mut ids: Vec<NodeId> = nodes.iter().map(Node::id).collect();
    ids.sort();
    ids.dedup();
    let appended = ledger
        .append(vec![result.node().clone()])?
        .pop()
        .ok_or_else(|| LedgerError::OutOfRange("the append returned no receipt".into()))?;
    Ok(RecordedConsensus {
        result,
        appended,
        statements: ids,
    })
}

/// The recorded `vex.consensus/v1` nodes whose `key` is exactly `key` (and whose `mode` is
/// `mode`, if given), newest (highest leaf index) first. An O(n) scan; consensus nodes that do
/// not carry a readable `key` are skipped.
pub fn consensus_history<S: Store>(
    reader: &LedgerReader<S>,
    key: &GroupKey,
    mode: Option<Mode>,
) -> Result<Vec<(LeafIndex, Node)>, LedgerError> {
    let mut out: Vec<(LeafIndex, Node)> = reader
        .nodes_of_type(CONSENSUS_TYPE, None)?
        .into_iter()
        .filter(|(_, n)| {
            let v = n.value();
            let k = &v["key"];
            k["vuln_id"].as_str() == Some(key.vuln_id())
                && k["product_key"].as_str() == Some(key.product_key())
                && k["subcomponent_key"].as_str() == key.subcomponent_key()
                && mode.is_none_or(|m| v["mode"].as_str() == Some(m.as_str()))
        })
        .collect();
    out.reverse();
    Ok(out)
}

/// A consensus node that replayed from the log.
#[derive(Debug)]
pub struct ReplayedConsensus {
    /// The recomputed consensus, byte-identical to the recorded node.
    pub result: Verified<ConsensusResult>,
    /// The consensus node's leaf index.
    pub leaf_index: LeafIndex,
    /// The policy it names.
    pub policy: NodeId,
    /// The issuer registry it names.
    pub issuers: NodeId,
    /// The statements it was computed from, each with its leaf index.
    pub statements: Vec<(NodeId, LeafIndex)>,
    /// The recorded checkpoint, equal to this log's tree head at that size.
    pub checkpoint: TreeHead,
}

/// Replays the consensus node `id` from the nodes this log holds (SPEC.md §14.8): loads it, the
/// policy it names, the issuer registry and every statement it links, runs
/// [`evl_sdk::vex::replay`], then checks the recorded checkpoint against this log: its root must
/// be this log's root at its tree size (else `CONSENSUS_MISMATCH` at `/checkpoint/root`) and
/// every statement must be in the tree of that size (else `/checkpoint/tree_size`).
///
/// The inputs are the nodes the links name: the policy linked `policy` (or, without such a
/// link, the `policy` member), the registry linked `issuers` (or the policy's `issuers`, else
/// the empty registry), every statement linked `statement`; the replay reports any difference
/// from the links a correct node has. A linked node missing from the log is `NOT_FOUND`.
pub fn replay_from_log<S: Store>(
    reader: &LedgerReader<S>,
    id: &NodeId,
) -> Result<ReplayedConsensus, LedgerError> {
    let _span = tracing::debug_span!("vex_replay", id = %id).entered();
    let (leaf_index, bytes) = reader.node(id)?;
    let node = Node::from_canonical_with_id(&bytes, *id)?;
    if node.node_type() != CONSENSUS_TYPE {
        return Err(invalid("/type", "not a vex.consensus/v1 node").into());
    }
    let value = node.value();
    // The inputs are what the links name; the replay then checks `policy` against them.
    let policy_id: NodeId = match node.links().iter().find(|l| l.rel == "policy") {
        Some(l) => l.id,
        None => value["policy"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("/policy", "must be a NodeId"))?,
    };
    let policy = load(reader, &policy_id, "policy")?;
    let issuers_id = match node.links().iter().find(|l| l.rel == "issuers") {
        Some(l) => Some(l.id),
        None => Policy::from_node(&policy)?.issuers(),
    };
    let issuers = match issuers_id {
        Some(rid) => load(reader, &rid, "issuer registry")?,
        None => IssuerRegistry::empty().node().clone(),
    };
    let mut statements = Vec::new();
    let mut placed = Vec::new();
    for l in node.links().iter().filter(|l| l.rel == "statement") {
        let (index, bytes) = reader.node(&l.id).map_err(|e| match e {
            LedgerError::NotFound(_) => LedgerError::NotFound(format!(
                "statement {} linked from consensus {id} is not in the log",
                l.id
            )),
            e => e,
        })?;
        statements.push(Node::from_canonical_with_id(&bytes, l.id)?);
        placed.push((l.id, index));
    }
    let result = replay(&node, &statements, &policy, &issuers)?;

    // The recorded checkpoint must be this log's tree at that size, holding every input.
    let cp = &value["checkpoint"];
    let size = cp["tree_size"]
        .as_u64()
        .and_then(TreeSize::new)
        .ok_or_else(|| invalid("/checkpoint/tree_size", "not a tree size"))?;
    let root = cp["root"]
        .as_str()
        .and_then(Digest::from_base64)
        .ok_or_else(|| invalid("/checkpoint/root", "not base64 of 32 bytes"))?;
    if size > reader.tree_size()? || placed.iter().any(|(_, i)| !size.contains(*i)) {
        return Err(mismatch("/checkpoint/tree_size").into());
    }
    if reader.root_at(size)? != root {
        return Err(mismatch("/checkpoint/root").into());
    }
    Ok(ReplayedConsensus {
        result,
        leaf_index,
        policy: policy.id(),
        issuers: issuers.id(),
        statements: placed,
        checkpoint: TreeHead::new(size, root),
    })
}

fn invalid(pointer: &str, reason: &'static str) -> VexError {
    VexError::Invalid {
        node_type: CONSENSUS_TYPE,
        pointer: pointer.to_owned(),
        reason,
    }
}

fn mismatch(pointer: &str) -> VexError {
    VexError::Mismatch {
        pointer: pointer.to_owned(),
    }
}

/// Loads a node the caller named (`what` is for the not-found message).
fn load<S: Store>(reader: &LedgerReader<S>, id: &NodeId, what: &str) -> Result<Node, LedgerError> {
    let (_, bytes) = reader.node(id).map_err(|e| match e {
        LedgerError::NotFound(_) => LedgerError::NotFound(format!("{what} {id} is not in the log")),
        e => e,
    })?;
    Ok(Node::from_canonical_with_id(&bytes, *id)?)
}

/// Appends those of `nodes` the log does not hold yet.
fn ensure_in_log<S: Store>(ledger: &Ledger<S>, nodes: &[&Node]) -> Result<(), LedgerError> {
    let reader = ledger.reader();
    let mut missing = Vec::new();
    for n in nodes {
        match reader.node(&n.id()) {
            Ok(_) => {}
            Err(LedgerError::NotFound(_)) => missing.push((*n).clone()),
            Err(e) => return Err(e),
        }
    }
    if !missing.is_empty() {
        ledger.append(missing)?;
    }
    Ok(())
}

/// The tree head of the latest signed checkpoint.
fn latest_head<S: Store>(reader: &LedgerReader<S>) -> Result<TreeHead, LedgerError> {
    let (size, text) = reader.latest_checkpoint()?;
    let signed = SignedCheckpoint::parse(text.as_bytes()).map_err(|e| LedgerError::Integrity {
        code: e.code(),
        message: format!("the stored checkpoint at size {size} does not parse: {e}"),
    })?;
    let head = signed.checkpoint().head();
    if head.size() != size {
        return Err(LedgerError::Integrity {
            code: evl_sdk::ErrorCode::NoteMalformed,
            message: format!(
                "the checkpoint stored for size {size} is for size {}",
                head.size()
            ),
        });
    }
    Ok(head)
}
