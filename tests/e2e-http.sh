#!/usr/bin/env bash
# End-to-end check of the HTTP API (`evl serve`), cross-checked by independent peer verifiers.
#
# Usage: tests/e2e-http.sh PATH_TO_EVL PEERS_DIR
#
#   PATH_TO_EVL  the built binary (e.g. target/debug/evl)
#   PEERS_DIR    shared/peers with the Go peer built (.build/peerverify) and the Python venv
#                (.venv, requirements.txt installed); see PEERS_DIR/README.md
#
# Starts `evl serve` on a fresh data directory and a free loopback port, drives it with curl,
# and checks what it serves with the same peers as tests/e2e-cli.sh: Go
# golang.org/x/mod/sumdb/{tlog,note}; Python sigstore, pymerkle, securesystemslib, rfc8785
# (through PEERS_DIR/pyverify.py). The trust (the vkey) comes from DATA/trust-root.json only.
# Everything runs in a fresh temporary directory; on exit the server is killed (if still up)
# and the directory removed (set KEEP=1 to keep it).
# Prints one PASS/FAIL line per check and ends with "N passed, M failed"; exits 1 if M > 0.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 PATH_TO_EVL PEERS_DIR" >&2
  exit 2
fi
abspath() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
EVL="$(abspath "$1")"
PEERS="$(cd "$2" && pwd)"
GO="$PEERS/.build/peerverify"
PYV=("$PEERS/.venv/bin/python3" "$PEERS/pyverify.py")
ORIGIN="e2e.example/http"

W="$(mktemp -d)"
D="$W/data"
SRV=""   # the server's pid while it runs

# Stop the server if it is still up (TERM, then KILL after 5 s), then remove the work dir.
cleanup() {
  if [ -n "$SRV" ] && kill -0 "$SRV" 2>/dev/null; then
    kill -TERM "$SRV" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do kill -0 "$SRV" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SRV" 2>/dev/null || true
    wait "$SRV" 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$W"
export PYTHONUTF8=1 PYTHONIOENCODING=utf-8
# evl reads every EVL_* variable as configuration and refuses unknown ones; keep only EVL_LOG.
for v in $(compgen -e | grep '^EVL_' || true); do [ "$v" = EVL_LOG ] || unset "$v"; done

# ---------------------------------------------------------------- reporting ----

PASSED=0
FAILED=0
RC=0
pass() { PASSED=$((PASSED + 1)); printf 'PASS  %s\n' "$1"; }
# fail NAME [DETAIL...]: also shows the tail of the last command's output.
fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL  %s\n' "$1"
  shift
  local l
  for l in "$@"; do printf '        %s\n' "$l"; done
  if [ -s "$W/out" ]; then tail -n 8 "$W/out" | cut -c1-400 | sed 's/^/        stdout: /'; fi
  if [ -s "$W/err" ]; then tail -n 8 "$W/err" | cut -c1-400 | sed 's/^/        stderr: /'; fi
}
summary() { printf '%d passed, %d failed\n' "$PASSED" "$FAILED"; }
# die NAME DETAIL: a setup step failed; nothing after it can run.
die() {
  fail "$@"
  if [ -s "$W/server.log" ]; then tail -n 8 "$W/server.log" | sed 's/^/        server: /'; fi
  echo "aborting: later checks depend on this step"
  summary
  exit 1
}
# run CMD...: stdout -> $W/out, stderr -> $W/err, exit status -> $RC. Never aborts.
run() { RC=0; "$@" >"$W/out" 2>"$W/err" || RC=$?; }
evl() { "$EVL" --data "$D" "$@"; }
# check NAME NEEDLE CMD...: CMD exits 0 and its stdout has a line containing NEEDLE.
check() {
  local name="$1" needle="$2"
  shift 2
  run "$@"
  if [ "$RC" = 0 ] && grep -qF -- "$needle" "$W/out"; then pass "$name"; else fail "$name" "want exit 0 and \"$needle\" (exit $RC)"; fi
}
# reject NAME NEEDLE CMD...: CMD exits non-zero and its stdout or stderr contains NEEDLE.
reject() {
  local name="$1" needle="$2"
  shift 2
  run "$@"
  if [ "$RC" != 0 ] && cat "$W/out" "$W/err" | grep -qF -- "$needle"; then pass "$name"; else fail "$name" "want non-zero exit and \"$needle\" (exit $RC)"; fi
}
# is NAME GOT WANT: string equality.
is() { if [ "$2" = "$3" ]; then pass "$1"; else : >"$W/out"; : >"$W/err"; fail "$1" "got:  $2" "want: $3"; fi; }
# same NAME FILE1 FILE2: byte equality.
same() { if cmp -s "$2" "$3"; then pass "$1"; else : >"$W/out"; : >"$W/err"; fail "$1" "$(basename "$2") and $(basename "$3") differ: $(cmp "$2" "$3" 2>&1 | head -n 1)"; fi; }

