#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Times the Windows crash path with its Java half, under Wine, through the JVM stand-in
# (jvm_standin.exe): from the call into a native method that faults at once, to the first listener
# call and to the JVM's fatal-error handler (which runs after the agent has written its final
# report); and the exit of a JVM whose dispatcher is idle, with and without the agent.
#   bench/standin-windows.sh [runs=15]
# Builds the Windows test binaries first, into target/soak-windows (as bench/soak-windows.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-15}
source "$root/bench/windows-build.sh"
run="$root/cpp/test/windows/wine-run.sh"
standin="$build/cpp/test/windows/jvm_standin.exe"
crashlib="$build/cpp/test/windows/crashlib.dll"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$run" --linger 30
timing() {  # <dir> <stand-in arguments...>: the standin-timing values on stderr
  local dir=$1
  shift
  (cd "$dir" && "$run" "$standin" "$@" 2>&1 >/dev/null | tr -d '\r' | sed -n 's/^standin-timing: //p' | tr '\n' ' ')
}
: >"$work/results"
for i in $(seq 1 "$runs"); do
  mkdir -p "$work/crash$i" "$work/idle$i" "$work/plain$i"
  echo "crash $(timing "$work/crash$i" "-agentpath:$agent=dir=." "$crashlib" \
    Java_io_github_crashagent_testapp_CrashNative_nullWrite 16 --listener view.txt --timing)" >>"$work/results"
  echo "idle $(timing "$work/idle$i" "-agentpath:$agent=dir=." "$crashlib" \
    Java_io_github_crashagent_testapp_CrashNative_identity 7 --listener view.txt --timing)" >>"$work/results"
  echo "plain $(timing "$work/plain$i" "$crashlib" \
    Java_io_github_crashagent_testapp_CrashNative_identity 7 --listener view.txt --timing)" >>"$work/results"
  [ -f "$work/crash$i/view.txt" ] || { echo "FAIL: run $i: the listener did not run" >&2; exit 1; }
  if ls "$work/idle$i" "$work/plain$i" | grep -q crashagent_pid; then
    echo "FAIL: run $i: a report without a crash" >&2
    exit 1
  fi
done
python3 - "$work/results" "$runs" <<'PY'
import statistics, sys
values = {}
for line in open(sys.argv[1]):
    kind, *pairs = line.split()
    for pair in pairs:
        key, value = pair.split("=")
        values.setdefault((kind, key), []).append(int(value))
def ms(kind, key):
    return statistics.median(values[(kind, key)]) / 1000
print(f"jvm_standin.exe under Wine, median of {sys.argv[2]} runs each")
print(f"  fault -> first listener call:                         {ms('crash', 'fault_to_listener_us'):6.1f} ms")
print(f"  fault -> JVM's error handler (final report on disk):  {ms('crash', 'fault_to_hs_err_us'):6.1f} ms")
idle, plain = ms('idle', 'exit_us'), ms('plain', 'exit_us')
print(f"  exit, VMDeath to the end: {idle:.2f} ms with the agent (dispatcher idle), {plain:.2f} ms without; "
      f"the agent adds {idle - plain:.2f} ms")
PY
