//! The streaming pack verifier (SPEC.md §9.7).

use super::backup::{self, BackupState, Item};
use super::export::{self, ExportParams, FrontierFile, ListingLine};
use super::manifest::{FileEntry, MANIFEST_PATH, Manifest};
use super::report::{ExportReport, PackKind, PackReport, TrustSource};
use super::{MAX_ENTRY_BYTES, MAX_PACK_NODES, PackError, evidence, valid_path};
use crate::anchor::Anchor;
use crate::code::ErrorCode;
use crate::node::Node;
use crate::proof::ConsistencyProof;
use crate::tree::Frontier;
use crate::trust::TrustRoot;
use crate::verified::Verified;
use std::collections::{BTreeMap, VecDeque};

/// Path of the trust root inside a pack.
pub const TRUST_ROOT_PATH: &str = "trust-root.json";

/// Checks a pack entry by entry, in archive order, then [`PackVerifier::finish`] gives the
/// verdict. Memory is bounded by one entry plus, for evidence packs, the nodes carried; an
/// export of any length streams.
///
/// [`PackVerifier::entry`] fails only on container faults (`PACK_MALFORMED`), which end
/// verification at once. Every other fault is recorded and reported by `finish` in the
/// precedence SPEC.md §9.7 defines: missing manifest, (self-contained: the pack's trust root
/// against the listing,) manifest signature, manifest listing, then the first content fault in
/// archive order, the anchor chain counting as its entries'.
pub struct PackVerifier {
    external: Option<TrustRoot>,
    last_path: Option<String>,
    seen: Vec<FileEntry>,
    manifest: Option<Vec<u8>>,
    order_fault: Option<PackError>,
    fault: Option<PackError>,
    bytes: u64,
    anchors: Vec<Anchor>,
    consistency: BTreeMap<u64, ConsistencyProof>,
    pack_trust: Option<Vec<u8>>,
    pub(super) ev: evidence::Collected,
    ex: Option<ExportState>,
    bk: Option<BackupState>,
}

/// The log chunks of an export or a backup (SPEC.md §9.4 rules 2–7).
struct ExportState {
    /// `export.json`; `None` in a backup (its parameters are in [`BackupState`]).
    params: Option<ExportParams>,
    /// One past the last leaf of the range.
    end: u64,
    frontier: Option<Frontier>,
    chunk_start: Option<u64>,
    chunk_has_nodes: bool,
    /// Exported leaves of the chunk whose node is still to come: (leaf index, listing line).
    pending: VecDeque<(u64, ListingLine)>,
    included: u64,
    omitted: u64,
    /// Leaves listed as redacted (§9.4 rule 3): no node, neither included nor omitted.
    redacted: u64,
}

fn malformed(path: &str, m: impl Into<String>) -> PackError {
    PackError::at(ErrorCode::PackMalformed, path, m)
}

fn seq_of(path: &str, prefix: &str) -> Option<u64> {
    let d = path.strip_prefix(prefix)?.strip_suffix(".json")?;
    (d.len() == 20 && d.bytes().all(|b| b.is_ascii_digit())).then(|| d.parse().ok())?
}

impl PackVerifier {
    /// A verifier that judges the pack with `trust` or, if `None`, with the pack's own
    /// `trust-root.json` (which proves internal consistency only; the report says so).
    pub fn new(trust: Option<TrustRoot>) -> Self {
        Self {
            external: trust,
            last_path: None,
            seen: Vec::new(),
            manifest: None,
            order_fault: None,
            fault: None,
            bytes: 0,
            anchors: Vec::new(),
            consistency: BTreeMap::new(),
            pack_trust: None,
            ev: evidence::Collected::default(),
            ex: None,
            bk: None,
        }
    }

    /// Feeds the next archive entry. Errors are container faults (`PACK_MALFORMED`): stop.
    pub fn entry(&mut self, path: &str, data: &[u8]) -> Result<(), PackError> {
        self.entry_observed(path, data, &mut |_| {})
    }

