//! Anchors and the anchor chain (SPEC.md §7).

use crate::checkpoint::SignedCheckpoint;
use crate::code::ErrorCode;
use crate::dsse::{ANCHOR_PAYLOAD_TYPE, Envelope};
use crate::hash::Digest;
use crate::node::NodeId;
use crate::note::SecretKey;
use crate::proof::{ConsistencyProof, TreeHead};
use crate::time::Timestamp;
use crate::tree::TreeSize;
use crate::trust::TrustRoot;
use crate::verified::Verified;
use serde::{Deserialize, Serialize};

/// The anchor payload's `type` value.
pub const ANCHOR_TYPE: &str = "evl.anchor/v1";

/// Where a new chain segment links to the archived one (SPEC.md §7.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivedLink {
    /// The archived segment's number.
    pub segment: u64,
    /// Sequence number of its last good anchor.
    pub last_seq: u64,
    /// AnchorId of its last good anchor.
    pub last_anchor: NodeId,
}

/// An anchor payload (SPEC.md §7.1). Serialized as canonical JSON; its NodeId is the AnchorId.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorPayload {
    /// Always [`ANCHOR_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The log origin.
    pub origin: String,
    /// Anchor sequence number: 0, 1, 2, … across all segments.
    pub seq: u64,
    /// Chain segment: 0 for the first, +1 at each `new-chain`.
    pub segment: u64,
    /// Tree size anchored.
    pub tree_size: u64,
    /// Root hash (standard base64).
    pub root: String,
    /// The signed checkpoint for `tree_size` (C2SP note text).
    pub checkpoint: String,
    /// AnchorId of the previous anchor in this segment; null at a segment's genesis.
    #[serde(deserialize_with = "required_nullable")]
    pub prev: Option<NodeId>,
    /// Why this segment was started; null except at the genesis of segment ≥ 1.
    #[serde(deserialize_with = "required_nullable")]
    pub segment_reason: Option<String>,
    /// The archived segment's last good anchor; null except at the genesis of segment ≥ 1.
    #[serde(deserialize_with = "required_nullable")]
    pub archived: Option<ArchivedLink>,
    /// When the anchor was made.
    pub time: Timestamp,
}

/// A member that MUST be present but may be `null` (SPEC.md §7.1 rule 2). serde fills a missing
/// `Option` member with `None`, except for a field with `deserialize_with`: then a missing member
/// is a "missing field" error, which is what this wrapper is for.
fn required_nullable<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

impl AnchorPayload {
    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings, integers and nulls only: serialization cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }
    /// The AnchorId: NodeId of the canonical payload.
    pub fn id(&self) -> NodeId {
        NodeId::of_canonical(&self.to_bytes())
    }
    /// Signs the payload into an anchor envelope.
    pub fn sign(&self, key: &SecretKey) -> Anchor {
        let bytes = self.to_bytes();
        let id = NodeId::of_canonical(&bytes);
        Anchor {
            envelope: Envelope::sign(ANCHOR_PAYLOAD_TYPE, &bytes, key),
            payload: self.clone(),
            id,
        }
    }
}

/// An anchor envelope with its parsed payload (not yet verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    envelope: Envelope,
    payload: AnchorPayload,
    id: NodeId,
}

/// Why an anchor or a chain was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} at anchor {}: {message}", seq.map_or_else(|| "?".to_string(), |s| s.to_string()))]
pub struct AnchorError {
    code: ErrorCode,
    seq: Option<u64>,
    message: String,
}

