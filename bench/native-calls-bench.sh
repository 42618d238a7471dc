#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# JMH: a trivial JNI call in a loop, without the agent, with it, and with it and native-calls=
# selecting the method (an entry thunk records every call); prints ns/call of each, what the
# thunk adds and the ratio.
#   bench/native-calls-bench.sh [forks=3]
# Builds the agent, the benchmark and its JNI library first (a reactor build: nothing is installed in ~/.m2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
forks=${1:-3}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
(cd "$root" && mvn -B -q -Pbench -pl agent,bench/jmh -am package -DskipTests -Dcrashagent.windows=false)
agent="$root/agent/target/native/linux-x86_64/libcrashagent.so"
jmh="$root/bench/jmh/target"
g++ -O2 -shared -fPIC -I"$java_home/include" -I"$java_home/include/linux" \
    -o "$jmh/libcallbench.so" "$root/bench/jmh/native/callbench.cpp"
echo "java: $("$java" -version 2>&1 | head -1); cpus: $(nproc)"
"$java" -cp "$jmh/classes:$jmh/dependency/*" io.github.crashagent.bench.NativeCallsBench "$agent" "$jmh/libcallbench.so" "$forks"
