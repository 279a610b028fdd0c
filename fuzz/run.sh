#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30) with libFuzzer on stable Rust
# (`cargo fuzz run -s none`: no sanitizer, which needs nightly). Seeds come from vectors/ and the
# VEX samples. Prints executions per target; exits non-zero on any crash.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
SECS="${1:-30}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(cargo fuzz list)
fi
SEEDS=seeds
if [ ! -d "$SEEDS" ]; then
  mkdir -p "$SEEDS"
  i=0
  while IFS= read -r f; do
    cp "$f" "$SEEDS/$(printf '%05d' "$i")-$(basename "$f")"
    i=$((i + 1))
  done < <(find ../vectors/generated ../vectors/imported/jcs ../vectors/imported/checkpoint ../vectors/imported/dsse \
             ../vectors/imported/merkle/transparency-dev -type f \( -name '*.json' -o -name '*.note' \) | sort | head -2000)
  for f in ../tests/data/vex/*/*.json; do [ -f "$f" ] && cp "$f" "$SEEDS/vex-$(basename "$f")"; done
fi
status=0
# Build every target first, so a compile error is reported as one and not as a crash.
cargo fuzz build -s none >/dev/null 2>&1 || { echo "fuzz: BUILD FAILED"; cargo fuzz build -s none 2>&1 | tail -40; exit 1; }
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t"
  log="$(mktemp)"
  extra=()
  [ -d "regressions/$t" ] && extra=("regressions/$t")   # inputs that once failed, kept as seeds
  [ -d "seeds.d/$t" ] && extra+=("seeds.d/$t")          # frozen per-target seeds (seeds.d/make-*.sh)
  if cargo fuzz run -s none "$t" "corpus/$t" "$SEEDS" "${extra[@]}" -- -max_total_time="$SECS" -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
    echo "fuzz $t: ${execs:-?} executions in ${SECS}s, 0 crashes"
  else
    echo "fuzz $t: CRASH (see fuzz/artifacts/$t)"; tail -40 "$log"; status=1
  fi
  rm -f "$log"
done
exit $status
