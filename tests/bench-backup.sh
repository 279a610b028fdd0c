#!/usr/bin/env bash
# Backup / restore at scale (issue 7): N ~1 KB nodes appended and anchored, then `evl backup`
# (full), `evl verify-pack` of it, `evl restore` into a new directory (verifying everything while
# loading), `evl verify --mode full` of the restored store, and as the physical references in the
# same run: `cat` of the backup file and `cp` of ledger.redb. Peak RSS of each step from
# /usr/bin/time. Not run in CI.
#   bash tests/bench-backup.sh [EVL_BINARY] [NODES]
# Prints one line per step (seconds, peak RSS), then nodes/s and the ratios. Figures go to
# docs/benchmarks.md. With JSON_OUT=FILE, also writes every step's seconds and peak RSS (KiB)
# there as JSON (tests/bench-report.sh reads it).
set -euo pipefail
EVL=${1:-target/release/evl}
N=${2:-1000000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/evl-bench-backup.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
D="$WORK/data"

declare -A SECS RSS
measure() { # key, label, command...
  local key=$1 label=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" "$WORK/out"; exit 1; }
  read -r secs kb <"$WORK/time"
  SECS[$key]=$secs
  RSS[$key]=$kb
  printf '%-34s %8.2f s  peak RSS %7.1f MB\n' "$label" "$secs" "$(echo "$kb/1000" | bc -l)"
}

"$EVL" --data "$D" init >/dev/null
python3 - "$N" >"$WORK/nodes.jsonl" <<'PY'
import sys
n = int(sys.argv[1]); pad = "p" * 960
for i in range(n):
    sys.stdout.write('{"type":"x-item","i":%d,"pad":"%s"}\n' % (i, pad))
PY
measure append "append $N nodes" "$EVL" --data "$D" append "$WORK/nodes.jsonl" --batch 10000 --output json
measure anchor "anchor" "$EVL" --data "$D" anchor create
measure backup "backup (full)" "$EVL" --data "$D" backup -o "$WORK/full.tar.zst" --json
echo "  backup file $(stat -c %s "$WORK/full.tar.zst") bytes; ledger.redb $(stat -c %s "$D/ledger.redb") bytes"
measure verify "verify-pack (backup)" "$EVL" verify-pack "$WORK/full.tar.zst" --trust-root "$D/trust-root.json" --output json
grep -q '"ok": true' "$WORK/out" || { echo "backup did not verify"; cat "$WORK/out"; exit 1; }
measure restore "restore (verifying)" "$EVL" restore --backup "$WORK/full.tar.zst" --target "$WORK/restored" --trust-root "$D/trust-root.json" --output json
grep -q '"ok": true' "$WORK/out" || { echo "restore failed"; cat "$WORK/out"; exit 1; }
measure verify_full "verify --mode full (restored)" "$EVL" --data "$WORK/restored" verify --mode full --output json
# Physical references in the same run: reading the backup once, copying the store file.
measure cat "reference: cat backup > /dev/null" bash -c "cat '$WORK/full.tar.zst' > /dev/null"
measure cp "reference: cp ledger.redb" cp "$D/ledger.redb" "$WORK/copy.redb"
measure zstd "reference: zstd -dc | sha256sum" bash -c "zstd -dc '$WORK/full.tar.zst' | sha256sum"
rate() { echo "$N / $1" | bc -l; }
printf 'backup  %9.0f nodes/s\n' "$(rate "${SECS[backup]}")"
printf 'restore %9.0f nodes/s (goal >= 200000); restore / cp ledger.redb = %.1f; restore / (zstd -dc | sha256sum) = %.1f\n' \
  "$(rate "${SECS[restore]}")" "$(echo "${SECS[restore]} / ${SECS[cp]}" | bc -l)" "$(echo "${SECS[restore]} / ${SECS[zstd]}" | bc -l)"
if [ -n "${JSON_OUT:-}" ]; then
  { printf '{"nodes": %s, "backup_bytes": %s, "store_bytes": %s' "$N" "$(stat -c %s "$WORK/full.tar.zst")" "$(stat -c %s "$D/ledger.redb")"
    for k in "${!SECS[@]}"; do printf ', "%s_s": %s, "%s_rss_kb": %s' "$k" "${SECS[$k]}" "$k" "${RSS[$k]}"; done
    printf '}\n'; } >"$JSON_OUT"
fi
