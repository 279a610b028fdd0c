#!/usr/bin/env bash
# End-to-end check of the `evl` CLI, cross-checked by independent peer verifiers.
#
# Usage: tests/e2e-cli.sh PATH_TO_EVL PEERS_DIR [SAMPLES_DIR]
#
#   PATH_TO_EVL  the built binary (e.g. target/debug/evl)
#   PEERS_DIR    shared/peers with the Go peer built (.build/peerverify) and the Python venv
#                (.venv, requirements.txt installed); see PEERS_DIR/README.md
#   SAMPLES_DIR  VEX samples with openvex/, csaf/, cyclonedx/ (default: tests/data/vex in this repository)
#
# Everything runs in a fresh temporary directory, removed on exit (set KEEP=1 to keep it).
# Prints one PASS/FAIL line per check and ends with "N passed, M failed"; exits 1 if M > 0.
# The checks follow SPEC.md: nodes and NodeIds (§2, §3), Merkle proofs (§4), checkpoints and
# receipts (§5), DSSE (§6) and anchors (§7). Peers: Go golang.org/x/mod/sumdb/{tlog,note};
# Python sigstore, pymerkle, securesystemslib, rfc8785 (through PEERS_DIR/pyverify.py).
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  echo "usage: $0 PATH_TO_EVL PEERS_DIR [SAMPLES_DIR]" >&2
  exit 2
fi
abspath() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
EVL="$(abspath "$1")"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="$(cd "$2" && pwd)"
SAMPLES="$(cd "${3:-$(dirname "$0")/data/vex}" && pwd)"
GO="$PEERS/.build/peerverify"
PYV=("$PEERS/.venv/bin/python3" "$PEERS/pyverify.py")
ORIGIN="e2e.example/log"

W="$(mktemp -d)"
if [ "${KEEP:-0}" = 1 ]; then
  trap 'echo "kept $W"' EXIT
else
  trap 'rm -rf "$W"' EXIT
