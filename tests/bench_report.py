#!/usr/bin/env python3
"""Builds the benchmark report table (tests/bench-report.sh) and writes it into
docs/benchmarks.md between <!-- report:begin --> and <!-- report:end -->.

Usage: bench_report.py RUN_DIR CRITERION_DIR BENCHMARKS_MD RUNS NODES HTTP_SECONDS SCALE_RUNS SCALE_NODES [GROWTH_RUNS GROWTH_SIZES]
"""
import glob
import json
import os
import statistics
import sys
import time

run_dir, crit, md, runs, nodes, http_s, scale_runs, scale_nodes = sys.argv[1:9]
growth_runs = sys.argv[9] if len(sys.argv) > 9 else "0"
growth_sizes = [int(x) for x in (sys.argv[10] if len(sys.argv) > 10 else "").split()]


def med(files, key):
    """The median of `key` over the runs; None if no run measured it (`evl bench` writes null
    for a reference it refused as impossible)."""
    vals = [json.load(open(f)).get(key) for f in sorted(glob.glob(files))]
    vals = [v for v in vals if v is not None]
    return (statistics.median(vals) if vals else None), len(vals)


def crit_ns(group, bench=None):
    """Criterion's median (ns) of `group/bench`, or of an ungrouped bench named `group`."""
    parts = [crit, group] + ([bench] if bench else []) + ["new", "estimates.json"]
    return json.load(open(os.path.join(*parts)))["median"]["point_estimate"]


def ratio(a, b, digits=1):
    """a / b as text, or "—" when the reference is too small to divide by."""
    return f"{a / b:.{digits}f}" if b > 0 else "—"


def rate(n, secs):
    return f"{n / secs:,.0f}" if secs > 0 else "—"


def fmt_t(ns):
    for unit, f in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= f:
            return f"{ns / f:.3g} {unit}"
    return f"{ns:.3g} ns"


rows = []  # (what, command, median, reference, ratio, goal)
L = os.path.join(run_dir, "ledger-*.json")
H = os.path.join(run_dir, "http-*.json")
ev = f"`evl bench --nodes {nodes}` ×{runs}"
a, n = med(L, "append_nodes_per_s")
ref, _ = med(L, "jcs_sha256_nodes_per_s")
rows.append(("durable append, group commit, 4 threads", ev, f"{a:,.0f} nodes/s",
             f"in-memory JCS + SHA-256: {ref:,.0f} nodes/s" if ref else "in-memory JCS + SHA-256: impossible (refused)",
             f"{a / ref:.2f}" if ref else "n/a", "≥ 50,000 nodes/s"))
p99, _ = med(L, "proof_us_p99")
p50, _ = med(L, "proof_us_p50")
rows.append(("inclusion proof from the store", ev, f"p50 {p50:.1f} µs, p99 {p99:.1f} µs", "—", "—", "p99 ≤ 50 µs"))
v, _ = med(L, "verify_full_bytes_per_s")
s, _ = med(L, "sha256_bytes_per_s")
rows.append(("full verify", ev, f"{v / 2**20:,.0f} MiB/s",
             f"SHA-256 of the same bytes: {s / 2**20:,.0f} MiB/s" if s else "SHA-256: impossible (refused)",
             f"{v / s:.3f}" if s else "n/a", "ratio ≥ 0.5"))
d, _ = med(L, "disk_ratio_to_canonical")
da, _ = med(L, "disk_allocated_ratio_to_canonical")
rows.append(("disk / canonical bytes (allocated)", ev, f"{d:.2f} ({da:.2f})" if da else f"{d:.2f}", "canonical bytes", f"{d:.2f}", "≤ 1.4"))
r, _ = med(L, "peak_rss_bytes")
rows.append(("peak RSS", ev, f"{r / 1e6:,.0f} MB", "—", "—", "≤ 300 MB"))


def steps(files):
    """The append's µs per node by step (`evl bench` prints them), medians, as text."""
    runs = [json.load(open(f)).get("append_us_per_node") or {} for f in sorted(glob.glob(files))]
    order = ["dedup", "sequence", "write", "of which id map", "sync", "receipts"]
    keys = [k for k in order if k in runs[0]] + [k for k in runs[0] if k not in order]
    return ", ".join(f"{k} {statistics.median(r[k] for r in runs):.2f}" for k in keys)


