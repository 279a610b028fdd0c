//! Writing a backup (SPEC.md §9.9): one store snapshot — every stored anchor, every stored
//! checkpoint, every leaf and node from the empty tree (full) or from an anchor (incremental)
//! up to the snapshot's tree size — as a signed pack. Appends may continue while it streams.

use super::range::{Rebuilt, read_chunk};
use super::write::{Entries, PackSummary, write_pack};
use crate::error::LedgerError;
use crate::store::{Snapshot, SnapshotSource, Store};
use crate::writer::Ledger;
use evl_sdk::pack::PackKind;
use evl_sdk::pack::backup::{BACKUP_PATH, BACKUP_TYPE, BackupParams, CheckpointLine, checkpoints_path};
use evl_sdk::pack::export::{AnchorRef, FRONTIER_PATH, FrontierFile, leaves_path, nodes_path};
use evl_sdk::pack::manifest::{FileEntry, MANIFEST_TYPE, ManifestPayload};
use evl_sdk::{Anchor, AnchorSummary, ErrorCode, Frontier, NodeId, TreeSize, prove_consistency};
use std::collections::VecDeque;
use std::io::Write;

/// What to back up.
#[derive(Clone, Debug, Default)]
pub struct BackupRequest {
    /// Incremental: start at this anchor's tree (default: a full backup from the empty tree).
    pub since_anchor: Option<u64>,
    /// Incremental: the PackId of the backup this one continues, recorded as `base`.
    pub base: Option<NodeId>,
}

/// The leaf range a backup covers, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupRange {
    /// First leaf carried.
    pub from: u64,
    /// The snapshot's tree size.
    pub to: u64,
}

/// The stored anchors of one snapshot, every one parsed, with the chain they form.
struct Stored {
    anchors: Vec<(u64, Vec<u8>, Anchor)>,
    /// The verified chain (SPEC.md §7.2) restricted to the snapshot's anchors.
    chain: Vec<AnchorSummary>,
}

fn integrity(code: ErrorCode, message: String) -> LedgerError {
    LedgerError::Integrity { code, message }
}

impl<S: Store> Ledger<S> {
    /// Reads and checks the snapshot's anchors: each must parse and the stored chain must
    /// verify (a backup of a damaged store would not; repair it first).
    fn stored_anchors(&self, snap: &S::Snapshot) -> Result<Stored, LedgerError> {
        let mut anchors = Vec::new();
        for (seq, bytes) in snap.anchors()? {
            let a = Anchor::from_json(&bytes).map_err(|e| {
                integrity(e.code(), format!("stored anchor {seq} does not parse ({e})"))
                    .advise(crate::Next::VerifyFull)
            })?;
            anchors.push((seq, bytes, a));
        }
        // Verified on a snapshot taken after `snap`: anchors only get added, so the chain of
        // `snap`'s anchors is a prefix of what this verifies.
        let report = self.reader().verify_anchor_chain()?;
        if let Some(f) = report.failure {
            return Err(integrity(
                ErrorCode::ChainBroken,
                format!(
                    "the stored anchor chain does not verify at anchor {} ({}: {})",
                    f.seq, f.code, f.message
                ),
            )
            .advise(crate::Next::VerifyFull));
        }
        let seqs: Vec<u64> = anchors.iter().map(|(s, _, _)| *s).collect();
        let chain = report
            .verified
            .into_iter()
            .filter(|a| seqs.binary_search(&a.seq).is_ok())
            .collect();
        Ok(Stored { anchors, chain })
    }

    /// The leaf range a backup request covers (checks it without writing anything).
    pub fn backup_range(&self, req: &BackupRequest) -> Result<BackupRange, LedgerError> {
        let reader = self.reader();
        let snap = reader.snapshot()?;
        let stored = self.stored_anchors(&snap)?;
        let from = since(&stored, req)?.map_or(0, |a| a.tree_size.get());
        Ok(BackupRange {
            from,
            to: snap.tree_size()?.get(),
        })
    }

