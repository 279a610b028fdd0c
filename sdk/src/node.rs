//! Nodes and NodeIds (SPEC.md §3).

use crate::code::ErrorCode;
use crate::hash::{Digest, leaf_hash, sha256};
use crate::jcs::{self, JsonError};
use core::fmt;
use core::str::FromStr;
use serde_json::Value;

/// The registered node types (SPEC.md §3.2). Types starting `x-` are private and always allowed.
pub const REGISTERED_TYPES: &[&str] = &[
    "vex.statement/v1",
    "vex.consensus/v1",
    "vex.policy/v1",
    "vex.issuers/v1",
    "score.manifest/v1",
    "proof.bundle/v1",
    "blob/v1",
    "redaction/v1",
    "corruption/v1",
];

/// The record types that change how other nodes are read (SPEC.md §3.4, §3.5): a
/// `redaction/v1` or `corruption/v1` node makes a read of the node it names fail with
/// `REDACTED` or `CORRUPTED`. Only the log's operators may append one (a service asks for its
/// admin scope; a log writes redaction records only itself); any future kind of such record
/// belongs in this list.
pub const READ_CHANGING_TYPES: &[&str] = &["redaction/v1", "corruption/v1"];

/// Whether nodes of `node_type` change how other nodes are read ([`READ_CHANGING_TYPES`]).
pub fn changes_reads(node_type: &str) -> bool {
    READ_CHANGING_TYPES.contains(&node_type)
}

/// The prefix of the private type namespace.
pub const PRIVATE_TYPE_PREFIX: &str = "x-";

/// The content address of a node: `sha256:` + 64 lowercase hex digits of SHA-256 over the
/// node's canonical bytes (SPEC.md §3.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(Digest);

impl NodeId {
    /// The textual prefix.
    pub const PREFIX: &'static str = "sha256:";

    /// The NodeId of canonical bytes.
    pub fn of_canonical(bytes: &[u8]) -> Self {
        Self(sha256(bytes))
    }
    /// Wraps a digest.
    pub const fn from_digest(d: Digest) -> Self {
        Self(d)
    }
    /// The SHA-256 digest: also the log's leaf *data* (SPEC.md §4.1).
    pub const fn digest(&self) -> &Digest {
        &self.0
    }
    /// The RFC 6962 leaf hash of this node in the log: SHA-256(0x00 ‖ digest).
    pub fn leaf_hash(&self) -> Digest {
        leaf_hash(self.0.as_bytes())
    }
}

/// A malformed NodeId string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("NODE_ID_MALFORMED: expected \"sha256:\" followed by 64 lowercase hex digits")]
pub struct NodeIdError;

impl NodeIdError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::NodeIdMalformed
    }
}

impl FromStr for NodeId {
    type Err = NodeIdError;
    fn from_str(s: &str) -> Result<Self, NodeIdError> {
        let hex = s.strip_prefix(Self::PREFIX).ok_or(NodeIdError)?;
        if hex.len() != 64 || !hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(NodeIdError);
        }
        Digest::from_hex(hex).map(Self).ok_or(NodeIdError)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0.to_hex())
    }
}
impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

impl serde::Serialize for NodeId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> serde::Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why bytes are not an acceptable node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// Not strict / canonical JSON.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// Breaks a node rule (SPEC.md §3.2).
    #[error("NODE_INVALID: {0}")]
    Invalid(&'static str),
    /// `type` is not registered and not `x-`.
    #[error("TYPE_UNKNOWN: node type {0:?} is not registered (use the x- prefix for private types)")]
    TypeUnknown(String),
    /// Content does not hash to the NodeId it came with.
    #[error("NODE_ID_MISMATCH: content hashes to {actual}, not {expected}")]
    IdMismatch {
        /// The NodeId claimed.
        expected: NodeId,
        /// The NodeId of the bytes.
        actual: NodeId,
    },
}

impl NodeError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            NodeError::Json(e) => e.code(),
            NodeError::Invalid(_) => ErrorCode::NodeInvalid,
            NodeError::TypeUnknown(_) => ErrorCode::TypeUnknown,
            NodeError::IdMismatch { .. } => ErrorCode::NodeIdMismatch,
        }
    }
}

/// A link from one node to another (SPEC.md §3.3): member `links`, an array of
/// `{"rel": string, "id": NodeId}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// What the linked node is to this one (e.g. `statement`, `policy`, `source`).
    pub rel: String,
    /// The linked node.
    pub id: NodeId,
}

/// A valid node: canonical bytes, their NodeId and the node type (SPEC.md §3).
#[derive(Clone, PartialEq, Eq)]
pub struct Node {
    id: NodeId,
    node_type: String,
    links: Vec<Link>,
    bytes: Vec<u8>,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("type", &self.node_type)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Parses any strict JSON document and canonicalizes it into a node (what an append does).
    ///
    /// Input that is already canonical (what the SDK client and `evl bench` send) is accepted by
    /// the one-pass scan without building a value; the result is the same either way.
    pub fn from_json(bytes: &[u8]) -> Result<Self, NodeError> {
        if let Some(top) = jcs::scan(bytes) {
            let rules = scanned_rules(bytes, &top)?;
            return Ok(Self::checked(NodeId::of_canonical(bytes), bytes, rules));
        }
        let value = jcs::parse(bytes)?;
        Self::from_value(value)
    }

