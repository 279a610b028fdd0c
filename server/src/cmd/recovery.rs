//! `evl mark-corrupted` and `evl recover` (docs/operations/README.md, "verify found damage").

use crate::cli::{MarkCorruptedArgs, RecoverArgs};
use crate::output::emit;
use anyhow::{Context as _, Result};
use evl_ledger::AnchorPolicy;
use evl_sdk::LeafIndex;
use evl_server::data_dir::DataDir;
use std::process::ExitCode;

pub fn mark(dir: &DataDir, args: &MarkCorruptedArgs) -> Result<ExitCode> {
    let leaf = args
        .index
        .map(|i| LeafIndex::new(i).with_context(|| format!("leaf index {i} is out of range")))
        .transpose()?;
    let node = args.node.as_deref().map(super::parse_id).transpose()?;
    let ledger = dir.writer(AnchorPolicy::default())?;
    let m = ledger.mark_corrupted(leaf, node, &args.reason)?;
    emit(args.out.output, &m, || {
        let r = &m.record;
        if m.created {
            crate::outln!(
                "recorded: leaf {} ({}) is corrupted; record {} appended at leaf {}",
                r.corrupted_leaf,
                r.corrupted,
                r.id,
                r.leaf_index
            );
        } else {
            crate::outln!(
                "already recorded: leaf {} ({}) by {} at leaf {}; nothing appended",
                r.corrupted_leaf,
                r.corrupted,
                r.id,
                r.leaf_index
            );
        }
        crate::outln!(
            "reads of {} now fail with CORRUPTED; `evl verify` reports it as recorded",
            r.corrupted
        );
    });
    Ok(ExitCode::SUCCESS)
}

/// `evl recover` works on a copy of the store and puts it in place only after a full verify of
/// the repaired copy passes: a repair can never leave the store less openable than it was. The
/// original stays open read-only meanwhile (no other writer can start), the copy is made in the
/// same directory (so the swap is a rename), and a failed or incomplete repair removes the copy
/// and leaves the original byte for byte as it was.
pub fn recover(dir: &DataDir, args: &RecoverArgs) -> Result<ExitCode> {
    let mut file = args
        .from_backup
        .as_ref()
        .map(|p| {
            std::fs::File::open(p)
                .map(std::io::BufReader::new)
                .with_context(|| format!("opening {}", p.display()))
        })
        .transpose()?;
    if dir.pg().is_some() {
        // PostgreSQL: in place. A repair is one transaction that writes only values the signed
        // roots prove (docs/design.md, "Recovery"), so there is no copy to make or swap; a
        // repair that fails writes nothing.
        let ledger = dir.writer(AnchorPolicy::default())?;
        let started = std::time::Instant::now();
        let report = ledger.recover(file.as_mut().map(|f| f as &mut dyn std::io::Read))?;
        drop(ledger);
        super::verify::save_report(dir, "recover", &report.after, started.elapsed().as_secs_f64());
        return Ok(print_report(args, &report, true));
    }
    let original = dir.store();
    // Holding a read-only handle keeps other writers (evl serve) out while we work.
    let hold = dir.reader()?;
    // A temporary path beside the store (removed on drop unless persisted over the store).
    let copy = tempfile::Builder::new()
        .prefix("ledger.redb.recover-")
        .tempfile_in(dir.root())
        .context("creating the recovery copy beside the store")?
        .into_temp_path();
    std::fs::copy(&original, &copy).with_context(|| {
        format!(
            "copying {} to {} to repair the copy (recover needs as much free space as the store takes)",
            original.display(),
            copy.display()
        )
    })?;
    let ledger = dir.writer_at(&copy, AnchorPolicy::default()).with_context(|| {
        "the store cannot be opened for writing, so it cannot be repaired in place; restore the latest backups into a new data directory (`evl restore --backup FILE --target DIR`)"
    })?;
    let started = std::time::Instant::now();
    let report = ledger.recover(file.as_mut().map(|f| f as &mut dyn std::io::Read))?;
    drop(ledger);
    // Swap only after the full verify of the repaired copy passed (`report.after`).
    let swapped = report.after.ok() && report.repaired_anything();
    if swapped {
        std::fs::File::open(&copy)
            .and_then(|f| f.sync_all())
            .and_then(|()| copy.persist(&original).map_err(|e| e.error))
            .and_then(|()| std::fs::File::open(dir.root()).and_then(|d| d.sync_all()))
            .with_context(|| format!("putting the repaired copy in place of {}", original.display()))?;
    }
    drop(hold);
    super::verify::save_report(dir, "recover", &report.after, started.elapsed().as_secs_f64());
    Ok(print_report(args, &report, false))
}

/// Prints what `evl recover` did; `in_place` for a store repaired where it is (PostgreSQL)
/// rather than through a copy that is swapped in only when it verifies (redb).
fn print_report(
    args: &RecoverArgs,
    report: &evl_ledger::recovery::RecoveryReport,
    in_place: bool,
) -> ExitCode {
    emit(args.out.output, report, || {
        let recorded = report.found.iter().filter(|f| f.code == "CORRUPTED").count();
        crate::outln!(
            "found: {} failure(s), {recorded} recorded corruption(s)",
            report.found.len() - recorded
        );
        for n in &report.nodes {
            match n.was_recorded_by {
                Some(r) => crate::outln!(
                    "repaired: node at leaf {} ({}) from the backup; it had been recorded by {r}, which stays in the log",
                    n.leaf_index,
                    n.node_id
                ),
                None => crate::outln!(
                    "repaired: node at leaf {} ({}) from the backup",
                    n.leaf_index,
                    n.node_id
                ),
            }
        }
        for (level, k) in &report.hashes {
            crate::outln!("repaired: stored hash {level}/{k} (recomputed from the leaves)");
        }
        for i in &report.ids {
            crate::outln!("repaired: id-map entry of leaf {i}");
        }
        for i in &report.still_recorded {
            crate::outln!("still recorded: leaf {i} (the backup does not hold it)");
        }
        if !report.repaired_anything() {
            crate::outln!("nothing to repair");
        }
        for f in &report.after.failures {
            let at = f.leaf_index.map(|i| format!(" leaf {i}")).unwrap_or_default();
            crate::outln!("FAIL {:<18} {}{at}: {}", f.code, f.what, f.message);
        }
        if report.after.ok() {
            crate::outln!("full verify after recovery: OK");
        } else if in_place {
            crate::outln!(
                "full verify after the repairs: {} failure(s) remain (see `evl verify --mode full`); what was repaired stays repaired",
                report.after.failures.len()
            );
        } else {
            crate::outln!(
                "full verify of the repaired copy: {} failure(s) remain (see `evl verify --mode full`); the store was not changed",
                report.after.failures.len()
            );
        }
    });
    if report.after.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
