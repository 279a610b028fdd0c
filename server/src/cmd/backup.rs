//! `evl backup` and `evl restore` (SPEC.md §9.9; docs/operations/README.md, "Backup and
//! restore").
//!
//! A backup is written like an export: to a temporary file next to the output, renamed into
//! place once complete and synced, so the output is either absent or a whole backup. A restore
//! loads into a temporary directory next to the target (`.evl-restore-<pid>-<random>`), and
//! renames it into place only after the load verified and was made durable; on failure the
//! temporary directory is removed. A restore killed with SIGKILL leaves the target absent and
//! a stale temporary directory, which the next restore in that directory removes.

use crate::cli::{BackupArgs, Format, RestoreArgs};
use crate::output::{bytes, emit};
use anyhow::{Context as _, Result, bail};
use evl_ledger::AnchorPolicy;
use evl_ledger::pack::{BackupRequest, RestoreReport, RestoreRequest, verify_pack_reader};
use evl_ledger::store::redb_store::RedbStore;
use evl_sdk::TrustRoot;
use evl_sdk::pack::TrustSource;
use evl_server::data_dir::DataDir;
use serde_json::json;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The prefix of a restore's temporary directory, next to the target.
const RESTORE_PREFIX: &str = ".evl-restore-";

/// What a backup never holds, and the restored directory therefore lacks.
const NOT_RESTORED: &str =
    "not restored (backups never contain secrets): the signing key and the admin token";

pub fn backup(dir: &DataDir, a: &BackupArgs) -> Result<ExitCode> {
    let ledger = dir.writer(AnchorPolicy::default())?;
    let started = std::time::Instant::now();
    let mut req = BackupRequest {
        since_anchor: a.since_anchor,
        base: None,
    };
    if let Some(base) = &a.base {
        let file = std::fs::File::open(base).with_context(|| format!("opening {}", base.display()))?;
        let report = match verify_pack_reader(
            std::io::BufReader::with_capacity(1 << 20, file),
            Some(ledger.trust_root().clone()),
            &mut |_| {},
        ) {
            Ok(r) => r.into_inner(),
            Err(e) => bail!(
                "--base {}: does not verify against this ledger: {e}",
                base.display()
            ),
        };
        if report.backup.is_none() {
            bail!("--base {} is not a backup", base.display());
        }
        if req.since_anchor.is_none() {
            let Some(last) = report.anchors.last() else {
                bail!(
                    "--base {} holds no anchor to continue from; pass --since-anchor, or take a full backup",
                    base.display()
                );
            };
            req.since_anchor = Some(last.seq);
        }
        req.base = Some(report.pack_id);
    }
    let range = ledger.backup_range(&req)?;
    let b = super::pack::bar(
        range.to - range.from,
        "{spinner} backing up {bar:40} {pos}/{len} leaves ({per_sec}, eta {eta})",
        !a.json,
    );
    let summary = super::pack::write_atomically(&a.output, |w| {
        Ok(ledger.backup(&req, w, &mut |next| b.set_position(next - range.from))?)
    })?;
    b.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let kind = if req.since_anchor.is_some() {
        "incremental"
    } else {
        "full"
    };
    let v = json!({
        "kind": kind, "file": a.output, "from": range.from, "to": range.to,
        "since_anchor": req.since_anchor, "base": req.base, "files": summary.files,
        "tar_bytes": summary.tar_bytes, "pack_bytes": summary.pack_bytes, "seconds": secs,
    });
    if a.output == Path::new("-") {
        eprintln!("{v}");
    } else {
        emit(if a.json { Format::Json } else { Format::Table }, &v, || {
            crate::outln!(
                "wrote {kind} backup {}: leaves {}..{} ({} entries, {}; {} before compression) in {secs:.2}s",
                a.output.display(),
                range.from,
                range.to,
                summary.files,
                bytes(summary.pack_bytes),
                bytes(summary.tar_bytes),
            );
            crate::outln!(
                "verify it offline: evl verify-pack {} --trust-root trust-root.json",
                a.output.display()
            );
            crate::outln!("it holds no secrets: keep the signing key and admin token backed up separately");
        });
    }
    Ok(ExitCode::SUCCESS)
}

/// Temporary restore directories next to `target` left by a restore that did not finish (its
/// process is gone), removed; returns their names.
fn remove_stale(parent: &Path) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let entries = std::fs::read_dir(parent).with_context(|| format!("listing {}", parent.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(RESTORE_PREFIX) else {
            continue;
        };
        // `.evl-restore-<pid>-<random>`: a directory of a live process is another restore.
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| p != std::process::id() && Path::new("/proc").join(p.to_string()).exists()) {
            continue;
        }
        std::fs::remove_dir_all(entry.path())
            .with_context(|| format!("removing the stale restore directory {}", entry.path().display()))?;
        removed.push(name);
    }
    Ok(removed)
}

fn is_empty_dir(p: &Path) -> Result<bool> {
    Ok(std::fs::read_dir(p)
        .with_context(|| format!("reading {}", p.display()))?
        .next()
        .is_none())
}

/// Syncs a directory's entries (a rename or a new file in it) to disk.
fn sync_dir(p: &Path) -> Result<()> {
    std::fs::File::open(p)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", p.display()))
}

