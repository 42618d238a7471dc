#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures the agent's cost on the JVM's own SIGSEGVs: a C1-compiled implicit-NPE storm, run
# alternately without and with the agent in one session, so both see the same machine state.
#   bench/npe-storm.sh [rounds=7] [iterations=2000000]
# The workload is the test app's NpeStorm, the same one the no-false-report tests run.
# Needs the agent and its test classes built first (mvn -B -DskipTests -Dcrashagent.windows=false package).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-7} iterations=${2:-2000000}
agent="$root/agent/target/native/linux-x86_64/libcrashagent.so"
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
[ -f "$agent" ] || { echo "no $agent: build it with: mvn -B -DskipTests -Dcrashagent.windows=false package" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
classes="$root/agent/target/test-classes"
[ -f "$classes/io/github/crashagent/testapp/NpeStorm.class" ] || { echo "no NpeStorm in $classes: build it with: mvn -B -DskipTests -Dcrashagent.windows=false package" >&2; exit 1; }
flags=(-XX:TieredStopAtLevel=1 -XX:-StackTraceInThrowable -Xshare:auto -cp "$classes")

run() {  # prints "<wall_ns> <loop_ns>"
  local start end out
  start=$(date +%s%N)
  out=$(cd "$work" && "$java" "$@" "${flags[@]}" io.github.crashagent.testapp.NpeStorm "$iterations")
  end=$(date +%s%N)
  echo "$((end - start)) $(sed -n 's/.*loop_ns=\([0-9]*\).*/\1/p' <<<"$out")"
}

echo "workload: $iterations implicit NPEs under C1 (each one a SIGSEGV), $rounds alternating rounds"
echo "java: $("$java" -version 2>&1 | head -1)"
: >"$work/results"
for i in $(seq 1 "$rounds"); do
  read -r pw pl < <(run)
  read -r aw al < <(run "-agentpath:$agent=dir=$work")
  echo "$pl $al $pw $aw" >>"$work/results"
  echo "round $i: plain loop $((pl / 1000000)) ms, agent loop $((al / 1000000)) ms" >&2
done
if ls "$work"/crashagent_pid* >/dev/null 2>&1; then
  echo "FAIL: the agent reported a crash during the benchmark" >&2
  exit 1
fi
python3 - "$work/results" "$iterations" <<'PY'
import statistics, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1])]
n = int(sys.argv[2])
pl, al, pw, aw = (statistics.median(r[i] for r in rows) for i in range(4))
print(f"median loop:  plain {pl/1e6:.1f} ms, agent {al/1e6:.1f} ms, ratio agent/plain = {al/pl:.3f}")
print(f"median wall:  plain {pw/1e6:.1f} ms, agent {aw/1e6:.1f} ms, ratio agent/plain = {aw/pw:.3f}")
print(f"signals/s:    plain {n/(pl/1e9):,.0f}, agent {n/(al/1e9):,.0f}")
PY
