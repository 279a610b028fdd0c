//! C2SP tlog-proof (<https://c2sp.org/tlog-proof>): one entry's index, RFC 9162 audit path and
//! signed checkpoint in one offline-verifiable text file (SPEC.md §9.6).
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra c2hhMjU2OjA5N2I…                  (optional: base64 of opaque data)
//! index 3
//! <base64 hash>                            (zero or more: the audit path, leaf's sibling first)
//!
//! <checkpoint: a signed note, verbatim>
//! ```
//!
//! Evidence packs put the entry's NodeId string (`sha256:<hex>`) in `extra`
//! ([`TlogProof::for_node`], [`TlogProof::extra_node_id`]) so a reader knows which node a proof
//! is for. `extra` is not authenticated: what is verified is the leaf hash the caller supplies,
//! computed from a NodeId it has checked against the node's bytes.

use crate::b64;
use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::code::ErrorCode;
use crate::hash::Digest;
use crate::limits::{MAX_PROOF_HASHES, MAX_TLOG_PROOF_BYTES, MAX_TLOG_PROOF_EXTRA_BYTES};
use crate::node::NodeId;
use crate::proof::{Inclusion, InclusionProof, ProofError};
use crate::time::Timestamp;
use crate::tree::LeafIndex;
use crate::trust::{SignedByError, TrustRoot};
use crate::verified::Verified;
use crate::{Checkpoint, TreeHead};

/// The first line of every v1 tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A C2SP tlog-proof, parsed but not yet verified (SPEC.md §9.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    index: LeafIndex,
    extra: Option<Vec<u8>>,
    hashes: Vec<Digest>,
    checkpoint: SignedCheckpoint,
}

/// Why a tlog-proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    /// The proof part (header, `extra`, `index`, hashes, size) is malformed, or the inclusion
    /// proof does not verify: `PROOF_MALFORMED` or `MERKLE_MISMATCH`.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The checkpoint is malformed or does not verify against the trust root: its own codes.
    #[error(transparent)]
    Checkpoint(#[from] SignedByError),
}

impl TlogProofError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            TlogProofError::Proof(e) => e.code(),
            TlogProofError::Checkpoint(e) => e.code(),
        }
    }
}

impl From<CheckpointError> for TlogProofError {
    fn from(e: CheckpointError) -> Self {
        TlogProofError::Checkpoint(e.into())
    }
}

/// What a verified tlog-proof proves: the leaf is at its index in the tree of a checkpoint that
/// the named key signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProofEvidence {
    /// The leaf hash, its index and the tree head.
    pub inclusion: Inclusion,
    /// The verified checkpoint.
    pub checkpoint: Checkpoint,
    /// `name+keyid` of the key that signed it.
    pub key: String,
}

fn check_extra(extra: Option<&[u8]>) -> Result<(), ProofError> {
    match extra {
        Some([]) => Err(ProofError::Malformed("empty extra data: omit the line")),
        Some(e) if e.len() > MAX_TLOG_PROOF_EXTRA_BYTES => Err(ProofError::Malformed(
            "extra data exceeds MAX_TLOG_PROOF_EXTRA_BYTES",
        )),
        _ => Ok(()),
    }
}

/// Parses the `index` value: ASCII decimal, no sign, no leading zeros (except `0`), below
/// `MAX_TREE_SIZE`.
fn parse_index(s: &str) -> Result<LeafIndex, ProofError> {
    if s.is_empty()
        || s.len() > 19
        || !s.bytes().all(|c| c.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(ProofError::Malformed(
            "index must be a decimal number without leading zeros",
        ));
    }
    s.parse::<u64>()
        .ok()
        .and_then(LeafIndex::new)
        .ok_or(ProofError::Malformed("index out of range"))
}

impl TlogProof {
    /// Builds a proof. Fails on empty `extra` (the line is omitted instead), `extra` over
    /// [`MAX_TLOG_PROOF_EXTRA_BYTES`], or more than [`MAX_PROOF_HASHES`] hashes.
    pub fn new(
        index: LeafIndex,
        extra: Option<Vec<u8>>,
        hashes: Vec<Digest>,
        checkpoint: SignedCheckpoint,
    ) -> Result<Self, ProofError> {
        check_extra(extra.as_deref())?;
        if hashes.len() > MAX_PROOF_HASHES {
            return Err(ProofError::Malformed("too many hashes"));
        }
        Ok(Self {
            index,
            extra,
            hashes,
            checkpoint,
        })
    }