    /// Builds a node from an already-parsed value (canonicalizing it).
    pub fn from_value(value: Value) -> Result<Self, NodeError> {
        let (node_type, links) = check_value(&value)?;
        let bytes = jcs::serialize(&value)?;
        Ok(Self {
            id: NodeId::of_canonical(&bytes),
            node_type,
            links,
            bytes,
        })
    }

    /// Accepts bytes that must already be canonical (what a verifier reading a pack does).
    pub fn from_canonical(bytes: &[u8]) -> Result<Self, NodeError> {
        let rules = check_canonical(bytes)?;
        Ok(Self::checked(NodeId::of_canonical(bytes), bytes, rules))
    }

    /// A node from canonical bytes that passed the node rules, and their NodeId.
    fn checked(id: NodeId, bytes: &[u8], (node_type, links): (String, Vec<Link>)) -> Self {
        Self {
            id,
            node_type,
            links,
            bytes: bytes.to_vec(),
        }
    }

    /// Accepts canonical bytes presented under `expected`; fails with `NODE_ID_MISMATCH` if the
    /// bytes hash to something else.
    pub fn from_canonical_with_id(bytes: &[u8], expected: NodeId) -> Result<Self, NodeError> {
        let actual = NodeId::of_canonical(bytes);
        if actual != expected {
            return Err(NodeError::IdMismatch { expected, actual });
        }
        // As `from_canonical`, without hashing the bytes a second time.
        Ok(Self::checked(actual, bytes, check_canonical(bytes)?))
    }

    /// The NodeId.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The `type` member.
    pub fn node_type(&self) -> &str {
        &self.node_type
    }
    /// The links, in document order.
    pub fn links(&self) -> &[Link] {
        &self.links
    }
    /// The canonical bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Gives up the canonical bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
    /// Parses the canonical bytes back into a JSON value.
    pub fn value(&self) -> Value {
        // The bytes were produced or checked as canonical JSON at construction.
        jcs::parse(&self.bytes).unwrap_or(Value::Null)
    }
}

/// Whether a type string is acceptable (SPEC.md §3.2).
pub fn is_known_type(t: &str) -> bool {
    REGISTERED_TYPES.contains(&t)
        || (t.len() > PRIVATE_TYPE_PREFIX.len() && t.starts_with(PRIVATE_TYPE_PREFIX))
}

/// The node rules over bytes that must be canonical. The one-pass scan decides canonical form
/// and finds the two members the rules read; bytes it refuses go through the strict parser,
/// which names the reason with its stable code. Either way the result is `check_value` of
/// `parse_canonical` (property-tested in `tests/jcs_props.rs`).
fn check_canonical(bytes: &[u8]) -> Result<(String, Vec<Link>), NodeError> {
    match jcs::scan(bytes) {
        Some(top) => scanned_rules(bytes, &top),
        None => check_value(&jcs::parse_canonical(bytes)?),
    }
}

/// The node rules over bytes the scan accepted, from the spans of the two members they read.
fn scanned_rules(bytes: &[u8], top: &jcs::TopLevel) -> Result<(String, Vec<Link>), NodeError> {
    if !top.object {
        return Err(NodeError::Invalid("a node must be a JSON object"));
    }
    let member = |span: Option<(usize, usize)>| span.map(|(a, b)| jcs::parse(&bytes[a..b])).transpose();
    check_members(member(top.node_type)?.as_ref(), member(top.links)?.as_ref())
}

fn check_value(value: &Value) -> Result<(String, Vec<Link>), NodeError> {
    let Value::Object(map) = value else {
        return Err(NodeError::Invalid("a node must be a JSON object"));
    };
    check_members(map.get("type"), map.get("links"))
}

/// SPEC.md §3.2 and §3.3: the rules on a node's `type` and `links` members.
fn check_members(t: Option<&Value>, links_member: Option<&Value>) -> Result<(String, Vec<Link>), NodeError> {
    let Some(t) = t else {
        return Err(NodeError::Invalid("a node must have a \"type\" member"));
    };
    let Value::String(t) = t else {
        return Err(NodeError::Invalid("\"type\" must be a string"));
    };
    if !is_known_type(t) {
        return Err(NodeError::TypeUnknown(t.clone()));
    }
    let mut links = Vec::new();
    match links_member {
        None => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(l) = item else {
                    return Err(NodeError::Invalid("each link must be an object"));
                };
                let (Some(Value::String(rel)), Some(Value::String(id))) = (l.get("rel"), l.get("id")) else {
                    return Err(NodeError::Invalid(
                        "a link needs string members \"rel\" and \"id\"",
                    ));
                };
                if l.len() != 2 {
                    return Err(NodeError::Invalid(
                        "a link has exactly the members \"rel\" and \"id\"",
                    ));
                }
                let id = id
                    .parse()
                    .map_err(|_| NodeError::Invalid("a link's \"id\" must be a NodeId"))?;
                links.push(Link { rel: rel.clone(), id });
            }
        }
        Some(_) => return Err(NodeError::Invalid("\"links\" must be an array")),
    }
    Ok((t.clone(), links))
}
