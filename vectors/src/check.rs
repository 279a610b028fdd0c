//! Runs the SDK over one vector file and reports its verdict: how a consumer uses the vectors.

use evl_sdk::{
    Anchor, ConsistencyProof, Digest, Envelope, ErrorCode, ForkEvidence, InclusionProof, LeafIndex, Node,
    NodeId, PublicKey, Receipt, SignedCheckpoint, Timestamp, TreeHead, TreeSize, TrustRoot,
};
use serde_json::Value;

/// The SDK's verdict on a vector: `None` = accepted, `Some(code)` = rejected with that code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorOutcome(pub Option<ErrorCode>);

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_default()
}

fn trust(v: &Value) -> Result<TrustRoot, ErrorCode> {
    TrustRoot::from_json(&serde_json::to_vec(&v["trust_root"]).unwrap_or_default()).map_err(|e| e.code())
}

fn at(v: &Value) -> Result<Timestamp, ErrorCode> {
    Timestamp::parse(s(v, "at")).map_err(|e| e.code())
}

fn digest_b64(v: &Value, k: &str) -> Result<Digest, ErrorCode> {
    Digest::from_base64(s(v, k)).ok_or(ErrorCode::ProofMalformed)
}

fn hashes(v: &Value) -> Result<Vec<Digest>, ErrorCode> {
    v["proof"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| Digest::from_base64(h.as_str().unwrap_or_default()).ok_or(ErrorCode::ProofMalformed))
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))
}

fn run(kind: &str, v: &Value) -> Result<(), ErrorCode> {
    match kind {
        "canonical" => {
            let input = match v["input_hex"].as_str() {
                Some(h) => hex_decode(h),
                None => s(v, "input").as_bytes().to_vec(),
            };
            let c = evl_sdk::canonicalize(&input).map_err(|e| e.code())?;
            if Some(c.as_slice()) != v["canonical"].as_str().map(str::as_bytes) {
                return Err(ErrorCode::NonCanonicalJson);
            }
            Ok(())
        }
        "node" => {
            let bytes = s(v, "bytes").as_bytes();
            let node = match v["claimed_id"].as_str() {
                Some(id) => {
                    let id: NodeId = id.parse().map_err(|_| ErrorCode::NodeIdMalformed)?;
                    Node::from_canonical_with_id(bytes, id)
                }
                None => Node::from_canonical(bytes),
            }
            .map_err(|e| e.code())?;
            if node.id().to_string() != s(v, "node_id") || node.id().leaf_hash().to_hex() != s(v, "leaf_hash")
            {
                return Err(ErrorCode::NodeIdMismatch);
            }
            Ok(())
        }
        "inclusion" => {
            let size = v["treeSize"]
                .as_u64()
                .and_then(TreeSize::new)
                .ok_or(ErrorCode::ProofMalformed)?;
            let index = v["leafIdx"]
                .as_u64()
                .and_then(LeafIndex::new)
                .ok_or(ErrorCode::ProofMalformed)?;
            let proof = InclusionProof::new(index, size, hashes(v)?).map_err(|e| e.code())?;
            TreeHead::new(size, digest_b64(v, "root")?)
                .verify_inclusion(&digest_b64(v, "leafHash")?, &proof)
                .map_err(|e| e.code())?;
            Ok(())
        }
        "consistency" => {
            let m = v["size1"]
                .as_u64()
                .and_then(TreeSize::new)
                .ok_or(ErrorCode::ProofMalformed)?;
            let n = v["size2"]
                .as_u64()
                .and_then(TreeSize::new)
                .ok_or(ErrorCode::ProofMalformed)?;
            let proof = ConsistencyProof::new(m, n, hashes(v)?).map_err(|e| e.code())?;
            let old = TreeHead::new(m, digest_b64(v, "root1")?);
            TreeHead::new(n, digest_b64(v, "root2")?)
                .verify_consistency(&old, &proof)
                .map_err(|e| e.code())?;
            Ok(())
        }
        "checkpoint" => {
            let tr = trust(v)?;
            let cp = SignedCheckpoint::parse(s(v, "note").as_bytes()).map_err(|e| e.code())?;
            tr.verify_checkpoint(&cp, at(v)?).map_err(|e| e.code())?;
            Ok(())
        }
        "dsse" => {
            let env = Envelope::from_json(&serde_json::to_vec(&v["envelope"]).unwrap_or_default())
                .map_err(|e| e.code())?;
            let raw = hex_decode(s(v, "public_key_hex"));
            let name = s(v, "keyid").split('+').next().unwrap_or_default();
            let key = PublicKey::new(name, &raw).map_err(|e| e.code())?;
            env.verify_with_key(&key).map_err(|e| e.code())?;
            Ok(())
        }
        "receipt" => {
            let tr = trust(v)?;
            let r = Receipt::from_json(&serde_json::to_vec(&v["receipt"]).unwrap_or_default())
                .map_err(|e| e.code())?;
            tr.verify_receipt(&r, at(v)?).map_err(|e| e.code())?;
            Ok(())
        }
        "anchor-chain" => {
            let tr = trust(v)?;
            let anchors = v["anchors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            Anchor::from_json(&serde_json::to_vec(x).unwrap_or_default())
                                .map_err(|e| e.code())
                        })
                        .collect()
                })
                .unwrap_or(Ok(Vec::new()))?;
            let proofs: Vec<Option<ConsistencyProof>> = v["proofs"]
                .as_array()
                .map(|a| a.iter().map(|p| serde_json::from_value(p.clone()).ok()).collect())
                .unwrap_or_default();
            tr.verify_anchor_chain(&anchors, &proofs).map_err(|e| e.code())?;
            Ok(())
        }
        "fork" => {
            let tr = trust(v)?;
            // `evidence_json` carries evidence text that a JSON value cannot hold (e.g. a
            // duplicate member); otherwise `evidence` is the evidence object.
            let bytes = match v["evidence_json"].as_str() {
                Some(text) => text.as_bytes().to_vec(),
                None => serde_json::to_vec(&v["evidence"]).unwrap_or_default(),
            };
            let ev = ForkEvidence::from_json(&bytes).map_err(|e| e.code())?;
            tr.verify_fork(&ev, at(v)?).map_err(|e| e.code())?;
            Ok(())
        }
        "trust-root" => trust(v).map(|_| ()),
        "multiproof" | "tlog-proof" => crate::cases_proofs2::check(kind, v),
        "bundle" => crate::cases_bundle::check(v),
        _ => Err(ErrorCode::JsonSyntax),
    }
}

fn hex_decode(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .filter_map(|i| u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// Runs the SDK over a vector file's JSON.
pub fn verify_file(v: &Value) -> VectorOutcome {
    VectorOutcome(run(s(v, "kind"), v).err())
}