if glob.glob(L) and steps(L):
    rows.append(("append, µs per node by step", ev, steps(L), "—", "—", "—"))
# Growth: each figure at the larger sizes, against the NODES median of the same report.
for size in growth_sizes:
    G = os.path.join(run_dir, f"growth-{size}-*.json")
    if not glob.glob(G):
        continue
    gv = f"`evl bench --nodes {size}` ×{growth_runs}"
    at = f"at {size:,} nodes"
    ga, _ = med(G, "append_nodes_per_s")
    rows.append((f"durable append {at}", gv, f"{ga:,.0f} nodes/s", f"the {int(nodes):,}-node median: {a:,.0f} nodes/s", f"{ga / a:.2f}", "≥ 50,000 nodes/s and ≥ 0.85 at 10 M"))
    if steps(G):
        rows.append((f"append, µs per node by step, {at}", gv, steps(G), "—", "—", "—"))
    g50, _ = med(G, "proof_us_p50")
    g99, _ = med(G, "proof_us_p99")
    rows.append((f"inclusion proof from the store {at}", gv, f"p50 {g50:.1f} µs, p99 {g99:.1f} µs", f"the {int(nodes):,}-node p99: {p99:.1f} µs", f"{g99 / p99:.1f}", "p99 ≤ 50 µs at 10 M"))
    gvf, _ = med(G, "verify_full_bytes_per_s")
    gs, _ = med(G, "sha256_bytes_per_s")
    rows.append((f"full verify {at}", gv, f"{gvf / 2**20:,.0f} MiB/s", f"SHA-256 of the same bytes: {gs / 2**20:,.0f} MiB/s" if gs else "SHA-256: impossible (refused)", f"{gvf / gs:.3f}" if gs else "n/a", "ratio ≥ 0.5"))
    gd, _ = med(G, "disk_ratio_to_canonical")
    gda, _ = med(G, "disk_allocated_ratio_to_canonical")
    rows.append((f"disk / canonical bytes (allocated) {at}", gv, f"{gd:.2f} ({gda:.2f})", "canonical bytes", f"{gd:.2f}", "≤ 1.4 at 10 M"))
    gr, _ = med(G, "peak_rss_bytes")
    rows.append((f"peak RSS {at}", gv, f"{gr / 1e6:,.0f} MB", "—", "—", "≤ 300 MB"))
hv = f"`evl bench http --seconds {http_s}` ×{runs}"
for key, what, goal in (("batched_append_nodes_per_s", "HTTP batched append", "≥ 20,000 nodes/s"),
                        ("proof_fetches_per_s", "HTTP proof fetches", "≥ 20,000/s")):
    x, _ = med(H, key)
    rows.append((what, hv, f"{x:,.0f}/s", "—", "—", goal))
x, _ = med(H, "single_append_ms_p99")
rows.append(("HTTP single append p99", hv, f"{x:.2f} ms", "—", "—", "≤ 25 ms"))
e, _ = med(H, "errors")
rows.append(("HTTP errors", hv, f"{e:.0f}", "—", "—", "0"))

cb = "`cargo bench -p evl-sdk --bench verify`"
try:
    inc = crit_ns("inclusion_verify_2_20")
    cons = crit_ns("consistency_verify_2_20")
except FileNotFoundError:
    inc = cons = None
for group, bench, what, goal in (
    ("tree_100k_leaves", "ours_frontier_append", "Merkle tree, 100 k leaves: our frontier", "—"),
    ("tree_100k_leaves", "ours_memory_tree", "Merkle tree, 100 k leaves: our MemoryTree", "—"),
    ("tree_100k_leaves", "rs_merkle_tree", "Merkle tree, 100 k leaves: rs_merkle (same root)", "—"),
):
    try:
        x = crit_ns(group, bench)
        refx = crit_ns(group, "reference_sha256_interior_hashes")
        rows.append((what, "`cargo bench -p evl-ledger --bench layers`", fmt_t(x), f"99,999 × SHA-256(65 B): {fmt_t(refx)}", f"{x / refx:.2f}", goal))
    except FileNotFoundError:
        pass
