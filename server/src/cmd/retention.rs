//! `evl cleanup --apply-retention` and `evl archive` (docs/operations/README.md, retention).

use crate::cli::{ArchiveArgs, CleanupArgs, Format};
use crate::output::{bytes, emit};
use anyhow::{Context as _, Result, bail};
use evl_ledger::AnchorPolicy;
use evl_ledger::pack::ExportRequest;
use evl_ledger::retention::{Candidate, RetentionPlan, RetentionPolicy, archive_anchor, uncovered};
use evl_ledger::store::redb_store::RedbStore;
use evl_sdk::pack::PackReport;
use evl_sdk::{AnchorSummary, TrustRoot};
use evl_server::data_dir::DataDir;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The `[retention]` policy from DATA/evl.toml (or `config`) and `EVL_` overrides.
fn policy(dir: &DataDir, config: Option<&PathBuf>) -> Result<RetentionPolicy> {
    if let Some(c) = config
        && !c.exists()
    {
        bail!("configuration file {} does not exist", c.display());
    }
    let file = config.cloned().unwrap_or_else(|| dir.config());
    Ok(evl_server::config::load(Some(&file), std::env::vars())?
        .retention
        .policy())
}

/// The verified anchor chain of the store (fails if it is broken).
fn chain(reader: &evl_ledger::LedgerReader<evl_ledger::store::any::AnyStore>) -> Result<Vec<AnchorSummary>> {
    let report = reader.verify_anchor_chain()?;
    if let Some(f) = report.failure {
        bail!(
            "the anchor chain does not verify at anchor {} ({}: {}); ages are measured from anchors\n  hint: run `evl verify --mode full`",
            f.seq,
            f.code,
            f.message
        );
    }
    Ok(report.verified)
}

