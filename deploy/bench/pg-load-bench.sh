#!/usr/bin/env bash
# Rows/s into PostgreSQL through Weir's loader (COPY into a jsonb temp table, typed insert with event_id
# dedup, _weir_loads) versus a plain COPY of the same staged NDJSON into a one-column jsonb table.
#   usage: deploy/bench/pg-load-bench.sh [ROWS] [JDBC_URL] [USER]
#   default: 1000000 rows into the local server jdbc:postgresql://127.0.0.1:5432/postgres as postgres
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-1000000}
URL=${2:-jdbc:postgresql://127.0.0.1:5432/postgres}
PGUSER_=${3:-postgres}
mvn -q -B -DskipTests install -pl protocol,loaders -am
mvn -q -B -pl loaders test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:java -Dexec.classpathScope=test \
  -Dexec.mainClass=weir.loaders.bench.PostgresLoadBench -Dexec.args="$URL $PGUSER_ $ROWS"
