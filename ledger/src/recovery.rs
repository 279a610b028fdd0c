//! Damage found by `evl verify --mode full`, and what the log does about it
//! (docs/design.md, recovery):
//!
//! - [`Ledger::mark_corrupted`] records lost content as a `corruption/v1` node appended to the
//!   log, so the loss is visible to everyone and proofs for other entries keep working; reads of
//!   the damaged node then fail with `CORRUPTED`, naming the record.
//! - [`Ledger::recover`] puts damaged entries back: node bytes from a backup or export file
//!   (only bytes whose NodeId's leaf hash is the stored leaf hash the tree commits to), stored
//!   hashes recomputed from the leaves, id-map entries from the intact content. The result must
//!   reproduce every signed root before anything is written, through [`Store::repair`], the one
//!   operation outside the append-only contract.
//!
//! The backup is untrusted input: it is read with the SDK's strict tar and zstd readers, one
//! entry at a time, and nothing taken from it is used unless its hash is the tree's.

use crate::error::{LedgerError, Next};
use crate::integrity::Failure;
use crate::integrity::{Mode, Report, verify};
use crate::reader::LedgerReader;
pub use crate::records::Record;
use crate::records::{explaining, records};
use crate::store::{Repair, Snapshot, SnapshotSource, Store, StoreError};
use crate::writer::Ledger;
use evl_sdk::corruption::{Corruption, Damage};
use evl_sdk::pack::PackError;
use evl_sdk::pack::export::{ExportParams, ListingLine, parse_log_path};
use evl_sdk::{
    Anchor, Digest, ErrorCode, LeafIndex, Node, NodeId, SignedCheckpoint, StoredHash, SubtreeSource,
    TreeSize, node_hash,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

/// What [`Ledger::mark_corrupted`] did.
#[derive(Clone, Debug, Serialize)]
pub struct Marked {
    /// The record (new, or the one already in the log).
    pub record: Record,
    /// False when the damage was already recorded (nothing was appended).
    pub created: bool,
    /// The record's receipt, when it was appended now.
    pub receipt: Option<evl_sdk::Receipt>,
}

/// One node put back from the backup.
#[derive(Clone, Debug, Serialize)]
pub struct RepairedNode {
    /// Its leaf index.
    pub leaf_index: u64,
    /// Its NodeId.
    pub node_id: NodeId,
    /// The `corruption/v1` record that had recorded its loss (it stays in the log as history).
    pub was_recorded_by: Option<NodeId>,
}

/// What [`Ledger::recover`] did.
#[derive(Clone, Debug, Serialize)]
pub struct RecoveryReport {
    /// The failures (and recorded damage) the first full verify found.
    pub found: Vec<Failure>,
    /// Nodes whose content was put back from the backup.
    pub nodes: Vec<RepairedNode>,
    /// Stored hashes rewritten: (level, index); level 0 is a leaf hash.
    pub hashes: Vec<(u32, u64)>,
    /// Leaves whose id-map entry was rewritten.
    pub ids: Vec<u64>,
    /// Recorded-corrupted leaves the backup does not hold (they stay recorded).
    pub still_recorded: Vec<u64>,
    /// The full verify after the repair.
    pub after: Report,
}

impl RecoveryReport {
    /// Whether anything was rewritten.
    pub fn repaired_anything(&self) -> bool {
        !(self.nodes.is_empty() && self.hashes.is_empty() && self.ids.is_empty())
    }
}

fn integrity(code: ErrorCode, message: String) -> LedgerError {
    LedgerError::Integrity { code, message }
}

/// Stored hashes with some replaced (a repair being checked before it is written).
struct Overlay<'a, Sn: Snapshot> {
    snap: &'a Sn,
    map: &'a HashMap<(u32, u64), Digest>,
}

impl<Sn: Snapshot> SubtreeSource for Overlay<'_, Sn> {
    type Error = StoreError;
    fn subtree(&self, level: u32, index: u64) -> Result<Digest, StoreError> {
        match self.map.get(&(level, index)) {
            Some(d) => Ok(*d),
            None => SnapshotSource(self.snap).subtree(level, index),
        }
    }
}

