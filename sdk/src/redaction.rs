//! `redaction/v1` nodes: a log's record, appended to the log itself, that it deleted the content
//! (the canonical bytes) of one of its entries while keeping the entry's leaf, so that every
//! inclusion and consistency proof still verifies (SPEC.md §3.4, §4.1, §11).
//!
//! ```json
//! {"leaf_index":17,"links":[{"id":"sha256:…","rel":"redacted"}],"policy":"retention blob/v1 max_age_days=365","reason":"retention: first anchored 400 days ago","redacted_type":"blob/v1","time":"2027-03-01T12:00:00Z","type":"redaction/v1"}
//! ```
//!
//! The record says which NodeId was removed, from which leaf, what type the node had (so that
//! exports can still list it, SPEC.md §9.4), why, under which policy and when. It is a claim by
//! the log: the removed content's NodeId stays in the tree, so anyone who kept the bytes can
//! still prove them, and anyone can see that content was removed and when.

use crate::corruption::{CORRUPTION_TYPE, MAX_REASON_BYTES};
use crate::node::{Link, Node, NodeError, NodeId};
use crate::time::Timestamp;
use serde_json::{Map, Value, json};

/// The node type.
pub const REDACTION_TYPE: &str = "redaction/v1";

/// The `rel` of the one link: the redacted entry's NodeId.
pub const REDACTED_REL: &str = "redacted";

/// The `policy` of a redaction an operator asked for by NodeId rather than by a retention rule.
pub const MANUAL_POLICY: &str = "manual";

/// Longest `policy`, in bytes.
///
/// Rationale: a rule's name (a node type and an age), not a document; records stay small. The
/// `reason` limit is [`MAX_REASON_BYTES`], shared with `corruption/v1`.
pub const MAX_POLICY_BYTES: usize = 256;

/// A parsed `redaction/v1` node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redaction {
    redacted: NodeId,
    leaf_index: u64,
    redacted_type: String,
    reason: String,
    policy: String,
    time: Timestamp,
}

fn invalid(m: &'static str) -> NodeError {
    NodeError::Invalid(m)
}

fn check(reason: &str, policy: &str, redacted_type: &str, leaf_index: u64) -> Result<(), NodeError> {
    if reason.trim().is_empty() || reason.len() > MAX_REASON_BYTES {
        return Err(invalid(
            "redaction/v1: reason must be non-blank and at most MAX_REASON_BYTES (1024) bytes",
        ));
    }
    if policy.trim().is_empty() || policy.len() > MAX_POLICY_BYTES {
        return Err(invalid(
            "redaction/v1: policy must be non-blank and at most MAX_POLICY_BYTES (256) bytes",
        ));
    }
    if redacted_type.is_empty() {
        return Err(invalid("redaction/v1: redacted_type must be a non-empty string"));
    }
    if redacted_type == REDACTION_TYPE || redacted_type == CORRUPTION_TYPE {
        return Err(invalid(
            "redaction/v1: redaction/v1 and corruption/v1 records are never redacted",
        ));
    }
    if leaf_index > crate::limits::MAX_SAFE_INTEGER {
        return Err(invalid("redaction/v1: leaf_index out of range"));
    }
    Ok(())
}

impl Redaction {
    /// A record that the content of `redacted` (a node of type `redacted_type`) at `leaf_index`
    /// was deleted at `time`, for `reason`, under `policy` ([`MANUAL_POLICY`] or a retention
    /// rule). `NODE_INVALID` if `reason` or `policy` is blank or too long, `redacted_type` is
    /// empty or names a record type, or `leaf_index` is above `MAX_SAFE_INTEGER`.
    pub fn new(
        redacted: NodeId,
        leaf_index: u64,
        redacted_type: &str,
        reason: &str,
        policy: &str,
        time: Timestamp,
    ) -> Result<Self, NodeError> {
        check(reason, policy, redacted_type, leaf_index)?;
        Ok(Self {
            redacted,
            leaf_index,
            redacted_type: redacted_type.to_owned(),
            reason: reason.to_owned(),
            policy: policy.to_owned(),
            time,
        })
    }

