//! Backup entries (SPEC.md §9.9): the backup parameters (`backup.json`), the signed
//! checkpoints of each log chunk (`log/<start>.checkpoints.jsonl`), and the checks that bind
//! every carried anchor and checkpoint to the tree the listed leaves build.
//!
//! A backup reuses the export's log chunks unfiltered (SPEC.md §9.4 rules 3–5): its listing
//! folds, from the empty tree or from `frontier.json`, to the root of the signed checkpoint at
//! its end size. The verifier holds the anchors (read first) and one chunk's checkpoints, and
//! compares each with the frontier when the listing reaches its size, so a backup of any length
//! verifies in bounded memory.

use super::PackError;
use super::export::{AnchorRef, MAX_CHUNK_LEAVES};
use crate::anchor::Anchor;
use crate::checkpoint::SignedCheckpoint;
use crate::code::ErrorCode;
use crate::hash::Digest;
use crate::node::NodeId;
use crate::proof::TreeHead;
use crate::time::Timestamp;
use crate::tree::{Frontier, StoredHash, TreeSize};
use crate::trust::TrustRoot;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Path of the backup parameters.
pub const BACKUP_PATH: &str = "backup.json";
/// The `type` member of the backup parameters.
pub const BACKUP_TYPE: &str = "evl.backup/v1";

/// Most lines one checkpoints file may hold.
///
/// Rationale: a chunk lists at most [`MAX_CHUNK_LEAVES`] leaves, so it reaches at most that many
/// tree sizes plus its start (the first chunk's); one checkpoint per size. SPEC floor: 4 097.
pub const MAX_CHUNK_CHECKPOINTS: u64 = MAX_CHUNK_LEAVES + 1;

/// `backup.json` (SPEC.md §9.9 rule 1), canonical JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupParams {
    /// Always [`BACKUP_TYPE`].
    #[serde(rename = "type")]
    pub kind_tag: String,
    /// The log origin.
    pub origin: String,
    /// The first leaf carried: 0, or the tree size of `since_anchor`.
    pub from: u64,
    /// The tree size of the backup's snapshot: one past the last leaf carried.
    pub to: u64,
    /// The signed checkpoint note at `to`, verbatim: the backup's end head.
    pub checkpoint: String,
    /// Incremental backups: the anchor whose tree the backup continues; `null` for a full one.
    pub since_anchor: Option<AnchorRef>,
    /// Incremental backups: the PackId of the backup this one continues (a claim, checked by a
    /// restore given both files); else `null`.
    pub base: Option<NodeId>,
    /// The manifest's `time`, at which the carried checkpoints are verified.
    pub time: Timestamp,
    /// The log's trust root (SPEC.md §8.1), the same as `trust-root.json`: it precedes the
    /// checkpoints in archive order, so a self-contained verifier checks their signatures with
    /// it while streaming.
    pub trust_root: serde_json::Value,
}

impl BackupParams {
    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings, integers, nulls and the trust root's JSON: serialization cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }

    /// The trust-root member as a JSON value, for [`BackupParams::trust_root`].
    pub fn trust_root_value(trust: &TrustRoot) -> serde_json::Value {
        // The trust root's canonical JSON always parses.
        crate::jcs::parse(&trust.to_json()).unwrap_or(serde_json::Value::Null)
    }

    /// Parses `backup.json` (rule 1); faults are `PACK_MALFORMED`, and a trust root that is not
    /// valid by SPEC.md §8.1 is `TRUST_ROOT_INVALID`.
    pub fn parse(bytes: &[u8]) -> Result<(Self, TrustRoot, SignedCheckpoint), PackError> {
        let bad = |m: String| PackError::at(ErrorCode::PackMalformed, BACKUP_PATH, m);
        let v = crate::jcs::parse_canonical(bytes).map_err(|e| bad(e.to_string()))?;
        let p: BackupParams = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        if p.kind_tag != BACKUP_TYPE {
            return Err(bad(format!("type is {:?}", p.kind_tag)));
        }
        if p.from > p.to {
            return Err(bad("from is beyond to".into()));
        }
        if TreeSize::new(p.to).is_none() {
            return Err(bad("to is out of range".into()));
        }
        match &p.since_anchor {
            Some(a) if a.tree_size != p.from => {
                return Err(bad("from is not the tree size of since_anchor".into()));
            }
            None if p.from != 0 || p.base.is_some() => {
                return Err(bad(
                    "a full backup (since_anchor null) has from 0 and no base".into()
                ));
            }
            _ => {}
        }
        let trust_bytes = crate::jcs::serialize(&p.trust_root).map_err(|e| bad(e.to_string()))?;
        let trust = TrustRoot::from_json(&trust_bytes)
            .map_err(|e| PackError::at(e.code(), BACKUP_PATH, format!("trust_root: {e}")))?;
        if trust.origin() != p.origin {
            return Err(bad("trust_root names another origin".into()));
        }
        let cp = SignedCheckpoint::parse(p.checkpoint.as_bytes())
            .map_err(|e| PackError::at(e.code(), BACKUP_PATH, format!("checkpoint: {e}")))?;
        if cp.checkpoint().head().size().get() != p.to {
            return Err(bad("the checkpoint's tree size is not to".into()));
        }
        Ok((p, trust, cp))
    }
}

