//! `evl migrate`.

use crate::cli::{Format, MigrateArgs};
use crate::output::{bytes, emit};
use anyhow::Result;
use evl_server::data_dir::DataDir;
use evl_server::migrate::{Phase, migrate};
use std::process::ExitCode;

pub fn run(dir: &DataDir, a: &MigrateArgs) -> Result<ExitCode> {
    let format = a.out.output;
    let started = std::time::Instant::now();
    let copy = super::pack::bar(
        0,
        "{spinner} migrating: {pos}/{len} leaves copied and verified ({per_sec})",
        format == Format::Table,
    );
    let check = super::pack::bar(
        0,
        "{spinner} checking the new store: {pos}/{len} nodes ({per_sec})",
        format == Format::Table,
    );
    let result = migrate(dir, a.to_format, &mut |phase, done, total| {
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
    let m = match result {
        Ok(m) => m,
        // JSON: one document with the code on stdout; table: the error and its next step.
        Err(e) if format == Format::Json => {
            emit(
                format,
                &serde_json::json!({"ok": false, "code": e.code(), "message": e.to_string()}),
                || {},
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
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