    /// The node (canonical JSON).
    pub fn to_node(&self) -> Node {
        let v = json!({
            "type": REDACTION_TYPE,
            "links": [{"rel": REDACTED_REL, "id": self.redacted.to_string()}],
            "leaf_index": self.leaf_index,
            "redacted_type": self.redacted_type,
            "reason": self.reason,
            "policy": self.policy,
            "time": self.time,
        });
        // Cannot fail: a registered type, one valid link, an integer ≤ MAX_SAFE_INTEGER (checked
        // by `new`) and strings.
        #[allow(clippy::expect_used)]
        Node::from_value(v).expect("a redaction/v1 record built by `new` is a valid node")
    }

    /// Parses a `redaction/v1` node (SPEC.md §3.4): exactly the members `type`, `links` (one
    /// link, rel `redacted`), `leaf_index` (integer), `redacted_type` (non-empty, not a record
    /// type), `reason` (non-blank, at most [`MAX_REASON_BYTES`]), `policy` (non-blank, at most
    /// [`MAX_POLICY_BYTES`]) and `time` (timestamp, SPEC.md §2.5). Any fault is `NODE_INVALID`.
    pub fn from_node(node: &Node) -> Result<Self, NodeError> {
        if node.node_type() != REDACTION_TYPE {
            return Err(invalid("not a redaction/v1 node"));
        }
        let Value::Object(m) = node.value() else {
            return Err(invalid("redaction/v1: not an object"));
        };
        const MEMBERS: [&str; 7] = [
            "leaf_index",
            "links",
            "policy",
            "reason",
            "redacted_type",
            "time",
            "type",
        ];
        if m.len() != MEMBERS.len() || !MEMBERS.iter().all(|k| m.contains_key(*k)) {
            return Err(invalid(
                "redaction/v1 has exactly the members type, links, leaf_index, redacted_type, reason, policy, time",
            ));
        }
        let redacted = match node.links() {
            [Link { rel, id }] if rel == REDACTED_REL => *id,
            _ => {
                return Err(invalid(
                    "redaction/v1 has exactly one link, with rel \"redacted\"",
                ));
            }
        };
        let leaf_index = m
            .get("leaf_index")
            .and_then(Value::as_u64)
            .ok_or_else(|| invalid("redaction/v1: leaf_index must be a non-negative integer"))?;
        let time = Timestamp::parse(str_member(&m, "time")?)
            .map_err(|_| invalid("redaction/v1: time must be a timestamp YYYY-MM-DDTHH:MM:SSZ"))?;
        Self::new(
            redacted,
            leaf_index,
            str_member(&m, "redacted_type")?,
            str_member(&m, "reason")?,
            str_member(&m, "policy")?,
            time,
        )
    }

    /// The redacted entry's NodeId (the NodeId the log's tree commits to at `leaf_index`).
    pub fn redacted(&self) -> NodeId {
        self.redacted
    }
    /// The redacted entry's leaf index.
    pub fn leaf_index(&self) -> u64 {
        self.leaf_index
    }
    /// The redacted node's `type`.
    pub fn redacted_type(&self) -> &str {
        &self.redacted_type
    }
    /// Why, in the log's words.
    pub fn reason(&self) -> &str {
        &self.reason
    }
    /// The retention rule that applied, or [`MANUAL_POLICY`].
    pub fn policy(&self) -> &str {
        &self.policy
    }
    /// When the content was deleted.
    pub fn time(&self) -> Timestamp {
        self.time
    }
}

