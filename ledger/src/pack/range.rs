//! Writing a compliance export (SPEC.md §9.4): every leaf between two anchors, in chunks, with
//! the frontier at the start so a verifier can chain the listed leaves into the end root.

use super::write::{Entries, PackSummary, write_pack};
use super::{chain_entries, pick, verified_chain};
use crate::error::LedgerError;
use crate::store::{Snapshot, SnapshotSource, Store};
use crate::writer::Ledger;
use evl_sdk::pack::PackKind;
use evl_sdk::pack::export::{
    AnchorRef, CHUNK_TARGET_BYTES, EXPORT_PATH, EXPORT_TYPE, ExportParams, FRONTIER_PATH, FrontierFile,
    ListingLine, MAX_CHUNK_LEAVES, MAX_FILTER_TYPES, leaves_path, nodes_path,
};
use evl_sdk::pack::manifest::{FileEntry, MANIFEST_TYPE, ManifestPayload};
use evl_sdk::{Digest, Frontier, NodeId, TreeSize};
use std::io::Write;

/// What to export.
#[derive(Clone, Debug, Default)]
pub struct ExportRequest {
    /// Start after this anchor's tree (default: from the empty tree).
    pub from_anchor: Option<u64>,
    /// End at this anchor's tree (default: the latest anchor).
    pub to_anchor: Option<u64>,
    /// Only nodes of these types (default: all).
    pub filter: Option<Vec<String>>,
    /// The PackId of the export this one continues (a delta export).
    pub prev_export: Option<NodeId>,
}

/// The leaf range of a planned export, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportRange {
    /// First leaf.
    pub start: u64,
    /// One past the last leaf.
    pub end: u64,
}

#[derive(serde::Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "type", borrow)]
    node_type: std::borrow::Cow<'a, str>,
}

struct RangeEntries<'a, Sn: Snapshot> {
    snap: &'a Sn,
    prefix: std::vec::IntoIter<(String, Vec<u8>)>,
    suffix: std::vec::IntoIter<(String, Vec<u8>)>,
    queued: Option<(String, Vec<u8>)>,
    pos: u64,
    end: u64,
    params: ExportParams,
    progress: &'a mut dyn FnMut(u64),
    rebuilt: Rebuilt,
}

/// One chunk of the log (SPEC.md §9.4 rule 5): its listing and the nodes `includes` selects.
pub(super) struct Chunk {
    /// One past its last leaf.
    pub(super) next: u64,
    /// `log/<start>.leaves.jsonl`.
    pub(super) listing: Vec<u8>,
    /// `log/<start>.nodes.jsonl` (empty: no file).
    pub(super) nodes: Vec<u8>,
    /// The leaf hash of every leaf listed, in order (for [`Rebuilt`]).
    pub(super) leaves: Vec<Digest>,
}

/// The tree a pack writer rebuilds from the leaves it writes, checked against the signed roots
/// as it streams (SPEC.md §9.4, §9.9): the starting frontier against the root signed at its
/// size, each node's content against its stored leaf hash ([`read_chunk`]), and, when the last
/// leaf is written, the rebuilt root against the root signed at the end. A damaged store thus
/// stops the writer (and the partial file is removed) instead of producing a signed pack that
/// does not verify.
pub(super) struct Rebuilt {
    /// The tree of the leaves written so far.
    tree: Frontier,
    end: u64,
    root: Digest,
}

impl Rebuilt {
    /// Starts from `tree` (the frontier at the first leaf written), which must have
    /// `start_root` as its root when it is not empty, and expects `end_root` at size `end`.
    pub(super) fn new(
        tree: Frontier,
        start_root: Option<Digest>,
        end: u64,
        end_root: Digest,
    ) -> Result<Self, LedgerError> {
        if let Some(r) = start_root
            && tree.size().get() > 0
            && tree.root() != r
        {
            return Err(LedgerError::Integrity {
                code: evl_sdk::ErrorCode::MerkleMismatch,
                message: format!(
                    "the stored hashes do not reproduce the signed root at size {}; nothing was written",
                    tree.size()
                ),
            });
        }
        Ok(Self {
            tree,
            end,
            root: end_root,
        })
    }

    /// Adds the leaves of one chunk; after the last one, checks the signed end root.
    pub(super) fn push(&mut self, leaves: &[Digest]) -> Result<(), LedgerError> {
        for h in leaves {
            self.tree
                .push(*h)
                .ok_or_else(|| LedgerError::OutOfRange("the log is full".into()))?;
        }
        if self.tree.size().get() == self.end && self.tree.root() != self.root {
            return Err(LedgerError::Integrity {
                code: evl_sdk::ErrorCode::MerkleMismatch,
                message: format!(
                    "the leaves read from the store do not reproduce the signed root at size {}; the store is damaged",
                    self.end
                ),
            });
        }
        Ok(())
    }
}

