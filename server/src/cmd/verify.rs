//! `evl verify --mode quick|full`; the report is also written to DATA/last-verify.json.

use crate::cli::{Format, VerifyArgs, VerifyMode};
use crate::output::emit;
use anyhow::Result;
use evl_ledger::verify::{Mode, Report, verify};
use evl_server::data_dir::DataDir;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::process::ExitCode;

pub fn run(dir: &DataDir, args: &VerifyArgs) -> Result<ExitCode> {
    let reader = dir.reader()?;
    let mode = match args.mode {
        VerifyMode::Full => Mode::Full,
        VerifyMode::Quick => Mode::Quick {
            stride: args.stride.max(1),
        },
    };
    let bar = if std::io::stderr().is_terminal() && args.out.output == Format::Table {
        let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} verifying nodes {bar:40} {pos}/{len} ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let report = verify(&reader, mode, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    save_report(dir, "verify", &report, secs);
    emit(args.out.output, &report, || {
        crate::outln!(
            "{:?} verify of tree size {}: {} nodes ({}) re-hashed, {} interior hashes, {} checkpoints, {} anchors in {secs:.2}s",
            args.mode,
            report.tree_size,
            report.nodes_checked,
            crate::output::bytes(report.node_bytes),
            report.hashes_checked,
            report.checkpoints_checked,
            report.anchors_verified
        );
        for f in &report.failures {
            let at = match (f.leaf_index, f.position) {
                (Some(i), _) => format!("leaf {i}"),
                (None, Some((l, k))) if f.what == "hash" => format!("hash {l}/{k}"),
                (None, Some((_, k))) => format!("{} {k}", f.what),
                _ => f.what.to_string(),
            };
            crate::outln!("FAIL {:<18} {at}: {}", f.code, f.message);
        }
        for f in &report.recorded {
            crate::outln!(
                "RECORDED {:<14} leaf {}: {}",
                f.code,
                f.leaf_index.unwrap_or_default(),
                f.message
            );
        }
        for r in &report.redactions {
            crate::outln!(
                "REDACTED leaf {}: {} by {} (leaf {}) at {}, policy {}",
                r.leaf_index,
                r.id,
                r.record,
                r.record_index,
                r.time,
                r.policy
            );
        }
        if !report.redactions.is_empty() {
            crate::outln!(
                "{} redacted leaf(s), each with its redaction/v1 record",
                report.redactions.len()
            );
        }
        if report.ok() {
            crate::outln!("OK");
        } else {
            crate::outln!("{} failure(s)", report.failures.len());
        }
    });
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes `report` to DATA/last-verify.json (atomically: a temporary file, then a rename), for
/// `evl diagnostics`. A failure to write is a warning: verification itself does not need a
/// writable data directory.
pub(crate) fn save_report(dir: &DataDir, by: &str, report: &Report, seconds: f64) {
    let doc = serde_json::json!({
        "by": by,
        "time": evl_ledger::time::now(),
        "seconds": seconds,
        "ok": report.ok(),
        "report": report,
    });
    let path = dir.last_verify();
    let tmp = path.with_extension("json.tmp");
    let r = serde_json::to_vec_pretty(&doc)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = r {
        eprintln!("warning: could not write {}: {e}", path.display());
    }
}
