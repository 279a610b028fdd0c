//! Evidence-pack entries (SPEC.md §9.3): nodes, their inclusion proofs (one each, or one
//! multi-leaf proof) and their C2SP tlog-proofs; and the checks made once the chain is verified.

use super::PackError;
use super::report::{ConsensusCheck, NodeReport, NodeRole, ProofKind};
use crate::anchor::Anchor;
use crate::code::ErrorCode;
use crate::hash::Digest;
use crate::multiproof::MultiProof;
use crate::node::{Node, NodeId};
use crate::proof::{InclusionProof, TreeHead};
use crate::tlog_proof::TlogProof;
use crate::vex;
use std::collections::{BTreeMap, BTreeSet};

/// Path of the multi-leaf proof.
pub const MULTI_PATH: &str = "proofs/multi.json";

/// The path of a node's canonical bytes.
pub fn node_path(id: &NodeId) -> String {
    format!("nodes/{}.json", hex_of(id))
}
/// The path of a node's own inclusion proof.
pub fn proof_path(id: &NodeId) -> String {
    format!("proofs/{}.json", hex_of(id))
}
/// The path of a node's C2SP tlog-proof.
pub fn tlog_proof_path(id: &NodeId) -> String {
    format!("tlog-proofs/{}.tlog-proof", hex_of(id))
}

fn hex_of(id: &NodeId) -> String {
    id.to_string().trim_start_matches("sha256:").to_owned()
}

fn id_in(path: &str, prefix: &str, suffix: &str) -> Option<NodeId> {
    let hex = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
    format!("sha256:{hex}").parse().ok()
}

fn malformed(path: &str, m: impl Into<String>) -> PackError {
    PackError::at(ErrorCode::PackMalformed, path, m)
}

/// The canonical bytes of `proofs/multi.json`: the nodes in leaf-index order and the proof.
pub fn multi_json(nodes: &[NodeId], proof: &MultiProof) -> Vec<u8> {
    let v = serde_json::json!({ "nodes": nodes, "proof": proof });
    crate::jcs::serialize(&v).unwrap_or_default()
}

/// What the evidence entries of a pack carried, not yet checked against a tree head.
#[derive(Default)]
pub(crate) struct Collected {
    nodes: BTreeMap<NodeId, Node>,
    proofs: BTreeMap<NodeId, InclusionProof>,
    multi: Option<(Vec<NodeId>, MultiProof)>,
    tlog: BTreeMap<NodeId, TlogProof>,
}

impl Collected {
    pub(crate) fn accepts(&self, path: &str) -> bool {
        path.starts_with("nodes/") || path.starts_with("proofs/") || path.starts_with("tlog-proofs/")
    }

    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn entry(&mut self, path: &str, data: &[u8]) -> Result<(), PackError> {
        let code_at = |code: ErrorCode, m: String| PackError::at(code, path, m);
        if let Some(id) = id_in(path, "nodes/", ".json") {
            let node =
                Node::from_canonical_with_id(data, id).map_err(|e| code_at(e.code(), e.to_string()))?;
            self.nodes.insert(id, node);
        } else if path == MULTI_PATH {
            let v = crate::jcs::parse_canonical(data).map_err(|e| malformed(path, e.to_string()))?;
            let obj = v
                .as_object()
                .filter(|o| o.len() == 2)
                .ok_or_else(|| malformed(path, "an object with exactly `nodes` and `proof`"))?;
            let nodes: Vec<NodeId> = obj
                .get("nodes")
                .and_then(|n| serde_json::from_value(n.clone()).ok())
                .ok_or_else(|| malformed(path, "`nodes` is an array of NodeIds"))?;
            let proof_bytes = obj
                .get("proof")
                .and_then(|p| crate::jcs::serialize(p).ok())
                .ok_or_else(|| malformed(path, "`proof` missing"))?;
            let proof = MultiProof::from_json(&proof_bytes).map_err(|e| code_at(e.code(), e.to_string()))?;
            if nodes.len() != proof.indices().len() {
                return Err(malformed(path, "one NodeId per proven leaf index"));
            }
            self.multi = Some((nodes, proof));
        } else if let Some(id) = id_in(path, "proofs/", ".json") {
            let p = InclusionProof::from_json(data).map_err(|e| code_at(e.code(), e.to_string()))?;
            self.proofs.insert(id, p);
        } else if let Some(id) = id_in(path, "tlog-proofs/", ".tlog-proof") {
            let text = std::str::from_utf8(data).map_err(|_| malformed(path, "not UTF-8"))?;
            let p = TlogProof::parse(text).map_err(|e| code_at(e.code(), e.to_string()))?;
            self.tlog.insert(id, p);
        } else {
            return Err(malformed(path, "not an entry of an evidence pack"));
        }
        Ok(())
    }