/// The signed roots a repair must reproduce: the checkpoint at the tree size and at every
/// anchored size, and every anchor's own root, each only if its signature verifies under the
/// trust root (a bad signature is not something a repair can fix; verify reports it).
fn signed_roots<S: Store>(
    reader: &LedgerReader<S>,
    snap: &S::Snapshot,
) -> Result<BTreeSet<(u64, Digest)>, LedgerError> {
    let trust = reader.trust_root();
    let size = snap.tree_size()?;
    let now = crate::time::now();
    let mut out = BTreeSet::new();
    let mut sizes = vec![size];
    for (_, bytes) in snap.anchors()? {
        let Ok(a) = Anchor::from_json(&bytes) else {
            continue;
        };
        if let Ok(s) = trust.verify_anchor(&a) {
            let s = s.into_inner();
            if s.tree_size <= size {
                out.insert((s.tree_size.get(), s.root));
                sizes.push(s.tree_size);
            }
        }
    }
    for sz in sizes {
        let Some(text) = snap.checkpoint(sz)? else {
            continue;
        };
        if let Ok(cp) = SignedCheckpoint::parse(text.as_bytes())
            && trust.verify_checkpoint(&cp, now).is_ok()
        {
            let head = cp.checkpoint().head();
            out.insert((head.size().get(), head.root()));
        }
    }
    Ok(out)
}

/// What a backup offers for the damaged leaves.
#[derive(Default)]
struct BackupScan {
    /// Bytes whose NodeId's leaf hash is wanted, by leaf.
    found: HashMap<u64, Vec<u8>>,
    /// The NodeId the backup's listing names at a needed leaf.
    listed: HashMap<u64, NodeId>,
    /// The NodeId of the bytes the backup carries at a needed leaf (by listing position).
    offered: HashMap<u64, NodeId>,
    /// The leaf ranges the backup's listings cover.
    covered: Vec<(u64, u64)>,
}

/// Lines of a `.jsonl` entry (without their newlines; a last line without one counts too).
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    data.split(|&b| b == b'\n')
        .filter(|l| !data.is_empty() || !l.is_empty())
}

/// Streams a backup or export file (`.tar.zst`: the export log chunks of SPEC.md §9.4, which
/// backups reuse) and collects what it holds for the leaves in `needed`: bytes whose NodeId's
/// leaf hash is in `wanted` (leaf hash → leaves), and, by listing position, which NodeId it lists
/// and offers there. Every other entry is skipped; the manifest is not needed, since nothing is
/// used unless its hash is the tree's.
fn scan_backup(
    source: impl Read,
    wanted: &HashMap<Digest, Vec<u64>>,
    needed: &BTreeSet<u64>,
) -> Result<BackupScan, PackError> {
    let mut out = BackupScan::default();
    let mut filter: Option<ExportParams> = None;
    // The last listing: its start and the leaves whose node its nodes file carries, in order.
    let mut chunk: Option<(u64, Vec<u64>)> = None;
    // The container is read by the same strict reader as verification (SPEC.md §9.1).
    crate::pack::for_each_entry(source, &mut |path, data, _| {
        if path == evl_sdk::pack::export::EXPORT_PATH {
            filter = Some(ExportParams::parse(data)?);
            return Ok(());
        }
        let Some((start, is_nodes)) = parse_log_path(path) else {
            return Ok(());
        };
        if !is_nodes {
            let mut exported = Vec::new();
            let mut n = 0u64;
            for (k, line) in lines(data).enumerate() {
                let leaf = start.saturating_add(k as u64);
                n = k as u64 + 1;
                let listed = (needed.contains(&leaf) || filter.as_ref().is_some_and(|p| p.filter.is_some()))
                    .then(|| {
                        evl_sdk::jcs::parse_canonical(line)
                            .ok()
                            .and_then(|v| serde_json::from_value::<ListingLine>(v).ok())
                    })
                    .flatten();
                if let Some(l) = &listed
                    && needed.contains(&leaf)
                {
                    out.listed.insert(leaf, l.id);
                }
                let included = match (&filter, &listed) {
                    (Some(p), Some(l)) => p.includes(&l.node_type),
                    (Some(p), None) => p.filter.is_none(),
                    (None, _) => true,
                };
                if included {
                    exported.push(leaf);
                }
            }
            out.covered.push((start, start.saturating_add(n)));
            chunk = Some((start, exported));
            return Ok(());
        }
        let positions = match &chunk {
            Some((s, leaves)) if *s == start => leaves.as_slice(),
            _ => &[],
        };
        for (k, line) in lines(data).enumerate() {
            let id = NodeId::of_canonical(line);
            if let Some(&leaf) = positions.get(k)
                && needed.contains(&leaf)
            {
                out.offered.insert(leaf, id);
            }
            if let Some(leaves) = wanted.get(&id.leaf_hash())
                && Node::from_canonical(line).is_ok()
            {
                for leaf in leaves {
                    out.found.entry(*leaf).or_insert_with(|| line.to_vec());
                }
            }
        }
        Ok(())
    })?;
    Ok(out)
}

