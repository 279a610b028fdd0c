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

/// A verified append: a log's answer to "append this node" (`{"created", "receipt"}`,
/// docs/http-api.md) once its receipt has been checked for that node. Only
/// [`TrustRoot::verify_append`] builds one inside [`Verified`]; `evl-client` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendResult {
    /// Whether the server says this call added the node (`false`: it was already in the log).
    /// The server's word only: no proof covers it.
    pub created: bool,
    /// The receipt as received. Keep it ([`Receipt::to_json`]): anyone with the trust root can
    /// check it offline ([`TrustRoot::verify_receipt`]).
    pub receipt: Receipt,
    /// What the verified receipt proves: this node is leaf `index` of the signed tree `head`.
    pub evidence: ReceiptEvidence,
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

    /// Verifies the answer to an append of the node `expected`: the receipt must be for
    /// `expected` (else `NODE_ID_MISMATCH`) and verify at `at` ([`TrustRoot::verify_receipt`],
    /// SPEC.md §5.4). `created` is the server's word and is carried as given.
    pub fn verify_append(
        &self,
        created: bool,
        receipt: Receipt,
        expected: NodeId,
        at: Timestamp,
    ) -> Result<Verified<AppendResult>, ReceiptError> {
        if receipt.node_id != expected {
            return Err(ReceiptError {
                code: ErrorCode::NodeIdMismatch,
                message: format!(
                    "the receipt is for {}, the node sent is {expected}",
                    receipt.node_id
                ),
            });
        }
        let evidence = self.verify_receipt(&receipt, at)?.into_inner();
        Ok(Verified::new(AppendResult {
            created,
            receipt,
            evidence,
        }))
    }
}