    /// SPEC.md §9.7 step 6 for evidence packs, once the chain has given `head` (the tree of
    /// the proving anchor `last`).
    pub(crate) fn finish(
        self,
        subjects: &[NodeId],
        include_deps: bool,
        head: TreeHead,
        anchors: &[Anchor],
    ) -> Result<(Vec<NodeReport>, Vec<ConsensusCheck>), PackError> {
        if subjects.is_empty() || subjects.windows(2).any(|w| w[0] >= w[1]) {
            return Err(malformed(
                super::manifest::MANIFEST_PATH,
                "subjects: one or more NodeIds, ascending",
            ));
        }
        if let Some(s) = subjects.iter().find(|s| !self.nodes.contains_key(s)) {
            return Err(PackError::at(
                ErrorCode::PackIncomplete,
                &node_path(s),
                "a subject's node is missing",
            ));
        }
        // Reachability from the subjects over links; every node must be reached.
        let mut reached: BTreeSet<NodeId> = subjects.iter().copied().collect();
        let mut todo: Vec<NodeId> = subjects.to_vec();
        while let Some(id) = todo.pop() {
            let Some(n) = self.nodes.get(&id) else { continue };
            for l in n.links() {
                match self.nodes.contains_key(&l.id) {
                    true if reached.insert(l.id) => todo.push(l.id),
                    true => {}
                    false if include_deps => {
                        return Err(PackError::at(
                            ErrorCode::PackIncomplete,
                            &node_path(&l.id),
                            format!(
                                "linked from {id} (rel {:?}) but not in a pack with dependencies",
                                l.rel
                            ),
                        ));
                    }
                    false => {}
                }
            }
        }
        if let Some(stray) = self.nodes.keys().find(|id| !reached.contains(id)) {
            return Err(malformed(
                &node_path(stray),
                "neither a subject nor linked from one",
            ));
        }
        let indices = self.check_proofs(head)?;
        let checkpoint_text = anchors
            .last()
            .map(|a| a.payload().checkpoint.as_str())
            .unwrap_or_default();
        for (id, node) in &self.nodes {
            let path = tlog_proof_path(id);
            let tp = self
                .tlog
                .get(id)
                .ok_or_else(|| PackError::at(ErrorCode::PackIncomplete, &path, "missing"))?;
            if tp.extra() != Some(id.to_string().as_bytes()) || Some(&tp.index()) != indices.get(id) {
                return Err(malformed(
                    &path,
                    "extra is not the NodeId or index is not the node's leaf index",
                ));
            }
            if tp.checkpoint().to_text() != checkpoint_text {
                return Err(malformed(&path, "the checkpoint is not the proving anchor's"));
            }
            // The checkpoint is byte-identical to the proving anchor's, whose signature the
            // chain verification checked (§9.7 step 5): only the audit path is left to check.
            head.verify_inclusion(&node.id().leaf_hash(), &tp.inclusion_proof())
                .map_err(|e| PackError::at(e.code(), &path, e.to_string()))?;
        }
        if let Some(stray) = self.tlog.keys().find(|id| !self.nodes.contains_key(id)) {
            return Err(malformed(
                &tlog_proof_path(stray),
                "a tlog-proof for a node not in the pack",
            ));
        }
        // Score manifests and proof bundles get the checks an append makes (SPEC.md §9.7 step 6.5,
        // §15.6): their attestation signer need not be the log, so its trust is the bundle
        // verifier's matter.
        for (id, node) in &self.nodes {
            crate::bundle::check_node(node)
                .map_err(|e| PackError::at(e.code(), &node_path(id), e.to_string()))?;
        }
        let consensus = self.replay_consensus()?;
        let proof_kind = if self.multi.is_some() {
            ProofKind::Multi
        } else {
            ProofKind::Single
        };
        let mut out: Vec<NodeReport> = self
            .nodes
            .iter()
            .map(|(id, n)| {
                // check_proofs proved every node, so every node has its index.
                let index = *indices
                    .get(id)
                    .ok_or_else(|| PackError::at(ErrorCode::PackIncomplete, &proof_path(id), "missing"))?;
                Ok(NodeReport {
                    id: *id,
                    node_type: n.node_type().to_owned(),
                    index,
                    role: if subjects.binary_search(id).is_ok() {
                        NodeRole::Subject
                    } else {
                        NodeRole::Dependency
                    },
                    proof: proof_kind,
                })
            })
            .collect::<Result<_, PackError>>()?;
        out.sort_by_key(|r| (r.role != NodeRole::Subject, r.id));
        Ok((out, consensus))
    }

