//! Fork evidence: two signed tree heads of one log that cannot both be honest (SPEC.md §7.4).

use crate::checkpoint::SignedCheckpoint;
use crate::code::ErrorCode;
use crate::hash::Digest;
use crate::proof::{InclusionProof, TreeHead};
use crate::time::Timestamp;
use crate::trust::TrustRoot;
use crate::verified::Verified;
use serde::{Deserialize, Serialize};

/// The fork-evidence `type` value.
pub const FORK_EVIDENCE_TYPE: &str = "evl.fork-evidence/v1";

/// Two different leaves proven at the same index under the two heads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictingLeaf {
    /// Leaf hash proven under `a` (base64).
    pub leaf_hash_a: String,
    /// Its inclusion proof in `a`.
    pub proof_a: InclusionProof,
    /// Leaf hash proven under `b` (base64).
    pub leaf_hash_b: String,
    /// Its inclusion proof in `b`; same index as `proof_a`.
    pub proof_b: InclusionProof,
}

/// Fork evidence JSON (SPEC.md §7.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkEvidence {
    /// Always [`FORK_EVIDENCE_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// First signed checkpoint (note text).
    pub a: String,
    /// Second signed checkpoint (note text).
    pub b: String,
    /// Needed when the sizes differ.
    pub conflict: Option<ConflictingLeaf>,
}

/// What verified fork evidence shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fork {
    /// The first head.
    pub a: TreeHead,
    /// The second head.
    pub b: TreeHead,
}

/// Why fork evidence was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ForkError {
    code: ErrorCode,
    message: String,
}

impl ForkError {
    fn invalid(m: &str) -> Self {
        Self {
            code: ErrorCode::ForkEvidenceInvalid,
            message: m.into(),
        }
    }
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl ForkEvidence {
    /// Parses fork-evidence JSON strictly (SPEC.md §7.4): any §2.2 fault (duplicate member,
    /// out-of-range number, bad UTF-8, …), a missing, unknown or mistyped member, or a malformed
    /// proof is `FORK_EVIDENCE_INVALID`. The checkpoints and the `type` value are checked by
    /// [`TrustRoot::verify_fork`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, ForkError> {
        let v = crate::jcs::parse(bytes).map_err(|e| ForkError::invalid(&e.to_string()))?;
        serde_json::from_value(v).map_err(|e| ForkError::invalid(&e.to_string()))
    }
}

impl TrustRoot {
    /// Verifies fork evidence: both checkpoints signed by keys valid at `at`, and either equal
    /// sizes with different roots, or two different leaves proven at one index.
    pub fn verify_fork(&self, ev: &ForkEvidence, at: Timestamp) -> Result<Verified<Fork>, ForkError> {
        if ev.kind != FORK_EVIDENCE_TYPE {
            return Err(ForkError::invalid("type must be evl.fork-evidence/v1"));
        }
        let head = |text: &str| -> Result<TreeHead, ForkError> {
            let cp = SignedCheckpoint::parse(text.as_bytes()).map_err(|e| ForkError {
                code: e.code(),
                message: e.to_string(),
            })?;
            let v = self.verify_checkpoint(&cp, at).map_err(|e| ForkError {
                code: e.code(),
                message: e.to_string(),
            })?;
            Ok(v.checkpoint.head())
        };
        let (a, b) = (head(&ev.a)?, head(&ev.b)?);
        if a.size() == b.size() {
            return if a.root() != b.root() {
                Ok(Verified::new(Fork { a, b }))
            } else {
                Err(ForkError::invalid("same size and same root: no fork"))
            };
        }
        let Some(c) = &ev.conflict else {
            return Err(ForkError::invalid("different sizes need a conflicting leaf"));
        };
        let la = Digest::from_base64(&c.leaf_hash_a).ok_or_else(|| ForkError::invalid("leaf_hash_a"))?;
        let lb = Digest::from_base64(&c.leaf_hash_b).ok_or_else(|| ForkError::invalid("leaf_hash_b"))?;
        if c.proof_a.index() != c.proof_b.index() || la == lb {
            return Err(ForkError::invalid("the two leaves must differ at the same index"));
        }
        a.verify_inclusion(&la, &c.proof_a).map_err(|e| ForkError {
            code: e.code(),
            message: e.to_string(),
        })?;
        b.verify_inclusion(&lb, &c.proof_b).map_err(|e| ForkError {
            code: e.code(),
            message: e.to_string(),
        })?;
        Ok(Verified::new(Fork { a, b }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"a":"x\n","b":"y\n","conflict":null,"type":"evl.fork-evidence/v1"}"#;

    fn code(s: &str) -> Result<ForkEvidence, ErrorCode> {
        ForkEvidence::from_json(s.as_bytes()).map_err(|e| e.code())
    }

    #[test]
    fn from_json_is_strict() {
        let ev = code(GOOD).unwrap();
        assert_eq!(
            (ev.kind.as_str(), ev.a.as_str(), ev.conflict),
            (FORK_EVIDENCE_TYPE, "x\n", None)
        );
        // `conflict` is OPTIONAL (SPEC.md §7.4).
        assert!(code(r#"{"a":"x\n","b":"y\n","type":"evl.fork-evidence/v1"}"#).is_ok());
        let bad = [
            // §2.2 faults: serde_json alone would keep the last duplicate.
            r#"{"a":"x\n","a":"z\n","b":"y\n","type":"evl.fork-evidence/v1"}"#,
            r#"{"a":"x\n","b":"y\n","type":"evl.fork-evidence/v1","conflict":null} x"#,
            r#"{"a":"\ud800","b":"y\n","type":"evl.fork-evidence/v1"}"#,
            // Structure.
            r#"{"b":"y\n","type":"evl.fork-evidence/v1"}"#,
            r#"{"a":"x\n","b":"y\n","type":"evl.fork-evidence/v1","extra":1}"#,
            r#"{"a":1,"b":"y\n","type":"evl.fork-evidence/v1"}"#,
            r#"{"a":"x\n","b":"y\n","type":"evl.fork-evidence/v1","conflict":{"leaf_hash_a":"","proof_a":{"leaf_index":0,"tree_size":9007199254740992,"hashes":[]},"leaf_hash_b":"","proof_b":{"leaf_index":0,"tree_size":1,"hashes":[]}}}"#,
            r#"{"a":"x\n","b":"y\n","type":"evl.fork-evidence/v1","conflict":{"leaf_hash_a":"","proof_a":{"leaf_index":0,"tree_size":1,"hashes":["AA=="]},"leaf_hash_b":"","proof_b":{"leaf_index":0,"tree_size":1,"hashes":[]}}}"#,
            "[]",
            "",
        ];
        for s in bad {
            assert_eq!(code(s).map(|_| ()), Err(ErrorCode::ForkEvidenceInvalid), "{s}");
        }
    }
}
