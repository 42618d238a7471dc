#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# JMH: CrashAgent.breadcrumb and putContext without the agent and with it, in one run; prints
# ns/op of both, the difference, the ratio, and the bytes each call allocates (must be 0).
#   bench/context-bench.sh [forks=3]
# Builds the agent and the benchmark first (a reactor build: nothing is installed in ~/.m2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
forks=${1:-3}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
(cd "$root" && mvn -B -q -Pbench -pl agent,bench/jmh -am package -DskipTests -Dcrashagent.windows=false)
agent="$root/agent/target/native/linux-x86_64/libcrashagent.so"
jmh="$root/bench/jmh/target"
echo "java: $("$java" -version 2>&1 | head -1); cpus: $(nproc)"
"$java" -cp "$jmh/classes:$jmh/dependency/*" io.github.crashagent.bench.ContextBench "$agent" "$forks"
