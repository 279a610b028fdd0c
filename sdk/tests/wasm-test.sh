#!/usr/bin/env bash
# Builds the SDK's tests for wasm32-wasip1 and runs each test binary under Node's WASI
# (sdk/tests/wasm-run.mjs): the verifier, including VEX consensus replay, passes on a wasm32
# target, not only natively. Needs node >= 20.
set -euo pipefail
cd "$(dirname "$0")/../.."
rustup target add wasm32-wasip1 >/dev/null 2>&1 || true
T="${CARGO_TARGET_DIR:-target}"
mkdir -p "$T"
cargo test -q -p evl-sdk --target wasm32-wasip1 --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])' > "$T/wasm-tests.txt"
test -s "$T/wasm-tests.txt"
while IFS= read -r w; do
  echo "== $(basename "$w")"
  node --no-warnings sdk/tests/wasm-run.mjs "$w" --test-threads 1 > "$T/wasm-test.log" 2>&1 || { cat "$T/wasm-test.log"; exit 1; }
  grep "test result" "$T/wasm-test.log"
done < "$T/wasm-tests.txt"
