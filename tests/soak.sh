#!/usr/bin/env bash
# Soak test (not in CI): `evl serve` on loopback under 64 clients mixing proofs, appends and
# anchors for MINUTES (default 10). Samples the server's RSS every 10 s, then stops it and runs
# `evl verify --mode full`. Fails on any request error, RSS growth over 25 % after the first
# minute, or a failed verify.
# Usage: tests/soak.sh EVL [MINUTES] [CLIENTS]
set -euo pipefail
EVL="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
MIN="${2:-10}"
CLIENTS="${3:-64}"
D="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
env -u EVL_DATA "$EVL" --data "$D/data" serve --listen "127.0.0.1:$PORT" >"$D/serve.log" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$D"; }
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health/readiness" >/dev/null && break; sleep 0.2; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
( while kill -0 "$PID" 2>/dev/null; do echo "$(date +%s) $(rss)"; sleep 10; done ) >"$D/rss.txt" &
SAMPLER=$!
"$EVL" bench http --url "http://127.0.0.1:$PORT" --token-file "$D/data/admin-token" \
  --mix --clients "$CLIENTS" --seconds $((MIN * 60)) | tee "$D/bench.txt"
kill "$SAMPLER" 2>/dev/null || true
echo "RSS samples (unix time, KiB):"
cat "$D/rss.txt"
FIRST=$(awk 'NR==7 {print $2}' "$D/rss.txt")    # after ~1 minute of warm-up
LAST=$(tail -1 "$D/rss.txt" | awk '{print $2}')
kill -TERM "$PID"; wait "$PID"
"$EVL" --data "$D/data" verify --mode full
"$EVL" --data "$D/data" anchor verify | tail -1
if [ -n "$FIRST" ] && [ "$LAST" -gt $((FIRST * 125 / 100)) ]; then
  echo "FAIL: RSS grew from $FIRST KiB to $LAST KiB"; exit 1
fi
echo "soak OK: RSS ${FIRST:-?} KiB after 1 min, $LAST KiB at the end"
