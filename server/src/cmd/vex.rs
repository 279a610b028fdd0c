//! `evl vex ingest | consensus | replay` (SPEC.md §14, docs/vex-ingest.md).

use crate::cli::{Format, VexCommand};
use crate::output::emit;
use anyhow::{Context as _, Result, anyhow};
use evl_ledger::vex::{self, IngestReceipts};
use evl_ledger::{AnchorPolicy, LedgerError};
use evl_sdk::vex::{GroupKey, Mode, VexError};
use evl_server::data_dir::DataDir;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(dir: &DataDir, cmd: VexCommand) -> Result<ExitCode> {
    match cmd {
        VexCommand::Ingest { files, out } => ingest(dir, &files, out.output),
        VexCommand::Consensus {
            vuln,
            product,
            subcomponent,
            mode,
            as_of,
            policy,
            out,
        } => consensus(
            dir,
            &vuln,
            &product,
            subcomponent.as_deref(),
            mode,
            as_of.as_deref(),
            policy.as_deref(),
            out.output,
        ),
        VexCommand::Replay { node_id, out } => replay(dir, &node_id, out.output),
    }
}

fn receipt_json(o: &evl_ledger::AppendOutcome) -> Value {
    json!({"created": o.created, "receipt": o.receipt})
}

fn ingest(dir: &DataDir, files: &[PathBuf], format: Format) -> Result<ExitCode> {
    let ledger = dir.writer(AnchorPolicy::DEFAULT_INTERVAL)?;
    let mut done: Vec<(String, IngestReceipts)> = Vec::new();
    for f in files {
        let raw = super::append::read_input(f)?;
        let out = vex::ingest_and_append(&ledger, &raw).map_err(|e| {
            let stored = if done.is_empty() {
                String::new()
            } else {
                format!(" ({} earlier file(s) were stored)", done.len())
            };
            anyhow!("{}: {e}{stored}", f.display())
        })?;
        done.push((f.display().to_string(), out));
    }
    let json: Vec<Value> = done
        .iter()
        .map(|(file, o)| {
            json!({
                "file": file,
                "format": o.format.as_str(),
                "format_version": o.format_version,
                "document": receipt_json(&o.document),
                "statements": o.statements.iter().map(receipt_json).collect::<Vec<_>>(),
                "findings": o.findings,
            })
        })
        .collect();
    emit(format, &json, || {
        for (file, o) in &done {
            let new = o.statements.iter().filter(|s| s.created).count();
            crate::outln!(
                "{file}: {} {}, document {} (leaf {}, {})",
                o.format.as_str(),
                o.format_version,
                o.document.receipt.node_id,
                o.document.receipt.leaf_index,
                if o.document.created {
                    "appended"
                } else {
                    "already present"
                }
            );
            crate::outln!(
                "  {} statement(s): {new} appended, {} already present",
                o.statements.len(),
                o.statements.len() - new
            );
            for f in &o.findings {
                crate::outln!(
                    "  finding {:<36} {}  {}",
                    f.code().as_str(),
                    f.pointer(),
                    f.message()
                );
            }
        }
        if let Some((_, last)) = done.last() {
            crate::outln!("tree size {}", last.document.receipt.inclusion.size());
        }
    });
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn consensus(
    dir: &DataDir,
    vuln: &str,
    product: &str,
    subcomponent: Option<&str>,
    mode: Option<Mode>,
    as_of: Option<&str>,
    policy: Option<&str>,
    format: Format,
) -> Result<ExitCode> {
    let mut key = GroupKey::new(vuln, product).context("--vuln/--product")?;
    if let Some(s) = subcomponent {
        key = key.with_subcomponent(s).context("--subcomponent")?;
    }
    let as_of = match as_of {
        None => evl_ledger::time::now(),
        Some(t) => vex::parse_as_of(t).with_context(|| {
            format!("--as-of {t:?} is not an RFC 3339 date-time with an offset (e.g. 2026-01-01T00:00:00Z)")
        })?,
    };
    let policy = policy.map(super::parse_id).transpose()?;
    let ledger = dir.writer(AnchorPolicy::DEFAULT_INTERVAL)?;
    let rec = vex::compute_consensus(&ledger, &key, mode, as_of, policy)?;
    let v = rec.result.node().value();
    emit(
        format,
        &json!({"created": rec.appended.created, "consensus": v, "receipt": rec.appended.receipt}),
        || {
            let r = &rec.result;
            crate::outln!(
                "consensus {} (leaf {}, {})",
                rec.appended.receipt.node_id,
                rec.appended.receipt.leaf_index,
                if rec.appended.created {
                    "appended"
                } else {
                    "already present"
                }
            );
            crate::outln!("  key          {} × {}", key.vuln_id(), key.product_key());
            if let Some(s) = key.subcomponent_key() {
                crate::outln!("  subcomponent {s}");
            }
            crate::outln!(
                "  mode         {}   as_of {}",
                v["mode"].as_str().unwrap_or("?"),
                v["as_of"].as_str().unwrap_or("?")
            );
            match r.status() {
                Some(s) => crate::outln!(
                    "  status       {s}{}   confidence {} ppm",
                    r.justification().map(|j| format!(" ({j})")).unwrap_or_default(),
                    r.confidence_ppm()
                ),
                None => crate::outln!("  status       none (no eligible statement)"),
            }
            match r.conflict() {
                Some(k) => crate::outln!("  conflict     {} (dissent {} ppm)", k.as_str(), r.dissent_ppm()),
                None => crate::outln!("  conflict     none"),
            }
            crate::outln!(
                "  statements   {} from the log at tree size {}",
                rec.statements.len(),
                v["checkpoint"]["tree_size"]
            );
            for c in v["contributors"].as_array().into_iter().flatten() {
                crate::outln!(
                    "    {:<20} {:<14} {:>9} ppm  {}{}",
                    c["status"].as_str().unwrap_or("?"),
                    c["tier"].as_str().unwrap_or("?"),
                    c["weight_ppm"],
                    c["issuer_id"].as_str().unwrap_or("?"),
                    if c["eligible"] == json!(true) {
                        ""
                    } else {
                        "  (ineligible)"
                    }
                );
            }
            for i in v["ignored"].as_array().into_iter().flatten() {
                crate::outln!(
                    "    ignored {} {}",
                    i["reason"].as_str().unwrap_or("?"),
                    i["statement_digest"].as_str().unwrap_or("?")
                );
            }
            for f in v["findings"].as_array().into_iter().flatten() {
                crate::outln!(
                    "  finding      {} {}",
                    f["code"].as_str().unwrap_or("?"),
                    f["detail"].as_str().unwrap_or("")
                );
            }
        },
    );
    Ok(ExitCode::SUCCESS)
}

fn replay(dir: &DataDir, node_id: &str, format: Format) -> Result<ExitCode> {
    let id = super::parse_id(node_id)?;
    let reader = dir.reader()?;
    match vex::replay_from_log(&reader, &id) {
        Ok(r) => {
            let v = r.result.node().value();
            let statements: Vec<Value> = r
                .statements
                .iter()
                .map(|(id, i)| json!({"node_id": id, "leaf_index": i.get()}))
                .collect();
            emit(
                format,
                &json!({
                    "ok": true,
                    "node_id": id,
                    "leaf_index": r.leaf_index.get(),
                    "key": v["key"],
                    "mode": v["mode"],
                    "as_of": v["as_of"],
                    "status": v["status"],
                    "confidence_ppm": v["confidence_ppm"],
                    "policy": r.policy,
                    "issuers": r.issuers,
                    "statements": statements,
                    "checkpoint": v["checkpoint"],
                }),
                || {
                    crate::outln!(
                        "OK consensus {id} (leaf {}) replays byte for byte (vex-consensus/1)",
                        r.leaf_index.get()
                    );
                    crate::outln!(
                        "  key          {} × {}",
                        v["key"]["vuln_id"].as_str().unwrap_or("?"),
                        v["key"]["product_key"].as_str().unwrap_or("?")
                    );
                    crate::outln!(
                        "  result       {} ({} ppm), mode {}, as_of {}",
                        v["status"].as_str().unwrap_or("no status"),
                        v["confidence_ppm"],
                        v["mode"].as_str().unwrap_or("?"),
                        v["as_of"].as_str().unwrap_or("?")
                    );
                    crate::outln!("  policy       {}", r.policy);
                    crate::outln!("  issuers      {}", r.issuers);
                    crate::outln!(
                        "  statements   {}, all in this log's tree of size {} (root {})",
                        r.statements.len(),
                        r.checkpoint.size(),
                        r.checkpoint.root().to_base64()
                    );
                },
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(LedgerError::Vex(e)) => {
            let pointer = match &e {
                VexError::Mismatch { pointer } => Some(pointer.clone()),
                VexError::Invalid { pointer, .. } => Some(pointer.clone()),
                _ => None,
            };
            emit(
                format,
                &json!({"ok": false, "node_id": id, "code": e.code().as_str(), "pointer": pointer, "message": e.to_string()}),
                || {
                    let at = pointer
                        .as_deref()
                        .map(|p| format!(" at {}", if p.is_empty() { "the root" } else { p }))
                        .unwrap_or_default();
                    crate::outln!("FAIL {}{at}: consensus {id} does not replay", e.code());
                    crate::outln!("  {e}");
                },
            );
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