# ------------------------------------------------------------------- HTTP ----

# http METHOD PATH [CURL_ARGS...]: body -> $W/out, headers -> $W/hdr, status -> $CODE (000 if
# curl got no response), curl's exit status -> $RC, messages -> $W/err. Never aborts.
CODE=000
http() {
  local method="$1" path="$2"
  shift 2
  RC=0
  CODE="$(curl -sS --noproxy '*' --max-time 60 -X "$method" -o "$W/out" -D "$W/hdr" -w '%{http_code}' \
    "$@" "$BASE$path" 2>"$W/err")" || RC=$?
  [ -n "$CODE" ] || CODE=000
}
auth=(-H "Authorization: Bearer PLACEHOLDER")   # set once the token is known
json=(-H 'Content-Type: application/json')
# content_type: the media type of the last response (lowercase, no parameters).
content_type() { tr -d '\r' <"$W/hdr" | awk -F': *' 'tolower($1) == "content-type" { print tolower($2) }' | tail -n 1 | cut -d';' -f1 | tr -d ' '; }
# status_is NAME WANT: the last response had status WANT.
status_is() { if [ "$CODE" = "$2" ]; then pass "$1"; else fail "$1" "HTTP status $CODE, want $2 (curl exit $RC)"; fi; }
# http_error NAME STATUS CODE METHOD PATH [CURL_ARGS...]: a JSON error {"code": CODE, ...}.
http_error() {
  local name="$1" want_status="$2" want_code="$3"
  shift 3
  http "$@"
  local got_code
  got_code="$(h get "$W/out" code 2>/dev/null || echo '?')"
  if [ "$CODE" = "$want_status" ] && [ "$got_code" = "$want_code" ] && [ "$(content_type)" = application/json ]; then
    pass "$name"
  else
    fail "$name" "got HTTP $CODE code $got_code content-type $(content_type), want HTTP $want_status code $want_code application/json (curl exit $RC)"
  fi
}

# ------------------------------------------------------------------ helpers ----

# JSON glue only (field access, probe files); all verification is done by evl and the peers.
cat >"$W/h.py" <<'PY'
import base64, hashlib, json, sys

def load(p):
    return json.load(sys.stdin if p == "-" else open(p, encoding="utf-8"))

def dump(v, p):
    with open(p, "w", encoding="utf-8") as f:
        json.dump(v, f, indent=1)

def node_digest(node_id):
    assert node_id.startswith("sha256:") and len(node_id) == 71, node_id
    return bytes.fromhex(node_id[7:])

def checkpoint_head(note):
    # C2SP checkpoint: origin, size, root (base64) are the first three lines of the note text.
    lines = note.split("\n\n")[0].split("\n")
    return lines[0], int(lines[1]), lines[2]

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "get":  # get FILE KEY...: print a member (strings raw, the rest as JSON)
    v = load(args[0])
    for k in args[1:]:
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(v if isinstance(v, str) else json.dumps(v))
elif cmd == "write-str":  # write-str FILE KEY... OUT: write a string member verbatim
    v = load(args[0])
    for k in args[1:-1]:
        v = v[int(k)] if isinstance(v, list) else v[k]
    open(args[-1], "w", encoding="utf-8", newline="").write(v)
elif cmd == "receipts":  # receipts FILE: "leaf_index node_id created tree_size" per result
    d = load(args[0])
    for r in d["results"] if isinstance(d, dict) and "results" in d else [d]:
        rc = r["receipt"]
        print(rc["leaf_index"], rc["node_id"], str(r["created"]).lower(), rc["inclusion"]["tree_size"])
elif cmd == "checkpoints":  # checkpoints FILE: number of distinct checkpoints in a BatchResult
    print(len({r["receipt"]["checkpoint"] for r in load(args[0])["results"]}))
elif cmd == "head":  # head NOTEFILE: "origin size root"
    print(*checkpoint_head(open(args[0], encoding="utf-8").read()))
elif cmd == "inclusion-probe":  # receipt -> transparency-dev/merkle inclusion probe
    r = load(args[0])
    _, size, root = checkpoint_head(r["checkpoint"])
    leaf = hashlib.sha256(b"\x00" + node_digest(r["node_id"])).digest()  # SPEC.md §4.1
    dump({"leafIdx": r["inclusion"]["leaf_index"], "treeSize": r["inclusion"]["tree_size"],
          "root": root, "leafHash": base64.b64encode(leaf).decode(),
          "proof": r["inclusion"]["hashes"], "wantErr": False,
          "desc": "GET /v1/nodes/%s/proof (checkpoint size %d)" % (r["node_id"], size)}, args[1])
elif cmd == "consistency-probe":  # PROOF ROOT1 ROOT2 OUT -> consistency probe
    p = load(args[0])
    dump({"size1": p["old_size"], "size2": p["new_size"], "root1": args[1], "root2": args[2],
          "proof": p["hashes"], "wantErr": False, "desc": "GET /v1/proofs/consistency"}, args[3])