impl AnchorError {
    fn new(code: ErrorCode, seq: Option<u64>, message: impl Into<String>) -> Self {
        Self {
            code,
            seq,
            message: message.into(),
        }
    }
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
    /// The sequence number of the anchor where verification stopped, if known.
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }
    /// Human-readable detail.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Anchor {
    /// Parses an anchor envelope (SPEC.md §7.1): DSSE JSON whose payload is canonical anchor JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, AnchorError> {
        let envelope =
            Envelope::from_json(bytes).map_err(|e| AnchorError::new(e.code(), None, e.to_string()))?;
        Self::from_envelope(envelope)
    }

    /// Parses the payload of an envelope.
    pub fn from_envelope(envelope: Envelope) -> Result<Self, AnchorError> {
        let v = crate::jcs::parse_canonical(envelope.payload())
            .map_err(|e| AnchorError::new(ErrorCode::AnchorMalformed, None, format!("payload: {e}")))?;
        let payload: AnchorPayload = serde_json::from_value(v)
            .map_err(|e| AnchorError::new(ErrorCode::AnchorMalformed, None, format!("payload: {e}")))?;
        if payload.kind != ANCHOR_TYPE {
            return Err(AnchorError::new(
                ErrorCode::AnchorMalformed,
                Some(payload.seq),
                "payload type is not evl.anchor/v1",
            ));
        }
        let id = NodeId::of_canonical(envelope.payload());
        Ok(Self {
            envelope,
            payload,
            id,
        })
    }

    /// The envelope JSON.
    pub fn to_json(&self) -> Vec<u8> {
        self.envelope.to_json()
    }
    /// The payload (unverified).
    pub fn payload(&self) -> &AnchorPayload {
        &self.payload
    }
    /// The AnchorId.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

/// What one verified anchor vouches for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnchorSummary {
    /// Sequence number.
    pub seq: u64,
    /// Segment.
    pub segment: u64,
    /// AnchorId.
    pub id: NodeId,
    /// Tree size.
    pub tree_size: TreeSize,
    /// Root hash (shown as hex in JSON).
    #[serde(serialize_with = "crate::hash::serialize_hex")]
    pub root: Digest,
    /// Time.
    pub time: Timestamp,
    /// Signing key (`name+hex`).
    pub key: String,
}

/// A segment break found in a verified chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SegmentBreak {
    /// The new segment's genesis anchor.
    pub seq: u64,
    /// The new segment.
    pub segment: u64,
    /// The recorded reason.
    pub reason: String,
    /// The archived segment's last good anchor.
    pub archived: ArchivedLink,
}

/// What a verified chain proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainEvidence {
    /// Every anchor, in order.
    pub anchors: Vec<AnchorSummary>,
    /// Segment breaks, in order.
    pub breaks: Vec<SegmentBreak>,
}

impl ChainEvidence {
    /// The last anchored tree head, if any.
    pub fn head(&self) -> Option<TreeHead> {
        let a = self.anchors.last()?;
        Some(TreeHead::new(a.tree_size, a.root))
    }
}

fn payload_head(p: &AnchorPayload) -> Result<TreeHead, AnchorError> {
    let size = TreeSize::new(p.tree_size)
        .ok_or_else(|| AnchorError::new(ErrorCode::AnchorMalformed, Some(p.seq), "tree_size out of range"))?;
    let root = Digest::from_base64(&p.root).ok_or_else(|| {
        AnchorError::new(
            ErrorCode::AnchorMalformed,
            Some(p.seq),
            "root is not base64 of 32 bytes",
        )
    })?;
    Ok(TreeHead::new(size, root))
}

