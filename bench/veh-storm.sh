#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures the VEH's cost on exceptions that are handled by someone else, under Wine: storms of
# 10,000 faults that the fake JVM resumes (like HotSpot's implicit null checks), C++ throws caught
# in the DLL, and access violations the DLL catches with its own SEH frame. Each storm runs
# alternately without and with the agent; prints the median storm time and the ratio.
#   bench/veh-storm.sh [rounds=7]
# Builds the Windows test binaries first, into target/soak-windows (as bench/soak-windows.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-7}
source "$root/bench/windows-build.sh"
run="$root/cpp/test/windows/wine-run.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$run" --linger 30
storm_us() {  # <agent|none> <case>
  (cd "$work" && "$run" "$host" "$1" "$2" "dir=$work" 2>&1 >/dev/null | tr -d "\r" | sed -n "s/^storm_us=//p")
}
: >"$work/results"
for case in jvm_fault_storm throw_storm seh_catch_storm; do
  for i in $(seq 1 "$rounds"); do
    echo "$case $(storm_us none "$case") $(storm_us "$agent" "$case")" >>"$work/results"
  done
done
if ls "$work"/crashagent_pid* >/dev/null 2>&1; then
  echo "FAIL: the agent reported a crash during the benchmark" >&2
  exit 1
fi
python3 - "$work/results" "$rounds" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"10,000 handled exceptions per storm, {sys.argv[2]} alternating rounds, under Wine")
print(f"| {'storm':<16} | {'without agent (ms)':>18} | {'with agent (ms)':>15} | {'ratio':>6} | {'per exception':>14} |")
print(f"|{'-'*18}|{'-'*20}|{'-'*17}|{'-'*8}|{'-'*16}|")
for case in dict.fromkeys(r[0] for r in rows):
    plain = statistics.median(int(r[1]) for r in rows if r[0] == case)
    agent = statistics.median(int(r[2]) for r in rows if r[0] == case)
    extra = (agent - plain) / 10000
    print(f"| {case:<16} | {plain/1000:>18.1f} | {agent/1000:>15.1f} | {agent/plain:>6.2f} | {extra:>+11.2f} us |")
PY