/// One line of a checkpoints file (SPEC.md §9.9 rule 3): a stored checkpoint and its size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointLine {
    /// The signed checkpoint note, verbatim.
    pub note: String,
    /// Its tree size.
    pub tree_size: u64,
}

impl CheckpointLine {
    /// Canonical bytes, without the newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A string and an integer: serialization cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }
}

/// The path of the checkpoints of the chunk that starts at leaf `start`.
pub fn checkpoints_path(start: u64) -> String {
    format!("log/{start:020}.checkpoints.jsonl")
}

/// Which chunk a checkpoints path names.
pub fn parse_checkpoints_path(path: &str) -> Option<u64> {
    let digits = path.strip_prefix("log/")?.strip_suffix(".checkpoints.jsonl")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What a backup carries, handed to an observer ([`super::PackVerifier::entry_observed`]) as
/// the verifier reads it: a restore writes these into a new store. Every item has passed the
/// checks of its own entry so far; the pack as a whole is proven only by
/// [`super::PackVerifier::finish`].
#[derive(Debug)]
pub enum Item<'a> {
    /// An anchor envelope (any pack), verbatim; its AnchorId and `seq` are parsed.
    Anchor {
        /// Its sequence number.
        seq: u64,
        /// The envelope bytes.
        bytes: &'a [u8],
    },
    /// A stored checkpoint of a backup, its signature verified.
    Checkpoint {
        /// Its tree size.
        size: u64,
        /// The note text.
        note: &'a str,
    },
    /// A listed leaf (exports and backups): its NodeId and the perfect-subtree hashes its
    /// append completes (level 0, its leaf hash, first; SPEC.md §4.2).
    Leaf {
        /// Its leaf index.
        index: u64,
        /// Its NodeId.
        id: NodeId,
        /// The new perfect-subtree hashes.
        hashes: &'a [StoredHash],
        /// A leaf whose content the log redacted (SPEC.md §3.4, §9.4 rule 3): the NodeId of its
        /// `redaction/v1` record. No [`Item::Node`] follows for it.
        redacted: Option<NodeId>,
    },
    /// A node's canonical bytes, checked against the NodeId of its leaf (SPEC.md §3.2).
    Node {
        /// Its leaf index.
        index: u64,
        /// Its NodeId.
        id: NodeId,
        /// Its `type`.
        node_type: &'a str,
        /// The canonical bytes.
        bytes: &'a [u8],
    },
}

/// What a verified backup proves (SPEC.md §9.9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    /// The first leaf carried (0 for a full backup).
    pub from: u64,
    /// The end tree size: every leaf of `[from, to)` is listed and chained to the root signed at
    /// `to`.
    pub to: u64,
    /// The root at `to`, as signed by the end checkpoint (shown as hex in JSON).
    #[serde(serialize_with = "crate::hash::serialize_hex")]
    pub root: Digest,
    /// The signed checkpoint at `to`.
    pub checkpoint: String,
    /// Incremental backups: the anchor continued.
    pub since_anchor: Option<AnchorRef>,
    /// Incremental backups: the PackId of the base backup (a claim, see SPEC.md §9.9).
    pub base: Option<NodeId>,
    /// Leaves carried, each with its node unless redacted.
    pub leaves: u64,
    /// Leaves carried without their node because the log redacted it (listed with the NodeId of
    /// the `redaction/v1` record, SPEC.md §9.4 rule 3).
    pub redacted: u64,
    /// Signed checkpoints carried, each verified and equal to the tree at its size.
    pub checkpoints: u64,
    /// Anchors of the verified chain whose root was compared with the tree at their size (those
    /// at or after `from`).
    pub anchors_checked: u64,
    /// Anchors carried but left behind in an archived segment (SPEC.md §7.3): not verified.
    pub archived: Vec<u64>,
}

fn malformed(path: &str, m: impl Into<String>) -> PackError {
    PackError::at(ErrorCode::PackMalformed, path, m)
}

/// A size the listing must reach with a given root.
#[derive(Clone, Debug)]
struct Check {
    size: u64,
    root: Digest,
    what: String,
}

