//! `evl bench`: append, proof and verify throughput on 1 KB nodes, each beside the physical
//! reference measured in the same run (docs/benchmarks.md).

use crate::cli::BenchArgs;
use crate::output::{bytes, emit};
use anyhow::{Context as _, Result};
use evl_ledger::profile::{Phase, Profile};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::verify::{Mode, verify};
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::{Node, NodeId, SecretKey, sha256};
use std::process::ExitCode;
use std::time::Instant;

/// Bytes of padding that make each node about 1 KB.
const PAD: usize = 960;

/// Node `i`, already canonical (members sorted, no whitespace), about 1 KB.
fn doc(i: u64) -> Vec<u8> {
    let seed = sha256(&i.to_be_bytes()).to_hex();
    let pad: String = seed.chars().cycle().take(PAD).collect();
    format!(r#"{{"i":{i},"pad":"{pad}","type":"x-bench"}}"#).into_bytes()
}

fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024)
}

/// The least time a reference is measured for: shorter timings are mostly clock resolution.
const MIN_REFERENCE_SECS: f64 = 0.3;
/// No single core hashes faster than this (SHA-NI runs at about 2 GB/s; 16 GiB/s leaves room
/// for every core in sight): a faster "reference" timed nothing, and no ratio is printed from it.
const MAX_PLAUSIBLE_SHA256_BYTES_PER_S: f64 = 16.0 * 1024.0 * 1024.0 * 1024.0;
/// Canonicalizing and hashing a ~1 KB node takes more than 100 ns on any core.
const MAX_PLAUSIBLE_JCS_NODES_PER_S: f64 = 1e7;