impl<S: Store> Ledger<S> {
    /// Records that the stored content of the entry at `leaf` (or of `node`) is damaged: appends
    /// a `corruption/v1` node naming the NodeId the tree commits to there (SPEC.md §3.5), so the
    /// loss is visible to everyone and proofs for other entries keep working. Reads of the node
    /// then fail with `CORRUPTED` and `verify` reports the leaf as recorded instead of failing.
    ///
    /// Refused unless the content at that leaf really is damaged (its bytes do not hash to a
    /// NodeId whose leaf hash is the stored one) and the stored leaf hash is intact (a damaged
    /// stored hash is repaired by [`Ledger::recover`] without a backup). With only `leaf`, the
    /// NodeId comes from the id map (an O(n) scan); pass `node` when the id map lacks it.
    /// Marking an entry already recorded appends nothing and returns the existing record.
    pub fn mark_corrupted(
        &self,
        leaf: Option<LeafIndex>,
        node: Option<NodeId>,
        reason: &str,
    ) -> Result<Marked, LedgerError> {
        let reader = self.reader();
        let snap = reader.snapshot()?;
        let size = snap.tree_size()?;
        let index = match (leaf, node) {
            (Some(i), _) => i,
            (None, Some(id)) => snap.index_of(&id)?.ok_or_else(|| {
                LedgerError::NotFound(format!("the id map has no leaf for {id}")).advise(Next::GiveIndex)
            })?,
            (None, None) => {
                return Err(LedgerError::OutOfRange(
                    "name the damaged entry by leaf index or NodeId".into(),
                ));
            }
        };
        let i = index.get();
        if !size.contains(index) {
            return Err(LedgerError::OutOfRange(format!(
                "leaf {i} is beyond the tree ({size})"
            )));
        }
        let stored = snap.hash(0, i)?.ok_or_else(|| {
            integrity(
                ErrorCode::MerkleMismatch,
                format!("the stored leaf hash of leaf {i} is missing"),
            )
            .advise(Next::RecoverHashes)
        })?;
        let content = snap.node(index)?.map(|b| NodeId::of_canonical(&b));
        if content.is_some_and(|c| c.leaf_hash() == stored) {
            return Err(LedgerError::NotFound(format!(
                "no damage at leaf {i}: its stored content hashes to the leaf hash in the tree"
            )));
        }
        if let Some(c) = content
            && leaf_hash_is_the_damage(&snap, i, c.leaf_hash(), stored)?
        {
            return Err(integrity(
                ErrorCode::MerkleMismatch,
                format!("at leaf {i} the stored leaf hash is damaged, not the content"),
            )
            .advise(Next::RecoverHashes));
        }
        let id = match node {
            Some(id) if id.leaf_hash() == stored => id,
            Some(id) => {
                return Err(integrity(
                    ErrorCode::NodeIdMismatch,
                    format!("{id} is not the entry at leaf {i}: the tree commits to another leaf hash there"),
                ));
            }
            None => {
                let mut found = None;
                snap.scan_ids(&mut |id, j| {
                    if j == i && id.leaf_hash() == stored {
                        found = Some(id);
                        return false;
                    }
                    true
                })?;
                found.ok_or_else(|| {
                    LedgerError::NotFound(format!(
                        "the id map holds no NodeId for leaf {i}; pass --node with its NodeId (from a receipt or a backup's listing)"
                    ))
                })?
            }
        };
        if let Some(r) = records(&snap)?.remove(&i).and_then(|rs| {
            rs.into_iter()
                .find(|r| r.what == Damage::Node && r.corrupted == id)
        }) {
            return Ok(Marked {
                record: r,
                created: false,
                receipt: None,
            });
        }
        // Appending extends the tree from the stored peaks: if one is damaged, the new
        // checkpoint would sign a root that is not this log's. Repair first.
        if let Some(text) = snap.checkpoint(size)?
            && let Ok(cp) = SignedCheckpoint::parse(text.as_bytes())
            && evl_sdk::root(&SnapshotSource(&snap), size).ok() != Some(cp.checkpoint().head().root())
        {
            return Err(integrity(
                ErrorCode::MerkleMismatch,
                format!(
                    "the stored hashes do not reproduce the signed checkpoint at size {size}, so appending the record would sign a wrong root"
                ),
            )
            .advise(Next::RecoverHashes));
        }
        drop(snap);
        let detected = crate::time::now();
        let c = Corruption::new(id, i, reason.trim(), detected, Damage::Node)?;
        let node = c.to_node();
        let record_id = node.id();
        let out = self
            .append_admin(vec![node])?
            .pop()
            .ok_or_else(|| LedgerError::Store(StoreError::Other("append returned no receipt".into())))?;
        tracing::warn!(leaf = i, %id, record = %record_id, "content recorded as corrupted");
        Ok(Marked {
            record: Record {
                id: record_id,
                leaf_index: out.receipt.leaf_index,
                corrupted: id,
                corrupted_leaf: i,
                what: Damage::Node,
                detected,
                reason: reason.trim().to_owned(),
            },
            created: out.created,
            receipt: Some(out.receipt),
        })
    }