for bench, what in (("ours_inclusion_proof", "inclusion proof, in memory: ours"), ("rs_merkle_inclusion_proof", "inclusion proof, in memory: rs_merkle")):
    try:
        rows.append((what, "`cargo bench -p evl-ledger --bench layers`", fmt_t(crit_ns("tree_100k_leaves", bench)), "—", "—", "—"))
    except FileNotFoundError:
        pass
try:
    sha = crit_ns("store_10k_nodes_1KB", "reference_sha256_of_bytes")
    raw1 = crit_ns("store_10k_nodes_1KB", "raw_redb_insert_one_durable_txn")
    raw10 = crit_ns("store_10k_nodes_1KB", "raw_redb_insert_durable_txn_per_1000")
    ours = crit_ns("store_10k_nodes_1KB", "ledger_append_batches_of_1000")
    lb = "`cargo bench -p evl-ledger --bench layers`"
    rows.append(("10 k × 1 KB: raw redb, one durable txn", lb, fmt_t(raw1), f"SHA-256 of the bytes: {fmt_t(sha)}", f"{raw1 / sha:.1f}", "—"))
    rows.append(("10 k × 1 KB: raw redb, durable txn per 1 000", lb, fmt_t(raw10), "raw redb, one txn", f"{raw10 / raw1:.2f}", "—"))
    rows.append(("10 k × 1 KB: ledger append, batches of 1 000", lb, fmt_t(ours), "raw redb, durable txn per 1 000 (same commits)", f"{ours / raw10:.2f}", "—"))
    sign = crit_ns("ed25519", "sign_100B")
    ver = crit_ns("ed25519", "verify_strict_100B")
    rows.append(("Ed25519 sign / verify_strict, 100 B", lb, f"{fmt_t(sign)} / {fmt_t(ver)}", "—", "—", "—"))
except FileNotFoundError:
    pass
for group, bench, what, goal in (
    ("pack_10k_nodes", "verify_streaming", "evidence pack of 10 k nodes: verify", "≤ 0.5 s"),
):
    try:
        x = crit_ns(group, bench)
        refx = crit_ns(group, "reference_sha256_of_archive")
        rows.append((what, "`cargo bench -p evl-ledger --bench pack`", fmt_t(x), f"SHA-256 of the archive: {fmt_t(refx)}", f"{x / refx:.1f}", goal))
    except FileNotFoundError:
        pass
if inc:
    rows.append(("SDK inclusion verify, 2^20 leaves", cb, fmt_t(inc), "—", "—", "≤ 3 µs"))
    rows.append(("SDK consistency verify, 2^20 leaves", cb, fmt_t(cons), "—", "—", "—"))
try:
    cc = "`cargo bench -p evl-sdk --bench canonical` (1.1 KB VEX statement)"
    sha = crit_ns("canonical", "sha256 (reference)")
    for bench, what in (
        ("parse_canonical (parse, serialize, compare)", "canonical check, strict path (parse, serialize, compare)"),
        ("is_canonical (one-pass scan)", "canonical check, one-pass scan"),
        ("Node__from_canonical", "`Node::from_canonical` (scan + node rules + SHA-256)"),
    ):
        x = crit_ns("canonical", bench)
        rows.append((what, cc, fmt_t(x), f"SHA-256 of the same bytes: {fmt_t(sha)}", f"{x / sha:.1f}", "—"))
except FileNotFoundError:
    pass
try:
    rs = "`cargo bench -p evl-ledger --bench restore` (50 k × 1 KB)"
    r = crit_ns("restore_50k_nodes", "restore_verify_and_bulk_load")
    raw = crit_ns("restore_50k_nodes", "reference_raw_redb_inserts_same_rows")
    vo = crit_ns("restore_50k_nodes", "verify_only")
    rows.append(("restore 50 k nodes (verify + bulk load)", rs, f"{fmt_t(r)} ({50000 / (r / 1e9):,.0f} nodes/s)", f"raw redb inserts of the same rows: {fmt_t(raw)}", f"{r / raw:.2f}", "≥ 200,000 nodes/s"))
    rows.append(("verification alone, same backup", rs, fmt_t(vo), f"raw redb inserts of the same rows: {fmt_t(raw)}", f"{vo / raw:.2f}", "—"))
