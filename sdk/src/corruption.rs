//! `corruption/v1` nodes: a log's record, appended to the log itself, that the stored copy of
//! one of its entries was found damaged (SPEC.md §3.2 registry; schema in SPEC.md §3.5).
//!
//! ```json
//! {"detected":"2026-03-01T12:00:00Z","leaf_index":17,"links":[{"id":"sha256:…","rel":"corrupted"}],"reason":"verify --mode full: stored content does not hash to the leaf hash","type":"corruption/v1","what":"node"}
//! ```
//!
//! The record is a claim by the log, not proof of damage: anyone holding the NodeId's bytes can
//! check them against it. What a record explains (and what it does not) is the ledger's
//! integrity check's business (docs/design.md, integrity verification).

use crate::node::{Link, Node, NodeError, NodeId};
use crate::time::Timestamp;
use serde_json::{Map, Value, json};

/// The node type.
pub const CORRUPTION_TYPE: &str = "corruption/v1";

/// The `rel` of the one link: the damaged entry's NodeId.
pub const CORRUPTED_REL: &str = "corrupted";

/// Longest `reason`, in bytes.
///
/// Rationale: a sentence or two for a human, as `segment_reason` in anchors; records stay small.
pub const MAX_REASON_BYTES: usize = 1024;

/// What was found damaged at the leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Damage {
    /// The node's stored content (its canonical bytes): `"node"`.
    Node,
    /// The stored leaf hash: `"leaf_hash"`.
    LeafHash,
    /// A stored interior hash above the leaf: `"hash"`.
    Hash,
}

impl Damage {
    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Damage::Node => "node",
            Damage::LeafHash => "leaf_hash",
            Damage::Hash => "hash",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [Damage::Node, Damage::LeafHash, Damage::Hash]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// A parsed `corruption/v1` node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corruption {
    corrupted: NodeId,
    leaf_index: u64,
    reason: String,
    detected: Timestamp,
    what: Damage,
}

fn invalid(m: &'static str) -> NodeError {
    NodeError::Invalid(m)
}

fn check_reason(reason: &str) -> Result<(), NodeError> {
    if reason.trim().is_empty() || reason.len() > MAX_REASON_BYTES {
        return Err(invalid(
            "corruption/v1: reason must be non-blank and at most MAX_REASON_BYTES (1024) bytes",
        ));
    }
    Ok(())
}

impl Corruption {
    /// A record that the entry `corrupted` at `leaf_index` was found damaged (`what`) at
    /// `detected`. `NODE_INVALID` if `reason` is blank or longer than [`MAX_REASON_BYTES`], or
    /// `leaf_index` is above `MAX_SAFE_INTEGER` (2^53 − 1, what JSON carries exactly).
    pub fn new(
        corrupted: NodeId,
        leaf_index: u64,
        reason: &str,
        detected: Timestamp,
        what: Damage,
    ) -> Result<Self, NodeError> {
        check_reason(reason)?;
        if leaf_index > crate::limits::MAX_SAFE_INTEGER {
            return Err(invalid("corruption/v1: leaf_index out of range"));
        }
        Ok(Self {
            corrupted,
            leaf_index,
            reason: reason.to_owned(),
            detected,
            what,
        })
    }

    /// The node (canonical JSON).
    pub fn to_node(&self) -> Node {
        let v = json!({
            "type": CORRUPTION_TYPE,
            "links": [{"rel": CORRUPTED_REL, "id": self.corrupted.to_string()}],
            "leaf_index": self.leaf_index,
            "reason": self.reason,
            "detected": self.detected,
            "what": self.what.as_str(),
        });
        // Cannot fail: a registered type, one valid link, an integer ≤ MAX_SAFE_INTEGER (checked
        // by `new`) and short strings.
        #[allow(clippy::expect_used)]
        Node::from_value(v).expect("a corruption/v1 record built by `new` is a valid node")
    }

