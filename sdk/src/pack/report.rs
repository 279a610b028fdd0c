//! What a verified pack proves (SPEC.md §9.7): the report types.

use super::backup::BackupReport;
use super::export::AnchorRef;
use crate::anchor::{AnchorSummary, SegmentBreak};
use crate::node::NodeId;
use crate::time::Timestamp;
use crate::tree::LeafIndex;
use serde::{Deserialize, Serialize};

/// Evidence pack, export or backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackKind {
    /// Chosen nodes with inclusion proofs (SPEC.md §9.3).
    Evidence,
    /// Every leaf between two anchors (SPEC.md §9.4).
    Export,
    /// A ledger's stored state: every anchor, checkpoint, leaf and node up to a signed
    /// checkpoint, from the empty tree or from an anchor (SPEC.md §9.9).
    Backup,
}

/// Where the trust root used came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustSource {
    /// Given by the caller: the pack is proven to come from that log.
    Argument,
    /// The pack's own `trust-root.json`: the pack is internally consistent, nothing more.
    Pack,
}

/// Why a node is in an evidence pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    /// Asked for.
    Subject,
    /// Linked from a subject, transitively.
    Dependency,
}

/// How a node's inclusion was proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProofKind {
    /// Its own RFC 6962 inclusion proof.
    Single,
    /// The pack's one multi-leaf proof.
    Multi,
}

/// One proven node of an evidence pack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeReport {
    /// The NodeId.
    pub id: NodeId,
    /// Its `type`.
    #[serde(rename = "type")]
    pub node_type: String,
    /// Its leaf index in the log.
    pub index: LeafIndex,
    /// Subject or dependency.
    pub role: NodeRole,
    /// How its inclusion was proven.
    pub proof: ProofKind,
}

/// A consensus node found in an evidence pack and what was done with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsensusCheck {
    /// The consensus node.
    pub id: NodeId,
    /// Whether it was recomputed from its inputs and matched.
    pub replayed: bool,
    /// Why not, when it was not (its inputs are not all in the pack).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a verified export proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The start anchor (`None`: from the empty tree).
    pub from: Option<AnchorRef>,
    /// The end anchor.
    pub to: AnchorRef,
    /// The node types exported (`None`: all).
    pub filter: Option<Vec<String>>,
    /// Leaves in the range: every one is listed and chained into the end anchor's root.
    pub leaves: u64,
    /// Leaves whose node is in the export.
    pub included: u64,
    /// Leaves left out by the filter (their types are listed, covered by the signed manifest).
    pub omitted: u64,
    /// Leaves whose content the log had redacted: listed with their `redaction/v1` record's
    /// NodeId and no node (SPEC.md §9.4 rule 3). `leaves` = `included` + `omitted` + `redacted`.
    pub redacted: u64,
    /// The export this one continues, if a delta.
    pub prev_export: Option<NodeId>,
}

/// Everything a verified pack proves (SPEC.md §9.7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackReport {
    /// Evidence pack or export.
    pub kind: PackKind,
    /// The PackId (SHA-256 of the manifest payload).
    pub pack_id: NodeId,
    /// The log origin.
    pub origin: String,
    /// Where the trust root came from.
    pub trust_root: TrustSource,
    /// The key that signed the manifest (`name+hex`) and the time it was valid at.
    pub manifest_key: String,
    /// The manifest's time (the last anchor's time).
    pub time: Timestamp,
    /// The verified anchor chain, trust point first; the last one is the proving anchor.
    pub anchors: Vec<AnchorSummary>,
    /// Segment breaks in the chain (the log's signed admission that a chain was restarted).
    pub breaks: Vec<SegmentBreak>,
    /// Evidence packs: every node proven, subjects first then by NodeId.
    pub nodes: Vec<NodeReport>,
    /// Evidence packs: consensus nodes found and whether they replayed.
    pub consensus: Vec<ConsensusCheck>,
    /// Whether the pack claims every dependency of its subjects (checked).
    pub include_deps: bool,
    /// Exports: the range and completeness figures.
    pub export: Option<ExportReport>,
    /// Backups: the range, the end head and what was checked against it.
    pub backup: Option<BackupReport>,
    /// Number of entries (manifest included) and their total size.
    pub files: usize,
    /// Total bytes of all entries.
    pub bytes: u64,
}

impl PackReport {
    /// SPEC.md §9.4 rule 8: whether this verified export is the delta that continues `prev`
    /// (another verified export of the same log): it names `prev`'s PackId as `prev_export` and
    /// starts at `prev`'s end anchor (same seq and AnchorId). `CHAIN_BROKEN` otherwise, or when
    /// either is not an export. Both reports must come from verification under the same trust
    /// root (the caller's).
    pub fn check_continues(&self, prev: &PackReport) -> Result<(), super::PackError> {
        let continues = match (&self.export, &prev.export) {
            (Some(this), Some(before)) => {
                this.prev_export == Some(prev.pack_id)
                    && this
                        .from
                        .as_ref()
                        .is_some_and(|f| f.seq == before.to.seq && f.anchor == before.to.anchor)
            }
            _ => false,
        };
        if continues {
            Ok(())
        } else {
            Err(super::PackError::new_public(
                crate::code::ErrorCode::ChainBroken,
                "this export does not continue the previous one (its PackId or end anchor)",
            ))
        }
    }
}