impl TrustRoot {
    /// Verifies one anchor on its own (SPEC.md §7.2 steps 1–3): signature by a key valid at the
    /// anchor's time, origin, the embedded checkpoint matching `tree_size` and `root`, and the
    /// linkage shape (step 3.4): chained, first genesis (`seq` 0, `segment` 0), or the genesis of
    /// a later segment. A chained anchor is a valid trust point at any `seq`.
    pub fn verify_anchor(&self, a: &Anchor) -> Result<Verified<AnchorSummary>, AnchorError> {
        let p = &a.payload;
        let seq = Some(p.seq);
        let signed = a
            .envelope
            .verify(self, ANCHOR_PAYLOAD_TYPE, p.time)
            .map_err(|e| AnchorError::new(e.code(), seq, e.to_string()))?;
        if p.origin != self.origin() {
            return Err(AnchorError::new(
                ErrorCode::OriginMismatch,
                seq,
                format!("anchor origin {:?}", p.origin),
            ));
        }
        let head = payload_head(p)?;
        let cp = SignedCheckpoint::parse(p.checkpoint.as_bytes())
            .map_err(|e| AnchorError::new(e.code(), seq, format!("checkpoint: {e}")))?;
        let ev = self
            .verify_checkpoint(&cp, p.time)
            .map_err(|e| AnchorError::new(e.code(), seq, format!("checkpoint: {e}")))?;
        if ev.checkpoint.head() != head {
            return Err(AnchorError::new(
                ErrorCode::AnchorMalformed,
                seq,
                "checkpoint does not match tree_size and root",
            ));
        }
        let segment_ok = match (p.prev, &p.segment_reason, &p.archived) {
            (Some(_), None, None) => true,                      // chained anchor
            (None, None, None) => p.segment == 0 && p.seq == 0, // genesis of the first segment
            (None, Some(r), Some(_)) => p.segment > 0 && !r.trim().is_empty(), // genesis of a later segment
            _ => false,
        };
        if !segment_ok {
            return Err(AnchorError::new(
                ErrorCode::AnchorMalformed,
                seq,
                "prev / segment_reason / archived do not fit a chained, first-genesis (seq 0, segment 0) or segment-genesis anchor",
            ));
        }
        Ok(Verified::new(AnchorSummary {
            seq: p.seq,
            segment: p.segment,
            id: a.id,
            tree_size: head.size(),
            root: head.root(),
            time: p.time,
            key: signed.key.clone(),
        }))
    }

    /// Verifies a chain of anchors in sequence order (SPEC.md §7.2). `proofs[i]` is the
    /// consistency proof from anchor `i−1` to anchor `i` (`proofs[0]` is unused and may be
    /// `None`); it may be `None` when the earlier tree is empty or both sizes are equal.
    ///
    /// The first anchor is the trust point: it must verify on its own; the rest must continue it.
    pub fn verify_anchor_chain(
        &self,
        anchors: &[Anchor],
        proofs: &[Option<ConsistencyProof>],
    ) -> Result<Verified<ChainEvidence>, AnchorError> {
        let mut out = ChainEvidence {
            anchors: Vec::new(),
            breaks: Vec::new(),
        };
        let mut prev: Option<&Anchor> = None;
        for (i, a) in anchors.iter().enumerate() {
            let summary = self.verify_anchor(a)?.into_inner();
            let p = &a.payload;
            let seq = Some(p.seq);
            if let Some(b) = prev {
                let q = &b.payload;
                if p.segment == q.segment {
                    if p.seq != q.seq.wrapping_add(1) || p.prev != Some(b.id) {
                        return Err(AnchorError::new(
                            ErrorCode::ChainBroken,
                            seq,
                            format!(
                                "does not continue anchor {} (prev link or sequence number differs)",
                                q.seq
                            ),
                        ));
                    }
                } else {
                    let link_ok = p.segment == q.segment.wrapping_add(1)
                        && p.seq > q.seq
                        && p.archived.as_ref().is_some_and(|l| {
                            l.segment == q.segment && l.last_seq == q.seq && l.last_anchor == b.id
                        });
                    if !link_ok {
                        return Err(AnchorError::new(
                            ErrorCode::ChainBroken,
                            seq,
                            format!(
                                "segment {} does not link to anchor {} of segment {}",
                                p.segment, q.seq, q.segment
                            ),
                        ));
                    }
                    if let (Some(reason), Some(archived)) = (&p.segment_reason, &p.archived) {
                        out.breaks.push(SegmentBreak {
                            seq: p.seq,
                            segment: p.segment,
                            reason: reason.clone(),
                            archived: archived.clone(),
                        });
                    }
                }
                if p.time < q.time {
                    return Err(AnchorError::new(
                        ErrorCode::ChainBroken,
                        seq,
                        "anchor time goes backwards",
                    ));
                }
                if p.tree_size < q.tree_size {
                    return Err(AnchorError::new(
                        ErrorCode::TreeShrank,
                        seq,
                        format!(
                            "tree size {} is below the previous anchor's {}",
                            p.tree_size, q.tree_size
                        ),
                    ));
                }
                let (old, new) = (payload_head(q)?, payload_head(p)?);
                if old.size() == new.size() {
                    if old.root() != new.root() {
                        return Err(AnchorError::new(
                            ErrorCode::MerkleMismatch,
                            seq,
                            "same tree size, different root",
                        ));
                    }
                } else if old.size().get() > 0 {
                    let Some(proof) = proofs.get(i).and_then(Option::as_ref) else {
                        return Err(AnchorError::new(
                            ErrorCode::ProofMalformed,
                            seq,
                            "missing consistency proof",
                        ));
                    };
                    new.verify_consistency(&old, proof)
                        .map_err(|e| AnchorError::new(e.code(), seq, e.to_string()))?;
                }
            }
            out.anchors.push(summary);
            prev = Some(a);
        }
        Ok(Verified::new(out))
    }
}