    /// Parses a `corruption/v1` node: exactly the members `type`, `links` (one link, rel
    /// `corrupted`), `leaf_index` (integer), `reason` (non-blank, at most
    /// [`MAX_REASON_BYTES`]), `detected` (timestamp, SPEC.md §2.5) and `what` (`node`,
    /// `leaf_hash` or `hash`). Any fault is `NODE_INVALID`.
    pub fn from_node(node: &Node) -> Result<Self, NodeError> {
        if node.node_type() != CORRUPTION_TYPE {
            return Err(invalid("not a corruption/v1 node"));
        }
        let Value::Object(m) = node.value() else {
            return Err(invalid("corruption/v1: not an object"));
        };
        const MEMBERS: [&str; 6] = ["detected", "leaf_index", "links", "reason", "type", "what"];
        if m.len() != MEMBERS.len() || !MEMBERS.iter().all(|k| m.contains_key(*k)) {
            return Err(invalid(
                "corruption/v1 has exactly the members type, links, leaf_index, reason, detected, what",
            ));
        }
        let corrupted = match node.links() {
            [Link { rel, id }] if rel == CORRUPTED_REL => *id,
            _ => {
                return Err(invalid(
                    "corruption/v1 has exactly one link, with rel \"corrupted\"",
                ));
            }
        };
        let leaf_index = m
            .get("leaf_index")
            .and_then(Value::as_u64)
            .ok_or_else(|| invalid("corruption/v1: leaf_index must be a non-negative integer"))?;
        let reason = str_member(&m, "reason")?;
        check_reason(reason)?;
        let detected = Timestamp::parse(str_member(&m, "detected")?)
            .map_err(|_| invalid("corruption/v1: detected must be a timestamp YYYY-MM-DDTHH:MM:SSZ"))?;
        let what = Damage::parse(str_member(&m, "what")?)
            .ok_or_else(|| invalid("corruption/v1: what must be \"node\", \"leaf_hash\" or \"hash\""))?;
        Ok(Self {
            corrupted,
            leaf_index,
            reason: reason.to_owned(),
            detected,
            what,
        })
    }

    /// The damaged entry's NodeId (the NodeId the log's tree commits to at `leaf_index`).
    pub fn corrupted(&self) -> NodeId {
        self.corrupted
    }
    /// The damaged entry's leaf index.
    pub fn leaf_index(&self) -> u64 {
        self.leaf_index
    }
    /// Why, in the log's words.
    pub fn reason(&self) -> &str {
        &self.reason
    }
    /// When the damage was found.
    pub fn detected(&self) -> Timestamp {
        self.detected
    }
    /// What was damaged.
    pub fn what(&self) -> Damage {
        self.what
    }
}

fn str_member<'a>(m: &'a Map<String, Value>, k: &'static str) -> Result<&'a str, NodeError> {
    m.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("corruption/v1: reason, detected and what must be strings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> NodeId {
        Node::from_json(br#"{"type":"blob/v1","data":"x"}"#).unwrap().id()
    }

    #[test]
    fn round_trip_and_schema_faults() {
        let t = Timestamp::parse("2026-03-01T12:00:00Z").unwrap();
        let c = Corruption::new(id(), 17, "bit rot", t, Damage::Node).unwrap();
        let n = c.to_node();
        assert_eq!(n.node_type(), CORRUPTION_TYPE);
        assert_eq!(Corruption::from_node(&n).unwrap(), c);
        let text = String::from_utf8(n.bytes().to_vec()).unwrap();
        assert!(
            text.starts_with(r#"{"detected":"2026-03-01T12:00:00Z","leaf_index":17,"links":[{"id":"sha256:"#)
        );
        assert!(
            text.ends_with(r#""rel":"corrupted"}],"reason":"bit rot","type":"corruption/v1","what":"node"}"#)
        );
        assert!(Corruption::new(id(), 1, " ", t, Damage::Node).is_err());
        assert!(Corruption::new(id(), 1, &"r".repeat(MAX_REASON_BYTES + 1), t, Damage::Node).is_err());
        let link = format!(r#"[{{"id":"{}","rel":"corrupted"}}]"#, id());
        for bad in [
            format!(
                r#"{{"type":"corruption/v1","links":{link},"leaf_index":1,"reason":"r","detected":"2026-03-01T12:00:00Z"}}"#
            ),
            format!(
                r#"{{"type":"corruption/v1","links":{link},"leaf_index":-1,"reason":"r","detected":"2026-03-01T12:00:00Z","what":"node"}}"#
            ),
            format!(
                r#"{{"type":"corruption/v1","links":{link},"leaf_index":1,"reason":"r","detected":"yesterday","what":"node"}}"#
            ),
            format!(
                r#"{{"type":"corruption/v1","links":{link},"leaf_index":1,"reason":"r","detected":"2026-03-01T12:00:00Z","what":"disk"}}"#
            ),
            r#"{"type":"corruption/v1","links":[],"leaf_index":1,"reason":"r","detected":"2026-03-01T12:00:00Z","what":"node"}"#.to_string(),
            format!(
                r#"{{"type":"corruption/v1","links":{link},"leaf_index":1,"reason":"r","detected":"2026-03-01T12:00:00Z","what":"node","x":1}}"#
            ),
            format!(
                r#"{{"type":"corruption/v1","links":{},"leaf_index":1,"reason":"r","detected":"2026-03-01T12:00:00Z","what":"node"}}"#,
                link.replace("corrupted", "source")
            ),
        ] {
            let n = Node::from_json(bad.as_bytes()).unwrap();
            let e = Corruption::from_node(&n).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::NodeInvalid, "{bad}");
        }
    }
}
