#!/usr/bin/env bash
# Rows/s of Segment tracks into DuckDB through Weir's loader (staged NDJSON gzip as a flush writes it, then
# loads of 10 batches each into a fresh DuckDB file: typed columns, property columns, event_id dedup,
# _weir_loads, one transaction per load).
#   usage: deploy/bench/duckdb-load-bench.sh [EVENTS] [EVENTS_PER_BATCH]   (default 1000000, 50000)
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS=${1:-1000000}
PER_BATCH=${2:-50000}
mvn -q -B -DskipTests install -pl protocol,loaders -am
MAVEN_OPTS="-Xmx6g" mvn -q -B -pl loaders test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:java \
  -Dexec.classpathScope=test -Dexec.mainClass=weir.loaders.bench.DuckDbLoadBench \
  -Dexec.args="$EVENTS $PER_BATCH $(pwd)/loaders/target/duckdb-bench"