/// The live anchor chain, walked in `seq` order (SPEC.md §7.3): the one place that knows how a
/// segment genesis retires the anchors it abandons. Both the log's own chain check and the
/// backup verifier walk stored anchors with it.
#[derive(Clone, Debug, Default)]
pub struct ChainWalk {
    chain: Vec<Anchor>,
}

/// What [`ChainWalk::retire`] did before the next anchor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retired {
    /// The `seq`s the next anchor's `archived` link abandons (after `archived.last_seq`), last
    /// first.
    pub seqs: Vec<u64>,
    /// The next anchor is a segment genesis whose link names the chain's (new) last anchor:
    /// the walk resumes at an anchor it already verified.
    pub links_last: bool,
}

impl ChainWalk {
    /// An empty walk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Before `next` is checked: if it is a segment genesis, drops the chain's anchors after
    /// its `archived.last_seq` (rule 3: the new segment abandons them) and says which.
    pub fn retire(&mut self, next: &Anchor) -> Retired {
        let mut out = Retired::default();
        if let Some(link) = &next.payload().archived {
            while let Some(a) = self.chain.pop_if(|a| a.payload().seq > link.last_seq) {
                out.seqs.push(a.payload().seq);
            }
            out.links_last = self
                .chain
                .last()
                .is_some_and(|a| a.payload().seq == link.last_seq);
        }
        out
    }

    /// The chain's last anchor: the one `next` is checked against.
    pub fn last(&self) -> Option<&Anchor> {
        self.chain.last()
    }

    /// Appends an anchor that passed its checks.
    pub fn push(&mut self, anchor: Anchor) {
        self.chain.push(anchor);
    }

    /// The `seq`s of `anchors` (in `seq` order) that a later segment genesis abandons,
    /// ascending.
    pub fn archived(anchors: &[Anchor]) -> Vec<u64> {
        let mut walk = ChainWalk::new();
        let mut archived = Vec::new();
        for a in anchors {
            archived.extend(walk.retire(a).seqs);
            walk.push(a.clone());
        }
        archived.sort_unstable();
        archived
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::hash::leaf_hash;
    use crate::tree::MemoryTree;
    use crate::trust::TrustedKey;

    const ORIGIN: &str = "example.org/evl";

    fn key() -> SecretKey {
        SecretKey::from_seed(ORIGIN, &[1; 32]).unwrap()
    }
    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }
    fn root() -> TrustRoot {
        TrustRoot::new(
            ORIGIN,
            vec![TrustedKey::new(
                key().public().clone(),
                ts("2026-01-01T00:00:00Z"),
                None,
                false,
            )],
        )
        .unwrap()
    }

    /// An anchor of a 3-leaf tree: chained to `prev` if given, else the first genesis.
    fn payload(seq: u64, prev: Option<NodeId>) -> AnchorPayload {
        let tree = MemoryTree::from_leaf_hashes((0..3u8).map(|i| leaf_hash(&[i])));
        let head = TreeHead::new(tree.size(), tree.root());
        AnchorPayload {
            kind: ANCHOR_TYPE.into(),
            origin: ORIGIN.into(),
            seq,
            segment: 0,
            tree_size: 3,
            root: head.root().to_base64(),
            checkpoint: Checkpoint::new(ORIGIN, head)
                .unwrap()
                .sign(&key())
                .unwrap()
                .to_text(),
            prev,
            segment_reason: None,
            archived: None,
            time: ts("2026-02-01T00:00:00Z"),
        }
    }

