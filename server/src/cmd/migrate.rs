//! `evl migrate`.

use crate::cli::{Format, MigrateArgs};
use crate::output::{bytes, emit};
use anyhow::Result;
use evl_server::data_dir::DataDir;
use evl_server::migrate::{Phase, migrate};
use std::process::ExitCode;

pub fn run(dir: &DataDir, a: &MigrateArgs) -> Result<ExitCode> {
    if a.to_postgres.is_some() || a.to_redb.is_some() {
        return copy(dir, a);
    }
    let format = a.out.output;
    let started = std::time::Instant::now();
    let result = with_bars(format, ("migrating", "checking the new store"), |p| {
        migrate(dir, a.to_format, p)
    });
    let m = match result {
        Ok(m) => m,
        Err(e) => return failed(format, e),
    };
    let secs = started.elapsed().as_secs_f64();
    emit(
        format,
        &serde_json::json!({"ok": true, "migrated": m, "seconds": secs}),
        || {
            for s in &m.stale_removed {
                crate::outln!(
                    "removed {}: the temporary directory of a migration that did not finish",
                    s.display()
                );
            }
            if !m.changed {
                crate::outln!("{} is already {}: nothing to do", dir.store().display(), m.to);
                return;
            }
            crate::outln!(
                "MIGRATED {} from {} to {}  (tree size {}, {} nodes, {:.0} nodes/s)",
                dir.store().display(),
                m.from,
                m.to,
                m.tree_size,
                m.nodes,
                m.nodes as f64 / secs.max(1e-9)
            );
            crate::outln!(
                "  verified: every node and stored hash; {} signed checkpoints and {} anchors byte for byte; {} redacted leaves kept redacted",
                m.checkpoints,
                m.anchors,
                m.redacted
            );
            crate::outln!("  file: {} → {}", bytes(m.old_bytes), bytes(m.new_bytes));
            if let Some(k) = &m.kept {
                crate::outln!(
                    "  the old store is kept as {} (delete it once you no longer need to go back)",
                    k.display()
                );
            }
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// `evl migrate --to-postgres URL` / `--to-redb FILE`: a verified copy into a new store.
fn copy(dir: &DataDir, a: &MigrateArgs) -> Result<ExitCode> {
    use evl_server::migrate::{CopyTarget, copy_store};
    let format = a.out.output;
    let to = match (&a.to_postgres, &a.to_redb) {
        (Some(url), _) => {
            let password = a
                .password_file
                .as_deref()
                .map(evl_server::config::read_password_file)
                .transpose()?;
            let t = evl_ledger::store::postgres::PgTarget::parse(url, password.as_deref())
                .map_err(|e| anyhow::anyhow!("--to-postgres: {e}"))?;
            if t.url_has_password() {
                anyhow::bail!(
                    "--to-postgres: the URL holds a password, which any user can read from the process list; give it with --password-file instead"
                );
            }
            CopyTarget::Postgres(Box::new(t.with_log(a.log_id)))
        }
        (None, Some(f)) => CopyTarget::Redb(f.clone()),
        (None, None) => unreachable!("checked by the caller"),
    };
    let to_postgres = matches!(to, CopyTarget::Postgres(_));
    let started = std::time::Instant::now();
    let result = with_bars(format, ("copying", "checking the copy"), |p| {
        copy_store(dir, to, p)
    });
    let c = match result {
        Ok(c) => c,
        Err(e) => return failed(format, e),
    };
    let secs = started.elapsed().as_secs_f64();
    emit(
        format,
        &serde_json::json!({"ok": true, "copied": c, "seconds": secs}),
        || {
            crate::outln!(
                "COPIED {} → {}  (tree size {}, {} nodes, {:.0} nodes/s)",
                c.from,
                c.to,
                c.tree_size,
                c.nodes,
                c.nodes as f64 / secs.max(1e-9)
            );
            crate::outln!(
                "  verified: every node and stored hash; {} signed checkpoints and {} anchors byte for byte; {} redacted leaves kept redacted",
                c.checkpoints,
                c.anchors,
                c.redacted
            );
            if to_postgres {
                crate::outln!(
                    "  to switch: stop evl serve, set [store] url in {}/evl.toml (or EVL_STORE__URL), start it again",
                    dir.root().display()
                );
            } else {
                crate::outln!(
                    "  to switch: stop evl serve, move the file to {}/ledger.redb, remove [store] url, start it again",
                    dir.root().display()
                );
            }
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `work` with the two progress bars of a migration or a copy (leaves copied, then nodes
/// of the new store checked), drawn on a terminal with table output; `what` names the phases.
fn with_bars<T>(
    format: Format,
    what: (&str, &str),
    work: impl FnOnce(&mut dyn FnMut(Phase, u64, u64)) -> T,
) -> T {
    let copy = super::pack::bar(
        0,
        &format!(
            "{{spinner}} {}: {{pos}}/{{len}} leaves copied and verified ({{per_sec}})",
            what.0
        ),
        format == Format::Table,
    );
    let check = super::pack::bar(
        0,
        &format!("{{spinner}} {}: {{pos}}/{{len}} nodes ({{per_sec}})", what.1),
        format == Format::Table,
    );
    let out = work(&mut |phase, done, total| {
        let b = match phase {
            Phase::Copy => &copy,
            Phase::Verify => {
                if !copy.is_finished() {
                    copy.finish_and_clear();
                }
                &check
            }
        };
        b.set_length(total);
        b.set_position(done);
    });
    copy.finish_and_clear();
    check.finish_and_clear();
    out
}

/// A failed migration or copy. JSON: one document with the code on stdout, exit 1; table: the
/// error and its next step (the caller's error path).
fn failed(format: Format, e: evl_server::migrate::MigrateError) -> Result<ExitCode> {
    if format == Format::Json {
        emit(
            format,
            &serde_json::json!({"ok": false, "code": e.code(), "message": e.to_string()}),
            || {},
        );
        return Ok(ExitCode::from(1));
    }
    Err(e.into())
}