    /// [`PackVerifier::entry`], handing `observe` the anchors, checkpoints, leaves and nodes of
    /// the entry as they pass their checks (a restore writes them into a new store). Nothing is
    /// proven until [`PackVerifier::finish`] succeeds; after the first fault, no more items
    /// come ([`PackVerifier::ok_so_far`] turns false).
    pub fn entry_observed(
        &mut self,
        path: &str,
        data: &[u8],
        observe: &mut dyn FnMut(Item<'_>),
    ) -> Result<(), PackError> {
        if self.manifest.is_some() {
            return Err(malformed(
                path,
                "entry after manifest.json (the manifest is the last entry)",
            ));
        }
        if data.len() as u64 > MAX_ENTRY_BYTES {
            return Err(malformed(path, "entry larger than MAX_ENTRY_BYTES"));
        }
        if !valid_path(path) {
            return Err(malformed(path, "not a valid pack path"));
        }
        if self.seen.len() >= super::MAX_PACK_ENTRIES {
            return Err(malformed(path, "more than MAX_PACK_ENTRIES entries"));
        }
        self.bytes += data.len() as u64;
        if path == MANIFEST_PATH {
            self.manifest = Some(data.to_vec());
            return Ok(());
        }
        if self.last_path.as_deref().is_some_and(|last| last >= path) && self.order_fault.is_none() {
            self.order_fault = Some(PackError::at(
                ErrorCode::ManifestMismatch,
                path,
                "entries are not in manifest order (ascending by path, manifest.json last)",
            ));
        }
        self.last_path = Some(path.to_owned());
        self.seen.push(FileEntry::of(path, data));
        if path == TRUST_ROOT_PATH {
            // Kept whatever faults came before: a self-contained verdict needs it to judge
            // the manifest, which comes before any content fault (§9.7).
            self.pack_trust = Some(data.to_vec());
        }
        if self.fault.is_none()
            && self.order_fault.is_none()
            && let Err(e) = self.process(path, data, observe)
        {
            self.fault = Some(e);
        }
        Ok(())
    }

    fn process(
        &mut self,
        path: &str,
        data: &[u8],
        observe: &mut dyn FnMut(Item<'_>),
    ) -> Result<(), PackError> {
        if path == TRUST_ROOT_PATH {
            // Taken in `entry`; judged against the manifest's listing in `finish`.
        } else if let Some(seq) = seq_of(path, "anchors/") {
            let a = Anchor::from_json(data).map_err(|e| PackError::at(e.code(), path, e.to_string()))?;
            if a.payload().seq != seq {
                return Err(malformed(path, "file name and anchor seq differ"));
            }
            self.anchors.push(a);
            observe(Item::Anchor { seq, bytes: data });
        } else if let Some(seq) = seq_of(path, "consistency/") {
            let p = ConsistencyProof::from_json(data)
                .map_err(|e| PackError::at(e.code(), path, e.to_string()))?;
            self.consistency.insert(seq, p);
        } else if path == backup::BACKUP_PATH {
            self.start_backup(data)?;
        } else if path == export::EXPORT_PATH {
            if self.bk.is_some() {
                return Err(malformed(path, "a backup carries no export.json"));
            }
            self.start_export(data)?;
        } else if path == export::FRONTIER_PATH {
            self.frontier(data)?;
        } else if let Some(start) = backup::parse_checkpoints_path(path) {
            let (Some(ex), Some(bk)) = (self.ex.as_mut(), self.bk.as_mut()) else {
                return Err(malformed(path, "checkpoints file without backup.json"));
            };
            ex.close_chunk()?;
            let listed = ex.frontier.as_ref().map(|f| f.size().get());
            bk.checkpoints_file(path, start, listed, data, observe)?;
        } else if let Some((start, is_nodes)) = export::parse_log_path(path) {
            let ex = self
                .ex
                .as_mut()
                .ok_or_else(|| malformed(path, "log/ entry without export.json"))?;
            if is_nodes {
                ex.nodes_chunk(path, start, data, observe)?;
            } else {
                ex.leaves_chunk(path, start, data, self.bk.as_mut(), observe)?;
            }
        } else if self.ev.accepts(path) {
            if self.ex.is_some() {
                return Err(malformed(
                    path,
                    "an export or backup carries no nodes/, proofs/ or tlog-proofs/ entries",
                ));
            }
            if self.ev.node_count() >= MAX_PACK_NODES && path.starts_with("nodes/") {
                return Err(malformed(path, "more than MAX_PACK_NODES nodes"));
            }
            self.ev.entry(path, data)?;
        } else {
            return Err(malformed(path, "not an entry of a pack (SPEC.md §9.3, §9.4)"));
        }
        Ok(())
    }

    fn start_export(&mut self, data: &[u8]) -> Result<(), PackError> {
        let params = ExportParams::parse(data)?;
        let end = params.to.tree_size;
        self.ex = Some(ExportState::new(Some(params), end, None));
        Ok(())
    }

    /// `backup.json` (SPEC.md §9.9 rule 1), after the anchors.
    fn start_backup(&mut self, data: &[u8]) -> Result<(), PackError> {
        let bk = BackupState::start(data, &self.anchors, self.external.as_ref())?;
        let full = bk.params.since_anchor.is_none();
        // A full backup starts at the empty tree and carries no frontier.json.
        self.ex = Some(ExportState::new(None, bk.params.to, full.then(Frontier::new)));
        self.bk = Some(bk);
        Ok(())
    }

    fn frontier(&mut self, data: &[u8]) -> Result<(), PackError> {
        let path = export::FRONTIER_PATH;
        let frontier = FrontierFile::parse(data)?;
        let anchors = &self.anchors;
        let ex = self
            .ex
            .as_mut()
            .ok_or_else(|| malformed(path, "frontier.json without export.json"))?;
        let from = match (&ex.params, &self.bk) {
            (Some(p), _) => &p.from,
            (None, Some(b)) if b.params.since_anchor.is_some() => &b.params.since_anchor,
            (None, _) => return Err(malformed(path, "a full backup carries no frontier.json")),
        };
        match from {
            None if frontier.size().get() != 0 => {
                return Err(malformed(path, "an export from the empty tree starts at size 0"));
            }
            None => {}
            Some(from) => {
                if frontier.size().get() != from.tree_size {
                    return Err(malformed(path, "tree_size differs from the start anchor's"));
                }
                let a = anchors
                    .iter()
                    .find(|a| a.payload().seq == from.seq)
                    .ok_or_else(|| {
                        PackError::at(
                            ErrorCode::PackIncomplete,
                            path,
                            "the start anchor is not in the pack",
                        )
                    })?;
                if a.id() != from.anchor {
                    return Err(if ex.params.is_some() {
                        malformed(
                            export::EXPORT_PATH,
                            "from.anchor is not the start anchor's AnchorId",
                        )
                    } else {
                        malformed(
                            backup::BACKUP_PATH,
                            "since_anchor.anchor is not the start anchor's AnchorId",
                        )
                    });
                }
                if crate::hash::Digest::from_base64(&a.payload().root) != Some(frontier.root()) {
                    return Err(PackError::at(
                        ErrorCode::MerkleMismatch,
                        path,
                        "the frontier does not hash to the start anchor's root",
                    ));
                }
            }
        }
        ex.frontier = Some(frontier);
        Ok(())
    }

    /// Ends verification and gives the verdict (SPEC.md §9.7).
    pub fn finish(mut self) -> Result<Verified<PackReport>, PackError> {
        let manifest_bytes = self.manifest.take().ok_or_else(|| {
            PackError::at(
                ErrorCode::ManifestMissing,
                MANIFEST_PATH,
                "the pack has no manifest",
            )
        })?;
        let manifest = Manifest::parse(&manifest_bytes)?;
        let m = &manifest.payload;
        let (trust, source) = match self.external.take() {
            Some(t) => (t, TrustSource::Argument),
            None => {
                // The pack's own trust root judges the manifest's signature, so it must first
                // be the file the manifest lists: a swapped trust root is a listing fault, not
                // a verdict on the keys it names.
                self.check_listed(&m.files, TRUST_ROOT_PATH)?;
                let bytes = self.pack_trust.as_deref().ok_or_else(|| {
                    PackError::at(
                        ErrorCode::PackIncomplete,
                        TRUST_ROOT_PATH,
                        "no trust root given and none in the pack",
                    )
                })?;
                let t = TrustRoot::from_json(bytes)
                    .map_err(|e| PackError::at(e.code(), TRUST_ROOT_PATH, e.to_string()))?;
                (t, TrustSource::Pack)
            }
        };
        // Signature before origin, as for anchors (§7.2 steps 1–2): a pack of another log is
        // signed by a key this trust root does not know.
        let signed = manifest
            .envelope
            .verify(&trust, super::manifest::MANIFEST_PAYLOAD_TYPE, m.time)
            .map_err(|e| PackError::at(e.code(), MANIFEST_PATH, e.to_string()))?
            .into_inner();
        if m.origin != trust.origin() {
            return Err(PackError::at(
                ErrorCode::OriginMismatch,
                MANIFEST_PATH,
                format!("the manifest names origin {:?}", m.origin),
            ));
        }
        self.check_listing(&m.files)?;
        // Content faults in archive order: the anchors and consistency proofs sort first, so a
        // fault in parsing them, then the chain they form, come before any other content
        // fault (which may have been found against an anchor not yet verified).
        // Every entry that sorts before `export.json` is a chain entry or an unknown one.
        let in_chain = |e: &mut PackError| e.path().is_some_and(|p| p < super::export::EXPORT_PATH);
        if let Some(e) = self.fault.take_if(in_chain) {
            return Err(e);
        }
        // §9.7 step 5: the anchor chain (a backup's without the anchors of archived segments,
        // §9.9 rule 2; a backup may carry none).
        let backup = self.bk.take();
        let chain = match &backup {
            Some(b) if self.anchors.len() == b.archived.len() => crate::anchor::ChainEvidence {
                anchors: Vec::new(),
                breaks: Vec::new(),
            },
            Some(b) => self.verify_chain(&trust, &b.archived)?,
            None => self.verify_chain(&trust, &[])?,
        };
        if let Some(e) = self.fault.take() {
            return Err(e);
        }
        let kind = match (&backup, self.ex.as_ref().and_then(|e| e.params.as_ref())) {
            (Some(_), _) => PackKind::Backup,
            (None, Some(_)) => PackKind::Export,
            (None, None) => PackKind::Evidence,
        };
        if m.kind != kind {
            return Err(malformed(MANIFEST_PATH, "kind does not match the pack's entries"));
        }
        let last = chain.anchors.last().cloned();
        if backup.is_none() && last.is_none() {
            return Err(PackError::new(
                ErrorCode::PackIncomplete,
                "the pack carries no anchor",
            ));
        }
        if last.as_ref().is_some_and(|last| m.time < last.time) {
            return Err(PackError::at(
                ErrorCode::ManifestMismatch,
                MANIFEST_PATH,
                "time is earlier than the last anchor's time",
            ));
        }
        let mut report = PackReport {
            kind: m.kind,
            pack_id: manifest.id,
            origin: m.origin.clone(),
            trust_root: source,
            manifest_key: signed.key,
            time: m.time,
            anchors: chain.anchors.clone(),
            breaks: chain.breaks.clone(),
            nodes: Vec::new(),
            consensus: Vec::new(),
            include_deps: m.include_deps,
            export: None,
            backup: None,
            files: self.seen.len() + 1,
            bytes: self.bytes,
        };
        if (!m.subjects.is_empty() || m.include_deps) && kind != PackKind::Evidence {
            return Err(malformed(
                MANIFEST_PATH,
                "an export or backup has no subjects and no include_deps",
            ));
        }
        if let Some(b) = backup {
            report.backup = Some(self.finish_backup(b, m)?);
            return Ok(Verified::new(report));
        }
        let head = chain
            .head()
            .ok_or_else(|| PackError::new(ErrorCode::AnchorMalformed, "last anchor has no tree head"))?;
        match self.ex.take() {
            Some(ex) => {
                report.export = Some(ex.finish(&chain.anchors, head)?);
            }
            None => {
                let (nodes, consensus) = self.ev.finish(&m.subjects, m.include_deps, head, &self.anchors)?;
                report.nodes = nodes;
                report.consensus = consensus;
            }
        }
        Ok(Verified::new(report))
    }

    /// SPEC.md §9.7 step 8 for backups (§9.9 rules 1, 5 and 6).
    fn finish_backup(
        &mut self,
        b: BackupState,
        m: &super::manifest::ManifestPayload,
    ) -> Result<backup::BackupReport, PackError> {
        let bad = |m: &str| malformed(backup::BACKUP_PATH, m);
        if b.params.origin != m.origin {
            return Err(bad("origin differs from the manifest's"));
        }
        if b.params.time != m.time {
            return Err(bad("time differs from the manifest's"));
        }
        // The backup's own trust root must be the one `trust-root.json` holds, which a
        // restore installs; with a caller's trust root it is not used to verify.
        let own = self.pack_trust.as_deref().ok_or_else(|| {
            PackError::at(
                ErrorCode::PackIncomplete,
                TRUST_ROOT_PATH,
                "a backup carries its trust root",
            )
        })?;
        let own =
            TrustRoot::from_json(own).map_err(|e| PackError::at(e.code(), TRUST_ROOT_PATH, e.to_string()))?;
        if backup::BackupParams::trust_root_value(&own) != b.params.trust_root {
            return Err(bad("trust_root differs from trust-root.json"));
        }
        let mut ex = self
            .ex
            .take()
            .ok_or_else(|| PackError::new(ErrorCode::PackIncomplete, "no log state"))?;
        ex.close_chunk()?;
        let frontier = ex
            .frontier
            .take()
            .ok_or_else(|| PackError::at(ErrorCode::PackIncomplete, export::FRONTIER_PATH, "missing"))?;
        b.finish(&frontier, ex.included + ex.redacted, ex.redacted)
    }

    /// One entry, `path`, against the listing: listed and absent is `MANIFEST_MISSING`;
    /// present and unlisted, or with another hash or size, `MANIFEST_MISMATCH`.
    fn check_listed(&self, files: &[FileEntry], path: &str) -> Result<(), PackError> {
        let listed = files.iter().find(|f| f.path == path);
        let got = self.seen.iter().find(|f| f.path == path);
        match (listed, got) {
            (Some(_), None) => Err(PackError::at(
                ErrorCode::ManifestMissing,
                path,
                "listed in the manifest but not in the pack",
            )),
            (None, Some(_)) => Err(PackError::at(
                ErrorCode::ManifestMismatch,
                path,
                "in the pack but not listed in the manifest",
            )),
            (Some(l), Some(g)) if l != g => Err(PackError::at(
                ErrorCode::ManifestMismatch,
                path,
                "SHA-256 or size differ from the manifest's",
            )),
            _ => Ok(()),
        }
    }

    /// §9.7 step 4: every listed file present, nothing unlisted, same order, same hashes.
    fn check_listing(&mut self, files: &[FileEntry]) -> Result<(), PackError> {
        let seen: BTreeMap<&str, &FileEntry> = self.seen.iter().map(|f| (f.path.as_str(), f)).collect();
        if let Some(f) = files.iter().find(|f| !seen.contains_key(f.path.as_str())) {
            return Err(PackError::at(
                ErrorCode::ManifestMissing,
                &f.path,
                "listed in the manifest but not in the pack",
            ));
        }
        if let Some(e) = self.order_fault.take() {
            return Err(e);
        }
        if files.len() != self.seen.len() {
            let listed: std::collections::BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
            let extra = self.seen.iter().find(|f| !listed.contains(f.path.as_str()));
            return Err(PackError::at(
                ErrorCode::ManifestMismatch,
                extra.map_or(MANIFEST_PATH, |f| f.path.as_str()),
                "in the pack but not listed in the manifest",
            ));
        }
        for (listed, got) in files.iter().zip(&self.seen) {
            if listed.path != got.path {
                return Err(PackError::at(
                    ErrorCode::ManifestMismatch,
                    &got.path,
                    "entries are not in manifest order",
                ));
            }
            if listed != got {
                return Err(PackError::at(
                    ErrorCode::ManifestMismatch,
                    &got.path,
                    format!(
                        "SHA-256 {} size {} differ from the manifest's {} size {}",
                        got.sha256, got.size, listed.sha256, listed.size
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Verifies the carried anchors, except the `archived` ones, as one chain (§7.2).
    fn verify_chain(
        &self,
        trust: &TrustRoot,
        archived: &[u64],
    ) -> Result<crate::anchor::ChainEvidence, PackError> {
        let anchors: Vec<Anchor> = self
            .anchors
            .iter()
            .filter(|a| archived.binary_search(&a.payload().seq).is_err())
            .cloned()
            .collect();
        if anchors.is_empty() {
            return Err(PackError::new(
                ErrorCode::PackIncomplete,
                "the pack carries no anchor",
            ));
        }
        let seqs: Vec<u64> = anchors.iter().map(|a| a.payload().seq).collect();
        let proofs: Vec<Option<ConsistencyProof>> =
            seqs.iter().map(|s| self.consistency.get(s).cloned()).collect();
        let chain = trust
            .verify_anchor_chain(&anchors, &proofs)
            .map_err(|e| {
                let path = e.seq().map(|s| format!("anchors/{s:020}.json"));
                match path {
                    Some(p) => PackError::at(e.code(), &p, e.message()),
                    None => PackError::new(e.code(), e.message()),
                }
            })?
            .into_inner();
        // After the chain: a proof left without its anchor is first a gap in the chain.
        if let Some(s) = self
            .consistency
            .keys()
            .find(|s| seqs.iter().skip(1).all(|q| q != *s))
        {
            return Err(malformed(
                &format!("consistency/{s:020}.json"),
                "no anchor after the first has this seq",
            ));
        }
        Ok(chain)
    }

    /// Whether no fault has been recorded so far (for progress displays).
    pub fn ok_so_far(&self) -> bool {
        self.fault.is_none() && self.order_fault.is_none()
    }
}

/// Whether a nodes-file `line` that is not the `expected` node shows that node left out: the
/// line is a node the listing exports later and `expected` is nowhere in the file (and not,
/// say, a corrupted line or two lines swapped, which are `NODE_ID_MISMATCH`). Only called on
/// that failure path, so hashing the file's lines again costs nothing on a good export.
fn node_left_out(
    body: &[u8],
    line: &[u8],
    expected: &ListingLine,
    pending: &VecDeque<(u64, ListingLine)>,
) -> bool {
    let actual = crate::node::NodeId::of_canonical(line);
    pending.iter().any(|(_, l)| l.id == actual)
        && body
            .split(|&b| b == b'\n')
            .all(|l| crate::node::NodeId::of_canonical(l) != expected.id)
}

impl ExportState {
    /// The state before the first chunk: `params` for an export (`None` for a backup), the
    /// leaf the log chunks must reach, and the frontier when it is known already.
    fn new(params: Option<ExportParams>, end: u64, frontier: Option<Frontier>) -> Self {
        Self {
            params,
            end,
            frontier,
            chunk_start: None,
            chunk_has_nodes: false,
            pending: VecDeque::new(),
            included: 0,
            omitted: 0,
            redacted: 0,
        }
    }

    fn close_chunk(&mut self) -> Result<(), PackError> {
        if let (Some(start), Some((_, l))) = (self.chunk_start, self.pending.front()) {
            return Err(PackError::at(
                ErrorCode::PackIncomplete,
                &export::nodes_path(start),
                format!(
                    "leaf {} ({}) is listed as exported but its node is missing",
                    l.id, l.node_type
                ),
            ));
        }
        Ok(())
    }

    fn leaves_chunk(
        &mut self,
        path: &str,
        start: u64,
        data: &[u8],
        mut backup: Option<&mut BackupState>,
        observe: &mut dyn FnMut(Item<'_>),
    ) -> Result<(), PackError> {
        self.close_chunk()?;
        let to = self.end;
        let frontier = self
            .frontier
            .as_mut()
            .ok_or_else(|| PackError::at(ErrorCode::PackIncomplete, export::FRONTIER_PATH, "missing"))?;
        if start != frontier.size().get() {
            return Err(PackError::at(
                ErrorCode::PackIncomplete,
                path,
                format!(
                    "chunk starts at leaf {start}, the listing so far ends at {}",
                    frontier.size()
                ),
            ));
        }
        let body = data
            .strip_suffix(b"\n")
            .ok_or_else(|| malformed(path, "a listing is non-empty and ends with a newline"))?;
        if let Some(b) = backup.as_deref_mut() {
            b.reached(path, frontier)?;
        }
        let mut count = 0u64;
        for line in body.split(|&b| b == b'\n') {
            count += 1;
            if count > export::MAX_CHUNK_LEAVES {
                return Err(malformed(path, "more than MAX_CHUNK_LEAVES lines"));
            }
            let l = ListingLine::parse(line).map_err(|e| malformed(path, format!("line {count}: {e}")))?;
            if frontier.size().get() >= to {
                return Err(malformed(
                    path,
                    if backup.is_some() {
                        "the listing goes beyond the backup's tree size"
                    } else {
                        "the listing goes beyond the end anchor's tree size"
                    },
                ));
            }
            let index = frontier.size().get();
            let hashes = frontier
                .push(l.id.leaf_hash())
                .ok_or_else(|| malformed(path, "tree size overflow"))?;
            observe(Item::Leaf {
                index,
                id: l.id,
                hashes: &hashes,
                redacted: l.redacted,
            });
            if let Some(b) = backup.as_deref_mut() {
                b.reached(path, frontier)?;
            }
            // A redacted leaf has no node (§9.4 rule 3). Every other node in a backup; those the
            // filter includes in an export.
            if l.redacted.is_some() {
                self.redacted += 1;
            } else if self.params.as_ref().is_none_or(|p| p.includes(&l.node_type)) {
                self.included += 1;
                self.pending.push_back((index, l));
            } else {
                self.omitted += 1;
            }
        }
        if let Some(b) = backup {
            b.end_chunk(path, start)?;
        }
        self.chunk_start = Some(start);
        self.chunk_has_nodes = false;
        Ok(())
    }

    fn nodes_chunk(
        &mut self,
        path: &str,
        start: u64,
        data: &[u8],
        observe: &mut dyn FnMut(Item<'_>),
    ) -> Result<(), PackError> {
        if self.chunk_start != Some(start) || self.chunk_has_nodes {
            return Err(malformed(
                path,
                "a nodes file follows the listing of the same chunk",
            ));
        }
        self.chunk_has_nodes = true;
        if self.pending.is_empty() {
            return Err(malformed(path, "this chunk exports no node"));
        }
        let body = data
            .strip_suffix(b"\n")
            .ok_or_else(|| malformed(path, "a nodes file is non-empty and ends with a newline"))?;
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            let Some((index, expected)) = self.pending.pop_front() else {
                return Err(malformed(
                    path,
                    format!("line {}: more nodes than the listing exports", i + 1),
                ));
            };
            let node = Node::from_canonical_with_id(line, expected.id).map_err(|e| {
                if e.code() == ErrorCode::NodeIdMismatch
                    && node_left_out(body, line, &expected, &self.pending)
                {
                    PackError::at(
                        ErrorCode::PackIncomplete,
                        path,
                        format!(
                            "line {}: leaf {} ({}) is listed as exported but its node is missing",
                            i + 1,
                            expected.id,
                            expected.node_type
                        ),
                    )
                } else {
                    PackError::at(e.code(), path, format!("line {}: {e}", i + 1))
                }
            })?;
            if node.node_type() != expected.node_type {
                return Err(malformed(
                    path,
                    format!(
                        "line {}: the listing gives type {:?}, the node has {:?}",
                        i + 1,
                        expected.node_type,
                        node.node_type()
                    ),
                ));
            }
            observe(Item::Node {
                index,
                id: expected.id,
                node_type: node.node_type(),
                bytes: line,
            });
        }
        self.close_chunk()
    }

    fn finish(
        mut self,
        anchors: &[crate::anchor::AnchorSummary],
        head: crate::proof::TreeHead,
    ) -> Result<ExportReport, PackError> {
        self.close_chunk()?;
        let frontier = self
            .frontier
            .take()
            .ok_or_else(|| PackError::at(ErrorCode::PackIncomplete, export::FRONTIER_PATH, "missing"))?;
        let Some(p) = &self.params else {
            return Err(malformed(export::EXPORT_PATH, "missing"));
        };
        let matches = |a: Option<&crate::anchor::AnchorSummary>, r: &export::AnchorRef| {
            a.is_some_and(|a| a.seq == r.seq && a.id == r.anchor && a.tree_size.get() == r.tree_size)
        };
        if !matches(anchors.last(), &p.to) {
            return Err(malformed(
                export::EXPORT_PATH,
                "`to` is not the pack's last anchor",
            ));
        }
        match &p.from {
            Some(from) if !matches(anchors.first(), from) => {
                return Err(malformed(
                    export::EXPORT_PATH,
                    "`from` is not the pack's first anchor",
                ));
            }
            None if anchors.len() != 1 => {
                return Err(malformed(
                    export::EXPORT_PATH,
                    "an export from the empty tree carries one anchor",
                ));
            }
            _ => {}
        }
        if frontier.size() != head.size() {
            return Err(PackError::new(
                ErrorCode::PackIncomplete,
                format!(
                    "the listing ends at leaf {}, the end anchor's tree has {}",
                    frontier.size(),
                    head.size()
                ),
            ));
        }
        if frontier.root() != head.root() {
            return Err(PackError::new(
                ErrorCode::MerkleMismatch,
                "the listed leaves do not hash to the end anchor's root",
            ));
        }
        let start = p.from.as_ref().map_or(0, |f| f.tree_size);
        Ok(ExportReport {
            from: p.from.clone(),
            to: p.to.clone(),
            filter: p.filter.clone(),
            leaves: frontier.size().get() - start,
            included: self.included,
            omitted: self.omitted,
            redacted: self.redacted,
            prev_export: p.prev_export,
        })
    }
}
