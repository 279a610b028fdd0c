#!/usr/bin/env bash
# One command for the benchmark report (issue 8): runs every benchmark, takes medians, computes
# each figure's ratio to the physical reference measured in the same run, and rewrites the
# table between the report markers in docs/benchmarks.md.
#   bash tests/bench-report.sh
# Settings (environment): RUNS=5 runs each of `evl bench` (NODES=200000) and `evl bench http`
# (HTTP_SECONDS=10 per phase); SCALE_RUNS=5 runs each of tests/bench-export.sh and
# tests/bench-backup.sh at SCALE_NODES=1000000; GROWTH_RUNS=1 run of `evl bench` at each of
# GROWTH_SIZES="1000000 10000000" (the growth rows: how each figure moves from NODES up);
# then every criterion bench.
# Not run in CI (it takes ~35 minutes on 2 cores, 12 GB of temporary disk at 10 M nodes).
# Use an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
NODES=${NODES:-200000}
HTTP_SECONDS=${HTTP_SECONDS:-10}
SCALE_RUNS=${SCALE_RUNS:-5}
SCALE_NODES=${SCALE_NODES:-1000000}
GROWTH_RUNS=${GROWTH_RUNS:-1}
GROWTH_SIZES=${GROWTH_SIZES:-1000000 10000000}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/evl-bench-report.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

echo "== build (release)"
cargo build -q --release -p evl-server --bin evl
EVL=target/release/evl

echo "== evl bench x$RUNS ($NODES nodes)"
for i in $(seq 1 "$RUNS"); do
  "$EVL" bench --nodes "$NODES" --output json >"$OUT/ledger-$i.json"
  echo "  run $i done"
done

for size in $GROWTH_SIZES; do
  echo "== evl bench x$GROWTH_RUNS ($size nodes)"
  for i in $(seq 1 "$GROWTH_RUNS"); do
    "$EVL" bench --nodes "$size" --output json >"$OUT/growth-$size-$i.json"
    echo "  run $i done"
  done
done

echo "== evl bench http x$RUNS (64 clients, ${HTTP_SECONDS}s per phase)"
for i in $(seq 1 "$RUNS"); do
  "$EVL" bench http --clients 64 --seconds "$HTTP_SECONDS" --output json >"$OUT/http-$i.json"
  echo "  run $i done"
done

echo "== at scale x$SCALE_RUNS ($SCALE_NODES nodes): export, backup, restore"
for i in $(seq 1 "$SCALE_RUNS"); do
  JSON_OUT="$OUT/export-$i.json" bash tests/bench-export.sh "$EVL" "$SCALE_NODES" >"$OUT/export-$i.log"
  JSON_OUT="$OUT/backup-$i.json" bash tests/bench-backup.sh "$EVL" "$SCALE_NODES" >"$OUT/backup-$i.log"
  echo "  run $i done"
done

echo "== criterion (each figure is the median of its samples)"
cargo bench -q -p evl-sdk --bench verify --bench vex --bench canonical -- --warm-up-time 1 --measurement-time 3 >/dev/null
cargo bench -q -p evl-vex --bench vex_ingest -- --warm-up-time 1 >/dev/null
cargo bench -q -p evl-ledger --bench pack --bench layers --bench restore -- --warm-up-time 1 >/dev/null

python3 tests/bench_report.py "$OUT" target/criterion docs/benchmarks.md "$RUNS" "$NODES" "$HTTP_SECONDS" "$SCALE_RUNS" "$SCALE_NODES" "$GROWTH_RUNS" "$GROWTH_SIZES"
echo "== docs/benchmarks.md report table rewritten"