/// The verifier's state for a backup (after `backup.json`).
pub(super) struct BackupState {
    pub(super) params: BackupParams,
    trust: TrustRoot,
    end: TreeHead,
    /// Chain anchors at or after `from`, ascending by tree size.
    anchors: VecDeque<Check>,
    /// The current chunk's checkpoints, ascending.
    chunk: VecDeque<Check>,
    chunk_start: Option<u64>,
    last_checkpoint: Option<u64>,
    end_seen: bool,
    checkpoints: u64,
    anchors_checked: u64,
    pub(super) archived: Vec<u64>,
}

impl BackupState {
    /// Starts a backup from `backup.json`, with the anchors read before it. `external` is the
    /// caller's trust root, if any: checkpoints are verified with it, else with the backup's.
    pub(super) fn start(
        bytes: &[u8],
        anchors: &[Anchor],
        external: Option<&TrustRoot>,
    ) -> Result<Self, PackError> {
        let (params, own, cp) = BackupParams::parse(bytes)?;
        let trust = external.cloned().unwrap_or(own);
        let end = trust
            .verify_checkpoint(&cp, params.time)
            .map_err(|e| PackError::at(e.code(), BACKUP_PATH, format!("checkpoint: {e}")))?
            .into_inner()
            .checkpoint
            .head();
        let archived = crate::anchor::ChainWalk::archived(anchors);
        let mut checks = Vec::new();
        for a in anchors {
            let p = a.payload();
            if archived.binary_search(&p.seq).is_ok() {
                continue;
            }
            let path = format!("anchors/{:020}.json", p.seq);
            if p.tree_size > params.to {
                return Err(malformed(&path, "the anchor's tree is larger than the backup's"));
            }
            if p.tree_size < params.from {
                continue;
            }
            let root = Digest::from_base64(&p.root).ok_or_else(|| {
                PackError::at(
                    ErrorCode::AnchorMalformed,
                    &path,
                    "root is not base64 of 32 bytes",
                )
            })?;
            checks.push(Check {
                size: p.tree_size,
                root,
                what: format!("anchor {}", p.seq),
            });
        }
        checks.sort_by_key(|c| c.size);
        Ok(Self {
            params,
            trust,
            end,
            anchors: checks.into(),
            chunk: VecDeque::new(),
            chunk_start: None,
            last_checkpoint: None,
            end_seen: false,
            checkpoints: 0,
            anchors_checked: 0,
            archived,
        })
    }