/// Runs `pass` (which handles `units` units and returns a value that depends on all of them)
/// until [`MIN_REFERENCE_SECS`] have passed, and returns units per second; `None` if the rate
/// is impossible (above `max`, or not positive), so that no ratio is computed from it.
fn reference_rate(units: f64, max: f64, mut pass: impl FnMut() -> u8) -> Option<f64> {
    let t = Instant::now();
    let mut passes = 0u64;
    let mut acc = 0u8;
    while passes == 0 || t.elapsed().as_secs_f64() < MIN_REFERENCE_SECS {
        acc ^= pass();
        passes += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    std::hint::black_box(acc);
    let rate = units * passes as f64 / secs;
    (rate.is_finite() && rate > 0.0 && rate <= max).then_some(rate)
}

/// `value / reference`, when the reference is a real measurement.
fn ratio(value: f64, reference: Option<f64>) -> Option<f64> {
    reference.map(|r| value / r)
}

/// A ratio for the table, or why there is none.
fn shown(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a (reference impossible)".to_owned(), |r| format!("{r:.2}"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Where the append time went, in µs per node, from the ledger's counters: the serial steps
/// of a group commit (the writer lock is held through dedup, sequence, write and sync), then
/// the receipts, built outside the lock while the next group commits.
fn append_steps(before: &Profile, after: &Profile, n: u64) -> Vec<(&'static str, f64)> {
    let per = |p: Phase| (after.get(p) - before.get(p)) * 1e6 / n.max(1) as f64;
    vec![
        ("dedup", per(Phase::Dedup)),
        ("sequence", per(Phase::Sequence)),
        ("write", per(Phase::Write)),
        ("of which id map", per(Phase::IdMap)),
        ("sync", per(Phase::Sync)),
        ("receipts", per(Phase::Receipts)),
    ]
}

pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    let n = args.nodes.max(1);
    let tmp = match &args.dir {
        Some(d) => tempfile::Builder::new().prefix("evl-bench-").tempdir_in(d),
        None => tempfile::Builder::new().prefix("evl-bench-").tempdir(),
    }
    .context("creating the temporary bench directory")?;

    // The references run on the bench's own nodes, generated once, outside the timed loops.
    let sample = n.min(10_000);
    let docs: Vec<Vec<u8>> = (0..sample).map(doc).collect();
    let canonical_bytes: u64 = docs.iter().map(|d| d.len() as u64).sum();
    // Reference 1: in-memory JCS + SHA-256 (Node::from_json), one thread.
    let jcs_rate = reference_rate(sample as f64, MAX_PLAUSIBLE_JCS_NODES_PER_S, || {
        let mut acc = 0u8;
        for d in &docs {
            acc ^= Node::from_json(std::hint::black_box(d)).map_or(0, |x| x.id().digest().as_bytes()[0]);
        }
        acc
    });
    // Reference 2: SHA-256 over the same bytes, every digest consumed.
    let sha_bytes_per_s = reference_rate(canonical_bytes as f64, MAX_PLAUSIBLE_SHA256_BYTES_PER_S, || {
        let mut acc = 0u8;
        for d in &docs {
            acc ^= sha256(std::hint::black_box(d)).as_bytes()[31];
        }
        acc
    });
    drop(docs);

    // Append: `threads` writers, `batch` nodes per call, durable group commits.
    let key = SecretKey::from_seed("bench.local/ledger", &[42u8; 32])?;
    let path = tmp.path().join("ledger.redb");
    let store = RedbStore::create(&path, args.store_format)?;
    let format = store.format();
    let ledger = Ledger::init(store, key, evl_ledger::time::now(), AnchorPolicy::default())?;
    let threads = args.threads.max(1) as u64;
    let batch = args.batch.max(1) as u64;
    let before = evl_ledger::profile::snapshot();
    let t = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let ledger = ledger.clone();
                s.spawn(move || -> Result<()> {
                    let mut i = k * batch;
                    while i < n {
                        let end = (i + batch).min(n);
                        let docs: Vec<Vec<u8>> = (i..end).map(doc).collect();
                        let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
                        ledger.append_json(&refs)?;
                        i += threads * batch;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("an append thread panicked"))??;
        }
        Ok(())
    })?;
    let append_secs = t.elapsed().as_secs_f64();
    let append_rate = n as f64 / append_secs;
    let after = evl_ledger::profile::snapshot();
    let steps = append_steps(&before, &after, n);
    let commits = after.groups - before.groups;
    ledger.anchor()?;
    let reader = ledger.reader();

    // Proofs from the store at the final size.
    let mut lat = Vec::with_capacity(args.proofs);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..args.proofs {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let id = NodeId::of_canonical(&doc(x % n));
        let t = Instant::now();
        let r = reader.prove(&id, None)?;
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(r);
    }
    lat.sort_by(f64::total_cmp);

    // Full verify. The peak so far tells which phase sets the process's peak.
    let rss_before_verify = peak_rss_bytes();
    let t = Instant::now();
    let report = verify(&reader, Mode::Full, &mut |_, _| {})?;
    let verify_secs = t.elapsed().as_secs_f64();
    let verify_bytes_per_s = report.node_bytes as f64 / verify_secs;
    let disk = reader.stats().disk_bytes;
    // The file's apparent length and the blocks it really occupies (redb grows its file ahead of
    // use; the unwritten part is a hole that takes no disk).
    let allocated = {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(&path).map_or(0, |m| m.blocks() * 512)
    };
    drop((reader, ledger));
    // Where the bytes go, per table (storage v2's design was measured with this).
    let tables = RedbStore::open_read_only(&tmp.path().join("ledger.redb"))?.table_bytes()?;
    let total_canonical = canonical_bytes as f64 / sample as f64 * n as f64;
    let rss = peak_rss_bytes();

    let v = serde_json::json!({
        "nodes": n, "node_bytes_avg": canonical_bytes / sample, "threads": threads, "batch": batch,
        "store_format": format,
        "jcs_sha256_nodes_per_s": jcs_rate,
        "append_nodes_per_s": append_rate, "append_ratio_to_jcs": ratio(append_rate, jcs_rate),
        "proof_us_p50": percentile(&lat, 0.5), "proof_us_p99": percentile(&lat, 0.99),
        "sha256_bytes_per_s": sha_bytes_per_s, "verify_full_bytes_per_s": verify_bytes_per_s,
        "verify_ratio_to_sha256": ratio(verify_bytes_per_s, sha_bytes_per_s), "verify_ok": report.ok(),
        "disk_bytes": disk, "disk_ratio_to_canonical": disk as f64 / total_canonical, "peak_rss_bytes": rss,
        "peak_rss_bytes_before_verify": rss_before_verify,
        "disk_allocated_bytes": allocated, "disk_allocated_ratio_to_canonical": allocated as f64 / total_canonical,
        "tables": tables,
        "append_group_commits": commits,
        "append_us_per_node": steps.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
    });
    emit(args.out.output, &v, || {
        crate::outln!(
            "evl bench: {n} nodes of ~{} B, {threads} threads × batches of {batch}, {format}",
            canonical_bytes / sample
        );
        crate::outln!(
            "  reference  JCS+SHA-256 in memory   {:>12} nodes/s (1 thread)",
            jcs_rate.map_or_else(|| "impossible".to_owned(), |r| format!("{r:.0}"))
        );
        crate::outln!(
            "  append     durable, group commit   {append_rate:>12.0} nodes/s   ratio {}",
            shown(ratio(append_rate, jcs_rate))
        );
        crate::outln!(
            "  append     µs per node: {}; {commits} group commits",
            steps
                .iter()
                .map(|(k, v)| format!("{k} {v:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        crate::outln!(
            "  proof      from store              p50 {:.1} µs   p99 {:.1} µs",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
        crate::outln!(
            "  reference  SHA-256                 {:>12}/s",
            sha_bytes_per_s.map_or_else(|| "impossible".to_owned(), |r| bytes(r as u64))
        );
        crate::outln!(
            "  verify     full                    {:>12}/s   ratio {}   ({})",
            bytes(verify_bytes_per_s as u64),
            shown(ratio(verify_bytes_per_s, sha_bytes_per_s)),
            if report.ok() { "OK" } else { "FAILED" }
        );
        crate::outln!(
            "  disk       {} file, {} allocated   ratio to canonical bytes {:.2} (allocated {:.2})",
            bytes(disk),
            bytes(allocated),
            disk as f64 / total_canonical,
            allocated as f64 / total_canonical
        );
        crate::outln!(
            "  peak RSS   {} ({} before the verify)",
            bytes(rss),
            bytes(rss_before_verify)
        );
        for t in &tables {
            if t.entries == 0 || t.stored_bytes < 1 << 20 {
                continue;
            }
            crate::outln!(
                "  table      {:<11} {:>10} entries   {:>10} stored   {:>10} B-tree   {:>10} unused   {:.0} B/node",
                t.table,
                t.entries,
                bytes(t.stored_bytes),
                bytes(t.metadata_bytes),
                bytes(t.fragmented_bytes),
                (t.stored_bytes + t.metadata_bytes + t.fragmented_bytes) as f64 / n as f64
            );
        }
    });
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impossible_reference_gives_no_ratio() {
        // A pass that "handles" a petabyte instantly timed nothing.
        let r = reference_rate(1e15, MAX_PLAUSIBLE_SHA256_BYTES_PER_S, || 0);
        assert_eq!(r, None);
        assert_eq!(ratio(100.0, r), None);
        assert!(shown(ratio(100.0, r)).starts_with("n/a"));
    }

    #[test]
    fn a_real_reference_is_measured_on_the_bytes() {
        let data: Vec<Vec<u8>> = (0..64).map(doc).collect();
        let total: usize = data.iter().map(Vec::len).sum();
        let r = reference_rate(total as f64, MAX_PLAUSIBLE_SHA256_BYTES_PER_S, || {
            data.iter().fold(0, |a, d| a ^ sha256(d).as_bytes()[0])
        });
        let r = r.expect("SHA-256 of 64 KB is measurable");
        assert!(r.is_finite() && r <= MAX_PLAUSIBLE_SHA256_BYTES_PER_S, "{r}");
        assert_eq!(ratio(2.0 * r, Some(r)), Some(2.0));
    }
}
