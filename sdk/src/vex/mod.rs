//! VEX statements, policies, issuer registries and the deterministic consensus algorithm
//! `vex-consensus/1` (SPEC.md §14).
//!
//! What it does: parses the typed, normalized `vex.statement/v1`, `vex.policy/v1` and
//! `vex.issuers/v1` nodes strictly ([`Statement::from_node`], [`Policy::from_node`],
//! [`IssuerRegistry::from_node`]); computes the consensus for one vulnerability × product
//! ([`consensus`]) as a canonical `vex.consensus/v1` node; and replays a recorded consensus node
//! offline ([`replay`]), failing with `CONSENSUS_MISMATCH` and the JSON Pointer of the first
//! differing member.
//!
//! What it does not do: read OpenVEX, CSAF or CycloneDX documents (ingest normalizes them into
//! statement nodes), verify issuer signatures (ingest records the result in `signature`), resolve
//! aliases or canonicalize purls, or look at a clock: `as_of` is an argument.
//!
//! All arithmetic is integer parts-per-million (1.0 = 1 000 000) with i128 intermediate
//! products and the rounding of SPEC.md §14.5; no floats. Every output order is an explicit
//! total order, never a hash-map iteration order.
//!
//! ```
//! use evl_sdk::vex::{self, GroupKey, IssuerRegistry, Mode, Policy};
//! use evl_sdk::{Timestamp, TreeHead, TreeSize, empty_root};
//!
//! let policy = Policy::default();
//! let issuers = IssuerRegistry::empty();
//! let key = GroupKey::new("CVE-2024-0001", "pkg:npm/example@1.0.0").unwrap();
//! let as_of = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
//! let head = TreeHead::new(TreeSize::ZERO, empty_root());
//! let result = vex::consensus(&[], &policy, &issuers, &key, as_of, head, Mode::WeightedVote).unwrap();
//! assert_eq!(result.status(), None); // nothing eligible: no consensus, never a default status
//! let replayed = vex::replay(result.node(), &[], policy.node(), issuers.node()).unwrap();
//! assert_eq!(replayed.node(), result.node());
//! ```

mod consensus;
mod policy;
mod statement;

pub use consensus::{ConflictKind, ConsensusResult, GroupKey, consensus, replay};
pub use policy::{IssuerEntry, IssuerRegistry, Policy};
pub use statement::{Finding, Statement, StatementTime, statement_digest};

use crate::code::ErrorCode;
use crate::node::NodeError;
use serde_json::{Map, Value};

/// The algorithm identifier recorded in policies and consensus nodes (SPEC.md §14.4, §14.7).
pub const ALGORITHM: &str = "vex-consensus/1";

/// `type` of a statement node.
pub const STATEMENT_TYPE: &str = "vex.statement/v1";
/// `type` of a policy node.
pub const POLICY_TYPE: &str = "vex.policy/v1";
/// `type` of an issuer-registry node.
pub const ISSUERS_TYPE: &str = "vex.issuers/v1";
/// `type` of a consensus node.
pub const CONSENSUS_TYPE: &str = "vex.consensus/v1";

/// 1.0 in parts per million.
pub const PPM: u64 = 1_000_000;
pub(crate) const PPM_I128: i128 = 1_000_000;

/// Why a VEX node was rejected or a consensus did not replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VexError {
    /// A statement, policy, issuer-registry or consensus node breaks SPEC.md §14, or the input
    /// exceeds a limit. `pointer` is the RFC 6901 JSON Pointer of the offending member.
    #[error("VEX_INVALID: {node_type} at {pointer:?}: {reason}")]
    Invalid {
        /// The node type being read.
        node_type: &'static str,
        /// JSON Pointer of the offending member ("" for the whole node).
        pointer: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// More distinct statements than the policy's `max_statements_per_computation`.
    #[error("VEX_INVALID: {count} distinct statements exceed max_statements_per_computation {limit}")]
    TooManyStatements {
        /// Distinct statement nodes given.
        count: usize,
        /// The policy's limit.
        limit: u64,
    },
    /// Recomputing a consensus node gave different bytes (SPEC.md §14.8).
    #[error("CONSENSUS_MISMATCH: the recomputed consensus differs at {pointer:?}")]
    Mismatch {
        /// JSON Pointer of the first differing member, in canonical member order.
        pointer: String,
    },
    /// The consensus node could not be built (e.g. larger than `MAX_NODE_BYTES`).
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl VexError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            VexError::Invalid { .. } | VexError::TooManyStatements { .. } => ErrorCode::VexInvalid,
            VexError::Mismatch { .. } => ErrorCode::ConsensusMismatch,
            VexError::Node(e) => e.code(),
        }
    }
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The wire string.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            /// Parses the wire string (exact, case-sensitive).
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// A VEX status. The derived order is the risk lattice of SPEC.md §14.3:
    /// `not_affected < fixed < under_investigation < affected`.
    Status {
        /// Not affected (SAFE).
        NotAffected => "not_affected",
        /// Fixed (SAFE).
        Fixed => "fixed",
        /// Under investigation (UNKNOWN).
        UnderInvestigation => "under_investigation",
        /// Affected (UNSAFE).
        Affected => "affected",
    }
}

