//! Answers are proven before they leave: every receipt the ledger hands out (append, `prove`,
//! as-of reads) is checked against the signed checkpoint it cites, and every consistency proof
//! against the roots it connects. A check that fails means the store is damaged where the
//! answer was read: the answer becomes [`StoreError::Damaged`] (`STORE_DAMAGED`), is logged,
//! and is counted ([`refused_answers`]), so no wrong proof is ever served with a success code.
//!
//! Cost: an inclusion check is a few µs (log₂ n hashes). The checkpoint's signature is checked
//! once per distinct checkpoint text ([`CheckpointCache`]), so a hot checkpoint costs one
//! Ed25519 verification in total, not one per request.

use crate::error::LedgerError;
use crate::store::StoreError;
use evl_sdk::{ConsistencyProof, InclusionProof, NodeId, Receipt, SignedCheckpoint, TreeHead, TrustRoot};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Nodes found by a scan because the id map had lost their entry ([`id_map_fallbacks`]).
static ID_MAP_FALLBACKS: AtomicU64 = AtomicU64::new(0);

/// How many reads this process answered by scanning the stored leaf hashes because the id map
/// had no entry for a node in the log (a damaged id map; `evl verify --mode full` reports it).
/// Exported by `evl serve` as `evl_id_map_fallbacks_total`.
pub fn id_map_fallbacks() -> u64 {
    ID_MAP_FALLBACKS.load(Ordering::Relaxed)
}

pub(crate) fn count_id_map_fallback() {
    ID_MAP_FALLBACKS.fetch_add(1, Ordering::Relaxed);
}

/// Answers refused so far by this process because they did not verify.
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// How many answers (receipts, proofs) this process refused because they did not verify
/// against the signed checkpoint they cite: each is damage in the store (exported by
/// `evl serve` as `evl_unproven_answers_refused_total`).
pub fn refused_answers() -> u64 {
    REFUSED.load(Ordering::Relaxed)
}

fn refuse(what: String) -> LedgerError {
    REFUSED.fetch_add(1, Ordering::Relaxed);
    tracing::error!(what = %what, "refused an answer that does not verify");
    LedgerError::Store(StoreError::Damaged(what))
}

/// The tree head of a checkpoint the log stored (`text`), once its signature verifies under one
/// of `trust`'s keys for the log's origin. Key validity times are not checked: the log signed
/// it with its own key; a verifier checks times. The one check of stored checkpoints that
/// answers, backups and consistency proofs rely on.
pub(crate) fn signed_head(trust: &TrustRoot, text: &str) -> Result<TreeHead, String> {
    let cp = SignedCheckpoint::parse(text.as_bytes())
        .map_err(|e| format!("the stored checkpoint does not parse: {e}"))?;
    if trust
        .keys()
        .iter()
        .any(|k| cp.verify_with_origin(k.key(), trust.origin()).is_ok())
    {
        Ok(cp.checkpoint().head())
    } else {
        Err("the stored checkpoint's signature does not verify under the log's trust root".into())
    }
}

/// The last checkpoint text whose signature verified, and its tree head.
#[derive(Default)]
pub(crate) struct CheckpointCache(Mutex<Option<(String, TreeHead)>>);

impl CheckpointCache {
    /// The tree head of `text` once its signature verifies under one of `trust`'s keys.
    fn head(&self, trust: &TrustRoot, text: &str) -> Result<TreeHead, String> {
        if let Ok(g) = self.0.lock()
            && let Some((t, head)) = g.as_ref()
            && t == text
        {
            return Ok(*head);
        }
        let head = signed_head(trust, text)?;
        if let Ok(mut g) = self.0.lock() {
            *g = Some((text.to_owned(), head));
        }
        Ok(head)
    }
}

/// Checks a receipt built from the store before it is handed out (SPEC.md §5.4): its checkpoint
/// is signed by the log, and its inclusion proof puts the NodeId's leaf at its index under
/// that checkpoint's root.
pub(crate) fn check_receipt(
    cache: &CheckpointCache,
    trust: &TrustRoot,
    r: &Receipt,
) -> Result<(), LedgerError> {
    let head = cache.head(trust, &r.checkpoint).map_err(|m| {
        refuse(format!(
            "the receipt for {} (leaf {}): {m}",
            r.node_id, r.leaf_index
        ))
    })?;
    check_inclusion(&head, r)
}

/// Checks a receipt's inclusion proof against a head the caller already trusts (the one it
/// just signed).
pub(crate) fn check_inclusion(head: &TreeHead, r: &Receipt) -> Result<(), LedgerError> {
    if r.inclusion.index().get() != r.leaf_index {
        return Err(refuse(format!(
            "the receipt for {} names leaf {} but proves leaf {}",
            r.node_id,
            r.leaf_index,
            r.inclusion.index()
        )));
    }
    check_proof(head, &r.node_id, &r.inclusion)
}

/// Checks an inclusion proof of `id` built from the store against a signed head before it is
/// handed out (in a receipt or a pack).
pub(crate) fn check_proof(head: &TreeHead, id: &NodeId, proof: &InclusionProof) -> Result<(), LedgerError> {
    head.verify_inclusion(&id.leaf_hash(), proof).map(|_| ()).map_err(|e| {
        refuse(format!(
            "the inclusion proof of {id} (leaf {}) at size {} does not verify against the signed root: {e}",
            proof.index(),
            head.size()
        ))
    })
}

/// Checks a consistency proof built from the store against the two roots it connects.
pub(crate) fn check_consistency(
    old: &TreeHead,
    new: &TreeHead,
    p: &ConsistencyProof,
) -> Result<(), LedgerError> {
    new.verify_consistency(old, p).map(|_| ()).map_err(|e| {
        refuse(format!(
            "the consistency proof from size {} to {} does not verify: {e}",
            old.size(),
            new.size()
        ))
    })
}
