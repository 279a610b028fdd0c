#!/usr/bin/env bash
# One command for the benchmark report (issue 8): runs every benchmark, takes medians, computes
# each figure's ratio to the physical reference measured in the same run, and rewrites the
# table between the report markers in docs/benchmarks.md.
#   bash tests/bench-report.sh            (RUNS=5 evl bench runs, NODES=200000, HTTP_SECONDS=10)
# Not run in CI (it takes ~25 minutes on 2 cores). Use an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
NODES=${NODES:-200000}
HTTP_SECONDS=${HTTP_SECONDS:-10}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/evl-bench-report.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

echo "== build (release)"
cargo build -q --release --bin evl
EVL=target/release/evl

echo "== evl bench x$RUNS ($NODES nodes)"
for i in $(seq 1 "$RUNS"); do
  "$EVL" bench --nodes "$NODES" --output json >"$OUT/ledger-$i.json"
  echo "  run $i done"
done

echo "== evl bench http x$RUNS (64 clients, ${HTTP_SECONDS}s per phase)"
for i in $(seq 1 "$RUNS"); do
  "$EVL" bench http --clients 64 --seconds "$HTTP_SECONDS" --output json >"$OUT/http-$i.json"
  echo "  run $i done"
done

echo "== criterion (each figure is the median of its samples)"
cargo bench -q -p evl-sdk --bench verify --bench vex -- --warm-up-time 1 --measurement-time 3 >/dev/null
cargo bench -q -p evl-ledger --bench vex_ingest --bench pack --bench layers -- --warm-up-time 1 >/dev/null

python3 tests/bench_report.py "$OUT" target/criterion docs/benchmarks.md "$RUNS" "$NODES" "$HTTP_SECONDS"
echo "== docs/benchmarks.md report table rewritten"