impl Status {
    /// Rank in the risk lattice: 0 (not_affected) to 3 (affected).
    pub const fn rank(self) -> u8 {
        self as u8
    }
    /// Whether the status is in the SAFE group (`not_affected`, `fixed`).
    pub const fn is_safe(self) -> bool {
        matches!(self, Status::NotAffected | Status::Fixed)
    }
    /// Whether the status is in the UNSAFE group (`affected`).
    pub const fn is_unsafe(self) -> bool {
        matches!(self, Status::Affected)
    }
}

wire_enum! {
    /// An OpenVEX v0.2.0 justification for `not_affected`. The derived order is OpenVEX's enum
    /// order, the tie-break of SPEC.md §14.7.
    Justification {
        /// The vulnerable component is not in the product.
        ComponentNotPresent => "component_not_present",
        /// The component is present but the vulnerable code is not.
        VulnerableCodeNotPresent => "vulnerable_code_not_present",
        /// The vulnerable code cannot be executed.
        VulnerableCodeNotInExecutePath => "vulnerable_code_not_in_execute_path",
        /// The vulnerable code cannot be controlled by an adversary.
        VulnerableCodeCannotBeControlledByAdversary => "vulnerable_code_cannot_be_controlled_by_adversary",
        /// Built-in mitigations prevent exploitation.
        InlineMitigationsAlreadyExist => "inline_mitigations_already_exist",
    }
}

wire_enum! {
    /// An issuer trust tier. The derived order is the walk order of `AuthoritativeFirst`.
    Tier {
        /// The product's supplier (only through `authoritative_for`, SPEC.md §14.4).
        Authoritative => "authoritative",
        /// Trusted.
        Trusted => "trusted",
        /// Known.
        Known => "known",
        /// Unknown (every issuer not in the registry).
        Unknown => "unknown",
        /// Untrusted.
        Untrusted => "untrusted",
    }
}

wire_enum! {
    /// How the consensus status is chosen (SPEC.md §14.7).
    Mode {
        /// The status of the single heaviest eligible statement.
        HighestWeight => "HighestWeight",
        /// The status with the largest summed weight.
        WeightedVote => "WeightedVote",
        /// The highest-risk status among eligible statements.
        Lattice => "Lattice",
        /// WeightedVote within the highest tier that has an eligible statement.
        AuthoritativeFirst => "AuthoritativeFirst",
    }
}

wire_enum! {
    /// Outcome of the issuer-signature check done at ingest.
    SignatureState {
        /// Verified against the issuer's registered key.
        Verified => "verified",
        /// No signature.
        Absent => "absent",
        /// A signature that did not verify: the statement is never weighted.
        Invalid => "invalid",
    }
}

wire_enum! {
    /// Where a statement's `timestamp` came from.
    TimestampSource {
        /// The statement's own timestamp.
        Statement => "statement",
        /// The document's timestamp.
        Document => "document",
        /// Inherited from the enclosing document (OpenVEX statements without one).
        Inherited => "inherited",
        /// A CSAF revision-history entry.
        Revision => "revision",
        /// No timestamp (`timestamp` is null).
        None => "none",
    }
}

wire_enum! {
    /// The source document format.
    Format {
        /// OpenVEX.
        OpenVex => "openvex",
        /// CSAF.
        Csaf => "csaf",
        /// CycloneDX.
        CycloneDx => "cyclonedx",
    }
}

// ---- fixed-point arithmetic (SPEC.md §14.5) ----

/// `round_half_up(n / d) = (2n + d) div (2d)` for `n ≥ 0`, `d > 0`.
pub(crate) fn round_half_up(n: i128, d: i128) -> i128 {
    (2 * n + d).div_euclid(2 * d)
}

/// `mul(a, b) = round_half_up(a·b / 10^6)` on ppm values.
pub(crate) fn mul_ppm(a: i128, b: i128) -> i128 {
    round_half_up(a * b, PPM_I128)
}

// ---- strict member reader ----

