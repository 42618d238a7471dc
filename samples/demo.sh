#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds crashagent, runs a sample JVM with the agent that crashes in JNI code, then shows the
# crash report and what the listeners did.
#   bash samples/demo.sh [fault]
# Faults: javacpp (default: a JavaCPP binding of a C++ library), null-write, abort, divide-by-zero,
# illegal-instruction, bad-call, double-free, cpp-exception, own-thread. Linux x86-64 only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fault=${1:-javacpp}
cd "$root"

echo "== Building (mvn package, Linux library only, tests skipped)"
mvn -B -q -DskipTests -Dcrashagent.windows=false package

# The runnable jar, not its tests, sources or javadoc jars.
agent_jar=$(ls agent/target/crashagent-agent-*.jar | grep -Ev -- '-(tests|sources|javadoc)\.jar$' | head -n 1)
work="$root/samples/target/demo"
rm -rf "$work"
mkdir -p "$work/reports"

echo
echo "== Extracting the agent: java -jar $agent_jar path"
# path prints the flag quoted for the shell when the path needs it; eval reads it back as one word.
eval "flag=$(java -jar "$agent_jar" path "$work/agent")"
echo "$flag"

echo
echo "== Running the sample, which crashes in native code ($fault)"
classpath="$root/samples/target/classes:$(cat samples/target/demo-classpath.txt)"
set +e
(
  cd "$work"
  ulimit -c 0
  java "$flag=dir=$work/reports,native-calls=io.github.crashagent.samples" \
    -Dcrashagent.demoLibrary="$root/agent/target/native-samples/linux-x86_64/libcrashdemo.so" \
    -Dorg.bytedeco.javacpp.cachedir="$work/javacpp-cache" \
    -Ddemo.log="$work/demo.log" \
    -cp "$classpath" io.github.crashagent.samples.Demo "$fault"
  exit $?
) > "$work/stdout.txt" 2> "$work/stderr.txt"
status=$?
set -e
echo "-- its output (HotSpot's crash banner is in $work/stdout.txt):"
grep -v -e '^#' -e 'Aborted' "$work/stdout.txt" "$work/stderr.txt" --no-filename || true
echo "The JVM exited with status $status: a crash ends like this (134 is SIGABRT); that is expected."
if [ "$status" = 0 ]; then
  echo "demo: the sample did not crash" >&2
  exit 1
fi

report=$(ls "$work"/reports/crashagent_pid*.json 2>/dev/null | head -n 1 || true)
if [ -z "$report" ]; then
  echo "demo: no report in $work/reports" >&2
  exit 1
fi

echo
echo "== The report: java -jar $agent_jar show $report"
java -jar "$agent_jar" show "$report"

echo
echo "== What the listeners did"
echo "-- the application's listener (stderr):"
grep '^\[listener\]' "$work/stderr.txt" || echo "(it printed nothing)"
echo "-- the Log4j2 integration: the application log $work/demo.log ends with"
tail -n 12 "$work/demo.log"
echo
echo "Files: $work (reports/, demo.log, hs_err_pid*.log)"
