#!/usr/bin/env bash
# Export / verify-pack at scale (issue 6): N ~1 KB nodes appended, anchored, exported in full,
# then the export verified offline; peak RSS of each step from /usr/bin/time. Not run in CI.
#   bash tests/bench-export.sh [EVL_BINARY] [NODES]
# Prints one line per step: seconds, peak RSS (MB), and sizes. Figures go to docs/benchmarks.md.
# With JSON_OUT=FILE, also writes every step's seconds and peak RSS (KiB) there as JSON
# (tests/bench-report.sh reads it).
set -euo pipefail
EVL=${1:-target/release/evl}
N=${2:-1000000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/evl-bench-export.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
D="$WORK/data"

declare -A SECS RSS
measure() { # key, label, command...
  local key=$1 label=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err"; exit 1; }
  read -r secs kb <"$WORK/time"
  SECS[$key]=$secs
  RSS[$key]=$kb
  printf '%-28s %8.2f s  peak RSS %7.1f MB\n' "$label" "$secs" "$(echo "$kb/1000" | bc -l)"
}

"$EVL" --data "$D" init >/dev/null
python3 - "$N" >"$WORK/nodes.jsonl" <<'PY'
import sys
n = int(sys.argv[1]); pad = "p" * 960
for i in range(n):
    t = "x-keep" if i % 4 == 0 else "x-other"
    sys.stdout.write('{"type":"%s","i":%d,"pad":"%s"}\n' % (t, i, pad))
PY
measure append "append $N nodes" "$EVL" --data "$D" append "$WORK/nodes.jsonl" --batch 10000 --output json
measure anchor "anchor" "$EVL" --data "$D" anchor create
measure export "export (full)" "$EVL" --data "$D" export -o "$WORK/full.tar.zst" --json
echo "  export file $(stat -c %s "$WORK/full.tar.zst") bytes; $(cat "$WORK/out")"
measure verify "verify-pack (full)" "$EVL" verify-pack "$WORK/full.tar.zst" --trust-root "$D/trust-root.json" --output json
grep -q '"ok": true' "$WORK/out" || { echo "export did not verify"; cat "$WORK/out"; exit 1; }
measure export_filtered "export (--type x-keep)" "$EVL" --data "$D" export -o "$WORK/keep.tar.zst" --type x-keep --json
echo "  filtered file $(stat -c %s "$WORK/keep.tar.zst") bytes"
measure verify_filtered "verify-pack (filtered)" "$EVL" verify-pack "$WORK/keep.tar.zst" --trust-root "$D/trust-root.json" --output json
grep -q '"ok": true' "$WORK/out" || { echo "filtered export did not verify"; exit 1; }
# Reference in the same run: reading the same number of bytes once (cat) and SHA-256 of them.
measure zstd "reference: sha256sum of archive" bash -c "zstd -dc '$WORK/full.tar.zst' | sha256sum"
if [ -n "${JSON_OUT:-}" ]; then
  { printf '{"nodes": %s, "export_bytes": %s' "$N" "$(stat -c %s "$WORK/full.tar.zst")"
    for k in "${!SECS[@]}"; do printf ', "%s_s": %s, "%s_rss_kb": %s' "$k" "${SECS[$k]}" "$k" "${RSS[$k]}"; done
    printf '}\n'; } >"$JSON_OUT"
fi
