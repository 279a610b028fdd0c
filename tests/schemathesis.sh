#!/usr/bin/env bash
# Drives the OpenAPI document with schemathesis (PyPI) against a real `evl serve` on loopback,
# bounded in examples and time: no 5xx, every response matches its documented status, content
# type and schema (errors: {"code","message"}), and the ledger still verifies afterwards.
# Usage: tests/schemathesis.sh EVL [MAX_EXAMPLES]
set -euo pipefail
EVL="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
MAX="${2:-50}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${ST_VENV:-$ROOT/target/schemathesis-venv}"
if [ ! -x "$VENV/bin/st" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==4.32.5"
fi
D="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
env -u EVL_DATA "$EVL" --data "$D/data" serve --listen "127.0.0.1:$PORT" >"$D/serve.log" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/health/readiness" >/dev/null && break
  sleep 0.2
done
TOKEN="$(cat "$D/data/admin-token")"
(cd "$D" && timeout 600 "$VENV/bin/st" run "http://127.0.0.1:$PORT/openapi.json" \
  -H "Authorization: Bearer $TOKEN" --max-examples "$MAX" --seed 1 \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance)
kill -TERM "$PID"
wait "$PID"
"$EVL" --data "$D/data" verify --mode full
"$EVL" --data "$D/data" anchor verify >/dev/null
echo "schemathesis: 0 failures; ledger verifies afterwards"
