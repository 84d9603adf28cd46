#!/usr/bin/env bash
# Records/s of a Kafka connection, end to end durable (every record in the journal, offsets committed after
# it) and loaded into DuckDB, beside Kafka's own kafka-consumer-perf-test on the same topic in the same run.
# The broker (KRaft, kafka_2.13 3.9.1) and an in-process node run in one JVM; nothing to install.
#   usage: deploy/bench/kafka-bench.sh [RECORDS] [PARTITIONS]   (default 1000000, 6)
set -euo pipefail
cd "$(dirname "$0")/../.."
RECORDS=${1:-1000000}
PARTITIONS=${2:-6}
DIR=$(pwd)/cluster-node/target/kafka-bench
rm -rf "$DIR" && mkdir -p "$DIR"
mvn -q -B -DskipTests install
if ! MAVEN_OPTS="-Xmx4g -Djava.util.concurrent.ForkJoinPool.common.parallelism=2" mvn -q -B -pl cluster-node test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:java \
  -Dexec.classpathScope=test -Dexec.mainClass=weir.node.stream.KafkaBench \
  -Dexec.args="$RECORDS $PARTITIONS $DIR" > "$DIR/bench.log" 2>&1; then
  tail -40 "$DIR/bench.log"
  exit 1
fi
grep -E "^(produced|kafka-consumer-perf-test|warm-up|weir kafka|ratio)" "$DIR/bench.log"