/// Reads the chunk that starts at leaf `start` from `snap`, ending as the reference writer ends
/// chunks (§9.4 rule 5) and never beyond `end`. Exports and backups share it, so their log
/// chunks are identical.
pub(super) fn read_chunk<Sn: Snapshot>(
    snap: &Sn,
    start: u64,
    end: u64,
    includes: &dyn Fn(&str) -> bool,
) -> Result<Chunk, LedgerError> {
    let limit = (start + MAX_CHUNK_LEAVES).min(end);
    let (mut listing, mut nodes, mut leaves) = (Vec::new(), Vec::new(), Vec::new());
    // The stored leaf hashes of the range: every node's content is checked against its own.
    let mut stored = Vec::with_capacity((limit - start) as usize);
    snap.scan_hashes(0, start, limit, &mut |_, h| {
        stored.push(h);
        true
    })?;
    let mut next = start;
    let mut fault: Option<LedgerError> = None;
    snap.scan_nodes(start, limit, &mut |i, bytes| {
        // Leaves before `i` have no content: each must be redacted (listed with its record).
        while next < i {
            match redacted_line(snap, next) {
                Ok(line) => {
                    leaves.push(line.id.leaf_hash());
                    push_line(&mut listing, &line)
                }
                Err(e) => {
                    fault = Some(e);
                    return false;
                }
            }
            next += 1;
        }
        // The leaf hash first: damaged content is NODE_ID_MISMATCH whatever else it breaks.
        let id = NodeId::of_canonical(bytes);
        if stored.get((i - start) as usize).copied().flatten() != Some(id.leaf_hash()) {
            fault = Some(LedgerError::Integrity {
                code: evl_sdk::ErrorCode::NodeIdMismatch,
                message: format!("leaf {i}: the stored content does not hash to the leaf hash in the tree; the store is damaged"),
            });
            return false;
        }
        let node_type = match serde_json::from_slice::<TypeOnly>(bytes) {
            Ok(t) => t.node_type.into_owned(),
            Err(e) => {
                fault = Some(LedgerError::Integrity {
                    code: evl_sdk::ErrorCode::NodeInvalid,
                    message: format!("stored node {i} has no string type: {e}"),
                });
                return false;
            }
        };
        leaves.push(id.leaf_hash());
        let line = ListingLine {
            id,
            node_type,
            redacted: None,
        };
        if includes(&line.node_type) {
            nodes.extend_from_slice(bytes);
            nodes.push(b'\n');
        }
        push_line(&mut listing, &line);
        next = i + 1;
        nodes.len() < CHUNK_TARGET_BYTES && listing.len() < CHUNK_TARGET_BYTES
    })?;
    if let Some(e) = fault {
        return Err(e);
    }
    // The scan ended before `limit` without filling the chunk: the leaves after the last stored
    // node have no content either.
    while next < limit && nodes.len() < CHUNK_TARGET_BYTES && listing.len() < CHUNK_TARGET_BYTES {
        let line = redacted_line(snap, next)?;
        leaves.push(line.id.leaf_hash());
        push_line(&mut listing, &line);
        next += 1;
    }
    if next == start {
        return Err(LedgerError::Integrity {
            code: evl_sdk::ErrorCode::PackIncomplete,
            message: format!("leaf {next} has no stored content; an export needs every node"),
        });
    }
    Ok(Chunk {
        next,
        listing,
        nodes,
        leaves,
    })
}

fn push_line(listing: &mut Vec<u8>, line: &ListingLine) {
    listing.extend_from_slice(&line.to_bytes());
    listing.push(b'\n');
}

/// The listing line of leaf `index`, which has no stored content: its NodeId and type from its
/// `redaction/v1` record, which it names (SPEC.md §9.4 rule 3). Content missing without a record
/// is `PACK_INCOMPLETE`: an export never hides a loss.
fn redacted_line<Sn: Snapshot>(snap: &Sn, index: u64) -> Result<ListingLine, LedgerError> {
    let record = match evl_sdk::LeafIndex::new(index) {
        Some(i) => crate::records::redaction_at(snap, i)?,
        None => None,
    };
    let r = record.ok_or_else(|| {
        LedgerError::Integrity {
            code: evl_sdk::ErrorCode::PackIncomplete,
            message: format!(
                "leaf {index} has no stored content and no redaction record; an export needs every node"
            ),
        }
        .advise(crate::Next::VerifyFull)
    })?;
    Ok(ListingLine {
        id: r.redaction.redacted(),
        node_type: r.redaction.redacted_type().to_owned(),
        redacted: Some(r.record_id),
    })
}