elif cmd == "mutate":  # mutate PROBE K OUT: flip the low bit of byte 0 of proof[K % len]
    d = load(args[0])
    k = int(args[1]) % len(d["proof"])
    h = bytearray(base64.b64decode(d["proof"][k]))
    h[0] ^= 1
    d["proof"][k] = base64.b64encode(bytes(h)).decode()
    d["desc"] = "proof[%d] with one bit flipped; wantErr stays false" % k
    dump(d, args[2])
elif cmd == "flip-sig":  # flip-sig ENVELOPE OUT: flip one bit of the first signature
    e = load(args[0])
    s = bytearray(base64.b64decode(e["signatures"][0]["sig"]))
    s[10] ^= 1
    e["signatures"][0]["sig"] = base64.b64encode(bytes(s)).decode()
    dump(e, args[1])
elif cmd == "payload":  # payload ENVELOPE OUT: the DSSE payload bytes, base64-decoded
    open(args[1], "wb").write(base64.b64decode(load(args[0])["payload"], validate=True))
elif cmd == "pubhex":  # pubhex VKEY: raw Ed25519 key of a C2SP vkey (SPEC.md §5.1 rule 5)
    raw = base64.b64decode(args[0].split("+", 2)[2], validate=True)
    assert len(raw) == 33 and raw[0] == 1, "not an Ed25519 vkey"
    print(raw[1:].hex())
elif cmd == "leafdata":  # leafdata IDFILE: hex leaf data (the NodeId digest) in index order
    rows = sorted((int(l.split()[0]), l.split()[1]) for l in open(args[0]) if l.strip())
    assert [i for i, _ in rows] == list(range(len(rows))), "leaf indices are not 0..n-1"
    for _, nid in rows:
        print(node_digest(nid).hex())
elif cmd == "batch":  # batch FIRST COUNT PHASE OUT: {"nodes": [...]} of COUNT small nodes
    first, count = int(args[0]), int(args[1])
    nodes = [{"type": "x-e2e", "phase": args[2], "i": i} for i in range(first, first + count)]
    open(args[3], "w", encoding="utf-8").write(json.dumps({"nodes": nodes}))
elif cmd == "big":  # big BYTES OUT: a JSON node padded to BYTES bytes
    n = int(args[0])
    head, tail = '{"type":"x-e2e","pad":"', '"}'
    open(args[1], "w", encoding="utf-8").write(head + "a" * (n - len(head) - len(tail)) + tail)
else:
    sys.exit("h.py: unknown command " + cmd)
PY
h() { python3 "$W/h.py" "$@"; }
py() { "${PYV[@]}" "$@"; }
id_at() { awk -v i="$1" '$1 == i { print $2; exit }' "$W/ids"; }
: >"$W/ids"
# status_tree_size: tree_size from GET /status, or "?".
status_tree_size() {
  http GET /status
  if [ "$CODE" = 200 ]; then h get "$W/out" tree_size 2>/dev/null || echo '?'; else echo '?'; fi
}

echo "evl:     $EVL"
echo "peers:   $PEERS"
echo "workdir: $W"

for f in "$EVL" "$GO" "${PYV[0]}"; do [ -x "$f" ] || die "prerequisite $f" "not an executable file"; done
[ -f "${PYV[1]}" ] || die "prerequisite ${PYV[1]}" "missing"
command -v curl >/dev/null || die "prerequisite curl" "not on PATH"

# ========================================================== 0. serve ====

echo "== serve"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
# Another process may take the port between free_port and evl's bind: retry a few times.
started=0
deadline=$((SECONDS + 20))
for attempt in 1 2 3; do
  PORT="$(free_port)"
  BASE="http://127.0.0.1:$PORT"
  "$EVL" --data "$D" serve --listen "127.0.0.1:$PORT" --origin "$ORIGIN" >"$W/server.out" 2>>"$W/server.log" &
  SRV=$!
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$SRV" 2>/dev/null; then break; fi
    http GET /health/readiness
    if [ "$CODE" = 200 ]; then started=1; break; fi
    sleep 0.2
  done
  [ "$started" = 1 ] && break
  if kill -0 "$SRV" 2>/dev/null || ! grep -q "cannot listen" "$W/server.log"; then break; fi
  wait "$SRV" 2>/dev/null || true
  SRV=""
done
[ "$started" = 1 ] || die "evl serve answers /health/readiness with 200 within 20 s" "last status $CODE"
pass "evl serve --listen 127.0.0.1:$PORT --origin $ORIGIN: /health/readiness 200"
is "readiness of the fresh ledger: ready, tree_size 0" "$(h get "$W/out" status) $(h get "$W/out" tree_size)" "ready 0"

for f in admin-token trust-root.json public-key.pem; do
  [ -s "$D/$f" ] || die "serve initialized $D/$f" "missing or empty"