    /// The proof an evidence pack carries for a node: `extra` is the NodeId string, the hashes
    /// are `inclusion`'s. `inclusion` must be for the checkpoint's tree size.
    pub fn for_node(
        node: &NodeId,
        inclusion: &InclusionProof,
        checkpoint: SignedCheckpoint,
    ) -> Result<Self, ProofError> {
        if inclusion.size() != checkpoint.checkpoint().head().size() {
            return Err(ProofError::Malformed(
                "inclusion proof is for another tree size than the checkpoint",
            ));
        }
        Self::new(
            inclusion.index(),
            Some(node.to_string().into_bytes()),
            inclusion.hashes().to_vec(),
            checkpoint,
        )
    }

    /// Parses tlog-proof text strictly (SPEC.md §9.6 rules 1–7). Faults in the proof part are
    /// `PROOF_MALFORMED`; faults in the checkpoint keep the checkpoint parser's codes.
    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        if text.len() > MAX_TLOG_PROOF_BYTES {
            return Err(ProofError::Malformed("tlog-proof exceeds MAX_TLOG_PROOF_BYTES").into());
        }
        // The proof lines are non-empty, so the first empty line ends them.
        let (head, note) = text
            .split_once("\n\n")
            .ok_or(ProofError::Malformed("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(TLOG_PROOF_HEADER) {
            return Err(ProofError::Malformed("first line must be c2sp.org/tlog-proof@v1").into());
        }
        let mut line = lines.next().ok_or(ProofError::Malformed("missing index line"))?;
        let extra = match line.strip_prefix("extra ") {
            Some(b) => {
                // Bound the work before decoding.
                if b.len() > MAX_TLOG_PROOF_EXTRA_BYTES.div_ceil(3) * 4 {
                    return Err(
                        ProofError::Malformed("extra data exceeds MAX_TLOG_PROOF_EXTRA_BYTES").into(),
                    );
                }
                let e =
                    b64::decode_standard(b).ok_or(ProofError::Malformed("extra is not standard base64"))?;
                line = lines.next().ok_or(ProofError::Malformed("missing index line"))?;
                Some(e)
            }
            None => None,
        };
        let index = parse_index(
            line.strip_prefix("index ")
                .ok_or(ProofError::Malformed("expected the index line"))?,
        )?;
        let mut hashes = Vec::new();
        for l in lines {
            if hashes.len() == MAX_PROOF_HASHES {
                return Err(ProofError::Malformed("more hashes than MAX_PROOF_HASHES").into());
            }
            let h = b64::decode_standard(l)
                .and_then(|r| Digest::from_slice(&r))
                .ok_or(ProofError::Malformed(
                    "proof hash must be standard base64 of 32 bytes",
                ))?;
            hashes.push(h);
        }
        let checkpoint = SignedCheckpoint::parse(note.as_bytes())?;
        Ok(Self::new(index, extra, hashes, checkpoint)?)
    }

    /// The text encoding: the exact bytes [`TlogProof::parse`] accepts back.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(64 + 45 * self.hashes.len());
        s.push_str(TLOG_PROOF_HEADER);
        s.push('\n');
        if let Some(e) = &self.extra {
            s.push_str("extra ");
            s.push_str(&b64::encode(e));
            s.push('\n');
        }
        s.push_str("index ");
        s.push_str(&self.index.to_string());
        s.push('\n');
        for h in &self.hashes {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint.to_text());
        s
    }

    /// The leaf index.
    pub fn index(&self) -> LeafIndex {
        self.index
    }
    /// The opaque extra data. Not authenticated.
    pub fn extra(&self) -> Option<&[u8]> {
        self.extra.as_deref()
    }
    /// The `extra` data as a NodeId, if it is one (Evidence Ledger packs). Not authenticated: a
    /// hint of which node the proof is for. Verify with the leaf hash of a NodeId checked against
    /// the node's bytes, never with this value unchecked.
    pub fn extra_node_id(&self) -> Option<NodeId> {
        core::str::from_utf8(self.extra.as_deref()?).ok()?.parse().ok()
    }
    /// The audit path, leaf's sibling first.
    pub fn hashes(&self) -> &[Digest] {
        &self.hashes
    }
    /// The signed checkpoint (unverified).
    pub fn checkpoint(&self) -> &SignedCheckpoint {
        &self.checkpoint
    }
    /// The inclusion proof this file carries, for the checkpoint's (unverified) tree size.
    pub fn inclusion_proof(&self) -> InclusionProof {
        let size = self.checkpoint.checkpoint().head().size();
        // `new` and `parse` bound the hash count by MAX_PROOF_HASHES, as `InclusionProof::new`.
        InclusionProof::new_unchecked(self.index, size, self.hashes.clone())
    }
}

