#!/usr/bin/env bash
# Regenerates seeds.d/vex_statement/: canonical vex.statement/v1 nodes (the first statement of
# every VEX sample), the default vex.policy/v1, the empty vex.issuers/v1 and a few
# vex.consensus/v1 nodes, all produced by `evl` from tests/data/vex. Random bytes almost
# never form a valid statement node, so the vex_statement target starts from real ones.
# Usage: fuzz/seeds.d/make-vex-seeds.sh [PATH_TO_EVL] [SAMPLES_DIR]
set -euo pipefail
cd "$(dirname "$0")"
EVL="${1:-../../target/debug/evl}"
SAMPLES="${2:-../../tests/data/vex}"
OUT=vex_statement
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
rm -rf "$OUT" && mkdir -p "$OUT"
"$EVL" --data "$W/d" init --origin seeds.example/log >/dev/null
node() { "$EVL" --data "$W/d" get "$1" > "$OUT/$2.json"; }
for f in "$SAMPLES"/openvex/*.json "$SAMPLES"/csaf/*.json "$SAMPLES"/cyclonedx/*.json; do
  id=$("$EVL" --data "$W/d" vex ingest "$f" --output json |
       python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["statements"]; print(s[0]["receipt"]["node_id"] if s else "")')
  [ -n "$id" ] && node "$id" "statement-$(basename "$f" .json)"
done
for args in "CVE-1234-5678 pkg:apk/wolfi/bash@1.0.0 WeightedVote" "CVE-2022-3715 pkg:deb/debian/bash@5.3 Lattice"; do
  set -- $args
  json=$("$EVL" --data "$W/d" vex consensus --vuln "$1" --product "$2" --mode "$3" --as-of 2026-01-01T00:00:00Z --output json)
  id=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["receipt"]["node_id"])')
  node "$id" "consensus-$1-$3"
  printf '%s' "$json" | python3 -c 'import json,sys; l=json.load(sys.stdin)["consensus"]["links"]; print(l[0]["id"], l[1]["id"])' > "$W/links"
done
read -r policy issuers < "$W/links"
node "$policy" policy-default
node "$issuers" issuers-empty
ls "$OUT" | wc -l
