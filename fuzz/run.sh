#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the fuzz targets and runs each for SECONDS (default 60), one after another:
#   options       parse_options, libFuzzer + ASan + UBSan (fuzz/options_fuzzer.cpp)
#   json_string   Writer::json_string, libFuzzer + ASan + UBSan (fuzz/json_string_fuzzer.cpp)
#   crash_report  CrashReport.read, Jazzer (fuzz/java/)
#
#   fuzz/run.sh [SECONDS]
#   FUZZ_RUNS=10000000 fuzz/run.sh 7200     # stop each at 10 million executions (or 2 h)
#   FUZZ_TARGETS="options json_string" fuzz/run.sh 30
#
# Needs clang and libclang-rt-14-dev (Debian), cmake, a JDK 17 and Maven. The native targets build
# in build/fuzz, apart from the normal build. Each target starts from its seeds in
# fuzz/corpus/<target>/ plus what earlier runs found (build/fuzz/work/corpus/<target>/, not
# committed). A finding (a crash, a sanitizer report, a broken property, an exception, an input
# that takes over 10 s) stops that target, leaves the input in build/fuzz/work/artifacts/, and makes
# the script exit 1 after the other targets ran.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
targets="${FUZZ_TARGETS:-options json_string crash_report}"
build=build/fuzz
work="$build/work"
limits=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1)
if [ -n "${FUZZ_RUNS:-}" ]; then limits+=(-runs="$FUZZ_RUNS"); fi

for tool in clang++ cmake java mvn; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz/run.sh: $tool not found; on Debian: apt-get install clang libclang-rt-14-dev cmake openjdk-17-jdk-headless maven" >&2
    exit 2
  fi
done

mkdir -p "$work/artifacts"
if [[ " $targets " == *" options "* || " $targets " == *" json_string "* ]]; then
  cmake -S fuzz -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >"$work/cmake.log" 2>&1 \
    || { cat "$work/cmake.log"; exit 2; }
  cmake --build "$build" -j2 >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; exit 2; }
fi
if [[ " $targets " == *" crash_report "* ]]; then
  mvn -B -q -f fuzz/java/pom.xml compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/$build/jazzer.classpath" >"$work/maven.log" 2>&1 || { cat "$work/maven.log"; exit 2; }
fi

failed=()
for target in $targets; do
  corpus="$work/corpus/$target"
  log="$work/$target.log"
  mkdir -p "$corpus"
  echo "fuzz: $target for ${seconds}s${FUZZ_RUNS:+ or $FUZZ_RUNS executions} (log: $log)"
  case "$target" in
    options|json_string)
      cmd=("$build/${target}_fuzzer" "${limits[@]}" -artifact_prefix="$work/artifacts/$target-")
      ;;
    crash_report)
      # A JVM of 1 GiB stays well inside libFuzzer's RSS limit, here 4 GiB.
      cmd=(java -Xmx1g -cp "$(cat "$build/jazzer.classpath"):$PWD/fuzz/java/target/classes"
           com.code_intelligence.jazzer.Jazzer --target_class=io.github.crashagent.fuzz.CrashReportFuzzer
           --reproducer_path="$work/artifacts" "${limits[@]}" -rss_limit_mb=4096
           -artifact_prefix="$work/artifacts/$target-")
      ;;
    *)
      echo "fuzz/run.sh: unknown target '$target' (options, json_string, crash_report)" >&2
      exit 2
      ;;
  esac
  status=0
  "${cmd[@]}" "$corpus" "fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  if [ "$status" -eq 0 ]; then
    echo "fuzz: $target: ${runs:-?} executions, no finding"
  else
    echo "fuzz: $target: FINDING (exit status $status) after ${runs:-?} executions; the end of $log:"
    tail -n 60 "$log"
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]}; inputs in $work/artifacts/"
  exit 1
fi
echo "fuzz: every target ran with no finding"
