//! Restoring backups into a new store (SPEC.md §9.9): each file is verified by the SDK's
//! streaming verifier while what it carries is bulk-loaded, and the loaded store is checked
//! once more before it is reported. A failure at any point leaves a store the caller discards.
//!
//! The store is written with [`Store::load`] (`RedbStore::bulk_commit` for redb): large non-durable transactions and one
//! durable commit at the end. The caller (`evl restore`) loads into a temporary directory and
//! renames it into place only after this returns `Ok`, so a crash never leaves a half-written
//! store where the operator looks.

use crate::error::LedgerError;
use crate::reader::LedgerReader;
use crate::state::meta;
use crate::store::{Batch, NewNode, Redact, Snapshot, SnapshotSource, Store, StoreError};
use evl_sdk::pack::backup::{BACKUP_PATH, BackupParams, Item};
use evl_sdk::pack::export::{FRONTIER_PATH, FrontierFile};
use evl_sdk::pack::for_each_entry;
use evl_sdk::pack::{PackError, PackKind, PackReport, PackVerifier, TrustSource};
use evl_sdk::{Anchor, Digest, ErrorCode, Frontier, LeafIndex, NodeId, TreeSize, TrustRoot};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io::Read;
use std::sync::mpsc::SyncSender;

/// A bulk transaction is committed once it holds this many bytes of node content.
///
/// Rationale: large enough that the per-transaction cost (a few page writes of the B-tree
/// roots) is negligible per node, small enough that a transaction's dirty pages stay well
/// within the page cache ([`crate::store::redb_store::REDB_CACHE_BYTES`]).
pub const BULK_BATCH_BYTES: usize = 32 * 1024 * 1024;

/// What to restore.
#[derive(Clone, Debug, Default)]
pub struct RestoreRequest {
    /// Verify every backup with this trust root (and require the backups' own to be it);
    /// default: the backups' own trust root, which proves consistency only.
    pub trust_root: Option<TrustRoot>,
    /// Point-in-time recovery: stop exactly at this anchor's tree size.
    pub to_anchor: Option<u64>,
}

/// One backup file of a restore.
#[derive(Clone, Debug, Serialize)]
pub struct RestoredFile {
    /// The file's name, as given.
    pub file: String,
    /// Its PackId.
    pub pack_id: NodeId,
    /// First leaf it carries (0: a full backup).
    pub from: u64,
    /// Its tree size.
    pub to: u64,
    /// Incremental: the anchor it continues.
    pub since_anchor: Option<u64>,
    /// Incremental: the base backup it names (checked against the previous file).
    pub base: Option<NodeId>,
    /// Leaves it added to the store (not counting the overlap with earlier files or a cut).
    pub leaves_added: u64,
    /// Anchors and checkpoints it carries.
    pub anchors: usize,
    /// Signed checkpoints it carries.
    pub checkpoints: u64,
}

/// What `--to-anchor` left out.
#[derive(Clone, Debug, Serialize)]
pub struct Cut {
    /// The anchor restored to.
    pub anchor: u64,
    /// Its tree size: the restored store's.
    pub tree_size: u64,
    /// Leaves of the backups after it, not restored.
    pub leaves: u64,
    /// Anchors after it (by sequence number or tree size), not restored.
    pub anchors: Vec<u64>,
    /// Signed checkpoints at larger tree sizes, not restored.
    pub checkpoints: u64,
}

/// What a restore wrote, all verified.
#[derive(Clone, Debug, Serialize)]
pub struct RestoreReport {
    /// The log origin.
    pub origin: String,
    /// Which trust root verified the backups.
    pub trust_root: TrustSource,
    /// The restored tree size.
    pub tree_size: u64,
    /// The restored root (hex), equal to the signed end checkpoint's or the cut anchor's.
    pub root: String,
    /// Nodes written with their content.
    pub nodes: u64,
    /// Leaves written without content because the log had redacted it, each with its
    /// `redaction/v1` record (SPEC.md §3.4), checked as a read checks it.
    pub redacted: u64,
    /// Signed checkpoints written.
    pub checkpoints: u64,
    /// Anchors written.
    pub anchors: u64,
    /// Anchors of the restored chain, each verified against the restored tree.
    pub anchors_verified: u64,
    /// The last anchor of the restored chain.
    pub last_anchor: Option<u64>,
    /// The backups, in order.
    pub files: Vec<RestoredFile>,
    /// Point-in-time recovery: what was left out.
    pub cut: Option<Cut>,
}