    /// Writes a backup of one snapshot of the store to `sink` (SPEC.md §9.9), streaming: memory
    /// stays flat whatever the size. `progress` is called with the next leaf index after each
    /// chunk. Every node of the range must be stored (`PACK_INCOMPLETE` otherwise, as exports).
    pub fn backup<W: Write>(
        &self,
        req: &BackupRequest,
        sink: W,
        progress: &mut dyn FnMut(u64),
    ) -> Result<PackSummary, LedgerError> {
        let _span = tracing::info_span!("backup", since_anchor = req.since_anchor).entered();
        let reader = self.reader();
        let snap = reader.snapshot()?;
        let to = snap.tree_size()?;
        let checkpoint = snap.checkpoint(to)?.ok_or_else(|| {
            integrity(
                ErrorCode::PackIncomplete,
                format!("no signed checkpoint is stored for the tree size {to}"),
            )
            .advise(crate::Next::VerifyFull)
        })?;
        let stored = self.stored_anchors(&snap)?;
        let since = since(&stored, req)?;
        if req.base.is_some() && since.is_none() {
            return Err(LedgerError::OutOfRange(
                "a base backup is named only for an incremental backup (--since-anchor)".into(),
            ));
        }
        let from = since.as_ref().map_or(0, |a| a.tree_size.get());
        let mut prefix: Vec<(String, Vec<u8>)> = Vec::new();
        for (seq, bytes, _) in &stored.anchors {
            prefix.push((format!("anchors/{seq:020}.json"), bytes.clone()));
        }
        // Consistency proofs between consecutive anchors of the chain, as exports carry them
        // (§9.4 rule 6): the chain verifies by §7.2 also before `from`.
        for pair in stored.chain.windows(2) {
            let (q, p) = (&pair[0], &pair[1]);
            if q.tree_size > TreeSize::ZERO && q.tree_size < p.tree_size {
                let proof = prove_consistency(&SnapshotSource(&snap), q.tree_size, p.tree_size)?;
                prefix.push((format!("consistency/{:020}.json", p.seq), proof.to_json()));
            }
        }
        let last_time = stored
            .chain
            .last()
            .map(|a| a.time)
            .or_else(|| self.trust_root().keys().iter().map(|k| k.not_before()).min());
        let time = match last_time {
            Some(t) => super::manifest_time(self, t),
            None => return Err(LedgerError::Mismatch("the trust root has no key".into())),
        };
        let params = BackupParams {
            kind_tag: BACKUP_TYPE.to_owned(),
            origin: reader.origin().to_owned(),
            from,
            to: to.get(),
            checkpoint,
            since_anchor: since.as_ref().map(|a| AnchorRef {
                seq: a.seq,
                anchor: a.id,
                tree_size: a.tree_size.get(),
            }),
            base: req.base,
            time,
            trust_root: BackupParams::trust_root_value(reader.trust_root()),
        };
        // The root signed at the end, its signature checked: what the written leaves must rebuild.
        let end_root = crate::answer::signed_head(reader.trust_root(), &params.checkpoint)
            .map(|h| h.root())
            .map_err(|m| {
                integrity(
                    ErrorCode::SignatureInvalid,
                    format!("size {to}: {m}; the store is damaged"),
                )
            })?;
        prefix.push((BACKUP_PATH.to_owned(), params.to_bytes()));
        let frontier = match TreeSize::new(from) {
            Some(s) if s.get() > 0 => Frontier::load(&SnapshotSource(&snap), s)?,
            _ => Frontier::new(),
        };
        let start_root = since.as_ref().map(|a| a.root);
        if since.is_some() {
            prefix.push((FRONTIER_PATH.to_owned(), FrontierFile::of(&frontier).to_bytes()));
        }
        let rebuilt = Rebuilt::new(frontier, start_root, to.get(), end_root)?;
        prefix.sort_by(|a, b| a.0.cmp(&b.0));
        let entries = BackupEntries {
            snap: &snap,
            prefix: prefix.into(),
            queued: VecDeque::new(),
            from,
            pos: from,
            end: to.get(),
            suffix: Some(("trust-root.json".to_owned(), reader.trust_root().to_json())),
            progress,
            rebuilt,
            trust: reader.trust_root(),
        };
        let manifest = |files: &[FileEntry]| {
            ManifestPayload {
                kind_tag: MANIFEST_TYPE.to_owned(),
                kind: PackKind::Backup,
                origin: reader.origin().to_owned(),
                time,
                files: files.to_vec(),
                subjects: Vec::new(),
                include_deps: false,
            }
            .sign(self.signing_key())
        };
        let summary = write_pack(entries, manifest, sink)?;
        tracing::info!(from, to = to.get(), files = summary.files, "backup written");
        Ok(summary)
    }
}

