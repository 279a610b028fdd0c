//! Receipts: what an append returns (SPEC.md §5.4).

use crate::checkpoint::SignedCheckpoint;
use crate::code::ErrorCode;
use crate::node::NodeId;
use crate::proof::{InclusionProof, TreeHead};
use crate::time::Timestamp;
use crate::tree::LeafIndex;
use crate::trust::TrustRoot;
use crate::verified::Verified;
use serde::{Deserialize, Serialize};

/// A receipt: the node, its leaf index, an inclusion proof and the signed checkpoint it is
/// proven against. JSON member `checkpoint` holds the note text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The node.
    pub node_id: NodeId,
    /// Its leaf index.
    pub leaf_index: u64,
    /// Inclusion proof in the checkpoint's tree.
    pub inclusion: InclusionProof,
    /// The signed checkpoint (C2SP note text).
    pub checkpoint: String,
}

/// Why a receipt was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ReceiptError {
    code: ErrorCode,
    message: String,
}

impl ReceiptError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

/// What a verified receipt proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptEvidence {
    /// The node.
    pub node_id: NodeId,
    /// Its index.
    pub index: LeafIndex,
    /// The signed tree it is in.
    pub head: TreeHead,
    /// The key that signed the checkpoint.
    pub key: String,
}

impl Receipt {
    /// Parses receipt JSON strictly.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ReceiptError> {
        let v = crate::jcs::parse(bytes).map_err(|e| ReceiptError {
            code: e.code(),
            message: e.to_string(),
        })?;
        serde_json::from_value(v).map_err(|e| ReceiptError {
            code: ErrorCode::ReceiptInvalid,
            message: e.to_string(),
        })
    }
    /// Canonical JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings and integers only: serialization cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }
}

impl TrustRoot {
    /// Verifies a receipt (SPEC.md §5.4): checkpoint signed by a key valid at `at`, then the
    /// node's leaf hash included at `leaf_index` under the checkpoint's root.
    pub fn verify_receipt(
        &self,
        r: &Receipt,
        at: Timestamp,
    ) -> Result<Verified<ReceiptEvidence>, ReceiptError> {
        let cp = SignedCheckpoint::parse(r.checkpoint.as_bytes()).map_err(|e| ReceiptError {
            code: e.code(),
            message: e.to_string(),
        })?;
        let ev = self.verify_checkpoint(&cp, at).map_err(|e| ReceiptError {
            code: e.code(),
            message: e.to_string(),
        })?;
        if r.inclusion.index().get() != r.leaf_index {
            return Err(ReceiptError {
                code: ErrorCode::ReceiptInvalid,
                message: "leaf_index differs from the proof's index".into(),
            });
        }
        let head = ev.checkpoint.head();
        let inc = head
            .verify_inclusion(&r.node_id.leaf_hash(), &r.inclusion)
            .map_err(|e| ReceiptError {
                code: e.code(),
                message: e.to_string(),
            })?;
        Ok(Verified::new(ReceiptEvidence {
            node_id: r.node_id,
            index: inc.index,
            head,
            key: ev.key.clone(),
        }))
    }
}