done
pass "serve initialized admin-token, trust-root.json and public-key.pem"
TOKEN="$(tr -d ' \r\n' <"$D/admin-token")"
auth=(-H "Authorization: Bearer $TOKEN")
VKEY="$(h get "$D/trust-root.json" keys 0 vkey)" || die "trust-root.json has keys[0].vkey"
KEYNAME="$(printf '%s' "$VKEY" | cut -d+ -f1,2)"   # <name>+<key ID hex>, also the DSSE keyid
PUBHEX="$(h pubhex "$VKEY")" || die "vkey $VKEY" "not an Ed25519 C2SP vkey"
is "trust root: origin and key name are $ORIGIN" "$(h get "$D/trust-root.json" origin) ${KEYNAME%+*}" "$ORIGIN $ORIGIN"

# ========================================================== 1. append ====

echo "== POST /v1/nodes"
APPENDED=0
# 20 nodes one by one; node 10 is deliberately not canonical (whitespace, member order, 1e3,
# -0, escapes), so that its stored bytes can be compared with rfc8785's canonical form.
bad=()
for i in $(seq 0 19); do
  if [ "$i" = 10 ]; then
    printf '{ "i" : 10, "type" : "x-e2e", "src": "http", "n": 1e3, "f": 0.5, "z": -0, "s": "caf\\u00e9 \\ud83d\\ude00 \\u20ac" }' >"$W/single$i.json"
  else
    printf '{"type":"x-e2e","phase":"single","i":%d}' "$i" >"$W/single$i.json"
  fi
  http POST /v1/nodes "${auth[@]}" "${json[@]}" --data-binary "@$W/single$i.json"
  if [ "$CODE" = 201 ] && h receipts "$W/out" >"$W/r.tsv" 2>/dev/null; then
    cp "$W/out" "$W/post$i.json"
    cat "$W/r.tsv" | cut -d' ' -f1,2 >>"$W/ids"
    got="$(cat "$W/r.tsv")"
    want_tail="$i true $((i + 1))"
    if [ "$(cut -d' ' -f1,3,4 <<<"$got")" != "$want_tail" ]; then bad+=("node $i: got \"$got\", want index/created/size $want_tail"); fi
  else
    bad+=("node $i: HTTP $CODE (curl exit $RC)")
  fi
done
APPENDED=20
if [ "${#bad[@]}" = 0 ]; then
  pass "20 single POSTs: each 201, created:true, leaf_index i, receipt at tree size i+1"
else
  fail "20 single POSTs: each 201, created:true, leaf_index i, receipt at tree size i+1" "${bad[@]}"
fi

h batch 0 30 batch "$W/batch.json"
http POST /v1/nodes "${auth[@]}" "${json[@]}" --data-binary "@$W/batch.json"
status_is "batch of 30: 201 Created" 201
if h receipts "$W/out" >"$W/r.tsv" 2>/dev/null; then
  cp "$W/out" "$W/post-batch.json"
  cut -d' ' -f1,2 "$W/r.tsv" >>"$W/ids"
  is "batch of 30: results are leaves 20..49, all created:true, all at tree size 50" \
    "$(cut -d' ' -f1,3,4 "$W/r.tsv" | xargs)" "$(for i in $(seq 20 49); do printf '%d true 50 ' "$i"; done | xargs)"
  is "batch of 30: one signed checkpoint for the whole batch" "$(h checkpoints "$W/post-batch.json")" 1
else
  die "batch of 30: the response is a BatchResult" "HTTP $CODE"
fi
APPENDED=50

# Re-posting is idempotent: 200, created:false, the original leaf, no new leaf.
printf '{ "i": 5, "phase": "single",\n  "type": "x-e2e" }' >"$W/again5.json"
http POST /v1/nodes "${auth[@]}" "${json[@]}" --data-binary "@$W/again5.json"
status_is "re-POST node 5 (other member order and whitespace): 200 OK" 200
cp "$W/out" "$W/post-again.json"
is "re-POST node 5: created:false, leaf 5, same NodeId, receipt at size 50" \
  "$(h receipts "$W/post-again.json" 2>/dev/null || echo '?')" "5 $(id_at 5) false 50"
http POST /v1/nodes "${auth[@]}" "${json[@]}" --data-binary "@$W/batch.json"
status_is "re-POST the batch of 30: 200 OK" 200
is "re-POST the batch: 30 created:false at leaves 20..49" \
  "$(h receipts "$W/out" 2>/dev/null | cut -d' ' -f1,3 | xargs)" "$(for i in $(seq 20 49); do printf '%d false ' "$i"; done | xargs)"
is "/status tree_size unchanged by the re-POSTs" "$(status_tree_size)" "$APPENDED"

# ====================================================== 2. receipts ====

