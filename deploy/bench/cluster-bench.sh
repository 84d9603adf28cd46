#!/usr/bin/env bash
# The side-by-side bench's shape (../shared/bench: wrk -t2 -c64, a ~620 B Segment track per request, then a
# ~62 KB batch of 100; 5 s warm-up, then DUR seconds each) against a local cluster of N nodes
# (deploy/local/cluster.sh, PostgreSQL journal in a fresh database, PostgreSQL destination): one wrk per node,
# the 64 connections split between them (as a load balancer would), figures summed. Prints one line.
#   usage: deploy/bench/cluster-bench.sh [N] [DUR]   (default 3 15; needs wrk, the local PostgreSQL and
#          ../shared/bench/wrk, or WEIR_BENCH_WRK pointing at its Lua scripts)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-3}; DUR=${2:-15}
WRK_DIR=$(cd "${WEIR_BENCH_WRK:-../shared/bench/wrk}" && pwd)
JAR=cluster-node/target/weir-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
DB="weir_cluster_bench_$$"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" postgres
export WEIR_CLUSTER_DIR; WEIR_CLUSTER_DIR=$(mktemp -d -t weir-cluster-XXXXXX)
export WEIR_PG_URL="jdbc:postgresql://127.0.0.1:5432/$DB" WEIR_PG_USER=postgres
cleanup() { deploy/local/cluster.sh stop > /dev/null 2>&1 || true; psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres || true; rm -rf "$WEIR_CLUSTER_DIR"; }
trap cleanup EXIT
deploy/local/cluster.sh start "$N" > "$WEIR_CLUSTER_DIR/nodes.txt" || { for f in "$WEIR_CLUSTER_DIR"/node-*.log; do tail -n 20 "$f"; done; exit 1; }
TOKEN=$(cat "$WEIR_CLUSTER_DIR/admin-token")
AP=9011
api() { curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -X "$1" ${3:+--data "$3"} "http://127.0.0.1:$AP$2"; }
OUT=$(api POST /v1/admin/destinations "{\"name\":\"pg\",\"type\":\"postgres\",\"config\":{\"url\":\"$WEIR_PG_URL\",\"user\":\"postgres\",\"password\":\"trust-auth-ignores-it\"}}")
DEST=$(python3 -c "import json,sys;d=json.loads(sys.argv[1]);print(d['id']) if 'id' in d else sys.exit('destination refused: ' + sys.argv[1])" "$OUT")
KEY=$(api POST /v1/admin/connections "{\"name\":\"bench\",\"kind\":\"segment\",\"destination_id\":\"$DEST\"}" | python3 -c "import json,sys;print(json.load(sys.stdin)['write_key'])")
export AUTH="Basic $(printf '%s:' "$KEY" | base64 -w0)"
sleep 2
run() { # lua path seconds runid -> summed rps, max p99 over the nodes
  local pids=() i
  for i in $(seq 1 "$N"); do
    (cd "$WRK_DIR" && RUNID=$(( $4 * 10 + i )) wrk -t1 -c$((64 / N)) -d"$3s" --latency -s "$1" "http://127.0.0.1:$((9000 + 10 * i))$2" \
      | grep '^RESULT' > "$WEIR_CLUSTER_DIR/wrk-$i.txt") &
    pids+=($!)
  done
  wait "${pids[@]}"
  cat "$WEIR_CLUSTER_DIR"/wrk-*.txt | python3 -c "
import sys
rps=0; p99=0; err=0
for l in sys.stdin:
  d=dict(kv.split('=') for kv in l.split()[1:])
  rps+=float(d['rps']); p99=max(p99,float(d['p99_ms'])); err+=int(d['errors_status'])+int(d['errors_other'])
print(f'{rps:.0f} {p99:.1f} {err}')"
}
run post-small.lua /v1/track 5 8 > /dev/null
read -r S_RPS S_P99 S_E < <(run post-small.lua /v1/track "$DUR" 1)
run post-batch100.lua /v1/batch 5 9 > /dev/null
read -r B_RPS B_P99 B_E < <(run post-batch100.lua /v1/batch "$DUR" 2)
echo "weir_cluster nodes=$N journal=postgresql single: events_per_s=$S_RPS p99_ms=$S_P99 errors=$S_E | batch100: events_per_s=$((B_RPS * 100)) p99_ms=$B_P99 errors=$B_E"
