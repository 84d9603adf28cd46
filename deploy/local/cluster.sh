#!/usr/bin/env bash
# A local Weir cluster: N nodes as separate JVMs on loopback, one PostgreSQL journal, one shared staging
# directory. See deploy/README.md.
#   deploy/local/cluster.sh start N   start N nodes (default 3), wait until all are Up, print one line per node
#   deploy/local/cluster.sh status    the nodes and what the cluster says about its members
#   deploy/local/cluster.sh stop      SIGTERM every node (each flushes and hands off), wait for them to exit
# Environment: WEIR_PG_URL, WEIR_PG_USER, WEIR_PG_PASSWORD (default: the local server, user postgres),
# WEIR_ADMIN_TOKEN and WEIR_MASTER_KEY (default: generated once under the state directory),
# WEIR_CLUSTER_DIR (state directory, default ./data/cluster), WEIR_CLUSTER_BASE_PORT (default 9000: node n
# uses base+10n for ingest, +1 admin, +2 management, +3 remoting).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
JAR="$ROOT/cluster-node/target/weir-node.jar"
DIR="${WEIR_CLUSTER_DIR:-./data/cluster}"
BASE="${WEIR_CLUSTER_BASE_PORT:-9000}"
export WEIR_PG_URL="${WEIR_PG_URL:-jdbc:postgresql://127.0.0.1:5432/postgres}"
export WEIR_PG_USER="${WEIR_PG_USER:-postgres}"
export WEIR_PG_PASSWORD="${WEIR_PG_PASSWORD:-}"

port() { echo $((BASE + 10 * $1 + $2)); }

secret() { # name generator: the value from the environment, else a file generated once (mode 0600)
  local file="$DIR/$1"
  if [ ! -s "$file" ]; then (umask 077; eval "$2" > "$file"); fi
  cat "$file"
}

start() {
  local n="${1:-3}"
  mkdir -p "$DIR/staging"
  [ -f "$JAR" ] || (cd "$ROOT" && mvn -q -B -DskipTests package)
  export WEIR_ADMIN_TOKEN="${WEIR_ADMIN_TOKEN:-$(secret admin-token 'head -c 32 /dev/urandom | base64 | tr "+/" "-_" | tr -d "=\n"')}"
  export WEIR_MASTER_KEY="${WEIR_MASTER_KEY:-$(secret master-key 'head -c 32 /dev/urandom | base64')}"
  local seeds="127.0.0.1:$(port 1 3)"
  [ "$n" -ge 2 ] && seeds="$seeds,127.0.0.1:$(port 2 3)"
  for i in $(seq 1 "$n"); do
    if [ -f "$DIR/node-$i.pid" ] && kill -0 "$(cat "$DIR/node-$i.pid")" 2>/dev/null; then
      echo "node $i is already running (pid $(cat "$DIR/node-$i.pid"))" >&2; continue
    fi
    mkdir -p "$DIR/node-$i"
    WEIR_MODE=cluster WEIR_DATA_DIR="$DIR/node-$i" WEIR_STAGING_DIR="$DIR/staging" WEIR_STAGING_SHARED=true \
    WEIR_SEED_NODES="$seeds" WEIR_INGEST_PORT="$(port "$i" 0)" WEIR_ADMIN_PORT="$(port "$i" 1)" \
    WEIR_MANAGEMENT_PORT="$(port "$i" 2)" WEIR_REMOTE_PORT="$(port "$i" 3)" \
      nohup java -Xmx1g -jar "$JAR" > "$DIR/node-$i.log" 2>&1 < /dev/null &
    echo $! > "$DIR/node-$i.pid"
  done
  echo "$n" > "$DIR/nodes"
  local deadline=$((SECONDS + 180))
  until all_ready "$n" && [ "$(curl -s "http://127.0.0.1:$(port 1 2)/cluster/members" 2>/dev/null | grep -o '"status":"Up"' | wc -l)" -ge "$n" ]; do
    if [ $SECONDS -ge $deadline ]; then echo "the cluster did not come up; see $DIR/node-*.log" >&2; exit 1; fi
    for i in $(seq 1 "$n"); do
      kill -0 "$(cat "$DIR/node-$i.pid")" 2>/dev/null || { echo "node $i exited; see $DIR/node-$i.log" >&2; tail -5 "$DIR/node-$i.log" >&2; exit 1; }
    done
    sleep 1
  done
  lines "$n"
}

all_ready() { # every node answers /health/ready (member Up, HTTP bound, not shutting down)
  for i in $(seq 1 "$1"); do curl -sf -o /dev/null "http://127.0.0.1:$(port "$i" 2)/health/ready" || return 1; done
}

lines() {
  for i in $(seq 1 "$1"); do
    [ -f "$DIR/node-$i.pid" ] && kill -0 "$(cat "$DIR/node-$i.pid")" 2>/dev/null || continue
    echo "node $i pid=$(cat "$DIR/node-$i.pid") ingest=http://127.0.0.1:$(port "$i" 0) admin=http://127.0.0.1:$(port "$i" 1) management=http://127.0.0.1:$(port "$i" 2)"
  done
}

status() {
  local n; n="$(cat "$DIR/nodes" 2>/dev/null || echo 0)"
  lines "$n"
  for i in $(seq 1 "$n"); do
    if curl -sf "http://127.0.0.1:$(port "$i" 2)/cluster/members" 2>/dev/null; then echo; return; fi
  done
  echo "no node answers" >&2
}

stop() {
  local n; n="$(cat "$DIR/nodes" 2>/dev/null || echo 0)"
  for i in $(seq 1 "$n"); do
    [ -f "$DIR/node-$i.pid" ] && kill -TERM "$(cat "$DIR/node-$i.pid")" 2>/dev/null || true
  done
  for i in $(seq 1 "$n"); do
    local pid; pid="$(cat "$DIR/node-$i.pid" 2>/dev/null || true)"
    [ -n "$pid" ] || continue
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && echo "node $i (pid $pid) did not stop in 30 s" >&2
    rm -f "$DIR/node-$i.pid"
  done
}

case "${1:-}" in
  start) start "${2:-3}" ;;
  status) status ;;
  stop) stop ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