/// The `since_anchor` of a request: an anchor of the verified chain.
fn since(stored: &Stored, req: &BackupRequest) -> Result<Option<AnchorSummary>, LedgerError> {
    let Some(seq) = req.since_anchor else {
        return Ok(None);
    };
    stored
        .chain
        .iter()
        .find(|a| a.seq == seq)
        .cloned()
        .map(Some)
        .ok_or_else(|| LedgerError::NotFound(format!("anchor {seq} is not in the verified anchor chain")))
}

/// The entries of a backup in archive order: the prefix (anchors, `backup.json`, consistency
/// proofs, `frontier.json`), then per chunk its checkpoints, listing and nodes, then the trust
/// root.
struct BackupEntries<'a, Sn: Snapshot> {
    snap: &'a Sn,
    prefix: VecDeque<(String, Vec<u8>)>,
    queued: VecDeque<(String, Vec<u8>)>,
    from: u64,
    pos: u64,
    end: u64,
    suffix: Option<(String, Vec<u8>)>,
    progress: &'a mut dyn FnMut(u64),
    rebuilt: Rebuilt,
    /// The trust root every stored checkpoint is checked against before it is written.
    trust: &'a evl_sdk::TrustRoot,
}

impl<Sn: Snapshot> BackupEntries<'_, Sn> {
    /// Queues the next chunk's files (§9.9 rule 3: its checkpoints come first).
    fn chunk(&mut self) -> Result<(), LedgerError> {
        let start = self.pos;
        let c = read_chunk(self.snap, start, self.end, &|_| true)?;
        self.rebuilt.push(&c.leaves)?;
        // Checkpoints at the sizes this chunk reaches: (start, next], and `start` itself for
        // the first chunk.
        let first = if start == self.from { start } else { start + 1 };
        // Each stored checkpoint is checked before it is written (its signature under the
        // trust root and its tree size against the key it is stored under): a damaged one
        // fails the backup here, never in the verifier of a pack already handed out.
        let mut lines = Vec::new();
        let mut damaged = None;
        let trust = &self.trust;
        self.snap.scan_checkpoints(first, c.next, &mut |size, note| {
            match crate::answer::signed_head(trust, note) {
                Ok(head) if head.size() == size => {}
                Ok(head) => {
                    damaged = Some(integrity(
                        ErrorCode::MerkleMismatch,
                        format!(
                            "the checkpoint stored for size {size} is signed for size {}; the store is damaged",
                            head.size()
                        ),
                    ));
                    return false;
                }
                Err(m) => {
                    damaged = Some(integrity(
                        ErrorCode::SignatureInvalid,
                        format!("size {size}: {m}; the store is damaged"),
                    ));
                    return false;
                }
            }
            let line = CheckpointLine {
                note: note.to_owned(),
                tree_size: size.get(),
            };
            lines.extend_from_slice(&line.to_bytes());
            lines.push(b'\n');
            true
        })?;
        if let Some(e) = damaged {
            return Err(e.advise(crate::Next::VerifyFull));
        }
        if !lines.is_empty() {
            self.queued.push_back((checkpoints_path(start), lines));
        }
        self.queued.push_back((leaves_path(start), c.listing));
        if !c.nodes.is_empty() {
            self.queued.push_back((nodes_path(start), c.nodes));
        }
        self.pos = c.next;
        (self.progress)(c.next);
        Ok(())
    }
}

impl<Sn: Snapshot> Entries for BackupEntries<'_, Sn> {
    fn next_entry(&mut self) -> Result<Option<(String, Vec<u8>)>, LedgerError> {
        if let Some(e) = self.prefix.pop_front() {
            return Ok(Some(e));
        }
        if self.queued.is_empty() && self.pos < self.end {
            self.chunk()?;
        }
        if let Some(e) = self.queued.pop_front() {
            return Ok(Some(e));
        }
        Ok(self.suffix.take())
    }
}
