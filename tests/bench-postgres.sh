#!/usr/bin/env bash
# The PostgreSQL store measured beside its references, in one run on one machine
# (docs/benchmarks.md, "PostgreSQL store"):
#   1. durable HTTP appends through TWO `evl serve` front ends on one throwaway PostgreSQL
#      cluster (batched, single with receipt latency, proof fetches; `evl bench http`);
#   2. the same rows (NODES node rows of the same size, and their id rows) loaded by a raw
#      binary-format COPY into the same database: the ceiling the figure is a ratio to;
#   3. the same `evl bench http` against one front end on the embedded redb store.
# Then the log is grown to each size in SIZES (batched appends through both front ends) and
# proof fetches are measured again there.
#
# usage: tests/bench-postgres.sh EVL_BINARY [SECONDS] [SIZES]
#   SECONDS per phase (default 20); SIZES space-separated tree sizes (default "100000 1000000").
# Needs the PostgreSQL server binaries (Debian postgresql). Prints one JSON object per line.
set -euo pipefail
EVL="$(realpath "$1")"
SECS="${2:-20}"
SIZES="${3:-100000 1000000}"
BIN="$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")")"
W="$(mktemp -d /tmp/evl-bench-pg-XXXXXX)"
AS=()
if [ "$(id -u)" = 0 ]; then chown postgres "$W"; AS=(runuser -u postgres --); fi
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true
  "${AS[@]}" "$BIN/pg_ctl" stop -m immediate -D "$W/pg" >/dev/null 2>&1 || true
  rm -rf "$W"
}
PIDS=()
trap cleanup EXIT
unset $(env | grep -o '^EVL_[A-Z_]*' || true)

"${AS[@]}" "$BIN/initdb" -D "$W/pg" -U postgres --auth=trust --no-instructions >/dev/null
cat >>"$W/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$W'
max_connections = 300
shared_buffers = 512MB
fsync = on
synchronous_commit = on
EOF
"${AS[@]}" "$BIN/pg_ctl" start -w -D "$W/pg" -l "$W/pg.log" >/dev/null
psql -q -h 127.0.0.1 -p "$PORT" -U postgres -c "CREATE DATABASE ledger" postgres
export EVL_STORE__URL="host=127.0.0.1 port=$PORT user=postgres dbname=ledger"
"$EVL" --data "$W/a" init --origin bench.pg/log >/dev/null
mkdir -p "$W/b" && cp -p "$W/a"/{signing-key.pem,public-key.pem,trust-root.json,admin-token} "$W/b/"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PA="$(free_port)"; PB="$(free_port)"
EVL_LOG=warn "$EVL" --data "$W/a" serve --listen "127.0.0.1:$PA" 2>"$W/a.log" & PIDS+=($!)
EVL_LOG=warn "$EVL" --data "$W/b" serve --listen "127.0.0.1:$PB" 2>"$W/b.log" & PIDS+=($!)
for p in "$PA" "$PB"; do
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$p/health/liveness" && break; sleep 0.1; done
done
URLS=(--url "http://127.0.0.1:$PA" --url "http://127.0.0.1:$PB" --token-file "$W/a/admin-token")

# 1. Two front ends on PostgreSQL.
echo "{\"what\":\"postgres_two_front_ends\",\"result\":$("$EVL" bench http "${URLS[@]}" --clients 64 --seconds "$SECS" --output json)}"
size() { psql -qtA -h 127.0.0.1 -p "$PORT" -U postgres -c "SELECT tree_size FROM evl_log" ledger; }

# 2. Raw COPY of the same rows into the same database: NODES rows of ~1 KB (the bench's node
# size), with their 32-byte id rows, in binary-equivalent text format from a file.
NODES=200000
python3 - "$W/rows.tsv" "$W/ids.tsv" "$NODES" <<'PY'
import sys, hashlib
rows, ids, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
pad = "p" * 900
with open(rows, "w") as r, open(ids, "w") as i:
    for k in range(n):
        body = ('{"c":0,"i":%d,"k":0,"pad":"%s","run":"ref","type":"x-load"}' % (k, pad)).encode()
        r.write("9\t%d\t\\\\x%s\n" % (k, body.hex()))
        i.write("9\t\\\\x%s\t%d\n" % (hashlib.sha256(body).hexdigest(), k))
PY
psql -q -h 127.0.0.1 -p "$PORT" -U postgres ledger -c "INSERT INTO evl_log (log_id) VALUES (9)"
T0=$(date +%s.%N)
psql -q -h 127.0.0.1 -p "$PORT" -U postgres ledger \
  -c "\\copy evl_node (log_id, leaf, content) FROM '$W/rows.tsv'" \
  -c "\\copy evl_id (log_id, node_id, leaf) FROM '$W/ids.tsv'"
T1=$(date +%s.%N)
echo "{\"what\":\"raw_copy_same_rows\",\"nodes\":$NODES,\"seconds\":$(echo "$T1 - $T0" | bc),\"nodes_per_s\":$(echo "$NODES / ($T1 - $T0)" | bc)}"
psql -q -h 127.0.0.1 -p "$PORT" -U postgres ledger -c "DELETE FROM evl_id WHERE log_id = 9; DELETE FROM evl_node WHERE log_id = 9; DELETE FROM evl_log WHERE log_id = 9"

# 3. The embedded redb store, one front end, same machine, same run.
( unset EVL_STORE__URL; echo "{\"what\":\"redb_one_front_end\",\"result\":$("$EVL" bench http --clients 64 --seconds "$SECS" --output json)}" )

# 4. Proof fetches at larger trees: grow the log through both front ends, measure again.
for N in $SIZES; do
  while [ "$(size)" -lt "$N" ]; do
    "$EVL" bench http "${URLS[@]}" --clients 16 --seconds 20 --batch 1000 --output json >/dev/null || true
  done
  echo "{\"what\":\"postgres_at_size\",\"tree_size\":$(size),\"result\":$("$EVL" bench http "${URLS[@]}" --clients 64 --seconds "$SECS" --output json)}"
done