echo "== peers: receipts from GET /v1/nodes/{id}/proof"
# proof_and_check LABEL INDEX [SIZE]: GET the receipt over HTTP -> signed note (Go, sigstore)
# and inclusion probe (Go tlog, sigstore + pymerkle), plus a one-bit mutation every peer
# must reject. Without SIZE the receipt is at the latest checkpoint ($APPENDED).
k=0
proof_and_check() {
  local label="$1" idx="$2" size="${3:-}"
  local id want_size query=""
  id="$(id_at "$idx")"
  want_size="$APPENDED"
  if [ -n "$size" ]; then want_size="$size"; query="?size=$size"; fi
  local t="$label leaf $idx @ size $want_size"
  http GET "/v1/nodes/$id/proof$query"
  if [ "$CODE" != 200 ]; then fail "$t: GET /v1/nodes/{id}/proof$query" "HTTP $CODE"; return 0; fi
  local r="$W/receipt$k.json" note="$W/cp$k.note" probe="$W/incl$k.json" mut="$W/incl$k-mut.json"
  cp "$W/out" "$r"
  is "$t: receipt names the node, index and size" \
    "$(h get "$r" node_id) $(h get "$r" leaf_index) $(h get "$r" inclusion leaf_index) $(h get "$r" inclusion tree_size)" \
    "$id $idx $idx $want_size"
  h write-str "$r" checkpoint "$note"
  is "$t: checkpoint head (origin, size)" "$(h head "$note" | cut -d' ' -f1,2)" "$ORIGIN $want_size"
  run "$GO" note-verify "$VKEY" "$note"
  if [ "$RC" = 0 ] && grep -qxF "verified $KEYNAME" "$W/out"; then pass "$t: Go note.Open verifies the checkpoint"; else fail "$t: Go note.Open verifies the checkpoint" "exit $RC"; fi
  check "$t: sigstore verifies the checkpoint" "size=$want_size root=" py note-verify "$VKEY" "$note" --checkpoint
  h inclusion-probe "$r" "$probe"
  check "$t: Go tlog.CheckRecord accepts the inclusion proof" "1 agree, 0 disagree" "$GO" inclusion-json "$probe"
  run py inclusion --probe "$probe"
  if [ "$RC" = 0 ] && grep -qx "sigstore: ok" "$W/out" && grep -qx "pymerkle: ok" "$W/out"; then
    pass "$t: sigstore + pymerkle accept the inclusion proof"
  else
    fail "$t: sigstore + pymerkle accept the inclusion proof" "exit $RC"
  fi
  h mutate "$probe" "$k" "$mut"
  reject "$t: Go rejects the proof with one bit flipped" "0 agree, 1 disagree" "$GO" inclusion-json "$mut"
  run py inclusion --probe "$mut"
  if [ "$RC" = 1 ] && grep -q "^sigstore: FAIL" "$W/out" && grep -q "^pymerkle: FAIL" "$W/out" && grep -qF "DISAGREE" "$W/out"; then
    pass "$t: sigstore + pymerkle reject the proof with one bit flipped"
  else
    fail "$t: sigstore + pymerkle reject the proof with one bit flipped" "exit $RC"
  fi
  k=$((k + 1))
}
proof_and_check "first" 0
LATEST_RECEIPT="$W/receipt0.json"
proof_and_check "single" 7
proof_and_check "non-canonical" 10
proof_and_check "last single" 19
proof_and_check "first of batch" 20
proof_and_check "last" 49

# Older checkpoint sizes, taken from the receipts of earlier POSTs; the receipt fetched now must
# carry the very checkpoint that POST returned.
OLD1="$(h get "$W/post13.json" receipt inclusion tree_size)"   # 14
proof_and_check "older size (from POST 13)" 3 "$OLD1"
h write-str "$W/post13.json" receipt checkpoint "$W/post13.note"
same "checkpoint at size $OLD1 = the one POST 13 returned" "$W/cp$((k - 1)).note" "$W/post13.note"
OLD2="$(h get "$W/post19.json" receipt inclusion tree_size)"   # 20
proof_and_check "older size (from POST 19)" 12 "$OLD2"
h write-str "$W/post19.json" receipt checkpoint "$W/post19.note"
same "checkpoint at size $OLD2 = the one POST 19 returned" "$W/cp$((k - 1)).note" "$W/post19.note"
http_error "proof at size 25 (inside the batch: no checkpoint signed there): 404 NOT_FOUND" \
  404 NOT_FOUND GET "/v1/nodes/$(id_at 3)/proof?size=25"
http_error "proof of leaf 30 at size $OLD1: 400 OUT_OF_RANGE" 400 OUT_OF_RANGE GET "/v1/nodes/$(id_at 30)/proof?size=$OLD1"

# ===================================================== 3. checkpoint ====

