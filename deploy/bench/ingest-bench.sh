#!/usr/bin/env bash
# Ingest throughput of one node on its embedded defaults (H2 journal, DuckDB, filesystem staging).
# Builds the node jar if missing, starts it in a fresh temporary data dir, posts to the demo webhook
# connection with IngestBench.java at a few shapes, stops it with SIGTERM (flush + final load) and
# checks that every acknowledged event is in DuckDB.
#   usage: deploy/bench/ingest-bench.sh [SECONDS_PER_RUN]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN=${1:-20}
JAR=cluster-node/target/weir-node.jar
[ -f "$JAR" ] || mvn -q -B -DskipTests package
WORK=$(mktemp -d -t weir-bench-XXXXXX)
trap 'kill $(cat "$WORK/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT

WEIR_DATA_DIR="$WORK/data" WEIR_INGEST_PORT=0 WEIR_ADMIN_PORT=0 WEIR_MANAGEMENT_PORT=0 WEIR_REMOTE_PORT=0 \
  java -Xmx2g -jar "$JAR" > "$WORK/node.log" 2>&1 &
echo $! > "$WORK/pid"
for _ in $(seq 1 120); do grep -q '^Demo webhook:' "$WORK/node.log" && break; sleep 0.5; done
URL=$(grep -o 'http://[^ ]*/v1/webhooks/[a-z0-9_]*' "$WORK/node.log" | head -1)
echo "node: $URL ($(nproc) cores)"

for shape in "16 1" "8 100" "4 500"; do
  set -- $shape
  java deploy/bench/IngestBench.java "$URL" "$1" "$2" "$SECONDS_PER_RUN" | tee -a "$WORK/results"
done

PID=$(cat "$WORK/pid")
START=$(date +%s%N)
kill -TERM "$PID"; wait "$PID" && STATUS=0 || STATUS=$?
echo "SIGTERM -> exit $STATUS in $(( ($(date +%s%N) - START) / 1000000 )) ms"
ACKED=$(sed -E 's/.*events\/request=([0-9]+).* ([0-9]+) ok.*/\1 \2/' "$WORK/results" | awk '{s+=$1*$2} END{print s}')
LOADED=$(WEIR_DATA_DIR="$WORK/data" java -jar "$JAR" sql "SELECT count(*) AS n FROM demo.events" 2>/dev/null | sed -n 3p | tr -d ' ')
echo "acknowledged events: $ACKED, rows in demo.events: $LOADED"
[ "$ACKED" = "$LOADED" ] || { echo "MISMATCH (node log: /tmp/weir-bench-node.log)"; cp "$WORK/node.log" /tmp/weir-bench-node.log; exit 1; }