    fn parse_without(member: &str) -> Result<Anchor, ErrorCode> {
        let mut v: serde_json::Value = serde_json::from_slice(&payload(0, None).to_bytes()).unwrap();
        v.as_object_mut().unwrap().remove(member).unwrap();
        let bytes = crate::jcs::serialize(&v).unwrap();
        Anchor::from_envelope(Envelope::sign(ANCHOR_PAYLOAD_TYPE, &bytes, &key())).map_err(|e| e.code())
    }

    #[test]
    fn every_member_is_required() {
        let all = payload(0, None);
        assert!(Anchor::from_envelope(all.sign(&key()).envelope).is_ok());
        let v: serde_json::Value = serde_json::from_slice(&all.to_bytes()).unwrap();
        let members: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(members.len(), 11);
        // SPEC.md §7.1 rule 2: a missing nullable member is not read as null.
        for m in &members {
            assert_eq!(
                parse_without(m).map(|_| ()),
                Err(ErrorCode::AnchorMalformed),
                "without {m}"
            );
        }
    }

    #[test]
    fn a_segment_genesis_retires_the_anchors_after_its_link() {
        let a0 = payload(0, None).sign(&key());
        let a1 = payload(1, Some(a0.id())).sign(&key());
        let a2 = payload(2, Some(a1.id())).sign(&key());
        let mut g = payload(3, None);
        g.segment = 1;
        g.segment_reason = Some("lost".into());
        g.archived = Some(ArchivedLink {
            segment: 0,
            last_seq: 0,
            last_anchor: a0.id(),
        });
        let g3 = g.sign(&key());
        let a4 = payload(4, Some(g3.id())).sign(&key());
        let all = [a0.clone(), a1.clone(), a2, g3.clone(), a4];
        assert_eq!(ChainWalk::archived(&all), [1, 2]);
        // Without a genesis nothing is retired.
        assert!(ChainWalk::archived(&all[..3]).is_empty());
        // The walk says whether the genesis links to the anchor it resumes from.
        let mut walk = ChainWalk::new();
        walk.push(a0);
        walk.push(a1);
        assert_eq!(
            walk.retire(&g3),
            Retired {
                seqs: vec![1],
                links_last: true
            }
        );
        assert_eq!(walk.last().map(|a| a.payload().seq), Some(0));
        // A link to an anchor the walk never accepted resumes nothing.
        let mut walk = ChainWalk::new();
        assert_eq!(walk.retire(&g3), Retired::default());
    }

    #[test]
    fn the_first_genesis_has_seq_zero() {
        let tr = root();
        let g0 = payload(0, None).sign(&key());
        assert!(tr.verify_anchor(&g0).is_ok());
        // SPEC.md §7.2 step 3.4: prev null at segment 0 claims to be the log's first anchor.
        let g3 = payload(3, None).sign(&key());
        assert_eq!(
            tr.verify_anchor(&g3).map(|_| ()).map_err(|e| e.code()),
            Err(ErrorCode::AnchorMalformed)
        );
        assert_eq!(
            tr.verify_anchor_chain(&[g3], &[None])
                .map(|_| ())
                .map_err(|e| (e.code(), e.seq())),
            Err((ErrorCode::AnchorMalformed, Some(3)))
        );
        // A chain may start at a later, chained anchor: the genesis rule does not apply.
        let a5 = payload(5, Some(g0.id())).sign(&key());
        let a6 = payload(6, Some(a5.id())).sign(&key());
        let ev = tr
            .verify_anchor_chain(&[a5, a6], &[None, None])
            .unwrap()
            .into_inner();
        assert_eq!(ev.anchors.iter().map(|a| a.seq).collect::<Vec<_>>(), [5, 6]);
    }
}