    /// Repairs what a full verify finds, from `backup` (a `.tar.zst` backup or unfiltered export
    /// made earlier; see [`scan_backup`]) where content must be put back:
    ///
    /// 1. Content damage at leaf `i`: the backup's bytes are used only if SHA-256 of them is a
    ///    NodeId whose leaf hash is the stored leaf hash at `i`. Damage not yet recorded must be
    ///    repairable, or nothing is written (`NODE_ID_MISMATCH` if the backup's bytes or listing
    ///    at `i` are another entry, `PACK_INCOMPLETE` if it does not hold `i`, `OUT_OF_RANGE`
    ///    without a backup); recorded damage the backup does not hold stays recorded.
    /// 2. A damaged stored leaf hash is recomputed from the intact content, and damaged interior
    ///    hashes (and every ancestor of a changed hash) from their children.
    /// 3. A damaged id-map entry is set from the intact content.
    /// 4. Before anything is written, the repaired tree must reproduce every signed root (the
    ///    checkpoint at the tree size and at each anchored size, each anchor's root, those whose
    ///    signatures verify), and one of them must cover every repaired position; else
    ///    `MERKLE_MISMATCH` and nothing is written.
    ///
    /// The repair is one atomic [`Store::repair`] under the writer lock; the in-memory frontier
    /// is reloaded after it. Checkpoint and anchor failures are not repaired (a damaged anchor
    /// needs `new-chain`); the report's `after` verify says what remains.
    pub fn recover(&self, backup: Option<&mut dyn Read>) -> Result<RecoveryReport, LedgerError> {
        let reader = self.reader();
        self.repair_locked(|store| {
            let before = verify(&reader, Mode::Full, &mut |_, _| {})?;
            let snap = store.snapshot()?;
            let n = snap.tree_size()?.get();
            let found: Vec<Failure> = before.failures.iter().chain(&before.recorded).cloned().collect();
            let recorded: BTreeSet<u64> = before.recorded.iter().filter_map(|f| f.leaf_index).collect();
            let mut content: BTreeSet<u64> = BTreeSet::new();
            let mut map: HashMap<(u32, u64), Digest> = HashMap::new();
            let mut dirty: BTreeMap<u32, BTreeSet<u64>> = BTreeMap::new();
            let mut repair = Repair::default();
            let mut id_leaves = Vec::new();
            for f in &found {
                // A run the engine could not read names its first and last position.
                let run = |first: u64| first..=f.last.unwrap_or(first).max(first);
                match (f.what, f.leaf_index, f.position) {
                    ("node", Some(i), _) => {
                        for j in run(i) {
                            // Content a redaction removed is not missing: it stays absent.
                            if f.last.is_none() || snap.redaction(leaf_index(j)?)?.is_none() {
                                content.insert(j);
                            }
                        }
                    }
                    ("leaf_hash", Some(i), _) => {
                        for j in run(i) {
                            let bytes = stored_node(&snap, j)?;
                            map.insert((0, j), NodeId::of_canonical(&bytes).leaf_hash());
                            dirty.entry(0).or_default().insert(j);
                        }
                    }
                    ("id_map", Some(i), _) => {
                        let bytes = stored_node(&snap, i)?;
                        repair.ids.push((NodeId::of_canonical(&bytes), leaf_index(i)?));
                        id_leaves.push(i);
                    }
                    ("hash", None, Some((level, k))) => {
                        dirty.entry(level).or_default().extend(run(k));
                    }
                    _ => {} // checkpoints and anchors: not repaired here
                }
            }
            // 1. Content from the backup.
            let mut nodes = Vec::new();
            let mut still_recorded = Vec::new();
            if !content.is_empty() {
                let mut wanted: HashMap<Digest, Vec<u64>> = HashMap::new();
                for &i in &content {
                    if let Some(h) = snap.hash(0, i)? {
                        wanted.entry(h).or_default().push(i);
                    }
                }
                let recs = records(&snap)?;
                let scan = match backup {
                    Some(src) => scan_backup(src, &wanted, &content)?,
                    None => {
                        if let Some(i) = content.iter().find(|i| !recorded.contains(i)) {
                            return Err(LedgerError::OutOfRange(format!(
                                "the content of leaf {i} is damaged and can only be put back from a backup; nothing was changed"
                            ))
                            .advise(Next::RestoreContent { leaf: *i }));
                        }
                        BackupScan::default()
                    }
                };
                for &i in &content {
                    let stored = snap.hash(0, i)?;
                    if let Some(bytes) = scan.found.get(&i) {
                        let id = NodeId::of_canonical(bytes);
                        nodes.push(RepairedNode {
                            leaf_index: i,
                            node_id: id,
                            was_recorded_by: recs
                                .get(&i)
                                .and_then(|rs| explaining(rs, stored))
                                .map(|r| r.id),
                        });
                        repair.nodes.push((leaf_index(i)?, bytes.clone()));
                        continue;
                    }
                    let other = scan
                        .offered
                        .get(&i)
                        .or(scan.listed.get(&i))
                        .filter(|id| Some(id.leaf_hash()) != stored);
                    if let Some(other) = other {
                        return Err(integrity(
                            ErrorCode::NodeIdMismatch,
                            format!(
                                "the backup's entry at leaf {i} is {other}, which is not the entry this log's tree commits to there: the backup is damaged or of another log; nothing was changed"
                            ),
                        ));
                    }
                    if recorded.contains(&i) {
                        still_recorded.push(i);
                        continue;
                    }
                    let covers = scan.covered.iter().any(|(a, b)| (*a..*b).contains(&i));
                    return Err(integrity(
                        ErrorCode::PackIncomplete,
                        format!(
                            "the backup holds no bytes for leaf {i} ({}); nothing was changed",
                            if covers {
                                "it lists the leaf but carries no bytes hashing to the tree's entry"
                            } else {
                                "it does not cover that leaf"
                            }
                        ),
                    )
                    .advise(Next::RestoreContent { leaf: i }));
                }
            }
            // 2. Hashes: recompute bottom-up every damaged hash and every ancestor of a change.
            let levels = if n == 0 { 0 } else { 64 - n.leading_zeros() };
            let mut changed: BTreeSet<u64> = dirty.remove(&0).unwrap_or_default();
            for level in 1..levels {
                let mut todo: BTreeSet<u64> = changed.iter().map(|k| k / 2).collect();
                todo.extend(dirty.remove(&level).unwrap_or_default());
                changed = BTreeSet::new();
                for k in todo {
                    if (k + 1) << level > n {
                        continue; // not a perfect subtree of this tree
                    }
                    let src = Overlay { snap: &snap, map: &map };
                    let new = node_hash(&src.subtree(level - 1, 2 * k)?, &src.subtree(level - 1, 2 * k + 1)?);
                    if snap.hash(level, k)? != Some(new) {
                        map.insert((level, k), new);
                        changed.insert(k);
                    }
                }
            }
            for ((level, index), hash) in &map {
                repair.hashes.push(StoredHash {
                    level: *level,
                    index: *index,
                    hash: *hash,
                });
            }
            repair.hashes.sort_by_key(|h| (h.level, h.index));
            // 4. Every signed root must come out of the repaired tree.
            if !repair.is_empty() {
                let roots = signed_roots(&reader, &snap)?;
                let src = Overlay { snap: &snap, map: &map };
                for (size, root) in &roots {
                    let Some(sz) = TreeSize::new(*size) else { continue };
                    let got = evl_sdk::root(&src, sz).map_err(|e| integrity(ErrorCode::MerkleMismatch, e.to_string()))?;
                    if got != *root {
                        return Err(integrity(
                            ErrorCode::MerkleMismatch,
                            format!(
                                "the repaired tree would not reproduce the signed root at size {size}: this damage is not one recover can repair (a leaf whose content and stored leaf hash are both damaged, or a damaged checkpoint); nothing was changed"
                            ),
                        ));
                    }
                }
                let covered = roots.iter().map(|(s, _)| *s).max().unwrap_or(0);
                let highest = repair
                    .nodes
                    .iter()
                    .map(|(i, _)| i.get() + 1)
                    .chain(repair.hashes.iter().map(|h| (h.index + 1) << h.level))
                    .max()
                    .unwrap_or(0);
                if highest > covered {
                    return Err(integrity(
                        ErrorCode::MerkleMismatch,
                        format!(
                            "no verified signed checkpoint covers the tree up to size {highest}, so the repair cannot be checked; nothing was changed"
                        ),
                    ));
                }
                drop(snap);
                store.repair(repair.clone())?;
                tracing::warn!(
                    nodes = repair.nodes.len(),
                    hashes = repair.hashes.len(),
                    ids = repair.ids.len(),
                    "store repaired"
                );
            }
            let after = verify(&reader, Mode::Full, &mut |_, _| {})?;
            Ok(RecoveryReport {
                found,
                nodes,
                hashes: repair.hashes.iter().map(|h| (h.level, h.index)).collect(),
                ids: id_leaves,
                still_recorded,
                after,
            })
        })
    }
}