fi
D="$W/data"
cd "$W"
export PYTHONUTF8=1 PYTHONIOENCODING=utf-8

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
  if [ -s "$W/out" ]; then tail -n 8 "$W/out" | sed 's/^/        stdout: /'; fi
  if [ -s "$W/err" ]; then tail -n 8 "$W/err" | sed 's/^/        stderr: /'; fi
}
summary() { printf '%d passed, %d failed\n' "$PASSED" "$FAILED"; }
# die NAME DETAIL: a setup step failed; nothing after it can run.
die() {
  fail "$@"
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
elif cmd == "receipts":  # receipts FILE: "leaf_index node_id created" per appended node
    for r in load(args[0]):
        print(r["receipt"]["leaf_index"], r["receipt"]["node_id"], str(r["created"]).lower())
elif cmd == "head":  # head NOTEFILE: "origin size root"
    print(*checkpoint_head(open(args[0], encoding="utf-8").read()))
elif cmd == "inclusion-probe":  # receipt -> transparency-dev/merkle inclusion probe
    r = load(args[0])
    _, size, root = checkpoint_head(r["checkpoint"])
    leaf = hashlib.sha256(b"\x00" + node_digest(r["node_id"])).digest()  # SPEC.md §4.1
    dump({"leafIdx": r["inclusion"]["leaf_index"], "treeSize": r["inclusion"]["tree_size"],
          "root": root, "leafHash": base64.b64encode(leaf).decode(),
          "proof": r["inclusion"]["hashes"], "wantErr": False,
          "desc": "evl prove %s (checkpoint size %d)" % (r["node_id"], size)}, args[1])
elif cmd == "consistency-probe":  # PROOF ROOT1 ROOT2 OUT -> consistency probe
    p = load(args[0])
    dump({"size1": p["old_size"], "size2": p["new_size"], "root1": args[1], "root2": args[2],
          "proof": p["hashes"], "wantErr": False, "desc": "evl consistency"}, args[3])
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
elif cmd == "pubhex":  # pubhex VKEY: raw Ed25519 key of a C2SP vkey (SPEC.md §5.1 rule 5)
    raw = base64.b64decode(args[0].split("+", 2)[2], validate=True)
    assert len(raw) == 33 and raw[0] == 1, "not an Ed25519 vkey"
    print(raw[1:].hex())
elif cmd == "leafdata":  # leafdata IDFILE: hex leaf data (the NodeId digest) in index order
    rows = sorted((int(l.split()[0]), l.split()[1]) for l in open(args[0]) if l.strip())
    assert [i for i, _ in rows] == list(range(len(rows))), "leaf indices are not 0..n-1"
    for _, nid in rows:
        print(node_digest(nid).hex())
elif cmd == "strip-nl":  # strip-nl IN OUT: drop exactly one trailing newline
    b = open(args[0], "rb").read()
    open(args[1], "wb").write(b[:-1] if b.endswith(b"\n") else b)
else:
    sys.exit("h.py: unknown command " + cmd)
PY
h() { python3 "$W/h.py" "$@"; }
py() { "${PYV[@]}" "$@"; }
tree_size() { local s; if s="$(evl status --output json | h get - tree_size)"; then echo "$s"; else echo "?"; fi; }
id_at() { awk -v i="$1" '$1 == i { print $2; exit }' "$W/ids"; }
: >"$W/ids"

echo "evl:     $EVL"
echo "peers:   $PEERS"
echo "samples: $SAMPLES"
echo "workdir: $W"

for f in "$EVL" "$GO" "${PYV[0]}"; do [ -x "$f" ] || die "prerequisite $f" "not an executable file"; done
[ -f "${PYV[1]}" ] || die "prerequisite ${PYV[1]}" "missing"

# ============================================================ 1. init ====

echo "== init"
run evl init --origin "$ORIGIN" --output json
[ "$RC" = 0 ] || die "evl init --origin $ORIGIN" "exit $RC"
cp "$W/out" "$W/init.json"
VKEY="$(h get "$W/init.json" vkey)" || die "evl init --output json has a vkey"
KEYNAME="$(printf '%s' "$VKEY" | cut -d+ -f1,2)"   # <name>+<key ID hex>, also the DSSE keyid (SPEC.md §5.1 rule 6)
PUBHEX="$(h pubhex "$VKEY")" || die "vkey $VKEY" "not an Ed25519 C2SP vkey"
pass "evl init --origin $ORIGIN (vkey $VKEY)"
is "vkey names the origin" "${KEYNAME%+*}" "$ORIGIN"
is "fresh ledger has tree size 0" "$(tree_size)" "0"

# ========================================================== 2. append ====

echo "== append"
SAMPLE_FILES=()
for kind in openvex csaf cyclonedx; do
  n=0
  for f in "$SAMPLES/$kind"/*.json; do
    [ -f "$f" ] || continue
    SAMPLE_FILES+=("$f")
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || die "samples in $SAMPLES/$kind" "no *.json files"
done
NV=${#SAMPLE_FILES[@]}

run evl append --as-blob application/json --output json "${SAMPLE_FILES[@]}"
if [ "$RC" = 0 ] && h receipts "$W/out" >"$W/r.tsv"; then
  cat "$W/r.tsv" >>"$W/ids"
  got="$(awk '$3 == "true"' "$W/r.tsv" | wc -l)"
  if [ "$got" = "$NV" ]; then pass "append $NV VEX samples --as-blob application/json: $NV created"; else fail "append $NV VEX samples: $got created, want $NV"; fi
else
  die "append $NV VEX samples --as-blob application/json" "exit $RC"
fi
is "tree size after the VEX samples" "$(tree_size)" "$NV"

# 50 small nodes as JSON Lines.
for i in $(seq 0 49); do printf '{"type":"x-e2e","i":%d}\n' "$i"; done >"$W/nodes.jsonl"
run evl append "$W/nodes.jsonl" --output json
if [ "$RC" = 0 ] && h receipts "$W/out" >"$W/r.tsv"; then
  cat "$W/r.tsv" >>"$W/ids"
  want="$(seq "$NV" $((NV + 49)) | sed 's/$/ true/')"
  is "append nodes.jsonl: 50 nodes created at leaves $NV..$((NV + 49))" "$(awk '{print $1, $3}' "$W/r.tsv")" "$want"
else
  die "append nodes.jsonl (50 JSON Lines)" "exit $RC"
fi

# One node from stdin, deliberately not canonical (whitespace, member order, 1e3, -0, escapes).
printf '{ "type" : "x-e2e", "src": "stdin", "n": 1e3, "f": 0.5, "z": -0, "s": "caf\\u00e9 \\ud83d\\ude00 \\u20ac" }\n' >"$W/stdin.json"
run evl append - --output json <"$W/stdin.json"
if [ "$RC" = 0 ] && h receipts "$W/out" >"$W/r.tsv"; then
  cat "$W/r.tsv" >>"$W/ids"
  is "append - (stdin): 1 node created at leaf $((NV + 50))" "$(awk '{print $1, $3}' "$W/r.tsv")" "$((NV + 50)) true"
else
  die "append - (stdin)" "exit $RC"
fi
SIZE0=$((NV + 51))
is "tree size after all appends" "$(tree_size)" "$SIZE0"

# Re-appending is idempotent: same receipt, no new leaf.
REPEAT="${SAMPLE_FILES[1]}"
check "re-append $(basename "$REPEAT") says already present" "0 appended, 1 already present" \
  evl append --as-blob application/json "$REPEAT"
if grep -qE "^ +1  $(id_at 1)  already present$" "$W/out"; then pass "re-append returns the original leaf 1 and NodeId"; else fail "re-append returns the original leaf 1 and NodeId"; fi
run evl append "$W/nodes.jsonl" --output json
if [ "$RC" = 0 ] && [ "$(h receipts "$W/out" | awk '$3 == "false"' | wc -l)" = 50 ]; then pass "re-append nodes.jsonl: 50 already present"; else fail "re-append nodes.jsonl: 50 already present"; fi
is "tree size unchanged by re-appends" "$(tree_size)" "$SIZE0"

# ======================================================= 3. bad input ====

echo "== rejected input"
deep="$(printf '[%.0s' $(seq 1 99))$(printf ']%.0s' $(seq 1 99))"
bad_cases=(
  "DUPLICATE_KEY|a duplicate key|{\"type\":\"x-e2e\",\"a\":1,\"a\":2}"
  "DUPLICATE_KEY|a duplicate key after unescaping|{\"type\":\"x-e2e\",\"a\":1,\"\\u0061\":2}"
  "NUMBER_OUT_OF_RANGE|the integer 9007199254740993|{\"type\":\"x-e2e\",\"n\":9007199254740993}"
  "TYPE_UNKNOWN|type nope/v1|{\"type\":\"nope/v1\"}"
  "JSON_TOO_DEEP|100-deep nesting|{\"type\":\"x-e2e\",\"d\":$deep}"
)
k=0
for c in "${bad_cases[@]}"; do
  code="${c%%|*}"
  rest="${c#*|}"
  printf '%s\n' "${rest#*|}" >"$W/bad$k.json"
  reject "append - rejects ${rest%%|*} with $code" "$code" evl append - <"$W/bad$k.json"
  is "  ... nothing stored (tree size $SIZE0)" "$(tree_size)" "$SIZE0"
  k=$((k + 1))
done
# A batch with one bad document stores nothing, not even the good one before it.
printf '{"type":"x-e2e","batch":"good"}\n{"type":"x-e2e","batch":"bad","a":1,"a":2}\n' >"$W/mixed.jsonl"
printf '{"type":"x-e2e","batch":"good"}' >"$W/good.json"
GOOD_ID="sha256:$(py jcs-sha256 "$W/good.json")"
reject "append rejects a JSON Lines batch with a bad 2nd document" "DUPLICATE_KEY" evl append "$W/mixed.jsonl"
is "  ... nothing stored (tree size $SIZE0)" "$(tree_size)" "$SIZE0"
reject "  ... its good 1st document is not stored (get: NOT_FOUND)" "NOT_FOUND" evl get "$GOOD_ID"

reject "get sha256:zz fails with NODE_ID_MALFORMED" "NODE_ID_MALFORMED" evl get sha256:zz
reject "get SHA256 in uppercase hex fails with NODE_ID_MALFORMED" "NODE_ID_MALFORMED" evl get "sha256:$(id_at 0 | cut -c8- | tr a-f A-F)"
UNKNOWN="sha256:$(printf 'e2e-unknown' | sha256sum | cut -c1-64)"
reject "get of an unknown well-formed id fails with NOT_FOUND" "NOT_FOUND" evl get "$UNKNOWN"
reject "prove of an unknown well-formed id fails with NOT_FOUND" "NOT_FOUND" evl prove "$UNKNOWN"

# ========================================================== 4. anchors ====

echo "== anchors and verify"
run evl anchor create --output json
[ "$RC" = 0 ] || die "anchor create (1st)" "exit $RC"
SEQ1="$(h get "$W/out" seq)" || die "anchor create --output json has a seq"
pass "anchor create (seq $SEQ1)"
for i in $(seq 0 6); do printf '{"type":"x-e2e","phase":2,"i":%d}\n' "$i"; done >"$W/more.jsonl"
run evl append "$W/more.jsonl" --output json
if [ "$RC" = 0 ] && h receipts "$W/out" >"$W/r.tsv"; then
  cat "$W/r.tsv" >>"$W/ids"
  pass "append 7 more nodes between the anchors"
else
  die "append 7 more nodes" "exit $RC"
fi
SIZE=$((SIZE0 + 7))
run evl anchor create --output json
[ "$RC" = 0 ] || die "anchor create (2nd)" "exit $RC"
SEQ2="$(h get "$W/out" seq)" || die "anchor create --output json has a seq"
pass "anchor create (seq $SEQ2)"
is "tree size after the 2nd anchor" "$(tree_size)" "$SIZE"

for s in 1 2; do
  seq_s="SEQ$s"
  run evl anchor inspect "${!seq_s}" --output json
  [ "$RC" = 0 ] || die "anchor inspect ${!seq_s}" "exit $RC"
  cp "$W/out" "$W/a$s.json"
done
{ S1="$(h get "$W/a1.json" payload tree_size)" && R1="$(h get "$W/a1.json" payload root)" &&
  S2="$(h get "$W/a2.json" payload tree_size)" && R2="$(h get "$W/a2.json" payload root)"; } ||
  die "anchor inspect --output json has payload.tree_size and payload.root"
is "anchored sizes are $SIZE0 and $SIZE" "$S1 $S2" "$SIZE0 $SIZE"
is "anchor $SEQ2 links to anchor $SEQ1 (prev = its AnchorId)" "$(h get "$W/a2.json" payload prev)" "$(h get "$W/a1.json" id)"

check "anchor verify exits 0" "anchor chain OK: 2 anchors verified" evl anchor verify
run evl anchor verify --output json
is "anchor verify --output json: ok, 2 verified, no failure" \
  "$(h get "$W/out" ok) $(h get "$W/out" verified | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') $(h get "$W/out" failure)" "true 2 null"
check "verify --mode full exits 0" "OK" evl verify --mode full
check "verify --mode quick exits 0" "OK" evl verify --mode quick
run evl verify --mode full --output json
if [ "$RC" = 0 ] && [ "$(h get "$W/out" failures)" = "[]" ]; then pass 'verify --mode full --output json has "failures": []'; else fail 'verify --mode full --output json has "failures": []' "exit $RC"; fi

# ==================================================== 5. peer checks ====

echo "== peers: checkpoints and inclusion proofs"
h leafdata "$W/ids" >"$W/leaves.txt"
is "NodeIds recorded for every leaf" "$(wc -l <"$W/leaves.txt")" "$SIZE"

# prove_and_check LABEL INDEX [--size N]: receipt -> signed note (Go, sigstore) and inclusion
# probe (Go tlog, sigstore + pymerkle), plus a one-bit mutation every peer must reject.
k=0
prove_and_check() {
  local label="$1" idx="$2"
  shift 2
  local id want_size
  id="$(id_at "$idx")"
  want_size="$SIZE"
  if [ "${1:-}" = --size ]; then want_size="$2"; fi
  local t="$label leaf $idx @ size $want_size"
  run evl prove "$id" "$@" --output json
  if [ "$RC" != 0 ]; then fail "$t: evl prove" "exit $RC"; return 0; fi
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
prove_and_check "first" 0
prove_and_check "VEX" 1
prove_and_check "last VEX" $((NV - 1))
prove_and_check "first JSONL" "$NV"
prove_and_check "mid JSONL" $((NV + 26))
prove_and_check "stdin" $((NV + 50))
prove_and_check "last" $((SIZE - 1))
prove_and_check "old size" 2 --size "$S1"

# The tree heads in checkpoints agree with the anchors and with roots an independent library
# recomputes from the NodeIds alone.
is "latest checkpoint root = anchor $SEQ2 root" "$(h head "$W/cp0.note" | cut -d' ' -f3)" "$R2"
is "checkpoint root at size $S1 (prove --size) = anchor $SEQ1 root" "$(h head "$W/cp$((k - 1)).note" | cut -d' ' -f3)" "$R1"
run "$GO" roots "$W/leaves.txt"
roots_go="$(awk -v a="$S1" -v b="$S2" '$1 == a || $1 == b { print $2 }' "$W/out" | xargs)"
roots_anchor="$(for r in "$R1" "$R2"; do printf '%s' "$r" | base64 -d | od -An -tx1 | tr -d ' \n'; echo; done | xargs)"
is "Go tlog.TreeHash over the NodeIds = anchored roots" "$roots_go" "$roots_anchor"
for s in 1 2; do
  seq_s="SEQ$s"
  h write-str "$W/a$s.json" payload checkpoint "$W/anchor$s.note"
  run "$GO" note-verify "$VKEY" "$W/anchor$s.note"
  if [ "$RC" = 0 ] && grep -qxF "verified $KEYNAME" "$W/out"; then pass "Go note.Open verifies the checkpoint inside anchor ${!seq_s}"; else fail "Go note.Open verifies the checkpoint inside anchor ${!seq_s}" "exit $RC"; fi
done

echo "== peers: consistency"
run evl consistency --from "$S1" --to "$S2" --output json
if [ "$RC" = 0 ]; then
  cp "$W/out" "$W/cons.json"
  pass "evl consistency --from $S1 --to $S2"
  h consistency-probe "$W/cons.json" "$R1" "$R2" "$W/cons-probe.json"
  check "Go tlog.CheckTree accepts the consistency proof $S1 -> $S2" "1 agree, 0 disagree" "$GO" consistency-json "$W/cons-probe.json"
  run py consistency "$W/cons-probe.json" --leaves "$W/leaves.txt" --peer "$GO"
  if [ "$RC" = 0 ] && grep -q "^pymerkle root1 (size $S1): ok" "$W/out" && grep -q "^pymerkle root2 (size $S2): ok" "$W/out"; then
    pass "pymerkle recomputes both anchored roots from the NodeIds"
  else
    fail "pymerkle recomputes both anchored roots from the NodeIds" "exit $RC"
  fi
  h mutate "$W/cons-probe.json" 1 "$W/cons-mut.json"
  reject "Go rejects the consistency proof with one bit flipped" "0 agree, 1 disagree" "$GO" consistency-json "$W/cons-mut.json"
else
  fail "evl consistency --from $S1 --to $S2" "exit $RC"
fi

echo "== peers: DSSE anchor envelope"
run evl anchor export --latest --out "$W/anchor.dsse.json"
if [ "$RC" = 0 ] && [ -s "$W/anchor.dsse.json" ]; then pass "anchor export --latest"; else fail "anchor export --latest" "exit $RC"; fi
check "securesystemslib verifies the exported anchor (raw key from the vkey)" "ok payloadType='application/vnd.evidence-ledger.anchor.v1+json'" \
  py dsse-verify "$W/anchor.dsse.json" "$PUBHEX"
AID="$(h get "$W/a2.json" id)"
if grep -qF "payload_sha256=${AID#sha256:}" "$W/out"; then pass "SHA-256 of the verified payload = AnchorId of anchor $SEQ2"; else fail "SHA-256 of the verified payload = AnchorId of anchor $SEQ2" "AnchorId $AID"; fi
is "exported envelope keyid" "$(h get "$W/anchor.dsse.json" signatures 0 keyid)" "$KEYNAME"
check "securesystemslib verifies it with public-key.pem" "ok payloadType=" py dsse-verify "$W/anchor.dsse.json" "$D/public-key.pem"
h flip-sig "$W/anchor.dsse.json" "$W/anchor-bad.dsse.json"
reject "securesystemslib rejects it with one signature bit flipped" "FAIL" py dsse-verify "$W/anchor-bad.dsse.json" "$PUBHEX"

echo "== peers: NodeIds and canonical bytes"
# get_and_check LABEL INDEX [ORIGINAL]: evl get bytes are RFC 8785 canonical (rfc8785) and
# hash to the NodeId; with ORIGINAL, they also equal rfc8785's canonical form of the input.
get_and_check() {
  local label="$1" idx="$2" orig="${3:-}" id
  id="$(id_at "$idx")"
  local t="$label leaf $idx"
  run evl get "$id"
  if [ "$RC" != 0 ]; then fail "$t: evl get" "exit $RC"; return 0; fi
  local b="$W/node$idx.bin"
  h strip-nl "$W/out" "$b"   # table output is the canonical bytes plus one newline
  run py jcs "$b"
  if [ "$RC" = 0 ] && cmp -s "$W/out" "$b"; then pass "$t: evl get bytes = rfc8785 canonical form of them"; else fail "$t: evl get bytes = rfc8785 canonical form of them" "exit $RC"; fi
  is "$t: SHA-256 of the bytes = NodeId" "sha256:$(sha256sum <"$b" | cut -c1-64)" "$id"
  if [ -n "$orig" ]; then
    run py jcs "$orig"
    if [ "$RC" = 0 ] && cmp -s "$W/out" "$b"; then pass "$t: = rfc8785 canonical form of the input"; else fail "$t: = rfc8785 canonical form of the input" "exit $RC"; fi
  fi
}
get_and_check "VEX blob" 0
get_and_check "JSONL" $((NV + 7))
get_and_check "stdin" $((NV + 50)) "$W/stdin.json"
# A blob keeps the exact text of its file.
h write-str "$W/node0.bin" data "$W/blob0.data"
if cmp -s "$W/blob0.data" "${SAMPLE_FILES[0]}"; then pass "VEX blob leaf 0: data = exact text of $(basename "${SAMPLE_FILES[0]}")"; else fail "VEX blob leaf 0: data = exact text of $(basename "${SAMPLE_FILES[0]}")"; fi
is "VEX blob leaf 0: type and media_type" "$(h get "$W/node0.bin" type) $(h get "$W/node0.bin" media_type)" "blob/v1 application/json"

# ============================================ evidence packs and exports (§9) ====

echo "== packs: evl export / verify-pack, GNU tar, zstd, tlog-proofs through the peers"
if ! command -v zstd >/dev/null; then  # the zstd CLI is the independent decompressor here
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends zstd >/dev/null) \
    || die "zstd CLI" "install the zstd package (Debian: apt-get install zstd)"
fi
PID="$(id_at $((NV + 7)))"
check "export an evidence pack with dependencies" "wrote evidence pack" evl export --node "$PID" --include-deps --trust-point "$SEQ1" -o "$W/pack.tar.zst"
run evl export --node "$PID" --include-deps --trust-point "$SEQ1" -o "$W/pack2.tar.zst"
if cmp -s "$W/pack.tar.zst" "$W/pack2.tar.zst"; then pass "exporting twice gives identical bytes"; else fail "exporting twice gives identical bytes"; fi
check "verify-pack with the trust root" "VERIFIED evidence pack" "$EVL" verify-pack "$W/pack.tar.zst" --trust-root "$D/trust-root.json"
check "verify-pack names the node as proven" "$PID" "$EVL" verify-pack "$W/pack.tar.zst" --trust-root "$D/trust-root.json"
check "verify-pack without a trust root warns" "WARNING: the pack's own trust root" "$EVL" verify-pack "$W/pack.tar.zst"
run "$EVL" verify-pack "$W/pack.tar.zst" --trust-root "$D/trust-root.json" --output json
is "verify-pack --output json: ok" "$(h get "$W/out" ok)" "true"
run bash -c "zstd -dc '$W/pack.tar.zst' | tar -t"
if [ "$RC" = 0 ] && grep -qx manifest.json "$W/out" && grep -q '^tlog-proofs/' "$W/out"; then pass "zstd + GNU tar list the pack (manifest.json, tlog-proofs/)"; else fail "zstd + GNU tar list the pack" "exit $RC"; fi
mkdir -p "$W/unpacked" && (cd "$W/unpacked" && zstd -dc "$W/pack.tar.zst" | tar -x)
TP="$W/unpacked/tlog-proofs/${PID#sha256:}.tlog-proof"
check "C2SP tlog-proof: Go note + sigstore + pymerkle accept it" "PEERS ACCEPT" env PEERS_DIR="$PEERS" python3 "$ROOT/vectors/tlog_proof_peer.py" "$TP" "$VKEY"
if cmp -s "$W/unpacked/nodes/${PID#sha256:}.json" "$W/node$((NV + 7)).bin"; then pass "the pack's node file is the node's canonical bytes (evl get)"; else fail "the pack's node file is the node's canonical bytes (evl get)"; fi
# Tamper: one byte of the node file inside the archive -> MANIFEST_MISMATCH, exit 1.
(cd "$W/unpacked" && python3 - "nodes/${PID#sha256:}.json" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-2] ^= 1; open(p, "wb").write(bytes(b))
PY
)
(cd "$W/unpacked" && tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=0644 -c $(zstd -dc "$W/pack.tar.zst" | tar -t) | zstd -q --check -o "$W/tampered.tar.zst")
reject "a tampered pack is rejected" "FAILED" "$EVL" verify-pack "$W/tampered.tar.zst" --trust-root "$D/trust-root.json"

check "full export" "wrote export" evl export -o "$W/full.tar.zst"
check "verify-pack of the full export: complete" "complete" "$EVL" verify-pack "$W/full.tar.zst" --trust-root "$D/trust-root.json"
check "export up to the first anchor" "wrote export" evl export --to-anchor "$SEQ1" -o "$W/first.tar.zst"
check "delta export since it" "wrote export" evl export --since-export "$W/first.tar.zst" --type x-e2e -o "$W/delta.tar.zst"
check "verify-pack --prev checks the delta continues it" "delta of" "$EVL" verify-pack "$W/delta.tar.zst" --trust-root "$D/trust-root.json" --prev "$W/first.tar.zst"
reject "a delta does not continue an unrelated export" "CHAIN_BROKEN" "$EVL" verify-pack "$W/delta.tar.zst" --trust-root "$D/trust-root.json" --prev "$W/full.tar.zst"
reject "a node that is not anchored yet cannot be packed" "evl anchor create" evl export --node "$(printf '{"type":"x-late"}' | "$EVL" --data "$D" append - --output json | h get /dev/stdin 0 receipt node_id)" -o "$W/late.tar.zst"
if [ ! -e "$W/late.tar.zst" ]; then pass "a failed export leaves no file"; else fail "a failed export leaves no file"; fi

# ========================================================== summary ====

echo "=="
summary
[ "$FAILED" = 0 ]