impl<Sn: Snapshot> RangeEntries<'_, Sn> {
    fn chunk(&mut self) -> Result<(String, Vec<u8>), LedgerError> {
        let start = self.pos;
        let params = &self.params;
        let c = read_chunk(self.snap, start, self.end, &|t| params.includes(t))?;
        self.rebuilt.push(&c.leaves)?;
        self.pos = c.next;
        (self.progress)(c.next);
        if !c.nodes.is_empty() {
            self.queued = Some((nodes_path(start), c.nodes));
        }
        Ok((leaves_path(start), c.listing))
    }
}

impl<Sn: Snapshot> Entries for RangeEntries<'_, Sn> {
    fn next_entry(&mut self) -> Result<Option<(String, Vec<u8>)>, LedgerError> {
        if let Some(e) = self.prefix.next() {
            return Ok(Some(e));
        }
        if let Some(e) = self.queued.take() {
            return Ok(Some(e));
        }
        if self.pos < self.end {
            return self.chunk().map(Some);
        }
        Ok(self.suffix.next())
    }
}

impl<S: Store> Ledger<S> {
    /// The leaf range an export request covers (checks the request without writing).
    pub fn export_range(&self, req: &ExportRequest) -> Result<ExportRange, LedgerError> {
        let chain = verified_chain(&self.reader())?;
        let to = pick(&chain, req.to_anchor)?;
        let start = match req.from_anchor {
            Some(s) => pick(&chain, Some(s))?.tree_size.get(),
            None => 0,
        };
        Ok(ExportRange {
            start,
            end: to.tree_size.get(),
        })
    }

    /// Writes a compliance export to `sink` (SPEC.md §9.4), streaming: memory stays flat
    /// whatever the range. `progress` is called with the next leaf index after each chunk.
    pub fn export<W: Write>(
        &self,
        req: &ExportRequest,
        sink: W,
        progress: &mut dyn FnMut(u64),
    ) -> Result<PackSummary, LedgerError> {
        let reader = self.reader();
        let snap = reader.snapshot()?;
        let chain = verified_chain(&reader)?;
        let to = pick(&chain, req.to_anchor)?;
        let from = req.from_anchor.map(|s| pick(&chain, Some(s))).transpose()?;
        if let Some(f) = &from
            && f.seq >= to.seq
        {
            return Err(LedgerError::OutOfRange(format!(
                "--from-anchor {} must be an earlier anchor than --to-anchor {}",
                f.seq, to.seq
            )));
        }
        let filter = match &req.filter {
            Some(f) => {
                let mut f = f.clone();
                f.sort();
                f.dedup();
                if f.is_empty() || f.len() > MAX_FILTER_TYPES {
                    return Err(LedgerError::OutOfRange(format!(
                        "--type takes 1 to {MAX_FILTER_TYPES} types"
                    )));
                }
                Some(f)
            }
            None => None,
        };
        let aref = |a: &evl_sdk::AnchorSummary| AnchorRef {
            seq: a.seq,
            anchor: a.id,
            tree_size: a.tree_size.get(),
        };
        let params = ExportParams {
            kind_tag: EXPORT_TYPE.to_owned(),
            from: from.as_ref().map(aref),
            to: aref(&to),
            filter,
            prev_export: req.prev_export,
        };
        let start = from.as_ref().map_or(0, |f| f.tree_size.get());
        let mut prefix = chain_entries(&reader, &snap, from.as_ref().map_or(to.seq, |f| f.seq), to.seq)?;
        let frontier = match TreeSize::new(start) {
            Some(s) if s.get() > 0 => Frontier::load(&SnapshotSource(&snap), s)?,
            _ => Frontier::new(),
        };
        prefix.push((EXPORT_PATH.to_owned(), params.to_bytes()));
        prefix.push((FRONTIER_PATH.to_owned(), FrontierFile::of(&frontier).to_bytes()));
        prefix.sort_by(|a, b| a.0.cmp(&b.0));
        let rebuilt = Rebuilt::new(
            frontier,
            from.as_ref().map(|a| a.root),
            to.tree_size.get(),
            to.root,
        )?;
        let entries = RangeEntries {
            snap: &snap,
            prefix: prefix.into_iter(),
            suffix: vec![("trust-root.json".to_owned(), reader.trust_root().to_json())].into_iter(),
            queued: None,
            pos: start,
            end: to.tree_size.get(),
            params,
            progress,
            rebuilt,
        };
        let manifest = |files: &[FileEntry]| {
            ManifestPayload {
                kind_tag: MANIFEST_TYPE.to_owned(),
                kind: PackKind::Export,
                origin: reader.origin().to_owned(),
                time: super::manifest_time(self, to.time),
                files: files.to_vec(),
                subjects: Vec::new(),
                include_deps: false,
            }
            .sign(self.signing_key())
        };
        write_pack(entries, manifest, sink)
    }
}