/// Whether, at leaf `i`, the stored leaf hash (not the content) is what is damaged: the content's
/// leaf hash reproduces the stored parent, or, for a leaf without a parent, the root of the
/// checkpoint at the tree size.
fn leaf_hash_is_the_damage<Sn: Snapshot>(
    snap: &Sn,
    i: u64,
    implied: Digest,
    stored: Digest,
) -> Result<bool, LedgerError> {
    if implied == stored {
        return Ok(false);
    }
    let n = snap.tree_size()?.get();
    if (i | 1) < n {
        let (Some(sib), Some(parent)) = (snap.hash(0, i ^ 1)?, snap.hash(1, i / 2)?) else {
            return Ok(false);
        };
        let fixed = if i.is_multiple_of(2) {
            node_hash(&implied, &sib)
        } else {
            node_hash(&sib, &implied)
        };
        return Ok(fixed == parent);
    }
    let Some(size) = TreeSize::new(n) else {
        return Ok(false);
    };
    let Some(cp) = snap
        .checkpoint(size)?
        .and_then(|t| SignedCheckpoint::parse(t.as_bytes()).ok())
    else {
        return Ok(false);
    };
    let map = HashMap::from([((0, i), implied)]);
    Ok(evl_sdk::root(&Overlay { snap, map: &map }, size).ok() == Some(cp.checkpoint().head().root()))
}

