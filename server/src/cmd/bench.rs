//! `evl bench`: append, proof and verify throughput on 1 KB nodes, each beside the physical
//! reference measured in the same run (docs/benchmarks.md).

use crate::cli::BenchArgs;
use crate::output::{bytes, emit};
use anyhow::{Context as _, Result};
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    let n = args.nodes.max(1);
    let tmp = match &args.dir {
        Some(d) => tempfile::Builder::new().prefix("evl-bench-").tempdir_in(d),
        None => tempfile::Builder::new().prefix("evl-bench-").tempdir(),
    }
    .context("creating the temporary bench directory")?;

    // Reference 1: in-memory JCS + SHA-256 (Node::from_json) on the same nodes, one thread.
    let sample = n.min(50_000);
    let t = Instant::now();
    let mut canonical_bytes = 0u64;
    for i in 0..sample {
        let d = doc(i);
        canonical_bytes += Node::from_json(&d).map(|x| x.bytes().len() as u64).unwrap_or(0);
    }
    let jcs_rate = sample as f64 / t.elapsed().as_secs_f64();
    // Reference 2: raw SHA-256 throughput over the same bytes.
    let t = Instant::now();
    let mut acc = 0u8;
    for i in 0..sample {
        acc ^= sha256(&doc(i)).as_bytes()[0];
    }
    let gen_and_sha = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..sample {
        acc ^= doc(i)[0];
    }
    let gen_only = t.elapsed().as_secs_f64();
    let sha_bytes_per_s = canonical_bytes as f64 / (gen_and_sha - gen_only).max(1e-9);
    std::hint::black_box(acc);

    // Append: `threads` writers, `batch` nodes per call, durable group commits.
    let key = SecretKey::from_seed("bench.local/ledger", &[42u8; 32])?;
    let store = RedbStore::open(&tmp.path().join("ledger.redb"))?;
    let ledger = Ledger::init(store, key, evl_ledger::time::now(), AnchorPolicy::default())?;
    let threads = args.threads.max(1) as u64;
    let batch = args.batch.max(1) as u64;
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

    // Full verify.
    let t = Instant::now();
    let report = verify(&reader, Mode::Full, &mut |_, _| {})?;
    let verify_secs = t.elapsed().as_secs_f64();
    let verify_bytes_per_s = report.node_bytes as f64 / verify_secs;
    let disk = reader.stats().disk_bytes;
    let total_canonical = canonical_bytes as f64 / sample as f64 * n as f64;
    let rss = peak_rss_bytes();

    let v = serde_json::json!({
        "nodes": n, "node_bytes_avg": canonical_bytes / sample, "threads": threads, "batch": batch,
        "jcs_sha256_nodes_per_s": jcs_rate,
        "append_nodes_per_s": append_rate, "append_ratio_to_jcs": append_rate / jcs_rate,
        "proof_us_p50": percentile(&lat, 0.5), "proof_us_p99": percentile(&lat, 0.99),
        "sha256_bytes_per_s": sha_bytes_per_s, "verify_full_bytes_per_s": verify_bytes_per_s,
        "verify_ratio_to_sha256": verify_bytes_per_s / sha_bytes_per_s, "verify_ok": report.ok(),
        "disk_bytes": disk, "disk_ratio_to_canonical": disk as f64 / total_canonical, "peak_rss_bytes": rss,
    });
    emit(args.out.output, &v, || {
        crate::outln!(
            "evl bench: {n} nodes of ~{} B, {threads} threads × batches of {batch}",
            canonical_bytes / sample
        );
        crate::outln!("  reference  JCS+SHA-256 in memory   {jcs_rate:>12.0} nodes/s (1 thread)");
        crate::outln!(
            "  append     durable, group commit   {append_rate:>12.0} nodes/s   ratio {:.2}",
            append_rate / jcs_rate
        );
        crate::outln!(
            "  proof      from store              p50 {:.1} µs   p99 {:.1} µs",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
        crate::outln!(
            "  reference  SHA-256                 {:>12}/s",
            bytes(sha_bytes_per_s as u64)
        );
        crate::outln!(
            "  verify     full                    {:>12}/s   ratio {:.2}   ({})",
            bytes(verify_bytes_per_s as u64),
            verify_bytes_per_s / sha_bytes_per_s,
            if report.ok() { "OK" } else { "FAILED" }
        );
        crate::outln!(
            "  disk       {}   ratio to canonical bytes {:.2}",
            bytes(disk),
            disk as f64 / total_canonical
        );
        crate::outln!("  peak RSS   {}", bytes(rss));
    });
    Ok(ExitCode::SUCCESS)
}