impl TrustRoot {
    /// Verifies a tlog-proof for `leaf_hash` (already SHA-256(0x00‖data); for a node,
    /// [`NodeId::leaf_hash`]) at time `at` (SPEC.md §9.6): the checkpoint against this trust
    /// root (§5.3 rules 5–6, its codes), then the audit path against the checkpoint's tree head
    /// (§4.3, `PROOF_MALFORMED` / `MERKLE_MISMATCH`). `extra` plays no part.
    pub fn verify_tlog_proof(
        &self,
        proof: &TlogProof,
        leaf_hash: &Digest,
        at: Timestamp,
    ) -> Result<Verified<TlogProofEvidence>, TlogProofError> {
        let cp = self.verify_checkpoint(&proof.checkpoint, at)?.into_inner();
        let head: TreeHead = cp.checkpoint.head();
        let inclusion = head
            .verify_inclusion(leaf_hash, &proof.inclusion_proof())?
            .into_inner();
        Ok(Verified::new(TlogProofEvidence {
            inclusion,
            checkpoint: cp.checkpoint,
            key: cp.key,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::hash::sha256;
    use crate::note::SecretKey;
    use crate::tree::{MemoryTree, TreeSize, prove_inclusion};
    use crate::trust::TrustedKey;
    use proptest::prelude::*;

    const ORIGIN: &str = "example.org/evl";

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }
    fn at() -> Timestamp {
        ts("2026-06-01T00:00:00Z")
    }
    fn key(seed: u8) -> SecretKey {
        SecretKey::from_seed(ORIGIN, &[seed; 32]).unwrap()
    }
    fn trust() -> TrustRoot {
        let k = TrustedKey::new(key(1).public().clone(), ts("2026-01-01T00:00:00Z"), None, false);
        TrustRoot::new(ORIGIN, vec![k]).unwrap()
    }
    fn id(i: u64) -> NodeId {
        NodeId::of_canonical(format!("{{\"i\":{i}}}").as_bytes())
    }
    fn tree(n: u64) -> MemoryTree {
        MemoryTree::from_leaf_hashes((0..n).map(|i| id(i).leaf_hash()))
    }
    fn signed(t: &MemoryTree, k: &SecretKey) -> SignedCheckpoint {
        Checkpoint::new(ORIGIN, TreeHead::new(t.size(), t.root()))
            .unwrap()
            .sign(k)
            .unwrap()
    }
    /// The proof for node `i` in a tree of `n`, signed by key 1.
    fn good(i: u64, n: u64) -> TlogProof {
        let t = tree(n);
        let inc = prove_inclusion(&t, LeafIndex::new(i).unwrap(), t.size()).unwrap();
        TlogProof::for_node(&id(i), &inc, signed(&t, &key(1))).unwrap()
    }
    fn code<T>(r: Result<T, TlogProofError>) -> Option<ErrorCode> {
        r.err().map(|e| e.code())
    }
    fn verdict(text: &str, leaf: &Digest) -> Option<ErrorCode> {
        code(TlogProof::parse(text).and_then(|p| trust().verify_tlog_proof(&p, leaf, at())))
    }

    #[test]
    fn round_trip_and_verify() {
        let p = good(5, 37);
        let text = p.to_text();
        assert!(text.starts_with(&format!(
            "c2sp.org/tlog-proof@v1\nextra {}\nindex 5\n",
            b64::encode(id(5).to_string().as_bytes())
        )));
        let back = TlogProof::parse(&text).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.to_text(), text);
        assert_eq!(back.extra_node_id(), Some(id(5)));
        let ev = trust()
            .verify_tlog_proof(&back, &id(5).leaf_hash(), at())
            .unwrap();
        assert_eq!(ev.inclusion.index.get(), 5);
        assert_eq!(ev.inclusion.head.size().get(), 37);
        assert_eq!(ev.key, key(1).public().dsse_keyid());

        // Without extra, and with no hashes at all (size 1).
        let t = tree(1);
        let p = TlogProof::new(LeafIndex::new(0).unwrap(), None, vec![], signed(&t, &key(1))).unwrap();
        let text = p.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n\nexample.org/evl\n1\n"));
        assert_eq!(TlogProof::parse(&text).unwrap(), p);
        assert_eq!(p.extra_node_id(), None);
        assert_eq!(verdict(&text, &id(0).leaf_hash()), None);
    }

    #[test]
    fn malformed_proof_parts_are_proof_malformed() {
        let text = good(5, 37).to_text();
        let h = good(5, 37).hashes()[0].to_base64();
        let (head, _) = text.split_once("\nindex 5\n").unwrap();
        let (_, note) = text.split_once("\n\n").unwrap();
        let with = |lines: &str| format!("{head}\n{lines}\n\n{note}");
        let no_extra = |lines: &str| format!("{TLOG_PROOF_HEADER}\n{lines}\n\n{note}");
        let cases = [
            text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v1 ", 1),
            text.replacen('\n', "\r\n", 1),
            format!("\n{text}"),
            text.replacen("\nindex 5\n", "\nindex 05\n", 1),
            text.replacen("\nindex 5\n", "\nindex +5\n", 1),
            text.replacen("\nindex 5\n", "\nindex -5\n", 1),
            text.replacen("\nindex 5\n", "\nindex \n", 1),
            text.replacen("\nindex 5\n", "\nindex  5\n", 1),
            text.replacen("\nindex 5\n", "\nindex 9223372036854775807\n", 1),
            text.replacen("\nindex 5\n", "\nindex 99999999999999999999\n", 1),
            text.replacen("\nindex 5\n", "\nIndex 5\n", 1),
            text.replacen("\nindex 5\n", "\n", 1),
            no_extra("extra \nindex 5"),
            no_extra("extra !!!!\nindex 5"),
            no_extra("extra YQ\nindex 5"),
            no_extra("extra YR==\nindex 5"),
            no_extra(&format!("index 5\nextra YQ==\n{h}")),
            no_extra("extra YQ==\nextra YQ==\nindex 5"),
            no_extra("extra YQ=="),
            // Missing blank line: the checkpoint's lines are read as hashes.
            text.replacen("\n\n", "\n", 1),
            text.replacen(&h, &h.replace('+', "-").replace('/', "_"), 1),
            text.replacen(&h, h.trim_end_matches('='), 1),
            text.replacen(&h, &b64::encode(&[1; 31]), 1),
            text.replacen(&h, &b64::encode(&[1; 33]), 1),
            text.replacen(&h, &format!("{h} "), 1),
            with(&format!("index 5\n{}", vec![h.as_str(); 129].join("\n"))),
            format!("{text}{}", "x".repeat(MAX_TLOG_PROOF_BYTES)),
            String::new(),
            TLOG_PROOF_HEADER.into(),
        ];
        for c in cases {
            assert_eq!(
                verdict(&c, &id(5).leaf_hash()),
                Some(ErrorCode::ProofMalformed),
                "{c:?}"
            );
        }
        // 128 hashes parse (the path is then too long: still PROOF_MALFORMED, at verification).
        let long = with(&format!("index 5\n{}", vec![h.as_str(); 128].join("\n")));
        assert!(TlogProof::parse(&long).is_ok());
        // Extra over the limit.
        let big = vec![7u8; MAX_TLOG_PROOF_EXTRA_BYTES + 1];
        let t = tree(1);
        let idx = LeafIndex::new(0).unwrap();
        assert!(TlogProof::new(idx, Some(big.clone()), vec![], signed(&t, &key(1))).is_err());
        assert!(TlogProof::new(idx, Some(vec![]), vec![], signed(&t, &key(1))).is_err());
        let over = no_extra(&format!("extra {}\nindex 5", b64::encode(&big)));
        assert_eq!(
            verdict(&over, &id(5).leaf_hash()),
            Some(ErrorCode::ProofMalformed)
        );
        let at_limit = no_extra(&format!("extra {}\nindex 5", b64::encode(&big[1..])));
        assert!(TlogProof::parse(&at_limit).is_ok());
    }

    #[test]
    fn checkpoint_faults_keep_their_codes() {
        let p = good(5, 37);
        let text = p.to_text();
        let leaf = id(5).leaf_hash();
        // A malformed checkpoint: NOTE_MALFORMED.
        let bad_note = text.replacen("\n37\n", "\n037\n", 1);
        assert_eq!(verdict(&bad_note, &leaf), Some(ErrorCode::NoteMalformed));
        let no_sig = format!("{}\n", text.rsplit_once("\n\n").unwrap().0);
        assert_eq!(verdict(&no_sig, &leaf), Some(ErrorCode::NoteMalformed));
        // Signed by a key the trust root does not hold: KEY_UNKNOWN.
        let t = tree(37);
        let inc = prove_inclusion(&t, LeafIndex::new(5).unwrap(), t.size()).unwrap();
        let stranger = TlogProof::for_node(&id(5), &inc, signed(&t, &key(9))).unwrap();
        assert_eq!(verdict(&stranger.to_text(), &leaf), Some(ErrorCode::KeyUnknown));
        // Another origin: ORIGIN_MISMATCH.
        let other = SecretKey::from_seed("example.org/other", &[1; 32]).unwrap();
        let cp = Checkpoint::new("example.org/other", TreeHead::new(t.size(), t.root()))
            .unwrap()
            .sign(&other)
            .unwrap();
        let p = TlogProof::for_node(&id(5), &inc, cp).unwrap();
        assert_eq!(verdict(&p.to_text(), &leaf), Some(ErrorCode::OriginMismatch));
        // A tampered checkpoint signature: SIGNATURE_INVALID.
        let sig_line = text.rsplit_once("\n— ").unwrap().1;
        let b = sig_line.split_once(' ').unwrap().1.trim_end();
        let mut raw = b64::decode_standard(b).unwrap();
        raw[10] ^= 1;
        let tampered = text.replacen(b, &b64::encode(&raw), 1);
        assert_eq!(verdict(&tampered, &leaf), Some(ErrorCode::SignatureInvalid));
    }

    #[test]
    fn inclusion_faults() {
        let p = good(5, 37);
        let leaf = id(5).leaf_hash();
        let cp = p.checkpoint().clone();
        let idx = p.index();
        let extra = p.extra().map(<[u8]>::to_vec);
        let with =
            |h: Vec<Digest>, i: LeafIndex| TlogProof::new(i, extra.clone(), h, cp.clone()).unwrap().to_text();
        // Flip a hash: MERKLE_MISMATCH.
        for k in 0..p.hashes().len() {
            let mut h = p.hashes().to_vec();
            let mut b = *h[k].as_bytes();
            b[31] ^= 0x80;
            h[k] = Digest::from_bytes(b);
            assert_eq!(verdict(&with(h, idx), &leaf), Some(ErrorCode::MerkleMismatch));
        }
        // Wrong leaf: MERKLE_MISMATCH.
        assert_eq!(
            verdict(&p.to_text(), &id(6).leaf_hash()),
            Some(ErrorCode::MerkleMismatch)
        );
        // Missing, extra hash; index at the size: PROOF_MALFORMED.
        let mut h = p.hashes().to_vec();
        h.pop();
        assert_eq!(verdict(&with(h, idx), &leaf), Some(ErrorCode::ProofMalformed));
        let mut h = p.hashes().to_vec();
        h.push(sha256(b"x"));
        assert_eq!(verdict(&with(h, idx), &leaf), Some(ErrorCode::ProofMalformed));
        let beyond = LeafIndex::new(37).unwrap();
        assert_eq!(
            verdict(&with(p.hashes().to_vec(), beyond), &leaf),
            Some(ErrorCode::ProofMalformed)
        );
        // `for_node` refuses a proof for another size.
        let t = tree(40);
        let inc = prove_inclusion(&t, idx, t.size()).unwrap();
        assert!(TlogProof::for_node(&id(5), &inc, cp).is_err());
        assert_eq!(TreeSize::new(37), Some(p.inclusion_proof().size()));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = TlogProof::parse(&s);
        }

        #[test]
        fn mutated_proofs_never_panic_and_round_trip_when_accepted(
            i in 0u64..37,
            pos in any::<usize>(),
            c in any::<char>(),
            del in any::<bool>(),
        ) {
            let text = good(i, 37).to_text();
            let mut chars: Vec<char> = text.chars().collect();
            let k = pos % chars.len();
            if del {
                chars.remove(k);
            } else {
                chars[k] = c;
            }
            let m: String = chars.into_iter().collect();
            if let Ok(p) = TlogProof::parse(&m) {
                prop_assert_eq!(p.to_text(), m.clone());
                let _ = trust().verify_tlog_proof(&p, &id(i).leaf_hash(), at());
            }
        }
    }
}