echo "== GET /v1/checkpoint"
http GET /v1/checkpoint
status_is "GET /v1/checkpoint: 200" 200
cp "$W/out" "$W/checkpoint.note"
is "GET /v1/checkpoint: Content-Type text/plain" "$(content_type)" "text/plain"
h write-str "$LATEST_RECEIPT" checkpoint "$W/latest-receipt.note"
same "GET /v1/checkpoint = checkpoint of the latest receipt (GET proof)" "$W/checkpoint.note" "$W/latest-receipt.note"
h write-str "$W/post-again.json" receipt checkpoint "$W/post-again.note"
same "GET /v1/checkpoint = checkpoint of the latest POST receipt (re-POST node 5)" "$W/checkpoint.note" "$W/post-again.note"
run "$GO" note-verify "$VKEY" "$W/checkpoint.note"
if [ "$RC" = 0 ] && grep -qxF "verified $KEYNAME" "$W/out"; then pass "Go note.Open verifies GET /v1/checkpoint"; else fail "Go note.Open verifies GET /v1/checkpoint" "exit $RC"; fi
check "sigstore verifies GET /v1/checkpoint (size $APPENDED)" "size=$APPENDED root=" py note-verify "$VKEY" "$W/checkpoint.note" --checkpoint

# ======================================================== 4. anchors ====

echo "== anchors"
# anchor_post N: POST /v1/anchors -> $W/anchorN.json (envelope) and $W/anchorN.payload.
# N (1, 2) is the order of the POSTs; the anchors' own sequence numbers are $SEQ1, $SEQ2.
anchor_post() {
  http POST /v1/anchors "${auth[@]}"
  if [ "$CODE" = 201 ] && h payload "$W/out" "$W/anchor$1.payload" 2>/dev/null; then
    cp "$W/out" "$W/anchor$1.json"
    pass "POST /v1/anchors (#$1): 201 with a DSSE envelope"
  else
    die "POST /v1/anchors (#$1): 201 with a DSSE envelope" "HTTP $CODE"
  fi
}
http_error "POST /v1/anchors without a token: 401 UNAUTHORIZED" 401 UNAUTHORIZED POST /v1/anchors
anchor_post 1
SEQ1="$(h get "$W/anchor1.payload" seq)"
S1="$(h get "$W/anchor1.payload" tree_size)"
R1="$(h get "$W/anchor1.payload" root)"
is "anchor #1 (seq $SEQ1) is at tree size $APPENDED" "$S1" "$APPENDED"

h batch 100 7 between "$W/batch2.json"
http POST /v1/nodes "${auth[@]}" "${json[@]}" --data-binary "@$W/batch2.json"
if [ "$CODE" = 201 ] && h receipts "$W/out" >"$W/r.tsv" 2>/dev/null; then
  cut -d' ' -f1,2 "$W/r.tsv" >>"$W/ids"
  is "append 7 more between the anchors: leaves 50..56" "$(cut -d' ' -f1,3 "$W/r.tsv" | xargs)" \
    "$(for i in $(seq 50 56); do printf '%d true ' "$i"; done | xargs)"
else
  die "append 7 more between the anchors" "HTTP $CODE"
fi
printf '{"type":"x-e2e","phase":"between","single":true}' >"$W/between.json"
http POST /v1/nodes "${auth[@]}" "${json[@]}" --data-binary "@$W/between.json"
if [ "$CODE" = 201 ] && h receipts "$W/out" >"$W/r.tsv" 2>/dev/null; then
  cut -d' ' -f1,2 "$W/r.tsv" >>"$W/ids"
  is "append 1 more between the anchors: leaf 57" "$(cut -d' ' -f1,3,4 "$W/r.tsv")" "57 true 58"
else
  die "append 1 more between the anchors" "HTTP $CODE"
fi
APPENDED=58

anchor_post 2
SEQ2="$(h get "$W/anchor2.payload" seq)"
S2="$(h get "$W/anchor2.payload" tree_size)"
R2="$(h get "$W/anchor2.payload" root)"
is "anchor #2 (seq $SEQ2) is at tree size $APPENDED" "$S2" "$APPENDED"
is "anchor #2 has the next sequence number" "$SEQ2" "$((SEQ1 + 1))"

http GET /v1/anchors
status_is "GET /v1/anchors: 200" 200
cp "$W/out" "$W/anchors.json"
AID1="$(h get "$W/anchors.json" 0 id 2>/dev/null || echo '?')"
AID2="$(h get "$W/anchors.json" 1 id 2>/dev/null || echo '?')"
is "GET /v1/anchors lists both anchors (seq, tree size)" \
  "$(python3 -c 'import json,sys; print(" ".join("%s:%s" % (a.get("seq"), a.get("tree_size")) for a in json.load(open(sys.argv[1]))))' "$W/anchors.json")" \
  "$SEQ1:$S1 $SEQ2:$S2"
is "anchor $SEQ2 payload prev = AnchorId of anchor $SEQ1" "$(h get "$W/anchor2.payload" prev)" "$AID1"

http GET /v1/anchors/latest
status_is "GET /v1/anchors/latest: 200" 200
cp "$W/out" "$W/latest.dsse.json"
same "GET /v1/anchors/latest = the envelope the 2nd POST returned" "$W/latest.dsse.json" "$W/anchor2.json"
http GET "/v1/anchors/$SEQ1"
status_is "GET /v1/anchors/$SEQ1: 200" 200
cp "$W/out" "$W/seq1.dsse.json"
same "GET /v1/anchors/$SEQ1 = the envelope the 1st POST returned" "$W/seq1.dsse.json" "$W/anchor1.json"

