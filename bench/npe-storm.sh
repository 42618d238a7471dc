#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures the agent's cost on the JVM's own SIGSEGVs: a C1-compiled implicit-NPE storm, run
# alternately without and with the agent in one session, so both see the same machine state.
#   bench/npe-storm.sh [--java <java>] [--aarch64] [rounds=7] [iterations=2000000]
# --java runs this java (a command, such as a wrapper script) instead of $JAVA_HOME/bin/java.
# --aarch64 measures the linux-aarch64 library in Debian's arm64 OpenJDK under qemu-user, from the
# sysroot cpp/test/aarch64/sysroot.sh sets up (figures under emulation: compare only the ratio).
# The workload is the test app's NpeStorm, the same one the no-false-report tests run.
# Needs the agent and its test classes built first (mvn -B -DskipTests -Dcrashagent.windows=false package).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
platform=linux-x86_64
while [ $# -gt 0 ]; do
  case $1 in
    --java) [ $# -ge 2 ] || { echo "--java needs a java command" >&2; exit 2; }; java=$2; shift 2 ;;
    --aarch64) platform=linux-aarch64; java="$(bash "$root/cpp/test/aarch64/sysroot.sh")/bin/java"; shift ;;
    -*) echo "unknown option $1; usage: bench/npe-storm.sh [--java <java>] [--aarch64] [rounds] [iterations]" >&2; exit 2 ;;
    *) break ;;
  esac
done
rounds=${1:-7} iterations=${2:-2000000}
agent="$root/agent/target/native/$platform/libcrashagent.so"
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
version=$("$java" -version 2>&1) || true
echo "java: ${version%%$'\n'*}; agent: $platform"
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