fn failed(format: Format, code: &str, message: &str) -> ExitCode {
    emit(
        format,
        &json!({"ok": false, "code": code, "message": message}),
        || crate::outln!("FAILED {code}  {message}"),
    );
    ExitCode::from(1)
}

pub fn restore(a: &RestoreArgs) -> Result<ExitCode> {
    let format = a.out.output;
    let target = &a.target;
    if target.exists() && !(target.is_dir() && is_empty_dir(target)?) {
        return Ok(failed(
            format,
            "TARGET_NOT_EMPTY",
            &format!(
                "{} exists and is not an empty directory; a restore writes a new data directory",
                target.display()
            ),
        ));
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let stale = remove_stale(&parent)?;
    if format == Format::Table {
        for s in &stale {
            crate::outln!(
                "removed {}: the temporary directory of a restore that did not finish",
                parent.join(s).display()
            );
        }
    }
    let trust = match &a.trust_root {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading trust root {}", p.display()))?;
            Some(
                TrustRoot::from_json(&bytes)
                    .with_context(|| format!("{} is not a valid trust root", p.display()))?,
            )
        }
        None => None,
    };
    let mut files: Vec<(String, Box<dyn Read>)> = Vec::new();
    for f in &a.backups {
        let file = std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?;
        files.push((
            f.display().to_string(),
            Box::new(std::io::BufReader::with_capacity(1 << 20, file)),
        ));
    }
    // Removed on drop: every failure below leaves no temporary directory behind.
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{RESTORE_PREFIX}{}-", std::process::id()))
        .tempdir_in(&parent)
        .with_context(|| format!("creating a temporary directory in {}", parent.display()))?;
    let data = DataDir::new(tmp.path());
    let store =
        RedbStore::open(&data.store()).with_context(|| format!("creating {}", data.store().display()))?;
    let req = RestoreRequest {
        trust_root: trust,
        to_anchor: a.to_anchor,
    };
    let started = std::time::Instant::now();
    let b = super::pack::bar(
        0,
        "{spinner} restoring: {pos} leaves verified and loaded ({per_sec})",
        format == Format::Table,
    );
    let report = match evl_ledger::pack::restore(files, store, &req, &mut |n| b.set_position(n)) {
        Ok(r) => r,
        Err(e) => {
            b.finish_and_clear();
            return Ok(failed(format, e.code(), &e.to_string()));
        }
    };
    b.finish_and_clear();
    // The trust root next to the store, as `evl init` writes it.
    let trust_json = data.reader()?.trust_root().to_json();
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(data.trust_root()).context("writing trust-root.json")?;
        f.write_all(&trust_json)
            .and_then(|()| f.sync_all())
            .context("writing trust-root.json")?;
    }
    sync_dir(tmp.path())?;
    let loaded = tmp.keep();
    if let Err(e) = std::fs::rename(&loaded, target) {
        let _ = std::fs::remove_dir_all(&loaded);
        return Err(e)
            .with_context(|| format!("moving the restored directory into place at {}", target.display()));
    }
    sync_dir(&parent)?;
    let secs = started.elapsed().as_secs_f64();
    emit(
        format,
        &json!({"ok": true, "target": target, "report": report, "seconds": secs,
            "stale_removed": stale, "not_restored": ["signing key", "admin token"]}),
        || print_restore(&report, target, secs),
    );
    Ok(ExitCode::SUCCESS)
}

fn print_restore(r: &RestoreReport, target: &Path, secs: f64) {
    crate::outln!(
        "RESTORED {}  (log {}, tree size {}, {} nodes, {:.0} nodes/s)",
        target.display(),
        r.origin,
        r.tree_size,
        r.nodes,
        r.nodes as f64 / secs.max(1e-9)
    );
    for f in &r.files {
        let what = match f.since_anchor {
            None => "full".to_owned(),
            Some(s) => format!("incremental since anchor #{s}"),
        };
        crate::outln!(
            "  backup     {} ({what}, leaves {}..{}, {}): verified, {} leaves added",
            f.file,
            f.from,
            f.to,
            f.pack_id,
            f.leaves_added
        );
    }
    match r.trust_root {
        TrustSource::Argument => crate::outln!("  trust      the trust root given with --trust-root"),
        TrustSource::Pack => crate::outln!(
            "  trust      WARNING: the backups' own trust root; pass --trust-root to prove they come from the log you mean"
        ),
    }
    crate::outln!("  root       {} at tree size {}", r.root, r.tree_size);
    crate::outln!(
        "  anchors    {} restored, {} verified against the restored tree{}",
        r.anchors,
        r.anchors_verified,
        r.last_anchor.map(|s| format!(", last #{s}")).unwrap_or_default()
    );
    crate::outln!(
        "  checkpoints {} signed checkpoints restored, each verified",
        r.checkpoints
    );
    if let Some(c) = &r.cut {
        crate::outln!(
            "  cut        at anchor #{} (tree size {}): left out {} leaves, {} checkpoints and anchors {:?}",
            c.anchor,
            c.tree_size,
            c.leaves,
            c.checkpoints,
            c.anchors
        );
    }
    crate::outln!("  {NOT_RESTORED}");
    crate::outln!(
        "  next       put the log's signing key at {}/signing-key.pem (mode 0600) to append or serve; reads need no key",
        target.display()
    );
}