check "securesystemslib verifies GET /v1/anchors/latest (raw key from the trust root vkey)" \
  "ok payloadType='application/vnd.evidence-ledger.anchor.v1+json'" py dsse-verify "$W/latest.dsse.json" "$PUBHEX"
if grep -qF "payload_sha256=${AID2#sha256:}" "$W/out"; then pass "SHA-256 of the verified payload = AnchorId of anchor $SEQ2 (GET /v1/anchors)"; else fail "SHA-256 of the verified payload = AnchorId of anchor $SEQ2 (GET /v1/anchors)" "AnchorId $AID2"; fi
is "latest envelope keyid = trust root key name" "$(h get "$W/latest.dsse.json" signatures 0 keyid)" "$KEYNAME"
check "securesystemslib verifies GET /v1/anchors/$SEQ1 with public-key.pem" "ok payloadType=" py dsse-verify "$W/seq1.dsse.json" "$D/public-key.pem"
h flip-sig "$W/latest.dsse.json" "$W/latest-bad.dsse.json"
reject "securesystemslib rejects the latest envelope with one signature bit flipped" "FAIL" py dsse-verify "$W/latest-bad.dsse.json" "$PUBHEX"
for s in 1 2; do
  h write-str "$W/anchor$s.payload" checkpoint "$W/anchor$s.note"
  run "$GO" note-verify "$VKEY" "$W/anchor$s.note"
  if [ "$RC" = 0 ] && grep -qxF "verified $KEYNAME" "$W/out"; then pass "Go note.Open verifies the checkpoint inside anchor #$s"; else fail "Go note.Open verifies the checkpoint inside anchor #$s" "exit $RC"; fi
done
is "anchor #1 root = root of GET /v1/checkpoint at size $S1" "$R1" "$(h head "$W/checkpoint.note" | cut -d' ' -f3)"

echo "== peers: GET /v1/proofs/consistency"
http GET "/v1/proofs/consistency?from=$S1&to=$S2"
if [ "$CODE" = 200 ]; then
  cp "$W/out" "$W/cons.json"
  pass "GET /v1/proofs/consistency?from=$S1&to=$S2: 200"
  is "consistency proof names the sizes" "$(h get "$W/cons.json" old_size) $(h get "$W/cons.json" new_size)" "$S1 $S2"
  h consistency-probe "$W/cons.json" "$R1" "$R2" "$W/cons-probe.json"
  check "Go tlog.CheckTree accepts the consistency proof $S1 -> $S2 (anchor roots)" "1 agree, 0 disagree" "$GO" consistency-json "$W/cons-probe.json"
  h leafdata "$W/ids" >"$W/leaves.txt"
  run py consistency "$W/cons-probe.json" --leaves "$W/leaves.txt" --peer "$GO"
  if [ "$RC" = 0 ] && grep -q "^pymerkle root1 (size $S1): ok" "$W/out" && grep -q "^pymerkle root2 (size $S2): ok" "$W/out"; then
    pass "pymerkle recomputes both anchored roots from the NodeIds of the POST receipts"
  else
    fail "pymerkle recomputes both anchored roots from the NodeIds of the POST receipts" "exit $RC"
  fi
  h mutate "$W/cons-probe.json" 1 "$W/cons-mut.json"
  reject "Go rejects the consistency proof with one bit flipped" "0 agree, 1 disagree" "$GO" consistency-json "$W/cons-mut.json"
else
  fail "GET /v1/proofs/consistency?from=$S1&to=$S2: 200" "HTTP $CODE"
fi
http_error "consistency from 0: 400 OUT_OF_RANGE" 400 OUT_OF_RANGE GET "/v1/proofs/consistency?from=0&to=$S2"
http_error "consistency beyond the tree: 400 OUT_OF_RANGE" 400 OUT_OF_RANGE GET "/v1/proofs/consistency?from=1&to=$((S2 + 1))"

# ========================================================== 5. nodes ====

