#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A JVM that exits with the agent's dispatcher idle, through the JVM stand-in: when the exit waits
# for threads in native code (HotSpot: up to 300 ms), the dispatcher must have returned already,
# also when it was not yet scheduled at VMDeath; and nothing may be written.
#   idle_exit.sh <jvm_standin> <libcrashagent.so> <libcrashtest.so>
set -u
standin=$1 agent=$2 library=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for late in "" --agent-threads-start-late; do
  out=$(cd "$dir" && "$standin" "-agentpath:$agent=dir=$dir" "$library" Java_io_github_crashagent_testapp_CrashNative_add 1 \
        --method 'io.github.crashagent.testapp.CrashNative.add(II)I' $late 2>&1)
  rc=$?
  fail() { printf 'FAIL (%s): %s\n%s\n' "${late:-scheduled at once}" "$1" "$out"; exit 1; }
  [ "$rc" = 0 ] || fail "exit status $rc"
  grep -qx "standin: exit: all 1 agent thread(s) had returned" <<<"$out" || fail "the dispatcher was still in native code"
  grep -qx "standin: exit: JVMTI memory not deallocated: 0 block(s)" <<<"$out" || fail "JVMTI memory was not deallocated"
  [ -z "$(ls -A "$dir")" ] || fail "files were written: $(ls "$dir")"
done
echo "PASS: the dispatcher left native code before the exit's wait, scheduled at once and scheduled late"
