#!/usr/bin/env bash
# Bounded memory when the node cannot stage: a webhook connection whose destination is an S3 data lake on a
# closed port, so every flush fails and the buffers only fill. IngestBench posts 100-event arrays for SECONDS
# seconds into a node with a HEAP heap. Expected: 200s until the buffers hold weir.buffer.max-heap-share of the
# heap, then 503 with Retry-After (never an OutOfMemoryError, never a hang), the heap bounded; and nothing
# answered 200 is dropped: after a SIGKILL and a restart the buffers hold every acknowledged event (recovered from the
# journal, waiting for S3).
#   usage: deploy/bench/overload-bench.sh [SECONDS] [HEAP]   (default 30 512m)
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-30}; HEAP=${2:-512m}
JAR=cluster-node/target/weir-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
WORK=$(mktemp -d -t weir-overload-XXXXXX)
IP=18490; AP=18491
start() {
  WEIR_DATA_DIR="$WORK/data" WEIR_INGEST_PORT=$IP WEIR_ADMIN_PORT=$AP WEIR_MANAGEMENT_PORT=0 WEIR_REMOTE_PORT=0 \
    java -Xmx"$HEAP" -jar "$JAR" >> "$WORK/node.log" 2>&1 &
  NODE=$!
  for _ in $(seq 240); do curl -s -o /dev/null "http://127.0.0.1:$IP/" && break; sleep 0.25; done
}
trap 'kill -9 $NODE 2>/dev/null || true' EXIT
start
TOKEN=$(cat "$WORK/data/admin-token")
api() { curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -X "$1" ${3:+--data "$3"} "http://127.0.0.1:$AP$2"; }
DEST=$(api POST /v1/admin/destinations '{"name":"lake","type":"s3","config":{"bucket":"b","prefix":"p","region":"us-east-1","endpoint":"http://127.0.0.1:1","access_key_id":"k","secret_access_key":"s"}}' | python3 -c "import json,sys;print(json.load(sys.stdin)['id'])")
OUT=$(api POST /v1/admin/connections "{\"name\":\"overload\",\"kind\":\"webhook\",\"destination_id\":\"$DEST\"}")
CID=$(python3 -c "import json,sys;print(json.loads(sys.argv[1])['id'])" "$OUT")
URL=$(python3 -c "import json,sys;u=json.loads(sys.argv[1])['urls'];print(u['webhook'] if isinstance(u,dict) and 'webhook' in u else list(u.values())[0] if isinstance(u,dict) else u[0])" "$OUT")
java deploy/bench/IngestBench.java "$URL" 16 100 "$DUR" > "$WORK/bench.log" &
LOAD=$!
while kill -0 $LOAD 2>/dev/null; do
  sleep 5
  echo "rss_mb=$(awk '/VmRSS/{print int($2/1024)}' /proc/$NODE/status)" \
    "$(curl -s "http://127.0.0.1:$AP/metrics" -H "Authorization: Bearer $TOKEN" | grep '^weir_buffer_memory_bytes' | awk '{printf "%s=%dMB ", $1, $2/1048576}')"
done
cat "$WORK/bench.log"
OK=$(sed -E 's/.* ([0-9]+) ok.*/\1/' "$WORK/bench.log"); OK=$((OK * 100))
echo "OutOfMemoryError lines in the node log: $(grep -c 'OutOfMemoryError' "$WORK/node.log" || true)"
curl -s -o /dev/null -D "$WORK/probe" -H 'Content-Type: application/json' --data '[{"probe":1}]' "$URL" || true
echo "one more request now: $(head -1 "$WORK/probe" | tr -d '\r'), $(grep -i '^retry-after' "$WORK/probe" | tr -d '\r')"
# SIGKILL, not SIGTERM: a drain would retry the dead S3 for weir.shutdown.drain-timeout
kill -9 $NODE; wait $NODE 2>/dev/null || true
start
for _ in $(seq 60); do
  B=$(api GET "/v1/admin/connections/$CID/status" | python3 -c "import json,sys;print(json.load(sys.stdin).get('buffered_events',0))")
  [ "$B" -ge "$OK" ] && break; sleep 1
done
echo "acknowledged events: $OK; buffered after a restart (recovered from the journal): $B; journal $(du -m "$WORK/data/journal.mv.db" | cut -f1) MB"
kill -9 $NODE 2>/dev/null || true
[ "$B" -ge "$OK" ] || { echo "LOST EVENTS (node log: $WORK/node.log)"; exit 1; }
rm -rf "$WORK"