    /// Every node has exactly one inclusion proof at `head` and it verifies; returns indices.
    fn check_proofs(&self, head: TreeHead) -> Result<BTreeMap<NodeId, crate::tree::LeafIndex>, PackError> {
        let mut indices = BTreeMap::new();
        match &self.multi {
            Some((ids, proof)) => {
                if let Some(id) = self.proofs.keys().next() {
                    return Err(malformed(
                        &proof_path(id),
                        "a pack with proofs/multi.json has no single proofs",
                    ));
                }
                let listed: BTreeSet<&NodeId> = ids.iter().collect();
                if listed.len() != ids.len() {
                    return Err(malformed(MULTI_PATH, "a NodeId is listed twice"));
                }
                if let Some(id) = self.nodes.keys().find(|id| !listed.contains(id)) {
                    return Err(PackError::at(
                        ErrorCode::PackIncomplete,
                        MULTI_PATH,
                        format!("no proof for {id}"),
                    ));
                }
                if let Some(id) = ids.iter().find(|id| !self.nodes.contains_key(id)) {
                    return Err(malformed(
                        MULTI_PATH,
                        format!("proves {id}, which is not in the pack"),
                    ));
                }
                let leaves: Vec<(crate::tree::LeafIndex, Digest)> = ids
                    .iter()
                    .zip(proof.indices())
                    .map(|(id, i)| (*i, id.leaf_hash()))
                    .collect();
                head.verify_multi(&leaves, proof)
                    .map_err(|e| PackError::at(e.code(), MULTI_PATH, e.to_string()))?;
                for (id, i) in ids.iter().zip(proof.indices()) {
                    indices.insert(*id, *i);
                }
            }
            None => {
                for id in self.nodes.keys() {
                    let path = proof_path(id);
                    let p = self
                        .proofs
                        .get(id)
                        .ok_or_else(|| PackError::at(ErrorCode::PackIncomplete, &path, "missing"))?;
                    let ev = head
                        .verify_inclusion(&id.leaf_hash(), p)
                        .map_err(|e| PackError::at(e.code(), &path, e.to_string()))?
                        .into_inner();
                    indices.insert(*id, ev.index);
                }
                if let Some(stray) = self.proofs.keys().find(|id| !self.nodes.contains_key(id)) {
                    return Err(malformed(
                        &proof_path(stray),
                        "a proof for a node not in the pack",
                    ));
                }
            }
        }
        Ok(indices)
    }

    /// SPEC.md §9.7 step 6.5: every consensus node whose inputs are all in the pack is replayed
    /// (§14.8); one whose inputs are not is reported as not replayed.
    fn replay_consensus(&self) -> Result<Vec<ConsensusCheck>, PackError> {
        let mut out = Vec::new();
        for (id, node) in self
            .nodes
            .iter()
            .filter(|(_, n)| n.node_type() == vex::CONSENSUS_TYPE)
        {
            let get = |rel: &str| -> Vec<Option<&Node>> {
                node.links()
                    .iter()
                    .filter(|l| l.rel == rel)
                    .map(|l| self.nodes.get(&l.id))
                    .collect()
            };
            let (policy, issuers, statements) = (get("policy"), get("issuers"), get("statement"));
            if policy.len() != 1 || issuers.len() != 1 {
                return Err(PackError::at(
                    ErrorCode::VexInvalid,
                    &node_path(id),
                    "a consensus node links exactly one policy and one issuer registry (SPEC.md §14.7)",
                ));
            }
            let complete = policy
                .iter()
                .chain(&issuers)
                .chain(&statements)
                .all(Option::is_some);
            if !complete {
                out.push(ConsensusCheck {
                    id: *id,
                    replayed: false,
                    note: Some("its policy, issuer registry or statements are not all in the pack (export with dependencies)".into()),
                });
                continue;
            }
            let statements: Vec<Node> = statements.into_iter().flatten().cloned().collect();
            let (Some(Some(policy)), Some(Some(issuers))) = (policy.first(), issuers.first()) else {
                continue; // `complete` above guarantees both; unreachable.
            };
            vex::replay(node, &statements, policy, issuers)
                .map_err(|e| PackError::at(e.code(), &node_path(id), e.to_string()))?;
            out.push(ConsensusCheck {
                id: *id,
                replayed: true,
                note: None,
            });
        }
        Ok(out)
    }
}