/// One bulk commit. A NodeId stored twice is the backup's fault (a log holds each NodeId once);
/// any other failure is the store's.
fn load(store: &impl Store, batch: &Batch, durable: bool) -> Result<(), LedgerError> {
    store.load(batch, durable).map_err(|e| match e {
        StoreError::DuplicateNodeId { .. } => integrity(ErrorCode::PackMalformed, e.to_string()),
        e => LedgerError::Store(e),
    })
}

fn integrity(code: ErrorCode, message: impl Into<String>) -> LedgerError {
    LedgerError::Integrity {
        code,
        message: message.into(),
    }
}

/// The loader: what the store holds so far and the open batch.
struct Loader<'a, S: Store> {
    store: &'a S,
    batch: Batch,
    batch_bytes: usize,
    /// Leaves in the store and the batch.
    size: u64,
    /// The store's size when the current file started (below it: overlap with earlier files).
    base: u64,
    /// `--to-anchor`: (seq, its tree size once its anchor was read).
    cut: Option<(u64, Option<u64>)>,
    /// Every anchor read, verbatim, with its tree size (written at the end).
    anchors: BTreeMap<u64, (Vec<u8>, u64)>,
    nodes: u64,
    checkpoints: u64,
    cut_leaves: u64,
    cut_checkpoints: u64,
    leaves_added: u64,
    /// Leaves of the current file from `base` on (and before the cut) waiting for their
    /// content, in leaf order: (index, NodeId, redacted).
    expected: VecDeque<(u64, NodeId, bool)>,
    /// Redaction records not loaded yet: record NodeId → the leaves it redacts.
    pending_redactions: HashMap<NodeId, Vec<u64>>,
    /// Leaves whose redaction was recorded.
    redactions: BTreeSet<u64>,
    error: Option<LedgerError>,
    /// While a file loads: the queue of the thread that commits batches, so that the store's
    /// writes overlap the verification of the next entries (the two cores a restore has).
    writer: Option<SyncSender<Batch>>,
}

