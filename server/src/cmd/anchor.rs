//! `evl anchor …`.

use crate::cli::AnchorCommand;
use crate::output::emit;
use anyhow::{Context as _, Result, bail};
use evl_ledger::AnchorPolicy;
use evl_sdk::Anchor;
use evl_server::data_dir::DataDir;
use std::process::ExitCode;

fn summary(a: &Anchor) -> serde_json::Value {
    let p = a.payload();
    serde_json::json!({
        "seq": p.seq, "segment": p.segment, "id": a.id(), "tree_size": p.tree_size, "root": p.root,
        "time": p.time, "prev": p.prev, "segment_reason": p.segment_reason, "archived": p.archived,
    })
}

fn print_summary(a: &Anchor) {
    let p = a.payload();
    crate::outln!(
        "anchor {} (segment {}) at tree size {}, {}  {}",
        p.seq,
        p.segment,
        p.tree_size,
        p.time,
        a.id()
    );
    if let Some(r) = &p.segment_reason {
        crate::outln!("  new segment: {r}");
    }
}

pub fn run(dir: &DataDir, cmd: AnchorCommand) -> Result<ExitCode> {
    match cmd {
        AnchorCommand::Create { out } => {
            let a = dir.writer(AnchorPolicy::default())?.anchor()?;
            emit(out.output, &summary(&a), || print_summary(&a));
        }
        AnchorCommand::NewChain { reason, out } => {
            let a = dir.writer(AnchorPolicy::default())?.new_chain(&reason)?;
            emit(out.output, &summary(&a), || print_summary(&a));
        }
        AnchorCommand::List { out } => {
            let anchors = dir.reader()?.anchors()?;
            let json: Vec<_> = anchors
                .iter()
                .map(|s| match &s.anchor {
                    Ok(a) => summary(a),
                    Err(e) => serde_json::json!({"seq": s.seq, "error": {"code": e.code().as_str(), "message": e.to_string()}}),
                })
                .collect();
            emit(out.output, &json, || {
                if anchors.is_empty() {
                    crate::outln!("no anchors yet (create one with `evl anchor create`)");
                }
                for s in &anchors {
                    match &s.anchor {
                        Ok(a) => print_summary(a),
                        Err(e) => crate::outln!("anchor {}: UNREADABLE {e}", s.seq),
                    }
                }
            });
        }
        AnchorCommand::Inspect { seq, out } => {
            let anchors = dir.reader()?.anchors()?;
            let Some(s) = anchors.into_iter().find(|s| s.seq == seq) else {
                bail!("no anchor {seq}\n  hint: `evl anchor list` shows the sequence numbers");
            };
            let a = s.anchor.with_context(|| format!("anchor {seq} is unreadable"))?;
            let envelope: serde_json::Value = serde_json::from_slice(&a.to_json())?;
            let v = serde_json::json!({"id": a.id(), "payload": a.payload(), "envelope": envelope});
            emit(out.output, &v, || {
                crate::outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
            });
        }
        AnchorCommand::Verify { latest, all: _, out } => {
            let report = dir.reader()?.verify_anchor_chain()?;
            let ok = report.failure.is_none();
            let shown: Vec<_> = if latest {
                report.verified.last().cloned().into_iter().collect()
            } else {
                report.verified.clone()
            };
            emit(
                out.output,
                &serde_json::json!({"ok": ok, "verified": shown, "breaks": report.breaks, "archived": report.archived, "failure": report.failure}),
                || {
                    for a in &shown {
                        crate::outln!(
                            "ok  anchor {} (segment {}) size {} signed by {} at {}",
                            a.seq,
                            a.segment,
                            a.tree_size,
                            a.key,
                            a.time
                        );
                    }
                    for b in &report.breaks {
                        crate::outln!(
                            "segment {} starts at anchor {}: {} (archived segment {} ends at anchor {})",
                            b.segment,
                            b.seq,
                            b.reason,
                            b.archived.segment,
                            b.archived.last_seq
                        );
                    }
                    match &report.failure {
                        None => crate::outln!("anchor chain OK: {} anchors verified", report.verified.len()),
                        Some(f) => {
                            crate::outln!("FAIL {} at anchor {}: {}", f.code, f.seq, f.message);
                            crate::outln!(
                                "  hint: after investigating, `evl anchor new-chain --reason \"...\"` starts a new segment linked to the last good anchor"
                            );
                        }
                    }
                },
            );
            if !ok {
                return Ok(ExitCode::FAILURE);
            }
        }
        AnchorCommand::Export { latest: _, output } => {
            let anchors = dir.reader()?.anchors()?;
            let Some(last) = anchors.into_iter().last() else {
                bail!("no anchors yet\n  hint: `evl anchor create` makes one");
            };
            let a = last
                .anchor
                .with_context(|| format!("the latest anchor ({}) is unreadable", last.seq))?;
            std::fs::write(&output, a.to_json()).with_context(|| format!("writing {}", output.display()))?;
            eprintln!("wrote anchor {} to {}", a.payload().seq, output.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