fn str_member<'a>(m: &'a Map<String, Value>, k: &'static str) -> Result<&'a str, NodeError> {
    m.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("redaction/v1: redacted_type, reason, policy and time must be strings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> NodeId {
        Node::from_json(br#"{"type":"blob/v1","data":"x"}"#).unwrap().id()
    }

    fn t() -> Timestamp {
        Timestamp::parse("2027-03-01T12:00:00Z").unwrap()
    }

    #[test]
    fn round_trip() {
        let r = Redaction::new(id(), 17, "blob/v1", "retention", "manual", t()).unwrap();
        let n = r.to_node();
        assert_eq!(n.node_type(), REDACTION_TYPE);
        assert_eq!(Redaction::from_node(&n).unwrap(), r);
        let text = String::from_utf8(n.bytes().to_vec()).unwrap();
        assert!(
            text.starts_with(r#"{"leaf_index":17,"links":[{"id":"sha256:"#),
            "{text}"
        );
        assert!(
            text.ends_with(
                r#""rel":"redacted"}],"policy":"manual","reason":"retention","redacted_type":"blob/v1","time":"2027-03-01T12:00:00Z","type":"redaction/v1"}"#
            ),
            "{text}"
        );
        assert_eq!(r.redacted(), id());
        assert_eq!((r.leaf_index(), r.redacted_type()), (17, "blob/v1"));
        assert_eq!((r.reason(), r.policy(), r.time()), ("retention", "manual", t()));
    }

    /// SPEC.md §3.4's example: node 0 of §1.1 redacted a year after anchor 0 (cross-checked with
    /// Python's `json.dumps(sort_keys=True, separators=(",", ":"))` and `hashlib.sha256`).
    #[test]
    fn spec_example() {
        let node0: NodeId = "sha256:0d7d1975186c8db6be40ab869a2223a8918536e9c1cbb646ffd99b09dd166ccb"
            .parse()
            .unwrap();
        let r = Redaction::new(
            node0,
            0,
            "blob/v1",
            "retention: first anchored at 2026-01-01T00:00:00Z (anchor 0), 365 days old",
            "retention type=blob/v1 max_age_days=365",
            Timestamp::parse("2027-01-01T00:00:00Z").unwrap(),
        )
        .unwrap();
        let n = r.to_node();
        assert_eq!(n.bytes().len(), 339);
        assert_eq!(
            n.id().to_string(),
            "sha256:4fcaf5c631ae492d6f5a7ff9eb5b517eb04eea7ab2b8a30e9c227359495424a7"
        );
    }

    #[test]
    fn constructor_limits() {
        let ok =
            |reason: &str, policy: &str, ty: &str, i: u64| Redaction::new(id(), i, ty, reason, policy, t());
        assert!(ok("r", "p", "blob/v1", 0).is_ok());
        assert!(
            ok(
                &"r".repeat(MAX_REASON_BYTES),
                &"p".repeat(MAX_POLICY_BYTES),
                "x-a",
                1
            )
            .is_ok()
        );
        for e in [
            ok(" ", "p", "blob/v1", 0),
            ok("r", "", "blob/v1", 0),
            ok(&"r".repeat(MAX_REASON_BYTES + 1), "p", "blob/v1", 0),
            ok("r", &"p".repeat(MAX_POLICY_BYTES + 1), "blob/v1", 0),
            ok("r", "p", "", 0),
            ok("r", "p", REDACTION_TYPE, 0),
            ok("r", "p", CORRUPTION_TYPE, 0),
            ok("r", "p", "blob/v1", crate::limits::MAX_SAFE_INTEGER + 1),
        ] {
            assert_eq!(e.unwrap_err().code(), crate::ErrorCode::NodeInvalid);
        }
    }

    /// One schema fault per case; each is `NODE_INVALID`.
    #[test]
    fn schema_faults() {
        let good = Redaction::new(id(), 3, "blob/v1", "r", "manual", t())
            .unwrap()
            .to_node()
            .value();
        let Value::Object(good) = good else { unreachable!() };
        let with = |k: &str, v: Option<Value>| {
            let mut m = good.clone();
            match v {
                Some(v) => m.insert(k.to_owned(), v),
                None => m.remove(k),
            };
            Node::from_value(Value::Object(m)).unwrap()
        };
        let link = |rel: &str| json!([{"rel": rel, "id": id().to_string()}]);
        for (name, n) in [
            ("member missing", with("policy", None)),
            ("extra member", with("x", Some(json!(1)))),
            ("no link", with("links", Some(json!([])))),
            (
                "two links",
                with("links", Some(json!([link("redacted")[0], link("redacted")[0]]))),
            ),
            ("wrong rel", with("links", Some(link("source")))),
            ("negative index", with("leaf_index", Some(json!(-1)))),
            ("fractional index", with("leaf_index", Some(json!(1.5)))),
            ("string index", with("leaf_index", Some(json!("1")))),
            ("bad time", with("time", Some(json!("yesterday")))),
            ("number time", with("time", Some(json!(0)))),
            ("blank reason", with("reason", Some(json!("")))),
            ("null policy", with("policy", Some(Value::Null))),
            ("record type", with("redacted_type", Some(json!("corruption/v1")))),
            ("empty type", with("redacted_type", Some(json!("")))),
        ] {
            let e = Redaction::from_node(&n).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::NodeInvalid, "{name}");
        }
        let other = Node::from_json(br#"{"type":"blob/v1"}"#).unwrap();
        assert!(Redaction::from_node(&other).is_err());
    }
}
