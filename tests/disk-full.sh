#!/usr/bin/env bash
# A full disk under `evl serve`, on a real file system (a 6 MiB tmpfs this script mounts):
# appends get 507 STORAGE_FULL (never a 500), readiness answers 503 with the reason while writes
# cannot succeed, and once space is freed the store is reopened by itself: readiness is 200 and
# appends succeed again, without a restart. Then every acknowledged append is in the log and a
# full verify passes.
# Usage: tests/disk-full.sh PATH_TO_EVL   (needs root for `mount -t tmpfs`; prints SKIP otherwise)
set -euo pipefail
EVL="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
W="$(mktemp -d)"
MNT="$W/mnt"
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=6m tmpfs "$MNT" 2>/dev/null; then
  echo "SKIP disk-full: cannot mount a tmpfs here (needs root, or CAP_SYS_ADMIN); the Rust tests cover the codes, not a real full disk"
  exit 0
fi
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; umount "$MNT" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL disk-full: $*"; echo "--- evl serve stderr"; cat "$W/serve.log" || true; exit 1; }
for v in $(env | grep -o '^EVL_[A-Z0-9_]*' || true); do unset "$v"; done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
D="$MNT/d"
"$EVL" --data "$D" serve --listen "127.0.0.1:$PORT" --origin diskfull.test/log 2>"$W/serve.log" &
PID=$!
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$PORT/health/liveness" >/dev/null && break; sleep 0.2; done
TOKEN=$(cat "$D/admin-token")
URL="http://127.0.0.1:$PORT"
post() { curl -s -o "$W/body" -w '%{http_code}' -X POST "$URL/v1/nodes" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$1"; }
PAD=$(head -c 3000 /dev/zero | tr '\0' 'p')
ACKED="$W/acked"; : > "$ACKED"
# Fill the file system, leaving little room, then append until the disk is full.
dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null || true
rm -f "$MNT/filler"; dd if=/dev/zero of="$MNT/filler" bs=64k count=$(( $(df -k --output=avail "$MNT" | tail -1) / 64 - 4 )) 2>/dev/null || true
full=""
for i in $(seq 1 400); do
  code=$(post "{\"type\":\"x-full\",\"i\":$i,\"pad\":\"$PAD\"}")
  case "$code" in
    201) python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["receipt"]["node_id"])' "$W/body" >> "$ACKED" ;;
    507) full=$i; break ;;
    *) fail "append $i answered $code: $(cat "$W/body")" ;;
  esac
done
[ -n "$full" ] || fail "the disk never filled"
grep -q '"code":"STORAGE_FULL"' "$W/body" || fail "507 without STORAGE_FULL: $(cat "$W/body")"
echo "append $full: 507 STORAGE_FULL after $(wc -l < "$ACKED") acknowledged appends"
# Still full: appends keep answering 507 or 503 (never 500), readiness is not ready with the reason.
code=$(post "{\"type\":\"x-full\",\"again\":1,\"pad\":\"$PAD\"}")
case "$code" in 507|503) ;; *) fail "second append while full answered $code: $(cat "$W/body")" ;; esac
rc=$(curl -s -o "$W/ready" -w '%{http_code}' "$URL/health/readiness")
[ "$rc" = 503 ] || fail "readiness answered $rc while the disk is full: $(cat "$W/ready")"
grep -q 'STORAGE_FULL\|STORAGE_UNAVAILABLE' "$W/ready" || fail "readiness gave no reason: $(cat "$W/ready")"
echo "while full: appends $code, readiness 503 $(cat "$W/ready")"
# Space returns: readiness becomes ready without a restart, and appends succeed.
rm -f "$MNT/filler"
ok=""
for _ in $(seq 1 50); do
  rc=$(curl -s -o "$W/ready" -w '%{http_code}' "$URL/health/readiness")
  [ "$rc" = 200 ] && { ok=1; break; }
  sleep 0.2
done
[ -n "$ok" ] || fail "readiness never recovered: $(cat "$W/ready")"
code=$(post '{"type":"x-full","after":1}')
[ "$code" = 201 ] || fail "append after space returned answered $code: $(cat "$W/body")"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["receipt"]["node_id"])' "$W/body" >> "$ACKED"
echo "space freed: readiness 200, append 201"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
# Nothing acknowledged was lost, and the store verifies.
while read -r id; do "$EVL" --data "$D" get "$id" >/dev/null || fail "acknowledged node $id is missing"; done < "$ACKED"
"$EVL" --data "$D" verify --mode full >/dev/null || fail "full verify failed after the disk filled"
echo "disk-full OK: $(wc -l < "$ACKED") acknowledged appends all present, full verify passed"
