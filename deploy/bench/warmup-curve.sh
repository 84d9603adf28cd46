#!/usr/bin/env bash
# How a node's single-event rate grows while its JIT compiler catches up: the shape of
# ../shared/bench/weir.sh (embedded defaults, -Xmx1g, one Segment connection, wrk -t2 -c64 posting a ~620 B
# track per request), but one load of SECONDS in windows of 10 s, each window's rate and p99 printed, and
# the share of the node's CPU its compiler threads took in each window (from /proc, per thread).
#   usage: deploy/bench/warmup-curve.sh [SECONDS (default 90)] [JAR] [JVM_OPTIONS (default -Xmx1g)]
# needs wrk (apt-get install -y wrk); run from anywhere; node log in /tmp/warmup-curve/node.log
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TOTAL=${1:-90}
JAR=${2:-cluster-node/target/weir-node.jar}
JOPTS=${3:--Xmx1g}
LUA_DIR=$(cd ../shared/bench/wrk && pwd)
[ -f "$JAR" ] || { echo "no jar $JAR (mvn -B -DskipTests package)" >&2; exit 1; }
RUN=/tmp/warmup-curve; rm -rf "$RUN"; mkdir -p "$RUN/data"
IP=18290; AP=18291
env WEIR_DATA_DIR="$RUN/data" WEIR_INGEST_PORT=$IP WEIR_ADMIN_PORT=$AP WEIR_MANAGEMENT_PORT=0 WEIR_REMOTE_PORT=0 \
  java $JOPTS -jar "$JAR" >"$RUN/node.log" 2>&1 &
NODE=$!
trap 'kill -KILL $NODE 2>/dev/null || true' EXIT
for _ in $(seq 240); do curl -s -o /dev/null "http://127.0.0.1:$IP/" && break; kill -0 $NODE || exit 1; sleep 0.25; done
TOKEN=$(cat "$RUN/data/admin-token")
api() { curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -X "$1" ${3:+--data "$3"} "http://127.0.0.1:$AP$2"; }
DEST=$(api GET /v1/admin/destinations | python3 -c "import json,sys;d=json.load(sys.stdin);d=d.get('destinations',d) if isinstance(d,dict) else d;print([x['id'] for x in d if x.get('type')=='duckdb'][0])")
KEY=$(api POST /v1/admin/connections "{\"name\":\"bench\",\"kind\":\"segment\",\"destination_id\":\"$DEST\"}" | python3 -c "import json,sys;print(json.load(sys.stdin)['write_key'])")
export AUTH="Basic $(printf '%s:' "$KEY" | base64 -w0)"

# CPU ticks of the node's threads, split into compiler threads and the rest.
ticks() {
  python3 - "$NODE" <<'EOF'
import os, sys
pid = sys.argv[1]; jit = other = 0
for tid in os.listdir(f'/proc/{pid}/task'):
    try: s = open(f'/proc/{pid}/task/{tid}/stat').read()
    except OSError: continue
    name = s[s.index('(') + 1:s.rindex(')')]; f = s[s.rindex(')') + 2:].split()
    t = int(f[11]) + int(f[12])
    if 'CompilerThre' in name: jit += t
    else: other += t
print(jit, other)
EOF
}
echo "window_s events_per_s p99_ms node_cores jit_share"
for i in $(seq $((SECONDS_TOTAL / 10))); do
  read -r j0 o0 < <(ticks)
  R=$(cd "$LUA_DIR" && RUNID=$i wrk -t2 -c64 -d10s --latency -s post-small.lua "http://127.0.0.1:$IP/v1/track" | grep '^RESULT')
  read -r j1 o1 < <(ticks)
  awk -v w=$((i * 10)) -v r="$R" -v j=$((j1 - j0)) -v o=$((o1 - o0)) 'BEGIN {
    match(r, /rps=[0-9.]+/); rps = substr(r, RSTART + 4, RLENGTH - 4)
    match(r, /p99_ms=[0-9.]+/); p99 = substr(r, RSTART + 7, RLENGTH - 7)
    share = (j + o) > 0 ? 100 * j / (j + o) : 0
    printf "%d %d %s %.2f %.0f%%\n", w, rps, p99, (j + o) / 1000, share }'
done
