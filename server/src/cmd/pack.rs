//! `evl export` and `evl verify-pack` (SPEC.md §9).

use crate::cli::{ExportArgs, Format};
use crate::output::{bytes, emit};
use anyhow::{Context as _, Result, bail};
use evl_ledger::pack::{EvidenceRequest, ExportRequest, PackSummary};
use evl_sdk::pack::verify_pack_reader;
use evl_sdk::pack::{NodeRole, PackError, PackKind, PackReport, ProofKind, TrustSource};
use evl_sdk::{TrustRoot, Verified};
use evl_server::data_dir::DataDir;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal as _, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub(super) fn bar(len: u64, template: &str, show: bool) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    b.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    b
}

/// Writes through `write` into `output`: a temporary file in the same directory renamed into
/// place on success (nothing is left behind on failure), or stdout for `-`.
pub(super) fn write_atomically(
    output: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<PackSummary>,
) -> Result<PackSummary> {
    if output == Path::new("-") {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let s = write(&mut out)?;
        out.flush().context("writing to stdout")?;
        return Ok(s);
    }
    evl_server::backup::write_file_atomically(output, ".evl-export-", write)
}

/// Verifies the pack at `path` (progress on a terminal when `show`).
pub(super) fn verify_file(
    path: &Path,
    trust: Option<TrustRoot>,
    show: bool,
) -> Result<Result<Verified<PackReport>, PackError>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or_default();
    let read = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: std::io::BufReader::with_capacity(1 << 20, file),
        read: read.clone(),
    };
    let b = bar(
        len,
        "{spinner} verifying {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
        show,
    );
    let result = verify_pack_reader(counting, trust, &mut |_| {
        b.set_position(read.load(Ordering::Relaxed))
    });
    b.finish_and_clear();
    Ok(result)
}

struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub fn export(dir: &DataDir, a: &ExportArgs) -> Result<ExitCode> {
    // Read-only: a backup or an export signs what it writes, never writes to the store.
    let ledger = dir.signer_read_only()?;
    let started = std::time::Instant::now();
    let (kind, summary) = if a.nodes.is_empty() {
        let mut req = ExportRequest {
            from_anchor: a.from_anchor,
            to_anchor: a.to_anchor,
            filter: (!a.types.is_empty()).then(|| a.types.clone()),
            prev_export: None,
        };
        if let Some(prev) = &a.since_export {
            let report = match verify_file(prev, Some(ledger.trust_root().clone()), false)? {
                Ok(r) => r.into_inner(),
                Err(e) => bail!(
                    "--since-export {}: does not verify against this ledger: {e}",
                    prev.display()
                ),
            };
            let Some(ex) = report.export else {
                bail!(
                    "--since-export {} is an evidence pack, not an export",
                    prev.display()
                );
            };
            req.from_anchor = Some(ex.to.seq);
            req.prev_export = Some(report.pack_id);
        }
        let range = ledger.export_range(&req)?;
        if req.prev_export.is_some() && range.start == range.end {
            bail!(
                "nothing was appended since the previous export's end anchor\n  hint: `evl anchor create` anchors what was appended since"
            );
        }
        let b = bar(
            range.end - range.start,
            "{spinner} exporting {bar:40} {pos}/{len} leaves ({per_sec}, eta {eta})",
            !a.json,
        );
        let summary = write_atomically(&a.output, |w| {
            Ok(ledger.export(&req, w, &mut |next| b.set_position(next - range.start))?)
        })?;
        b.finish_and_clear();
        (PackKind::Export, summary)
    } else {
        let subjects = a
            .nodes
            .iter()
            .map(|n| super::parse_id(n))
            .collect::<Result<Vec<_>>>()?;
        let req = EvidenceRequest {
            subjects,
            include_deps: a.include_deps,
            anchor: a.anchor,
            trust_point: a.trust_point,
        };
        let summary = write_atomically(&a.output, |w| Ok(ledger.export_evidence(&req, w)?))?;
        (PackKind::Evidence, summary)
    };
    let secs = started.elapsed().as_secs_f64();
    let json = serde_json::json!({
        "kind": kind, "file": a.output, "files": summary.files, "tar_bytes": summary.tar_bytes,
        "pack_bytes": summary.pack_bytes, "seconds": secs,
    });
    let format = if a.json { Format::Json } else { Format::Table };
    // The summary goes to stderr when the pack itself is on stdout.
    if a.output == Path::new("-") {
        eprintln!("{json}");
    } else {
        emit(format, &json, || {
            crate::outln!(
                "wrote {} {}: {} entries, {} ({} before compression) in {secs:.2}s",
                if kind == PackKind::Export {
                    "export"
                } else {
                    "evidence pack"
                },
                a.output.display(),
                summary.files,
                bytes(summary.pack_bytes),
                bytes(summary.tar_bytes),
            );
            crate::outln!(
                "verify it offline: evl verify-pack {} --trust-root {}",
                a.output.display(),
                dir.trust_root().display()
            );
        });
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &PackReport, file: &Path) {
    let what = match r.kind {
        PackKind::Evidence => "evidence pack",
        PackKind::Export => "export",
        PackKind::Backup => "backup",
    };
    crate::outln!(
        "VERIFIED {what} {}  ({}, {} entries, {})",
        file.display(),
        r.pack_id,
        r.files,
        bytes(r.bytes)
    );
    crate::outln!("  log        {}", r.origin);
    match r.trust_root {
        TrustSource::Argument => crate::outln!("  trust      the trust root given with --trust-root"),
        TrustSource::Pack => crate::outln!(
            "  trust      WARNING: the pack's own trust root; this proves the pack is consistent, not\n             that it comes from the log you mean (pass --trust-root to pin its keys)"
        ),
    }
    if let Some(last) = r.anchors.last() {
        crate::outln!(
            "  anchor     #{} at tree size {}, {}, signed by {} (valid at that time)",
            last.seq,
            last.tree_size,
            last.time,
            last.key
        );
    }
    if let (Some(first), true) = (r.anchors.first(), r.anchors.len() > 1) {
        crate::outln!(
            "  chain      {} anchors from #{} to #{}, each consistent with the one before",
            r.anchors.len(),
            first.seq,
            r.anchors.last().map_or(0, |a| a.seq)
        );
    }
    for b in &r.breaks {
        crate::outln!(
            "  NEW CHAIN  at anchor #{} (segment {}): {:?}; archived segment {} after anchor #{}",
            b.seq,
            b.segment,
            b.reason,
            b.archived.segment,
            b.archived.last_seq
        );
    }
    crate::outln!("  manifest   signed by {} valid at {}", r.manifest_key, r.time);
    for n in &r.nodes {
        crate::outln!(
            "  proven     {} ({}) at leaf {} of tree size {}: {}, {} proof",
            n.id,
            n.node_type,
            n.index,
            r.anchors.last().map_or(0, |a| a.tree_size.get()),
            if n.role == NodeRole::Subject {
                "subject"
            } else {
                "dependency"
            },
            if n.proof == ProofKind::Multi {
                "multi-leaf"
            } else {
                "own"
            }
        );
    }
    for c in &r.consensus {
        match (&c.replayed, &c.note) {
            (true, _) => crate::outln!("  consensus  {} replayed: it is what its inputs compute", c.id),
            (false, note) => crate::outln!(
                "  consensus  {} NOT replayed: {}",
                c.id,
                note.as_deref().unwrap_or("")
            ),
        }
    }
    if let Some(e) = &r.export {
        let from = e.from.as_ref().map_or("the first leaf".to_owned(), |f| {
            format!("anchor #{} (tree size {})", f.seq, f.tree_size)
        });
        crate::outln!(
            "  range      {} leaves from {from} to anchor #{} (tree size {}), complete",
            e.leaves,
            e.to.seq,
            e.to.tree_size
        );
        match &e.filter {
            Some(f) => crate::outln!(
                "  filter     {}: {} nodes included, {} leaves of other types listed by type",
                f.join(", "),
                e.included,
                e.omitted
            ),
            None => crate::outln!("  nodes      all {} included", e.included),
        }
        if e.redacted > 0 {
            crate::outln!(
                "  redacted   {} leaves listed with their redaction/v1 record and no content",
                e.redacted
            );
        }
        if let Some(p) = &e.prev_export {
            crate::outln!("  delta of   {p}");
        }
    }
    if let Some(b) = &r.backup {
        let from = b.since_anchor.as_ref().map_or("the first leaf".to_owned(), |a| {
            format!("anchor #{} (tree size {})", a.seq, a.tree_size)
        });
        crate::outln!(
            "  range      {} leaves from {from} to tree size {}, complete, every node carried{}",
            b.leaves,
            b.to,
            if b.redacted > 0 {
                format!(
                    " but {} redacted (listed with their redaction records)",
                    b.redacted
                )
            } else {
                String::new()
            }
        );
        crate::outln!(
            "  end        the signed checkpoint at tree size {}, root {}",
            b.to,
            b.root
        );
        crate::outln!(
            "  checked    {} signed checkpoints and {} anchors against the tree at their sizes",
            b.checkpoints,
            b.anchors_checked
        );
        if !b.archived.is_empty() {
            crate::outln!(
                "  archived   anchors {:?} (left behind by a new chain segment; carried, not verified)",
                b.archived
            );
        }
        if let Some(base) = &b.base {
            crate::outln!("  continues  {base} (restore it first)");
        }
    }
}

/// `evl verify-pack FILE [--trust-root F] [--prev PREV]`.
pub(crate) fn verify_path(
    file: &Path,
    trust_root: Option<&Path>,
    prev: Option<&Path>,
    format: Format,
) -> Result<ExitCode> {
    let trust = trust_root.map(super::trust_root_file).transpose()?;
    let show = format == Format::Table;
    let result = verify_file(file, trust.clone(), show)?;
    let mut result = result.map(Verified::into_inner);
    if let (Ok(report), Some(prev)) = (&result, prev) {
        let prev_report = match verify_file(prev, trust, false)? {
            Ok(r) => r.into_inner(),
            Err(e) => bail!("--prev {}: does not verify: {e}", prev.display()),
        };
        // SPEC.md §9.4 rule 8, in the SDK.
        if let Err(e) = report.check_continues(&prev_report) {
            result = Err(PackError::new_public(
                e.code(),
                format!("{} ({})", e.message(), prev.display()),
            ));
        }
    }
    match result {
        Ok(report) => {
            emit(format, &serde_json::json!({"ok": true, "report": report}), || {
                print_report(&report, file)
            });
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let v = serde_json::json!({"ok": false, "code": e.code().as_str(), "path": e.path(), "message": e.message()});
            emit(format, &v, || {
                crate::outln!(
                    "FAILED {}  {}{}",
                    e.code(),
                    e.path().map(|p| format!("{p}: ")).unwrap_or_default(),
                    e.message()
                )
            });
            Ok(ExitCode::from(1))
        }
    }
}