impl<S: Store> Loader<'_, S> {
    fn cut_size(&self) -> Option<u64> {
        self.cut.and_then(|(_, s)| s)
    }

    fn fail(&mut self, e: LedgerError) {
        self.error.get_or_insert(e);
    }

    fn item(&mut self, item: Item<'_>) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.take(item) {
            self.fail(e);
        }
    }

    fn take(&mut self, item: Item<'_>) -> Result<(), LedgerError> {
        match item {
            Item::Anchor { seq, bytes } => {
                if let Some((old, _)) = self.anchors.get(&seq) {
                    if old != bytes {
                        return Err(integrity(
                            ErrorCode::ChainBroken,
                            format!("anchor {seq} differs from the one an earlier backup carries"),
                        ));
                    }
                    return Ok(());
                }
                let a = Anchor::from_json(bytes).map_err(|e| integrity(e.code(), e.to_string()))?;
                let size = a.payload().tree_size;
                if let Some((want, known)) = &mut self.cut
                    && *want == seq
                {
                    *known = Some(size);
                }
                self.anchors.insert(seq, (bytes.to_vec(), size));
            }
            Item::Checkpoint { size, note } => {
                if self.cut_size().is_some_and(|c| size > c) {
                    self.cut_checkpoints += 1;
                    return Ok(());
                }
                if size <= self.base {
                    // Carried by an earlier backup too: it must be the same.
                    let stored = TreeSize::new(size)
                        .map(|s| self.store.snapshot().and_then(|snap| snap.checkpoint(s)))
                        .transpose()?
                        .flatten();
                    match stored {
                        Some(old) if old == note => return Ok(()),
                        Some(_) => {
                            return Err(integrity(
                                ErrorCode::ChainBroken,
                                format!(
                                    "the checkpoint at tree size {size} differs from the one an earlier backup carries"
                                ),
                            ));
                        }
                        None => {}
                    }
                }
                let s = TreeSize::new(size)
                    .ok_or_else(|| LedgerError::OutOfRange("tree size out of range".into()))?;
                self.batch.checkpoints.push((s, note.to_owned()));
                self.checkpoints += 1;
            }
            Item::Leaf {
                index,
                id,
                hashes,
                redacted,
            } => {
                if index < self.base {
                    let snap = self.store.snapshot()?;
                    if snap.hash(0, index)? != Some(id.leaf_hash()) {
                        return Err(integrity(
                            ErrorCode::MerkleMismatch,
                            format!("leaf {index} differs from the one an earlier backup carries"),
                        ));
                    }
                    // A later backup shows the redaction of content an earlier one held.
                    let at = LeafIndex::new(index)
                        .ok_or_else(|| LedgerError::OutOfRange("leaf index out of range".into()))?;
                    if let Some(record) = redacted
                        && snap.redaction(at)?.is_none()
                    {
                        match snap.index_of(&record)? {
                            Some(r) => self.redact(index, r.get())?,
                            None => self.pending_redactions.entry(record).or_default().push(index),
                        }
                    }
                    return Ok(());
                }
                if let Some(c) = self.cut_size() {
                    if index >= c {
                        self.cut_leaves += 1;
                        return Ok(());
                    }
                    // Only subtrees that end at or before the cut.
                    self.batch.hashes.extend(
                        hashes
                            .iter()
                            .filter(|h| (h.index + 1).checked_shl(h.level).is_some_and(|end| end <= c)),
                    );
                } else {
                    self.batch.hashes.extend_from_slice(hashes);
                }
                self.expected.push_back((index, id, redacted.is_some()));
                if let Some(record) = redacted {
                    self.pending_redactions.entry(record).or_default().push(index);
                }
                self.fill_absent()?;
            }
            Item::Node {
                index,
                id,
                node_type,
                bytes,
            } => {
                if index < self.base || self.cut_size().is_some_and(|c| index >= c) {
                    return Ok(());
                }
                self.fill_absent()?;
                match self.expected.pop_front() {
                    Some((i, expected, false)) if i == index && expected == id => {}
                    _ => {
                        return Err(integrity(
                            ErrorCode::PackIncomplete,
                            format!("node {index} does not continue the restored log at {}", self.size),
                        ));
                    }
                }
                self.push_node(index, id, bytes)?;
                self.nodes += 1;
                // A redaction record: the redactions it records can be stored with it.
                if let Some(leaves) = self.pending_redactions.remove(&id) {
                    for leaf in leaves {
                        self.redact(leaf, index)?;
                    }
                }
                if node_type == evl_sdk::redaction::REDACTION_TYPE {
                    self.earlier_redaction(index, bytes)?;
                }
                self.fill_absent()?;
            }
        }
        Ok(())
    }

    /// Appends leaf `index` (the next one) with its content (`bytes`; empty: none).
    fn push_node(&mut self, index: u64, id: NodeId, bytes: &[u8]) -> Result<(), LedgerError> {
        if index != self.size {
            return Err(integrity(
                ErrorCode::PackIncomplete,
                format!("node {index} does not continue the restored log at {}", self.size),
            ));
        }
        let index =
            LeafIndex::new(index).ok_or_else(|| LedgerError::OutOfRange("leaf index out of range".into()))?;
        self.batch.nodes.push(NewNode {
            index,
            id,
            bytes: bytes.to_vec(),
        });
        self.batch_bytes += bytes.len() + 64;
        self.size += 1;
        self.leaves_added += 1;
        Ok(())
    }

    /// Appends the redacted leaves at the front of `expected`: they have no content to wait for.
    fn fill_absent(&mut self) -> Result<(), LedgerError> {
        while let Some(&(index, id, true)) = self.expected.front() {
            self.expected.pop_front();
            self.push_node(index, id, &[])?;
        }
        Ok(())
    }

    /// A `redaction/v1` record at leaf `index` that redacts a leaf an earlier file restored with
    /// its content (an incremental backup lists only the leaves after its anchor, but carries
    /// the records): the content goes, as it went in the log. The record is checked against the
    /// tree when the load ends (`redaction_at`).
    fn earlier_redaction(&mut self, index: u64, bytes: &[u8]) -> Result<(), LedgerError> {
        let Ok(record) =
            evl_sdk::Node::from_canonical(bytes).and_then(|n| evl_sdk::redaction::Redaction::from_node(&n))
        else {
            return Ok(()); // another node that mentions the type; the log's rules are not ours
        };
        let leaf = record.leaf_index();
        let Some(at) = LeafIndex::new(leaf).filter(|_| leaf < self.base) else {
            return Ok(()); // a leaf of this file: its listing line says whether it is redacted
        };
        let snap = self.store.snapshot()?;
        if snap.redaction(at)?.is_none() && snap.node(at)?.is_some() {
            self.redact(leaf, index)?;
        }
        Ok(())
    }

    /// Records that leaf `index` was redacted by the record at leaf `record` (which is stored or
    /// in the open batch).
    fn redact(&mut self, index: u64, record: u64) -> Result<(), LedgerError> {
        let (Some(index), Some(record)) = (LeafIndex::new(index), LeafIndex::new(record)) else {
            return Err(LedgerError::OutOfRange("leaf index out of range".into()));
        };
        if self.redactions.insert(index.get()) {
            self.batch.redact.push(Redact { index, record });
        }
        Ok(())
    }

    /// Commits the open batch (non-durably unless `durable`).
    /// Commits the open batch: on the writer thread while a file loads, else here, durably
    /// if `durable`.
    fn commit(&mut self, durable: bool) -> Result<(), LedgerError> {
        let mut batch = std::mem::take(&mut self.batch);
        if !batch.nodes.is_empty() {
            batch.tree_size = TreeSize::new(self.size);
        }
        self.batch_bytes = 0;
        match (&self.writer, durable) {
            (Some(tx), false) => tx
                .send(batch)
                .map_err(|_| LedgerError::Store(StoreError::Other("the store writer stopped".into()))),
            _ => load(self.store, &batch, durable),
        }
    }
}

