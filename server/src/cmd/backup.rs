//! `evl backup` and `evl restore` (SPEC.md §9.9; docs/operations/README.md, "Backup and
//! restore"): arguments and output around [`evl_server::backup`], which writes the backup file
//! and the restored data directory so that a crash never leaves a partial one in place.

use crate::cli::{BackupArgs, Format, RestoreArgs};
use crate::output::{bytes, emit};
use anyhow::{Context as _, Result, bail};
use evl_ledger::pack::{BackupRequest, RestoreReport, RestoreRequest};
use evl_sdk::pack::TrustSource;
use evl_sdk::pack::verify_pack_reader;
use evl_server::backup::{RestoreStore, restore_dir_into, write_backup_file};
use evl_server::data_dir::DataDir;
use serde_json::json;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// What a backup never holds, and the restored directory therefore lacks.
const NOT_RESTORED: &str =
    "not restored (backups never contain secrets): the signing key and the admin token";

pub fn backup(dir: &DataDir, a: &BackupArgs) -> Result<ExitCode> {
    // Read-only: a backup or an export signs what it writes, never writes to the store.
    let ledger = dir.signer_read_only()?;
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
    let mut progress = |next: u64| b.set_position(next - range.from);
    let summary = if a.output == Path::new("-") {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let s = ledger.backup(&req, &mut out, &mut progress)?;
        out.flush().context("writing to stdout")?;
        s
    } else {
        write_backup_file(&ledger, &req, &a.output, &mut progress)?
    };
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
                "verify it offline: evl verify-pack {} --trust-root {}",
                a.output.display(),
                dir.trust_root().display()
            );
            crate::outln!("it holds no secrets: keep the signing key and admin token backed up separately");
        });
    }
    Ok(ExitCode::SUCCESS)
}

fn failed(format: Format, code: &str, message: &str) -> ExitCode {
    // Ledger errors print their code first; it is shown once.
    let message = message
        .strip_prefix(code)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message);
    emit(
        format,
        &json!({"ok": false, "code": code, "message": message}),
        || crate::outln!("FAILED {code}  {message}"),
    );
    ExitCode::from(1)
}

pub fn restore(a: &RestoreArgs) -> Result<ExitCode> {
    let format = a.out.output;
    let trust = a.trust_root.as_deref().map(super::trust_root_file).transpose()?;
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
    let into = match &a.to_postgres {
        Some(url) => postgres_target(url, a.password_file.as_deref(), a.log_id)?,
        None => RestoreStore::Redb(a.store_format),
    };
    let result = restore_dir_into(&a.backups, &a.target, &req, &into, &mut |n| b.set_position(n));
    b.finish_and_clear();
    let done = match result {
        Ok(d) => d,
        Err(e) => return Ok(failed(format, e.code(), &e.to_string())),
    };
    if format == Format::Table {
        for s in &done.stale_removed {
            crate::outln!(
                "removed {}: the temporary directory of a restore that did not finish",
                s.display()
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    emit(
        format,
        &json!({"ok": true, "target": a.target, "report": done.report, "seconds": secs,
            "stale_removed": done.stale_removed, "not_restored": ["signing key", "admin token"]}),
        || print_restore(&done.report, &a.target, secs),
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
    if r.redacted > 0 {
        crate::outln!(
            "  redacted   {} leaves without content, as in the log (each with its redaction/v1 record)",
            r.redacted
        );
    }
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

/// The PostgreSQL target of `evl restore --to-postgres`, and the `[store]` section that names
/// it (no password: the URL may not hold one, the password file is named by its path).
fn postgres_target(url: &str, password_file: Option<&Path>, log_id: i32) -> Result<RestoreStore> {
    let password = password_file
        .map(evl_server::config::read_password_file)
        .transpose()?;
    let target = evl_ledger::store::postgres::PgTarget::parse(url, password.as_deref())
        .map_err(|e| anyhow::anyhow!("--to-postgres: {e}"))?
        .with_log(log_id);
    if target.url_has_password() {
        anyhow::bail!(
            "--to-postgres: the URL holds a password, which would be written to evl.toml; give it with --password-file instead"
        );
    }
    let mut t = toml::Table::new();
    t.insert("url".into(), toml::Value::String(url.to_owned()));
    if let Some(p) = password_file {
        let abs = std::path::absolute(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        t.insert(
            "password_file".into(),
            toml::Value::String(abs.display().to_string()),
        );
    }
    t.insert("log_id".into(), toml::Value::Integer(i64::from(log_id)));
    let mut doc = toml::Table::new();
    doc.insert("store".into(), toml::Value::Table(t));
    let config = format!(
        "# Written by `evl restore --to-postgres`: the store is this PostgreSQL database.\n{}",
        toml::to_string(&doc)?
    );
    Ok(RestoreStore::Postgres {
        target: Box::new(target),
        config,
    })
}
