#!/usr/bin/env bash
# MB/s of staging writes per store (filesystem; S3 through Alpakka S3 to an in-process S3Mock; GCS through
# google-cloud-storage on Google's in-memory fake) and per format (NDJSON gzip/none, Avro deflate/snappy,
# Parquet snappy). The S3 server and the writer share the machine's cores: S3 figures are a floor.
#   usage: deploy/bench/staging-bench.sh [ROWS]      (default 500000 track rows)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-500000}
mvn -q -B -DskipTests install -pl protocol,loaders -am
MAVEN_OPTS="-Xmx4g" mvn -q -B -pl loaders test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:java \
  -Dexec.classpathScope=test -Dexec.mainClass=weir.loaders.bench.StagingBench \
  -Dexec.args="$ROWS $(pwd)/loaders/target/staging-bench" -Dorg.springframework.boot.logging.LoggingSystem=none