/// Restores `backups` (a full backup, then incremental ones in order; each a name and a
/// reader of its `.tar.zst` bytes) into `store`, which must be new and empty. Verifies every
/// file as `evl verify-pack` does while loading it, checks that each incremental backup
/// continues the previous file (identical leaves in the overlap, frontier equal to the stored
/// tree's, `base` naming the previous PackId), and at the end verifies the restored anchor chain
/// against the restored tree. `progress` is called with the restored tree size after each
/// entry. On error the store holds a partial load: discard it.
pub fn restore<S: Store>(
    backups: Vec<(String, Box<dyn Read + '_>)>,
    store: S,
    req: &RestoreRequest,
    progress: &mut dyn FnMut(u64),
) -> Result<RestoreReport, LedgerError> {
    let _span = tracing::info_span!("restore", files = backups.len()).entered();
    let target = store.snapshot()?;
    if target.meta(meta::FORMAT)?.is_some() {
        return Err(LedgerError::Mismatch("the target store is not empty".into()));
    }
    let format = target.format();
    drop(target);
    let mut loader = Loader {
        store: &store,
        batch: Batch::default(),
        batch_bytes: 0,
        size: 0,
        base: 0,
        cut: req.to_anchor.map(|s| (s, None)),
        anchors: BTreeMap::new(),
        nodes: 0,
        checkpoints: 0,
        cut_leaves: 0,
        cut_checkpoints: 0,
        leaves_added: 0,
        expected: VecDeque::new(),
        pending_redactions: HashMap::new(),
        redactions: BTreeSet::new(),
        error: None,
        writer: None,
    };
    let mut files: Vec<RestoredFile> = Vec::new();
    let mut own_trust: Option<TrustRoot> = None;
    let mut last: Option<(PackReport, BackupParams)> = None;
    for (name, source) in backups {
        let (report, params, trust) = restore_file(&mut loader, &name, source, req, last.as_ref(), progress)?;
        if let Some(t) = &own_trust
            && *t != trust
        {
            return Err(integrity(
                ErrorCode::ChainBroken,
                format!("{name}: its trust root differs from the earlier backups'"),
            ));
        }
        own_trust = Some(trust);
        let b = report.backup.as_ref();
        files.push(RestoredFile {
            file: name,
            pack_id: report.pack_id,
            from: params.from,
            to: params.to,
            since_anchor: params.since_anchor.as_ref().map(|a| a.seq),
            base: params.base,
            leaves_added: std::mem::take(&mut loader.leaves_added),
            anchors: report.anchors.len() + b.map_or(0, |b| b.archived.len()),
            checkpoints: b.map_or(0, |b| b.checkpoints),
        });
        last = Some((report, params));
    }
    let (Some((report, params)), Some(trust)) = (last, own_trust) else {
        return Err(LedgerError::OutOfRange("no backup to restore".into()));
    };
    // Point-in-time: the anchor must be in the verified chain of the newest backup.
    let cut = match req.to_anchor {
        None => None,
        Some(seq) => {
            let Some(size) = loader.cut_size() else {
                return Err(LedgerError::NotFound(format!(
                    "anchor {seq} is in none of the backups"
                )));
            };
            if !report.anchors.iter().any(|a| a.seq == seq) {
                return Err(LedgerError::NotFound(format!(
                    "anchor {seq} is not in the backups' verified anchor chain (it was archived by a later segment)"
                )));
            }
            Some((seq, size))
        }
    };
    // The anchors: all of them, or those up to the cut.
    let mut cut_anchors = Vec::new();
    for (seq, (bytes, size)) in std::mem::take(&mut loader.anchors) {
        if cut.is_some_and(|(s, c)| seq > s || size > c) {
            cut_anchors.push(seq);
            continue;
        }
        loader.batch.anchors.push((seq, bytes));
    }
    let (tree_size, expected_root, end_checkpoint) = match cut {
        Some((seq, size)) => {
            // The anchor's checkpoint is stored at its size (every anchor stores one).
            let bytes = loader
                .batch
                .anchors
                .iter()
                .find(|(s, _)| *s == seq)
                .map(|(_, b)| b.clone())
                .ok_or_else(|| LedgerError::NotFound(format!("anchor {seq} was not read")))?;
            let a = Anchor::from_json(&bytes).map_err(|e| integrity(e.code(), e.to_string()))?;
            let root = Digest::from_base64(&a.payload().root)
                .ok_or_else(|| integrity(ErrorCode::AnchorMalformed, "anchor root"))?;
            (size, root, a.payload().checkpoint.clone())
        }
        None => {
            let root = report
                .backup
                .as_ref()
                .map(|b| b.root)
                .ok_or_else(|| integrity(ErrorCode::PackMalformed, "no end root"))?;
            (params.to, root, params.checkpoint.clone())
        }
    };
    // The store holds a checkpoint at its size (the log's invariant): a backup of an empty range
    // carries it only in `backup.json`.
    let ts =
        TreeSize::new(tree_size).ok_or_else(|| LedgerError::OutOfRange("tree size out of range".into()))?;
    let stored = store.snapshot()?.checkpoint(ts)?;
    if stored.is_none() && !loader.batch.checkpoints.iter().any(|(s, _)| *s == ts) {
        loader.batch.checkpoints.push((ts, end_checkpoint));
        loader.checkpoints += 1;
    }
    if loader.size != tree_size {
        return Err(integrity(
            ErrorCode::PackIncomplete,
            format!("restored {} leaves, expected {tree_size}", loader.size),
        ));
    }
    // Every redacted leaf restored needs its record: a cut before the record means the content
    // was deleted after that anchor, and no backup taken since holds it.
    if let Some((record, leaves)) = loader.pending_redactions.iter().next() {
        let leaf = leaves.first().copied().unwrap_or_default();
        return Err(match cut {
            Some((seq, _)) => integrity(
                ErrorCode::Redacted,
                format!(
                    "the content of leaf {leaf} was redacted after anchor {seq} (by {record}); these backups do not hold it: restore to that anchor from a backup taken before the redaction"
                ),
            ),
            None => integrity(
                ErrorCode::PackIncomplete,
                format!("leaf {leaf} is listed as redacted by {record}, which the backups do not hold"),
            ),
        });
    }
    let anchors_written = loader.batch.anchors.len() as u64;
    loader.batch.meta = vec![
        (meta::FORMAT.into(), format.as_bytes().to_vec()),
        (meta::ORIGIN.into(), trust.origin().as_bytes().to_vec()),
        (meta::TRUST_ROOT.into(), trust.to_json()),
    ];
    loader.batch.tree_size = TreeSize::new(tree_size);
    loader.commit(true)?;
    let (nodes, checkpoints) = (loader.nodes, loader.checkpoints);
    let redactions = std::mem::take(&mut loader.redactions);
    let (cut_leaves, cut_checkpoints) = (loader.cut_leaves, loader.cut_checkpoints);
    drop(loader);

    // The restored store, checked as a ledger reads it: the root at its size, and the anchor
    // chain (signatures, links, consistency, each root equal to the restored tree's).
    let reader = LedgerReader::open(store)?;
    let size =
        TreeSize::new(tree_size).ok_or_else(|| LedgerError::OutOfRange("tree size out of range".into()))?;
    if reader.root_at(size)? != expected_root {
        return Err(integrity(
            ErrorCode::MerkleMismatch,
            "the restored tree's root is not the signed one",
        ));
    }
    let chain = reader.verify_anchor_chain()?;
    if let Some(f) = chain.failure {
        return Err(integrity(
            ErrorCode::ChainBroken,
            format!(
                "the restored anchor chain fails at anchor {} ({}: {})",
                f.seq, f.code, f.message
            ),
        ));
    }
    if let Some((seq, _)) = cut
        && chain.last_good.as_ref().map(|a| a.seq) != Some(seq)
    {
        return Err(integrity(
            ErrorCode::ChainBroken,
            format!("the restored chain does not end at anchor {seq}"),
        ));
    }
    // Each restored redaction as a read checks it: the record is intact, a `redaction/v1` node
    // naming the leaf and its NodeId, after it.
    let snap = reader.snapshot()?;
    for index in &redactions {
        let at = LeafIndex::new(*index)
            .ok_or_else(|| LedgerError::OutOfRange("leaf index out of range".into()))?;
        if crate::records::redaction_at(&snap, at)?.is_none() {
            return Err(integrity(
                ErrorCode::PackIncomplete,
                format!("the redaction of leaf {index} was not recorded"),
            ));
        }
    }
    drop(snap);
    tracing::info!(tree_size, nodes, "restore verified");
    Ok(RestoreReport {
        origin: trust.origin().to_owned(),
        trust_root: report.trust_root,
        tree_size,
        root: expected_root.to_hex(),
        nodes,
        redacted: redactions.len() as u64,
        checkpoints,
        anchors: anchors_written,
        anchors_verified: chain.verified.len() as u64,
        last_anchor: chain.last_good.map(|a| a.seq),
        files,
        cut: cut.map(|(anchor, tree_size)| Cut {
            anchor,
            tree_size,
            leaves: cut_leaves,
            anchors: cut_anchors,
            checkpoints: cut_checkpoints,
        }),
    })
}

/// Names the backup file in an integrity error's message.
fn in_file(name: &str, e: LedgerError) -> LedgerError {
    match e {
        LedgerError::Integrity { code, message } => LedgerError::Integrity {
            code,
            message: format!("{name}: {message}"),
        },
        LedgerError::Advised { error, next } => in_file(name, *error).advise(next),
        other => other,
    }
}

/// Verifies and loads one backup file.
fn restore_file<S: Store>(
    loader: &mut Loader<'_, S>,
    name: &str,
    source: Box<dyn Read + '_>,
    req: &RestoreRequest,
    previous: Option<&(PackReport, BackupParams)>,
    progress: &mut dyn FnMut(u64),
) -> Result<(PackReport, BackupParams, TrustRoot), LedgerError> {
    let at = |e: LedgerError| in_file(name, e);
    loader.base = loader.size;
    let store = loader.store;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(1);
        let writer = s.spawn(move || -> Result<(), LedgerError> {
            for batch in rx {
                load(store, &batch, false)?;
            }
            Ok(())
        });
        loader.writer = Some(tx);
        let result = read_file(loader, name, source, req, previous, progress);
        // Every batch of this file is committed before the next file reads the store.
        loader.writer = None;
        let written = writer.join().unwrap_or_else(|_| {
            Err(LedgerError::Store(StoreError::Other(
                "the store writer panicked".into(),
            )))
        });
        // A verdict on the file comes first; then the writer's own failure, which the loader
        // saw only as a closed queue.
        match (result, written) {
            (Err(e @ LedgerError::Pack(_)), _) => Err(e),
            (_, Err(w)) => Err(at(w)),
            (r, Ok(())) => r,
        }
    })
}

