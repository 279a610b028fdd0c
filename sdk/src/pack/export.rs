//! Export entries (SPEC.md §9.4): the export parameters, the frontier at the start anchor, and
//! the leaf listing and node chunks under `log/`.

use super::PackError;
use crate::b64;
use crate::code::ErrorCode;
use crate::hash::Digest;
use crate::node::NodeId;
use crate::tree::{Frontier, TreeSize};
use serde::{Deserialize, Serialize};

/// Path of the export parameters.
pub const EXPORT_PATH: &str = "export.json";
/// Path of the frontier at the start of the range.
pub const FRONTIER_PATH: &str = "frontier.json";
/// The `type` member of the export parameters.
pub const EXPORT_TYPE: &str = "evl.export/v1";

/// Most leaves one chunk may list.
///
/// Rationale: a chunk is verified in memory; 4 096 listing lines are ~0.5 MiB. SPEC floor: 4 096.
pub const MAX_CHUNK_LEAVES: u64 = 4096;

/// A writer closes a chunk once its nodes file reaches this many bytes (so a chunk's nodes file
/// is at most this plus one node). Rationale: keeps entries far below [`super::MAX_ENTRY_BYTES`].
pub const CHUNK_TARGET_BYTES: usize = 8 * 1024 * 1024;

/// Most node types one filter may name. Rationale: filters are typed by hand.
pub const MAX_FILTER_TYPES: usize = 64;

/// An anchor an export starts or ends at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorRef {
    /// Its sequence number.
    pub seq: u64,
    /// Its AnchorId.
    pub anchor: NodeId,
    /// Its tree size.
    pub tree_size: u64,
}

/// `export.json` (SPEC.md §9.4 rule 1), canonical JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// Always [`EXPORT_TYPE`].
    #[serde(rename = "type")]
    pub kind_tag: String,
    /// The start anchor; `null` = from the empty tree.
    pub from: Option<AnchorRef>,
    /// The end anchor.
    pub to: AnchorRef,
    /// The node types exported, ascending and distinct; `null` = every leaf's node.
    pub filter: Option<Vec<String>>,
    /// The PackId of the export this one continues (a delta export), else `null`.
    pub prev_export: Option<NodeId>,
}

impl ExportParams {
    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings, integers and nulls only: serialization cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }

    /// Parses `export.json`; faults are `PACK_MALFORMED`.
    pub fn parse(bytes: &[u8]) -> Result<Self, PackError> {
        let bad = |m: String| PackError::at(ErrorCode::PackMalformed, EXPORT_PATH, m);
        let v = crate::jcs::parse_canonical(bytes).map_err(|e| bad(e.to_string()))?;
        let p: ExportParams = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        if p.kind_tag != EXPORT_TYPE {
            return Err(bad(format!("type is {:?}", p.kind_tag)));
        }
        if let Some(f) = &p.filter
            && (f.is_empty() || f.len() > MAX_FILTER_TYPES || f.windows(2).any(|w| w[0] >= w[1]))
        {
            return Err(bad(
                "filter must list 1..=64 node types, ascending and distinct".into()
            ));
        }
        let start = p.from.as_ref().map_or(0, |a| a.tree_size);
        if start > p.to.tree_size || p.from.as_ref().is_some_and(|f| f.seq >= p.to.seq) {
            return Err(bad("from must be an earlier anchor than to".into()));
        }
        Ok(p)
    }

    /// Whether a node of `node_type` is exported.
    pub fn includes(&self, node_type: &str) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.binary_search_by(|t| t.as_str().cmp(node_type)).is_ok())
    }
}

/// `frontier.json` (SPEC.md §9.4 rule 2): the perfect-subtree hashes covering `[0, tree_size)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontierFile {
    /// The start of the range.
    pub tree_size: u64,
    /// Base64 hashes, largest subtree first.
    pub hashes: Vec<String>,
}

impl FrontierFile {
    /// The file for a frontier.
    pub fn of(f: &Frontier) -> Self {
        Self {
            tree_size: f.size().get(),
            hashes: f.peak_hashes().iter().map(Digest::to_base64).collect(),
        }
    }
    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings and integers only: serialization cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }
    /// Parses and rebuilds the frontier; faults are `PACK_MALFORMED`.
    pub fn parse(bytes: &[u8]) -> Result<Frontier, PackError> {
        let bad = |m: String| PackError::at(ErrorCode::PackMalformed, FRONTIER_PATH, m);
        let v = crate::jcs::parse_canonical(bytes).map_err(|e| bad(e.to_string()))?;
        let f: FrontierFile = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        let size = TreeSize::new(f.tree_size).ok_or_else(|| bad("tree_size out of range".into()))?;
        let hashes = f
            .hashes
            .iter()
            .map(|h| b64::decode_standard(h).and_then(|b| Digest::from_slice(&b)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("a hash is not base64 of 32 bytes".into()))?;
        Frontier::from_peaks(size, &hashes)
            .ok_or_else(|| bad("the number of hashes is not the number of one bits of tree_size".into()))
    }
}

/// One line of a leaf listing (SPEC.md §9.4 rule 3): a leaf's NodeId and its node's type, and
/// for a leaf whose content the log has redacted, the NodeId of the `redaction/v1` record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingLine {
    /// The leaf's NodeId.
    pub id: NodeId,
    /// The node's `type` (for a redacted leaf, the record's `redacted_type`).
    #[serde(rename = "type")]
    pub node_type: String,
    /// The `redaction/v1` record of a leaf whose content the log deleted (SPEC.md §3.4): the
    /// export carries no node for it. Absent otherwise (never `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<NodeId>,
}

impl ListingLine {
    /// Canonical bytes, without the newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings only: serialization cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }

    /// Parses one canonical listing line (SPEC.md §9.4 rule 3); `Err` says why not.
    pub fn parse(line: &[u8]) -> Result<Self, String> {
        let v = crate::jcs::parse_canonical(line).map_err(|e| e.to_string())?;
        // serde maps `null` onto `None`; the format has no `null` here.
        if v.get("redacted").is_some_and(serde_json::Value::is_null) {
            return Err("redacted is a NodeId, never null".into());
        }
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
}

/// The path of the listing of the chunk that starts at leaf `start`.
pub fn leaves_path(start: u64) -> String {
    format!("log/{start:020}.leaves.jsonl")
}

/// The path of the nodes of the chunk that starts at leaf `start`.
pub fn nodes_path(start: u64) -> String {
    format!("log/{start:020}.nodes.jsonl")
}

/// Which chunk file a `log/` path names: `(start, is_nodes)`.
pub fn parse_log_path(path: &str) -> Option<(u64, bool)> {
    let rest = path.strip_prefix("log/")?;
    let (digits, is_nodes) = if let Some(d) = rest.strip_suffix(".leaves.jsonl") {
        (d, false)
    } else {
        (rest.strip_suffix(".nodes.jsonl")?, true)
    };
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, is_nodes))
}
