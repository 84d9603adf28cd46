#!/usr/bin/env bash
# SIGKILL in the middle of a load: nothing acknowledged is lost, nothing is loaded twice.
# Starts a node on its embedded defaults (H2 journal, DuckDB) in a fresh data dir, drives the demo webhook
# connection with IngestBench.java (CLIENTS clients, EVENTS events per request, SECONDS seconds, writing the seq
# of every event answered 200), SIGKILLs the node KILL_AT seconds in, starts it again on the same data dir, asks
# for a sync, waits until nothing is buffered or pending, stops it with SIGTERM, and checks in DuckDB that every
# acknowledged event is in demo.events exactly once.
#   usage: deploy/bench/kill-bench.sh [SECONDS] [KILL_AT] [CLIENTS] [EVENTS]   (default 20 10 16 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TOTAL=${1:-20}; KILL_AT=${2:-10}; CLIENTS=${3:-16}; EVENTS=${4:-10}
JAR=cluster-node/target/weir-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
WORK=$(mktemp -d -t weir-kill-XXXXXX)
IP=18390; AP=18391
start() {
  WEIR_DATA_DIR="$WORK/data" WEIR_INGEST_PORT=$IP WEIR_ADMIN_PORT=$AP WEIR_MANAGEMENT_PORT=0 WEIR_REMOTE_PORT=0 \
    java -Xmx1g -jar "$JAR" >> "$WORK/node.log" 2>&1 &
  NODE=$!
  # ready once the ingest port answers (it binds last)
  for _ in $(seq 240); do curl -s -o /dev/null "http://127.0.0.1:$IP/" && break; sleep 0.25; done
}
trap 'kill -9 $NODE 2>/dev/null || true' EXIT
start
URL=$(grep -o 'http://[^ ]*/v1/webhooks/[a-z0-9_]*' "$WORK/node.log" | head -1)
echo "node: $URL ($(nproc) cores), data: $WORK/data"
ACKED_FILE="$WORK/acked.csv" java deploy/bench/IngestBench.java "$URL" "$CLIENTS" "$EVENTS" "$SECONDS_TOTAL" &
BENCH=$!
sleep "$KILL_AT"
kill -9 "$NODE"; echo "SIGKILL at ${KILL_AT}s"
wait "$BENCH"
ACKED=$(($(wc -l < "$WORK/acked.csv") - 1))

start
TOKEN=$(cat "$WORK/data/admin-token")
api() { curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -X "$1" "http://127.0.0.1:$AP$2"; }
CID=$(api GET /v1/admin/connections | python3 -c "import json,sys;d=json.load(sys.stdin);d=d.get('connections',d) if isinstance(d,dict) else d;print([c['id'] for c in d if c['kind']=='webhook'][0])")
for _ in $(seq 90); do
  api POST "/v1/admin/connections/$CID/sync" > /dev/null; sleep 2
  api GET "/v1/admin/connections/$CID/status" | python3 -c "import json,sys;d=json.load(sys.stdin);sys.exit(0 if d.get('buffered_events',1)==0 and d.get('staged_batches_pending',1)==0 else 1)" && break
done
kill -TERM "$NODE"; wait "$NODE" || true
JDBC=$(ls ~/.m2/repository/org/duckdb/duckdb_jdbc/*/duckdb_jdbc-*.jar | sort -V | tail -n 1)
q() { java -cp "$JDBC" deploy/bench/DuckQuery.java "$WORK/data/warehouse.duckdb" "$1" | tail -n 1; }
ROWS=$(q "SELECT count(*) FROM demo.events")
DUPS=$(q "SELECT count(*) - count(DISTINCT CAST(data->>'seq' AS BIGINT)) FROM demo.events")
MISSING=$(q "SELECT count(*) FROM read_csv('$WORK/acked.csv', header = true, columns = {'seq': 'BIGINT'}) a WHERE NOT EXISTS (SELECT 1 FROM demo.events e WHERE CAST(e.data->>'seq' AS BIGINT) = a.seq)")
echo "acknowledged events: $ACKED; rows in demo.events: $ROWS; acknowledged but missing: $MISSING; loaded twice: $DUPS"
[ "$MISSING" = 0 ] && [ "$DUPS" = 0 ] || { echo "FAILED (node log: $WORK/node.log)"; exit 1; }
rm -rf "$WORK"