    /// `log/<start>.checkpoints.jsonl` (rule 3): each line parsed, its signature verified, held
    /// until the listing reaches its size. `listed` is where the listing so far ends.
    pub(super) fn checkpoints_file(
        &mut self,
        path: &str,
        start: u64,
        listed: Option<u64>,
        data: &[u8],
        observe: &mut dyn FnMut(Item<'_>),
    ) -> Result<(), PackError> {
        if listed != Some(start) {
            return Err(PackError::at(
                ErrorCode::PackIncomplete,
                path,
                format!(
                    "chunk starts at leaf {start}, the listing so far ends at {}",
                    listed.map_or("(no frontier)".to_owned(), |l| l.to_string())
                ),
            ));
        }
        let body = data
            .strip_suffix(b"\n")
            .ok_or_else(|| malformed(path, "a checkpoints file is non-empty and ends with a newline"))?;
        self.chunk.clear();
        let mut count = 0u64;
        for line in body.split(|&b| b == b'\n') {
            count += 1;
            if count > MAX_CHUNK_CHECKPOINTS {
                return Err(malformed(path, "more than MAX_CHUNK_CHECKPOINTS lines"));
            }
            let v = crate::jcs::parse_canonical(line)
                .map_err(|e| malformed(path, format!("line {count}: {e}")))?;
            let l: CheckpointLine =
                serde_json::from_value(v).map_err(|e| malformed(path, format!("line {count}: {e}")))?;
            let first = start == self.params.from;
            if l.tree_size < start || (l.tree_size == start && !first) || l.tree_size > self.params.to {
                return Err(malformed(
                    path,
                    format!("line {count}: tree size {} is outside this chunk", l.tree_size),
                ));
            }
            if self.last_checkpoint.is_some_and(|s| s >= l.tree_size) {
                return Err(malformed(
                    path,
                    format!("line {count}: tree sizes are not strictly ascending"),
                ));
            }
            self.last_checkpoint = Some(l.tree_size);
            let cp = SignedCheckpoint::parse(l.note.as_bytes())
                .map_err(|e| PackError::at(e.code(), path, format!("line {count}: {e}")))?;
            if cp.checkpoint().head().size().get() != l.tree_size {
                return Err(malformed(
                    path,
                    format!("line {count}: the note's tree size is not tree_size"),
                ));
            }
            let head = self
                .trust
                .verify_checkpoint(&cp, self.params.time)
                .map_err(|e| PackError::at(e.code(), path, format!("line {count}: {e}")))?
                .into_inner()
                .checkpoint
                .head();
            if l.tree_size == self.params.to {
                if l.note != self.params.checkpoint {
                    return Err(malformed(
                        path,
                        format!("line {count}: the checkpoint at `to` is not backup.json's"),
                    ));
                }
                self.end_seen = true;
            }
            self.checkpoints += 1;
            observe(Item::Checkpoint {
                size: l.tree_size,
                note: &l.note,
            });
            self.chunk.push_back(Check {
                size: l.tree_size,
                root: head.root(),
                what: format!("the checkpoint at tree size {}", l.tree_size),
            });
        }
        self.chunk_start = Some(start);
        Ok(())
    }

    /// Called with the frontier at every size the listing reaches (and at the start): every
    /// anchor and checkpoint at that size must have its root (rule 5).
    pub(super) fn reached(&mut self, path: &str, frontier: &Frontier) -> Result<(), PackError> {
        let size = frontier.size().get();
        let due = |q: &VecDeque<Check>| q.front().is_some_and(|c| c.size <= size);
        if !due(&self.anchors) && !due(&self.chunk) {
            return Ok(());
        }
        let root = frontier.root();
        for (q, count) in [
            (&mut self.anchors, &mut self.anchors_checked),
            (&mut self.chunk, &mut 0u64),
        ] {
            while let Some(c) = q.front() {
                if c.size > size {
                    break;
                }
                if c.size < size {
                    return Err(PackError::at(
                        ErrorCode::PackIncomplete,
                        path,
                        format!("the listing never reached the tree size of {}", c.what),
                    ));
                }
                if c.root != root {
                    return Err(PackError::at(
                        ErrorCode::MerkleMismatch,
                        path,
                        format!(
                            "{} does not have the root of the listed leaves at size {size}",
                            c.what
                        ),
                    ));
                }
                q.pop_front();
                *count += 1;
            }
        }
        Ok(())
    }

    /// After a chunk's listing: its checkpoints must all have been reached.
    pub(super) fn end_chunk(&mut self, path: &str, start: u64) -> Result<(), PackError> {
        if self.chunk_start.is_some_and(|s| s != start) {
            return Err(malformed(
                path,
                "a checkpoints file is followed by the listing of the same chunk",
            ));
        }
        self.chunk_start = None;
        if let Some(c) = self.chunk.front() {
            return Err(malformed(
                path,
                format!("{} is beyond this chunk's last leaf", c.what),
            ));
        }
        Ok(())
    }

    /// The end (rules 5–6), given the frontier after the last listed leaf.
    pub(super) fn finish(
        mut self,
        frontier: &Frontier,
        leaves: u64,
        redacted: u64,
    ) -> Result<BackupReport, PackError> {
        if let Some(s) = self.chunk_start {
            return Err(PackError::at(
                ErrorCode::PackIncomplete,
                &super::export::leaves_path(s),
                "a checkpoints file without the chunk's listing",
            ));
        }
        if frontier.size().get() != self.params.to {
            return Err(PackError::new(
                ErrorCode::PackIncomplete,
                format!(
                    "the listing ends at leaf {}, the backup's tree has {}",
                    frontier.size(),
                    self.params.to
                ),
            ));
        }
        self.reached(super::export::FRONTIER_PATH, frontier)?;
        if frontier.root() != self.end.root() {
            return Err(PackError::new(
                ErrorCode::MerkleMismatch,
                "the listed leaves do not hash to the end checkpoint's root",
            ));
        }
        if self.params.from < self.params.to && !self.end_seen {
            return Err(PackError::new(
                ErrorCode::PackIncomplete,
                "the checkpoint at `to` is not in the last chunk's checkpoints file",
            ));
        }
        Ok(BackupReport {
            from: self.params.from,
            to: self.params.to,
            root: self.end.root(),
            checkpoint: self.params.checkpoint.clone(),
            since_anchor: self.params.since_anchor.clone(),
            base: self.params.base,
            leaves,
            redacted,
            checkpoints: self.checkpoints,
            anchors_checked: self.anchors_checked,
            archived: self.archived,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_paths() {
        assert_eq!(
            checkpoints_path(4096),
            "log/00000000000000004096.checkpoints.jsonl"
        );
        assert_eq!(parse_checkpoints_path(&checkpoints_path(4096)), Some(4096));
        assert_eq!(parse_checkpoints_path("log/4096.checkpoints.jsonl"), None);
        assert_eq!(
            parse_checkpoints_path("log/00000000000000004096.leaves.jsonl"),
            None
        );
        assert!(super::super::valid_path(&checkpoints_path(u64::MAX)));
    }
}
