#!/usr/bin/env bash
# A PostgreSQL warehouse that is down for OUTAGE seconds while events keep arriving: every acknowledged event
# must be in PostgreSQL exactly once afterwards. Prints the status seen during the outage and how long the
# catch-up took once the server was back (no sync is requested: the coordinator's own retries do it).
# Needs the node jar (mvn -B -DskipTests package) and a local Debian PostgreSQL cluster it may stop and start
# (pg_ctlcluster; default 15/main on 127.0.0.1:5432, user postgres, trust auth).
#   usage: deploy/bench/warehouse-outage.sh [OUTAGE_SECONDS] [PG_VERSION] [PG_CLUSTER]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUTAGE=${1:-600}; PGV=${2:-15}; PGC=${3:-main}
JAR=cluster-node/target/weir-node.jar
WORK=$(mktemp -d /tmp/weir-outage.XXXX)
TOKEN=outage-token; ADMIN=http://127.0.0.1:18081; INGEST=http://127.0.0.1:18080
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS weir_outage" -c "CREATE DATABASE weir_outage"
WEIR_DATA_DIR=$WORK/data WEIR_ADMIN_TOKEN=$TOKEN WEIR_INGEST_PORT=18080 WEIR_ADMIN_PORT=18081 \
  WEIR_MANAGEMENT_PORT=18558 WEIR_REMOTE_PORT=25599 java -jar $JAR > $WORK/node.log 2>&1 &
NODE=$!
trap 'kill $NODE 2>/dev/null; kill $SENDER 2>/dev/null; pg_ctlcluster $PGV $PGC start 2>/dev/null || true' EXIT
until curl -sf http://127.0.0.1:18558/health/ready > /dev/null; do sleep 0.5; done
api() { curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
DEST=$(api -X POST $ADMIN/v1/admin/destinations -d '{"name":"pg","type":"postgres","config":{"url":"jdbc:postgresql://127.0.0.1:5432/weir_outage","user":"postgres","password":"unused"}}' | sed 's/.*"id":"\([^"]*\)".*/\1/')
CONN=$(api -X POST $ADMIN/v1/admin/connections -d "{\"name\":\"Outage\",\"kind\":\"webhook\",\"destination_id\":\"$DEST\",\"batch_interval_seconds\":2,\"sync_interval_minutes\":1}" | sed 's/.*"id":"\([^"]*\)".*/\1/')
echo "node up; destination $DEST, connection $CONN; data in $WORK"

# Sender: 20 events per request, ~10 requests/s; counts the events of every 200.
( n=0; acked=0
  while true; do
    body="["; for i in $(seq 1 20); do n=$((n+1)); body+="{\"n\":$n},"; done; body="${body%,}]"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$body" $INGEST/v1/webhooks/$CONN || true)
    [ "$code" = 200 ] && acked=$((acked+20)) && echo $acked > $WORK/acked
    sleep 0.1
  done ) &
SENDER=$!
sleep 30
echo "$(date -u +%T) stopping PostgreSQL for $OUTAGE s"
pg_ctlcluster $PGV $PGC stop
END=$(( $(date +%s) + OUTAGE ))
while [ $(date +%s) -lt $END ]; do
  sleep 60
  echo "$(date -u +%T) acked=$(cat $WORK/acked) status=$(api $ADMIN/v1/admin/connections/$CONN/status)"
done
pg_ctlcluster $PGV $PGC start
BACK=$(date +%s)
echo "$(date -u +%T) PostgreSQL is back"
sleep 20; kill $SENDER; SENDER=; sleep 1
ACKED=$(cat $WORK/acked)
echo "sender stopped: $ACKED events acknowledged"
while true; do
  rows=$(psql -h 127.0.0.1 -U postgres -d weir_outage -tAc "SELECT count(*) FROM outage.events" 2>/dev/null || echo 0)
  [ "$rows" -ge "$ACKED" ] && break
  sleep 2
done
DONE=$(date +%s)
psql -h 127.0.0.1 -U postgres -d weir_outage -tAc "SELECT 'rows=' || count(*) || ' distinct=' || count(DISTINCT data->>'n') FROM outage.events"
echo "acknowledged=$ACKED; every acknowledged event loaded $((DONE - BACK)) s after PostgreSQL came back"
echo "status: $(api $ADMIN/v1/admin/connections/$CONN/status)"
