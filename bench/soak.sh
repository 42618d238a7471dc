#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the crash zoo (agent/src/test/java/io/github/crashagent/agent/CrashZoo.java) N times and
# prints a table: case, runs, complete reports, hs_err present, false reports, slowest run.
#   bench/soak.sh [rounds=20] [java-home=the JDK running Maven]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-20}
cd "$root"
mvn -B -q -DskipTests -Dcrashagent.windows=false install
mvn -B -q -pl agent dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/soak.classpath
agent="$root/agent/target"
java -cp "$agent/test-classes:$agent/classes:$(cat "$agent/soak.classpath")" \
  -Dcrashagent.library="$agent/native/linux-x86_64/libcrashagent.so" \
  -Dcrashagent.testLibrary="$agent/native-test/linux-x86_64/libcrashtest.so" \
  -Dcrashagent.workDir="$agent/soak" \
  -Dcrashagent.schema="$root/schema/crash-report.schema.json" \
  io.github.crashagent.agent.ZooSoak "$rounds" ${2:+"$2"}