/// Appends an RFC 6901 reference token to a JSON Pointer.
pub(crate) fn pointer_push(base: &str, token: &str) -> String {
    let mut s = String::with_capacity(base.len() + token.len() + 1);
    s.push_str(base);
    s.push('/');
    for c in token.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

/// Reads the members of one JSON object, tracking which were read so that unknown members can
/// be rejected.
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    node_type: &'static str,
    path: String,
    seen: Vec<&'static str>,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(v: &'a Value, node_type: &'static str, path: String) -> Result<Self, VexError> {
        match v {
            Value::Object(map) => Ok(Self {
                map,
                node_type,
                path,
                seen: Vec::new(),
            }),
            _ => Err(VexError::Invalid {
                node_type,
                pointer: path,
                reason: "must be an object",
            }),
        }
    }

    pub(crate) fn path(&self, member: &str) -> String {
        pointer_push(&self.path, member)
    }

    pub(crate) fn err(&self, member: &str, reason: &'static str) -> VexError {
        VexError::Invalid {
            node_type: self.node_type,
            pointer: self.path(member),
            reason,
        }
    }

    /// An optional member (absent → `None`).
    pub(crate) fn opt(&mut self, name: &'static str) -> Option<&'a Value> {
        self.seen.push(name);
        self.map.get(name)
    }

    /// A required member.
    pub(crate) fn req(&mut self, name: &'static str) -> Result<&'a Value, VexError> {
        self.opt(name)
            .ok_or_else(|| self.err(name, "required member missing"))
    }

    pub(crate) fn string(&mut self, name: &'static str) -> Result<&'a str, VexError> {
        match self.req(name)? {
            Value::String(s) => Ok(s),
            _ => Err(self.err(name, "must be a string")),
        }
    }

    pub(crate) fn string_or_null(&mut self, name: &'static str) -> Result<Option<&'a str>, VexError> {
        match self.req(name)? {
            Value::String(s) => Ok(Some(s)),
            Value::Null => Ok(None),
            _ => Err(self.err(name, "must be a string or null")),
        }
    }

    pub(crate) fn uint_value(&self, name: &str, v: &Value) -> Result<u64, VexError> {
        v.as_u64()
            .ok_or_else(|| self.err(name, "must be a non-negative integer"))
    }

    pub(crate) fn uint(&mut self, name: &'static str) -> Result<u64, VexError> {
        let v = self.req(name)?;
        self.uint_value(name, v)
    }

    pub(crate) fn uint_or_null(&mut self, name: &'static str) -> Result<Option<u64>, VexError> {
        match self.req(name)? {
            Value::Null => Ok(None),
            v => self.uint_value(name, v).map(Some),
        }
    }

    pub(crate) fn array(&mut self, name: &'static str) -> Result<&'a [Value], VexError> {
        match self.req(name)? {
            Value::Array(a) => Ok(a),
            _ => Err(self.err(name, "must be an array")),
        }
    }

    /// An array of strings, each at most `max_bytes`, sorted bytewise (and unique if `unique`).
    pub(crate) fn sorted_strings(
        &mut self,
        name: &'static str,
        max_bytes: usize,
        unique: bool,
    ) -> Result<Vec<String>, VexError> {
        let items = self.array(name)?;
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = || VexError::Invalid {
                node_type: self.node_type,
                pointer: pointer_push(&self.path(name), &i.to_string()),
                reason: "",
            };
            let Value::String(s) = item else {
                return Err(with_reason(at(), "must be a string"));
            };
            if s.is_empty() || s.len() > max_bytes {
                return Err(with_reason(
                    at(),
                    "must be a non-empty string within the length limit",
                ));
            }
            if let Some(prev) = out.last() {
                let ok = if unique { prev < s } else { prev <= s };
                if !ok {
                    return Err(with_reason(
                        at(),
                        if unique {
                            "array must be sorted bytewise without duplicates"
                        } else {
                            "array must be sorted bytewise"
                        },
                    ));
                }
            }
            out.push(s.clone());
        }
        Ok(out)
    }

    /// Rejects members that were not read (and are not in `also_allowed`).
    pub(crate) fn finish(self, also_allowed: &[&str]) -> Result<(), VexError> {
        for k in self.map.keys() {
            if !self.seen.contains(&k.as_str()) && !also_allowed.contains(&k.as_str()) {
                return Err(self.err(k, "unknown member"));
            }
        }
        Ok(())
    }
}

fn with_reason(e: VexError, reason: &'static str) -> VexError {
    match e {
        VexError::Invalid {
            node_type, pointer, ..
        } => VexError::Invalid {
            node_type,
            pointer,
            reason,
        },
        other => other,
    }
}

/// Checks a bounded, non-empty identifier.
pub(crate) fn check_id(obj: &Obj<'_>, name: &'static str, s: &str) -> Result<(), VexError> {
    if s.is_empty() || s.len() > crate::limits::MAX_VEX_ID_BYTES {
        return Err(obj.err(name, "must be a non-empty string of at most MAX_VEX_ID_BYTES"));
    }
    Ok(())
}

/// Checks the `type` member of a node value.
pub(crate) fn check_type(obj: &mut Obj<'_>, expected: &'static str) -> Result<(), VexError> {
    if obj.string("type")? != expected {
        return Err(obj.err("type", "wrong node type"));
    }
    Ok(())
}