except FileNotFoundError:
    pass

# At scale (tests/bench-export.sh, tests/bench-backup.sh), medians of SCALE_RUNS process runs.
E = os.path.join(run_dir, "export-*.json")
B = os.path.join(run_dir, "backup-*.json")
n_scale = int(scale_nodes)
if glob.glob(E):
    es = f"`bash tests/bench-export.sh target/release/evl {n_scale}` ×{scale_runs}"
    t, _ = med(E, "export_s")
    rss, _ = med(E, "export_rss_kb")
    z, _ = med(E, "zstd_s")
    rows.append((f"export {n_scale:,} nodes (full)", es, f"{t:.2f} s, peak RSS {rss / 1000:,.0f} MB", f"`zstd -dc` piped to `sha256sum` of the export: {z:.2f} s", ratio(t, z), "RSS ≤ 200 MB"))
    t, _ = med(E, "verify_s")
    rss, _ = med(E, "verify_rss_kb")
    rows.append((f"verify-pack of that export", es, f"{t:.2f} s, peak RSS {rss / 1000:,.0f} MB", f"`zstd -dc` piped to `sha256sum`: {z:.2f} s", ratio(t, z), "—"))
if glob.glob(B):
    bs = f"`bash tests/bench-backup.sh target/release/evl {n_scale}` ×{scale_runs}"
    cp, _ = med(B, "cp_s")
    z, _ = med(B, "zstd_s")
    t, _ = med(B, "backup_s")
    rows.append((f"backup {n_scale:,} nodes (full)", bs, f"{t:.2f} s ({rate(n_scale, t)} nodes/s)", f"`cp ledger.redb`: {cp:.2f} s", ratio(t, cp), "—"))
    t, _ = med(B, "restore_s")
    rss, _ = med(B, "restore_rss_kb")
    rows.append((f"restore {n_scale:,} nodes (verify + load, durable)", bs, f"{t:.2f} s ({rate(n_scale, t)} nodes/s), peak RSS {rss / 1000:,.0f} MB", f"`cp ledger.redb`: {cp:.2f} s; `zstd -dc` piped to `sha256sum`: {z:.2f} s", f"{ratio(t, cp)}; {ratio(t, z)}", "≥ 200,000 nodes/s"))
    t, _ = med(B, "verify_full_s")
    rows.append((f"verify --mode full of the restored store", bs, f"{t:.2f} s", "—", "—", "passes"))
for path, what, goal in (
    (("vex_ingest", "redhat_cve-2023-38545_690KB"), "VEX ingest, 690 KB CSAF", "≤ 100 ms"),
):
    try:
        rows.append((what, "`cargo bench -p evl-vex --bench vex_ingest`", fmt_t(crit_ns(*path)), "—", "—", goal))
    except FileNotFoundError:
        pass

out = ["<!-- report:begin (generated by tests/bench-report.sh; do not edit by hand) -->", "",
       f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `bash tests/bench-report.sh` "
       f"(RUNS={runs}, NODES={nodes}, HTTP_SECONDS={http_s}, SCALE_RUNS={scale_runs}, SCALE_NODES={scale_nodes}, "
       f"GROWTH_RUNS={growth_runs}, GROWTH_SIZES=\"{' '.join(map(str, growth_sizes))}\"). "
       f"Medians: of {runs} process runs for `evl bench` and `evl bench http`, of {growth_runs} per growth size, of {scale_runs} for the scripts at "
       "scale, of criterion's samples otherwise. Ratios are to the reference measured in the same run.", "",
       "| what | command | median | reference (same run) | ratio | goal |", "| --- | --- | --- | --- | --- | --- |"]
out += [f"| {' | '.join(r)} |" for r in rows]
out += ["", "<!-- report:end -->"]
text = open(md).read()
b, e = text.find("<!-- report:begin"), text.find("<!-- report:end -->")
block = "\n".join(out)
if b >= 0 and e > b:
    text = text[:b] + block + text[e + len("<!-- report:end -->"):]
else:
    i = text.find("\n## ", text.find("\n") + 1)
    text = text[:i] + "\n\n## Report (all figures, one command)\n\n" + block + "\n" + text[i:]
open(md, "w").write(text)
print(block)
