#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the Windows crash zoo (cpp/test/windows/run_case.py) N times under Wine and prints a table:
# case, runs, complete reports, hs_err present, false reports, slowest run.
#   bench/soak-windows.sh [rounds=20]
# Builds the Windows test binaries first, with the mingw-w64 toolchain, into target/soak-windows.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-20}
tests="$root/cpp/test/windows"
source "$root/bench/windows-build.sh"
results="$build/soak-results.txt"
: >"$results"
failed=0
start=$(date +%s)
for case in $(python3 "$tests/run_case.py" --list); do
  # The baseline (no agent) runs once per case; the agent runs `rounds` times.
  if ! python3 "$tests/run_case.py" --rounds "$rounds" "$case" "$tests/wine-run.sh" "$host" "$agent" \
      >"$build/soak-$case.txt" 2>&1; then
    failed=1
  fi
  grep '^ZOO ' "$build/soak-$case.txt" >>"$results" || true
done
python3 - "$results" "$rounds" "$(( $(date +%s) - start ))" <<'PY'
import json, sys
path, rounds, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = [json.loads(line[4:]) for line in open(path)]
cases = []
for r in runs:
    if r["case"] not in cases:
        cases.append(r["case"])
print(f"soak: {rounds} rounds of {len(cases)} cases under Wine, {seconds} s\n")
print(f"| {'case':<24} | {'runs':>4} | {'complete reports':>16} | {'hs_err present':>17} | {'false reports':>13} | {'slowest (ms)':>12} |")
print(f"|{'-' * 26}|{'-' * 6}|{'-' * 18}|{'-' * 19}|{'-' * 15}|{'-' * 14}|")
problems = []
for case in cases:
    mine = [r for r in runs if r["case"] == case]
    slowest = max(r["elapsed_ms"] for r in mine)
    problems += [f"{case} round {i + 1}: {r['problem']}" for i, r in enumerate(mine) if not r["ok"]]
    if mine[0]["type"] == "crash":
        complete = sum(1 for r in mine if r["report_complete"])
        hs_err = sum(1 for r in mine if r["hs_err"])
        expected = any(r["hs_err_expected"] for r in mine)
        hs_cell = str(hs_err) if expected else f"{hs_err} (none expected)"
        print(f"| {case:<24} | {len(mine):>4} | {complete:>16} | {hs_cell:>17} | {'-':>13} | {slowest:>12} |")
    else:
        false_reports = sum(1 for r in mine if r["false_report"])
        print(f"| {case:<24} | {len(mine):>4} | {'-':>16} | {'-':>17} | {false_reports:>13} | {slowest:>12} |")
print()
if problems:
    print(f"soak: {len(problems)} runs fell short:")
    for p in problems:
        print("  " + p)
else:
    print("soak: every run as expected")
PY
if [ "$failed" != 0 ]; then
  echo "soak: details of failed runs are in $build/soak-<case>.txt"
  exit 1
fi