/// Verifies an archive file against `trust` and returns its report.
fn verify_archive(path: &Path, trust: &TrustRoot) -> Result<PackReport> {
    let report = super::pack::verify_file(path, Some(trust.clone()), false)?.with_context(|| {
        format!(
            "the archive {} does not verify against this ledger",
            path.display()
        )
    })?;
    Ok(report.into_inner())
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn print_candidates(list: &[Candidate], what: &str) {
    for c in list {
        crate::outln!(
            "{what} leaf {:<8} {} {:<20} anchored {} (anchor {}, {} days)",
            c.leaf_index,
            c.id,
            c.node_type,
            c.anchored,
            c.anchor_seq,
            c.age_days
        );
    }
}

fn print_plan(plan: &RetentionPlan) {
    print_candidates(&plan.candidates, "REDACT");
    print_candidates(&plan.held, "HOLD  ");
    for i in &plan.damaged {
        crate::outln!("SKIP   leaf {i:<8} stored content is damaged (run `evl verify --mode full`)");
    }
}

pub fn cleanup(dir: &DataDir, a: &CleanupArgs) -> Result<ExitCode> {
    let policy = policy(dir, a.config.as_ref())?;
    let now = evl_ledger::time::now();
    let store_path = dir.store();
    let bytes_before = size_of(&store_path);
    let ledger = dir.writer(AnchorPolicy::default())?;
    let reader = ledger.reader();
    let plan = reader.retention_plan(&policy, now)?;
    if a.dry_run {
        drop(reader);
        drop(ledger);
        // PostgreSQL reclaims deleted content itself (VACUUM); only the redb file has a reclaim.
        let pending = dir.pg().is_none() && RedbStore::open(&store_path)?.reclaim_pending()?;
        let v =
            json!({"dry_run": true, "plan": plan, "reclaim_pending": pending, "store_bytes": bytes_before});
        emit(a.out.output, &v, || {
            if policy.rules.is_empty() {
                crate::outln!("no [retention] rules: nothing is ever redacted");
            }
            print_plan(&plan);
            crate::outln!(
                "dry run at {now}: {} node(s) would be redacted, {} on legal hold, {} damaged; nothing changed",
                plan.candidates.len(),
                plan.held.len(),
                plan.damaged.len()
            );
            if pending {
                crate::outln!(
                    "the store file still holds bytes of earlier redactions; a cleanup run rebuilds it"
                );
            }
        });
        return Ok(ExitCode::SUCCESS);
    }
    if !plan.candidates.is_empty() {
        match &a.archive {
            Some(path) => {
                let report = verify_archive(path, ledger.trust_root())?;
                let missing = uncovered(reader.origin(), &chain(&reader)?, &report, &plan.candidates)?;
                if let Some(first) = missing.first() {
                    let days = missing.iter().map(|c| c.age_days).min().unwrap_or(first.age_days);
                    bail!(
                        "the archive {} does not hold {} of the {} node(s) to redact (first: leaf {} {}, {}); nothing was redacted\n  hint: write a new archive with `evl archive --older-than {days} --out FILE`",
                        path.display(),
                        missing.len(),
                        plan.candidates.len(),
                        first.leaf_index,
                        first.id,
                        first.node_type
                    );
                }
            }
            None if a.no_archive => {}
            None => bail!("give --archive FILE (from `evl archive`) or --no-archive"),
        }
    }
    let requests: Vec<_> = plan.candidates.iter().filter_map(Candidate::request).collect();
    let redacted = ledger.redact(&requests, now)?;
    // Anchor the records, so that the redactions themselves are signed into the chain.
    let anchor = if redacted.is_empty() {
        None
    } else {
        Some(ledger.anchor()?.payload().seq)
    };
    drop(reader);
    drop(ledger);
    let bytes_redacted = size_of(&store_path);
    let pending = dir.pg().is_none() && RedbStore::open(&store_path)?.reclaim_pending()?;
    let reclaimed = if pending {
        Some(RedbStore::reclaim(&store_path)?)
    } else {
        None
    };
    let bytes_after = size_of(&store_path);
    let v = json!({
        "dry_run": false, "now": now, "redacted": redacted, "held": plan.held, "damaged": plan.damaged,
        "anchor": anchor, "archive": a.archive, "rebuilt": reclaimed.is_some(),
        "store_bytes_before": bytes_before, "store_bytes_after_redaction": bytes_redacted,
        "store_bytes_after": bytes_after,
    });
    emit(a.out.output, &v, || {
        if policy.rules.is_empty() {
            crate::outln!("no [retention] rules: nothing is ever redacted");
        }
        for r in &redacted {
            crate::outln!(
                "REDACTED leaf {:<8} {} {:<20} record {} (leaf {})",
                r.leaf_index,
                r.id,
                r.node_type,
                r.record,
                r.record_index
            );
        }
        print_candidates(&plan.held, "HOLD    ");
        match anchor {
            Some(seq) => crate::outln!(
                "{} node(s) redacted at {now}; records anchored in anchor {seq}",
                redacted.len()
            ),
            None => crate::outln!("nothing to redact at {now}"),
        }
        if reclaimed.is_some() {
            crate::outln!(
                "store rebuilt without the redacted bytes: {} before, {} after redaction, {} after rebuild",
                bytes(bytes_before),
                bytes(bytes_redacted),
                bytes(bytes_after)
            );
        }
    });
    Ok(ExitCode::SUCCESS)
}

pub fn archive(dir: &DataDir, a: &ArchiveArgs) -> Result<ExitCode> {
    let policy = policy(dir, a.config.as_ref())?;
    let types = policy.types();
    if types.is_empty() {
        bail!("no [retention] rules: retention removes nothing, so there is nothing to archive");
    }
    let now = evl_ledger::time::now();
    let ledger = dir.writer(AnchorPolicy::default())?;
    let reader = ledger.reader();
    let verified = chain(&reader)?;
    let to = archive_anchor(&verified, a.older_than, now)?;
    let req = ExportRequest {
        from_anchor: None,
        to_anchor: Some(to.seq),
        filter: Some(types.clone()),
        prev_export: None,
    };
    let summary = super::pack::write_atomically(&a.output, |w| Ok(ledger.export(&req, w, &mut |_| {})?))?;
    // Check what was written, as a verifier will, and what of today's plan it holds.
    let report = verify_archive(&a.output, ledger.trust_root())?;
    let plan = reader.retention_plan(&policy, now)?;
    let missing = uncovered(reader.origin(), &verified, &report, &plan.candidates)?.len();
    let ex = report.export.as_ref();
    let v = json!({
        "file": a.output, "pack_id": report.pack_id, "to_anchor": to.seq, "tree_size": to.tree_size,
        "anchor_time": to.time, "filter": types, "leaves": ex.map(|e| e.leaves),
        "included": ex.map(|e| e.included), "redacted": ex.map(|e| e.redacted),
        "pack_bytes": summary.pack_bytes, "candidates": plan.candidates.len(), "candidates_not_held": missing,
    });
    let format = if a.json { Format::Json } else { Format::Table };
    emit(format, &v, || {
        crate::outln!(
            "wrote archive {}: export to anchor {} ({}, tree size {}), types {}: {} node(s), {} leaves already redacted, {}",
            a.output.display(),
            to.seq,
            to.time,
            to.tree_size,
            types.join(", "),
            ex.map_or(0, |e| e.included),
            ex.map_or(0, |e| e.redacted),
            bytes(summary.pack_bytes)
        );
        crate::outln!(
            "it holds {} of the {} node(s) retention would redact now; verify it offline: evl verify-pack {} --trust-root trust-root.json",
            plan.candidates.len() - missing,
            plan.candidates.len(),
            a.output.display()
        );
    });
    Ok(ExitCode::SUCCESS)
}