/// Reads, verifies and queues one file (see [`restore_file`]).
fn read_file<S: Store>(
    loader: &mut Loader<'_, S>,
    name: &str,
    source: Box<dyn Read + '_>,
    req: &RestoreRequest,
    previous: Option<&(PackReport, BackupParams)>,
    progress: &mut dyn FnMut(u64),
) -> Result<(PackReport, BackupParams, TrustRoot), LedgerError> {
    let at = |e: LedgerError| in_file(name, e);
    let mut v = PackVerifier::new(req.trust_root.clone());
    let mut params: Option<(BackupParams, TrustRoot)> = None;
    let read = for_each_entry(source, &mut |path, data, _| {
        if path == BACKUP_PATH && loader.error.is_none() {
            match check_params(loader, data, req, previous) {
                Ok(p) => params = Some(p),
                Err(e) => loader.fail(e),
            }
        }
        if path == FRONTIER_PATH
            && loader.error.is_none()
            && let Err(e) = check_frontier(loader, data)
        {
            loader.fail(e);
        }
        let loading = loader.error.is_none() && v.ok_so_far();
        if loading {
            v.entry_observed(path, data, &mut |item| loader.item(item))?;
        } else {
            v.entry(path, data)?;
        }
        if loader.error.is_none() && v.ok_so_far() && loader.batch_bytes >= BULK_BATCH_BYTES {
            if let Err(e) = loader.commit(false) {
                loader.fail(e);
            }
            progress(loader.size);
        }
        Ok(())
    });
    // The verdict first: a file that does not verify reports the verifier's code, whatever the
    // loader saw.
    read.map_err(|e| pack_at(name, e))?;
    let report = v.finish().map_err(|e| pack_at(name, e))?.into_inner();
    if let Some(e) = loader.error.take() {
        return Err(at(e));
    }
    if report.kind != PackKind::Backup {
        return Err(LedgerError::Pack(PackError::new_public(
            ErrorCode::PackMalformed,
            format!("{name}: a {} pack, not a backup", kind_name(report.kind)),
        )));
    }
    let Some((params, trust)) = params else {
        return Err(integrity(
            ErrorCode::PackMalformed,
            format!("{name}: no backup.json"),
        ));
    };
    // `finish` compared backup.json's trust root with trust-root.json.
    if let Some((index, _, _)) = loader.expected.front() {
        return Err(integrity(
            ErrorCode::PackIncomplete,
            format!("{name}: leaf {index} is listed without its node"),
        ));
    }
    loader.commit(false).map_err(at)?;
    progress(loader.size);
    Ok((report, params, trust))
}