fn stored_node<Sn: Snapshot>(snap: &Sn, i: u64) -> Result<Vec<u8>, LedgerError> {
    snap.node(leaf_index(i)?)?.ok_or_else(|| {
        integrity(
            ErrorCode::NodeIdMismatch,
            format!("leaf {i} has no stored content"),
        )
    })
}

fn leaf_index(i: u64) -> Result<LeafIndex, LedgerError> {
    LeafIndex::new(i).ok_or_else(|| LedgerError::OutOfRange(format!("leaf index {i} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let owned: Vec<(String, Vec<u8>)> =
            entries.iter().map(|(p, d)| (p.to_string(), d.to_vec())).collect();
        let tar = evl_sdk::pack::tar::build(&owned).unwrap();
        ruzstd::encoding::compress_to_vec(tar.as_slice(), ruzstd::encoding::CompressionLevel::Fastest)
    }

    /// Hostile backups never panic: odd chunk names, non-JSON listings, nodes files without a
    /// listing, empty lines, huge indices, and every truncation of a valid file.
    #[test]
    fn hostile_backups_are_errors_or_findings_never_panics() {
        let node = br#"{"type":"x-t"}"#;
        let id = NodeId::of_canonical(node);
        let wanted = HashMap::from([(id.leaf_hash(), vec![3u64, u64::MAX])]);
        let needed = BTreeSet::from([0u64, 3, u64::MAX]);
        let listing = format!("{{\"id\":\"{id}\",\"type\":\"x-t\"}}\nnot json\n\n");
        let max = "log/18446744073709551615.leaves.jsonl";
        let max_nodes = "log/18446744073709551615.nodes.jsonl";
        let nodes = [&node[..], b"\n\n{}\nzzz"].concat();
        let cases: Vec<Vec<(&str, &[u8])>> = vec![
            vec![],
            vec![("export.json", b"{}")],
            vec![("log/00000000000000000000.nodes.jsonl", &nodes)],
            vec![
                ("log/00000000000000000001.leaves.jsonl", listing.as_bytes()),
                ("log/00000000000000000001.nodes.jsonl", &nodes),
            ],
            vec![(max, listing.as_bytes()), (max_nodes, &nodes)],
            vec![("log/99999999999999999999.leaves.jsonl", b"\n")],
            vec![
                ("log/00000000000000000000.leaves.jsonl", b""),
                ("log/00000000000000000000.nodes.jsonl", b""),
            ],
        ];
        for c in &cases {
            let _ = scan_backup(pack(c).as_slice(), &wanted, &needed);
        }
        let good = pack(&cases[3]);
        let found = scan_backup(good.as_slice(), &wanted, &needed).unwrap();
        assert_eq!(found.found.get(&3).map(Vec::as_slice), Some(&node[..]));
        for cut in 0..good.len() {
            assert!(scan_backup(&good[..cut], &wanted, &needed).is_err(), "cut {cut}");
        }
        let tar_bytes = evl_sdk::pack::decompress(&good, 1 << 20).unwrap();
        for i in (0..tar_bytes.len()).step_by(7) {
            let mut t = tar_bytes.clone();
            t[i] ^= 0x5a;
            let z =
                ruzstd::encoding::compress_to_vec(t.as_slice(), ruzstd::encoding::CompressionLevel::Fastest);
            let _ = scan_backup(z.as_slice(), &wanted, &needed);
        }
    }
}
