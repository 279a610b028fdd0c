//! Writing an evidence pack (SPEC.md §9.3).

use super::write::{PackSummary, write_pack};
use super::{anchor_checkpoint, chain_entries, pick, verified_chain};
use crate::error::LedgerError;
use crate::store::{Snapshot, SnapshotSource, Store};
use crate::writer::Ledger;
use evl_sdk::pack::evidence::{MULTI_PATH, multi_json, node_path, proof_path, tlog_proof_path};
use evl_sdk::pack::manifest::{MANIFEST_TYPE, ManifestPayload};
use evl_sdk::pack::{MAX_PACK_NODES, PackKind};
use evl_sdk::proof::inclusion_proof_len;
use evl_sdk::tlog_proof::TlogProof;
use evl_sdk::{LeafIndex, Node, NodeId, SignedCheckpoint, multiproof_len, prove_inclusion, prove_multi};
use std::collections::BTreeMap;
use std::io::Write;

/// What to put in an evidence pack.
#[derive(Clone, Debug, Default)]
pub struct EvidenceRequest {
    /// The nodes asked for.
    pub subjects: Vec<NodeId>,
    /// Also every node they link to, transitively.
    pub include_deps: bool,
    /// The anchor whose tree the inclusion proofs are for (default: the latest).
    pub anchor: Option<u64>,
    /// The first anchor of the chain the pack carries (default: the proving anchor alone).
    pub trust_point: Option<u64>,
}

impl<S: Store> Ledger<S> {
    /// Writes an evidence pack to `sink` (SPEC.md §9.3). Deterministic: the same request on the
    /// same ledger gives the same bytes.
    pub fn export_evidence<W: Write>(
        &self,
        req: &EvidenceRequest,
        sink: W,
    ) -> Result<PackSummary, LedgerError> {
        let reader = self.reader();
        let snap = reader.snapshot()?;
        // The nodes: subjects, then their links, transitively.
        let mut subjects = req.subjects.clone();
        subjects.sort();
        subjects.dedup();
        if subjects.is_empty() {
            return Err(LedgerError::OutOfRange("name at least one node".into()));
        }
        let mut nodes: BTreeMap<NodeId, (LeafIndex, Vec<u8>)> = BTreeMap::new();
        let mut todo = subjects.clone();
        while let Some(id) = todo.pop() {
            if nodes.contains_key(&id) {
                continue;
            }
            let index = snap
                .index_of(&id)?
                .ok_or_else(|| LedgerError::NotFound(format!("node {id} is not in this log")))?;
            let bytes = snap
                .node(index)?
                .ok_or_else(|| crate::records::missing_content(&snap, &id, index))?;
            // Never pack content that does not hash to its NodeId (SPEC.md §3.1 rule 3).
            if NodeId::of_canonical(&bytes) != id {
                return Err(LedgerError::Integrity {
                    code: evl_sdk::ErrorCode::NodeIdMismatch,
                    message: format!(
                        "leaf {index}: the stored content of {id} does not hash to it; the store is damaged"
                    ),
                });
            }
            if req.include_deps {
                let node = Node::from_canonical(&bytes).map_err(|e| LedgerError::Integrity {
                    code: e.code(),
                    message: format!("stored node {id}: {e}"),
                })?;
                for l in node.links() {
                    if snap.index_of(&l.id)?.is_none() {
                        return Err(LedgerError::NotFound(format!(
                            "node {id} links to {} (rel {:?}), which is not in this log; export without --include-deps",
                            l.id, l.rel
                        )));
                    }
                    todo.push(l.id);
                }
            }
            nodes.insert(id, (index, bytes));
            if nodes.len() > MAX_PACK_NODES {
                return Err(LedgerError::OutOfRange(format!(
                    "more than {MAX_PACK_NODES} nodes; a compliance export has no such limit"
                ))
                .advise(crate::Next::Export));
            }
        }
        // The proving anchor must cover every node.
        let chain = verified_chain(&reader)?;
        let last = pick(&chain, req.anchor)?;
        let max_index = nodes.values().map(|(i, _)| i.get()).max().unwrap_or_default();
        if max_index >= last.tree_size.get() {
            return Err(LedgerError::OutOfRange(format!(
                "leaf {max_index} is not covered by anchor {} (tree size {})",
                last.seq, last.tree_size
            ))
            .advise(crate::Next::AnchorCreate));
        }
        let first = req.trust_point.unwrap_or(last.seq);
        let mut entries = chain_entries(&reader, &snap, first, last.seq)?;
        let size = last.tree_size;
        let checkpoint = anchor_checkpoint(&snap, last.seq)?;
        let checkpoint =
            SignedCheckpoint::parse(checkpoint.as_bytes()).map_err(|e| LedgerError::Integrity {
                code: e.code(),
                message: format!("anchor {}: checkpoint: {e}", last.seq),
            })?;
        let src = SnapshotSource(&snap);

        // Single proofs, or one multi-leaf proof where that is smaller (§9.3 rule 4).
        let mut by_index: Vec<(LeafIndex, NodeId)> = nodes.iter().map(|(id, (i, _))| (*i, *id)).collect();
        by_index.sort();
        let indices: Vec<LeafIndex> = by_index.iter().map(|(i, _)| *i).collect();
        let singles: usize = indices
            .iter()
            .map(|i| inclusion_proof_len(i.get(), size.get()))
            .sum();
        let use_multi = indices.len() > 1 && multiproof_len(&indices, size).is_some_and(|m| m < singles);
        if use_multi {
            let proof = prove_multi(&src, &indices, size)?;
            let ids: Vec<NodeId> = by_index.iter().map(|(_, id)| *id).collect();
            entries.push((MULTI_PATH.to_owned(), multi_json(&ids, &proof)));
        }
        // Every proof is checked against the anchored checkpoint before it is packed (a damaged
        // stored hash would otherwise be signed into a pack that does not verify).
        let head = checkpoint.checkpoint().head();
        for (id, (index, bytes)) in &nodes {
            let proof = prove_inclusion(&src, *index, size)?;
            crate::answer::check_proof(&head, id, &proof)?;
            if !use_multi {
                entries.push((proof_path(id), proof.to_json()));
            }
            let tp =
                TlogProof::for_node(id, &proof, checkpoint.clone()).map_err(|e| LedgerError::Integrity {
                    code: e.code(),
                    message: format!("tlog-proof for {id}: {e}"),
                })?;
            entries.push((tlog_proof_path(id), tp.to_text().into_bytes()));
            entries.push((node_path(id), bytes.clone()));
        }
        entries.push(("trust-root.json".to_owned(), reader.trust_root().to_json()));
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let manifest = |files: &[evl_sdk::pack::manifest::FileEntry]| {
            ManifestPayload {
                kind_tag: MANIFEST_TYPE.to_owned(),
                kind: PackKind::Evidence,
                origin: reader.origin().to_owned(),
                time: super::manifest_time(self, last.time),
                files: files.to_vec(),
                subjects: subjects.clone(),
                include_deps: req.include_deps,
            }
            .sign(self.signing_key())
        };
        write_pack(entries.into_iter(), manifest, sink)
    }
}