fn kind_name(k: PackKind) -> &'static str {
    match k {
        PackKind::Evidence => "evidence",
        PackKind::Export => "export",
        PackKind::Backup => "backup",
    }
}

fn pack_at(name: &str, e: PackError) -> LedgerError {
    let path = e.path().map(|p| format!("{p}: ")).unwrap_or_default();
    LedgerError::Pack(PackError::new_public(
        e.code(),
        format!("{name}: {path}{}", e.message()),
    ))
}

/// `backup.json` of the next file: chained to what is restored so far (SPEC.md §9.9
/// "Restoring"). Its own faults are the verifier's to report.
fn check_params<S: Store>(
    loader: &Loader<'_, S>,
    data: &[u8],
    req: &RestoreRequest,
    previous: Option<&(PackReport, BackupParams)>,
) -> Result<(BackupParams, TrustRoot), LedgerError> {
    let (params, trust, _) = BackupParams::parse(data)?;
    if let Some(given) = &req.trust_root
        && *given != trust
    {
        return Err(integrity(
            ErrorCode::TrustRootInvalid,
            "the backup's trust root is not the one given with --trust-root; the restored store would be checked against another",
        ));
    }
    match previous {
        None if params.from > 0 => Err(integrity(
            ErrorCode::PackIncomplete,
            format!(
                "an incremental backup (from leaf {}) needs the backups before it: give the full backup first",
                params.from
            ),
        )),
        None => Ok((params, trust)),
        Some((prev, prev_params)) => {
            if params.origin != prev_params.origin {
                return Err(integrity(
                    ErrorCode::OriginMismatch,
                    "the backups are of different logs",
                ));
            }
            let Some(since) = &params.since_anchor else {
                return Err(integrity(
                    ErrorCode::ChainBroken,
                    "a full backup can only be the first file",
                ));
            };
            if since.tree_size > loader.size {
                return Err(integrity(
                    ErrorCode::PackIncomplete,
                    format!(
                        "it starts at leaf {}, the backups before it end at {}: a backup is missing",
                        since.tree_size, loader.size
                    ),
                ));
            }
            if let Some(base) = params.base
                && base != prev.pack_id
            {
                return Err(integrity(
                    ErrorCode::ChainBroken,
                    format!(
                        "it continues backup {base}, not the previous file ({})",
                        prev.pack_id
                    ),
                ));
            }
            if params.to < prev_params.to {
                return Err(integrity(
                    ErrorCode::ChainBroken,
                    format!(
                        "it ends at tree size {}, before the previous file ({}): give the backups oldest first",
                        params.to, prev_params.to
                    ),
                ));
            }
            Ok((params, trust))
        }
    }
}

/// `frontier.json` of an incremental backup must be the restored tree's at its start: the
/// leaves before it are the ones restored.
fn check_frontier<S: Store>(loader: &mut Loader<'_, S>, data: &[u8]) -> Result<(), LedgerError> {
    let Ok(theirs) = FrontierFile::parse(data) else {
        return Ok(()); // the verifier reports it
    };
    // Everything of the earlier files is committed when a file starts.
    if theirs.size().get() > loader.base {
        return Ok(()); // check_params reported the gap
    }
    let snap = loader.store.snapshot()?;
    let ours = Frontier::load(&SnapshotSource(&snap), theirs.size())?;
    if ours.peak_hashes() != theirs.peak_hashes() {
        return Err(integrity(
            ErrorCode::MerkleMismatch,
            format!(
                "its frontier at tree size {} is not the restored tree's: the backups are of different trees",
                theirs.size()
            ),
        ));
    }
    Ok(())
}