echo "== peers: GET /v1/nodes/{id} bytes"
# get_and_check LABEL INDEX [ORIGINAL]: the served bytes are RFC 8785 canonical (rfc8785) and
# hash to the NodeId; with ORIGINAL, they also equal rfc8785's canonical form of the input.
get_and_check() {
  local label="$1" idx="$2" orig="${3:-}" id
  id="$(id_at "$idx")"
  local t="$label leaf $idx"
  http GET "/v1/nodes/$id"
  if [ "$CODE" != 200 ]; then fail "$t: GET /v1/nodes/{id}" "HTTP $CODE"; return 0; fi
  local b="$W/node$idx.bin"
  cp "$W/out" "$b"
  is "$t: Content-Type application/json" "$(content_type)" "application/json"
  run py jcs "$b"
  if [ "$RC" = 0 ] && cmp -s "$W/out" "$b"; then pass "$t: served bytes = rfc8785 canonical form of them"; else fail "$t: served bytes = rfc8785 canonical form of them" "exit $RC"; fi
  is "$t: SHA-256 of the served bytes = NodeId" "sha256:$(sha256sum <"$b" | cut -c1-64)" "$id"
  if [ -n "$orig" ]; then
    run py jcs "$orig"
    if [ "$RC" = 0 ] && cmp -s "$W/out" "$b"; then pass "$t: = rfc8785 canonical form of the POSTed body"; else fail "$t: = rfc8785 canonical form of the POSTed body" "exit $RC"; fi
  fi
}
get_and_check "single" 0 "$W/single0.json"
get_and_check "non-canonical" 10 "$W/single10.json"
get_and_check "batch" 33
get_and_check "between the anchors" 57 "$W/between.json"

# ======================================================= 6. negative ====

echo "== rejected requests"
http_error "POST /v1/nodes without a token: 401 UNAUTHORIZED" 401 UNAUTHORIZED \
  POST /v1/nodes "${json[@]}" --data-binary '{"type":"x-e2e","neg":"no-token"}'
http_error "POST /v1/nodes with an unknown token: 401 UNAUTHORIZED" 401 UNAUTHORIZED \
  POST /v1/nodes -H 'Authorization: Bearer not-the-token-0123456789' "${json[@]}" --data-binary '{"type":"x-e2e","neg":"bad-token"}'
h big 20000000 "$W/big.json"
http_error "POST /v1/nodes with a 20 MB body: 413 TOO_LARGE" 413 TOO_LARGE \
  POST /v1/nodes "${auth[@]}" "${json[@]}" --data-binary "@$W/big.json"
rm -f "$W/big.json"
http_error "POST /v1/nodes with Content-Type text/plain: 415 UNSUPPORTED_MEDIA_TYPE" 415 UNSUPPORTED_MEDIA_TYPE \
  POST /v1/nodes "${auth[@]}" -H 'Content-Type: text/plain' --data-binary '{"type":"x-e2e","neg":"text-plain"}'
http_error "POST /v1/nodes with a duplicate key: 400 DUPLICATE_KEY" 400 DUPLICATE_KEY \
  POST /v1/nodes "${auth[@]}" "${json[@]}" --data-binary '{"type":"x-e2e","a":1,"a":2}'
http_error "batch with a bad 2nd node: 400 TYPE_UNKNOWN" 400 TYPE_UNKNOWN \
  POST /v1/nodes "${auth[@]}" "${json[@]}" --data-binary '{"nodes":[{"type":"x-e2e","neg":"good"},{"type":"nope/v1"}]}'
http_error "GET /v1/nodes/sha256:zz: 400 NODE_ID_MALFORMED" 400 NODE_ID_MALFORMED GET /v1/nodes/sha256:zz
http_error "GET an unknown well-formed NodeId: 404 NOT_FOUND" 404 NOT_FOUND \
  GET "/v1/nodes/sha256:$(printf 'e2e-unknown' | sha256sum | cut -c1-64)"
http_error "unknown route GET /v1/no/such/route: 404 NOT_FOUND" 404 NOT_FOUND GET /v1/no/such/route
http_error "unknown route POST /nope: 404 NOT_FOUND" 404 NOT_FOUND POST /nope "${auth[@]}"

http GET /health/readiness
status_is "/health/readiness after the rejected requests: 200" 200
is "/status tree_size = nodes appended ($APPENDED)" "$(status_tree_size)" "$APPENDED"
is "/status anchors = 2" "$(h get "$W/out" anchors 2>/dev/null || echo '?')" "2"

# =========================================================== 7. stop ====

echo "== SIGTERM, then the CLI on the data directory"
kill -TERM "$SRV"
stopped=0
for i in $(seq 1 150); do
  if ! kill -0 "$SRV" 2>/dev/null; then stopped=1; break; fi
  sleep 0.1
done
if [ "$stopped" = 1 ]; then
  src=0
  wait "$SRV" || src=$?
  SRV=""
  is "evl serve exits 0 within 15 s of SIGTERM" "exit $src" "exit 0"
else
  die "evl serve exits within 15 s of SIGTERM" "still running after 15 s"
fi
if grep -qF "evl serve: stopped" "$W/server.log"; then pass "server log says \"evl serve: stopped\""; else : >"$W/out"; : >"$W/err"; fail "server log says \"evl serve: stopped\"" "$(tail -n 3 "$W/server.log")"; fi

check "evl verify --mode full exits 0" "OK" evl verify --mode full
check "evl anchor verify exits 0" "anchor chain OK: 2 anchors verified" evl anchor verify
run evl status --output json
is "evl status: tree size $APPENDED" "$(h get "$W/out" tree_size 2>/dev/null || echo '?')" "$APPENDED"

# ========================================================== summary ====

echo "=="
summary
[ "$FAILED" = 0 ]
