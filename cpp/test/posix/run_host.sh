#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One agent_host case: runs it in a fresh directory and checks exit status, output and reports.
set -u
case_name=$1 host=$2 lib=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $case_name: $*"; echo "--- stdout"; cat out.txt 2>/dev/null; echo "--- stderr"; cat err.txt 2>/dev/null; exit 1; }

run() { "$host" "$lib" "$@" >out.txt 2>err.txt; echo $?; }

# For the cases about directories the process cannot write: root writes anywhere, so as root the
# host runs as nobody, from a copy in the (world-readable) work directory, since the build tree
# may be in a home directory nobody cannot enter.
as_nobody_if_root() {
  as_user=()
  [ "$(id -u)" = 0 ] || return 0
  command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed to run this case as root"
  mkdir -p bin && cp "$host" "$lib" bin/ && chmod 0755 "$work" bin bin/*
  host="$work/bin/$(basename "$host")" lib="$work/bin/$(basename "$lib")"
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
}

case $case_name in
start_stop)
  rc=$(run start "dir=$work,timeout=100")
  [ "$rc" = 0 ] || fail "exit $rc"
  [ -z "$(ls crashagent_pid* 2>/dev/null)" ] || fail "a report was written without a crash"
  [ ! -s err.txt ] || fail "unexpected messages"
  rc=$(run start "dir=$work,minidump=true")
  [ "$rc" = 0 ] || fail "exit $rc with minidump=true"
  grep -q "minidump=true has no effect on Linux" err.txt || fail "minidump=true is ignored silently"
  ;;
bad_option)
  rc=$(run start "dir=$work,colour=red")
  [ "$rc" != 0 ] || fail "a bad option was accepted"
  grep -q "unknown option 'colour'" err.txt || fail "the message does not name the option"
  grep -q "timeout=" err.txt || fail "the message does not list the allowed options"
  ;;
bad_dir)
  rc=$(run start "dir=$work/missing")
  [ "$rc" != 0 ] || fail "a missing report directory was accepted"
  grep -q "option 'dir'" err.txt || fail "the message does not name the option"
  ;;
crash_report)
  rc=$(run crash "dir=$work")
  [ "$rc" = 139 ] || fail "exit $rc, expected 139 (SIGSEGV, as without the agent)"
  json=$(ls crashagent_pid*.json 2>/dev/null)
  [ -n "$json" ] || fail "no JSON report"
  python3 -m json.tool "$json" >/dev/null || fail "the JSON report does not parse"
  grep -q '"kind": "SIGSEGV"' "$json" || fail "kind"
  grep -q '"module": ".*agent_host"' "$json" || fail "module"
  grep -q '"symbol": ".*write_null' "$json" || fail "symbol"
  grep -q '"status": "not_started"' "$json" || fail "dispatch status"
  log=$(ls crashagent_pid*.log)
  grep -q "end of crashagent report" "$log" || fail "log is incomplete"
  [ -z "$(ls crashagent_pid*.tmp 2>/dev/null)" ] || fail "temporary file left behind"
  ;;
crash_without_allocating)
  rc=$(run crash-no-malloc "dir=$work")
  grep -q "ALLOCATION IN CRASH PATH" err.txt && fail "the crash path allocated: $(grep ALLOCATION err.txt)"
  [ "$rc" = 139 ] || fail "exit $rc, expected 139"
  json=$(ls crashagent_pid*.json 2>/dev/null)
  [ -n "$json" ] || fail "no JSON report"
  python3 -m json.tool "$json" >/dev/null || fail "the JSON report does not parse"
  grep -q "end of crashagent report" crashagent_pid*.log || fail "log is incomplete"
  ;;
earlier_reports_survive)
  # A restarted container crashes with the same pid. The host plants an earlier report pair
  # (_1) and a log whose JSON was removed (no suffix) under its own pid, then crashes.
  rc=$(run crash-after-earlier-reports "dir=$work")
  [ "$rc" = 139 ] || fail "exit $rc"
  new=$(ls crashagent_pid*_2.json 2>/dev/null)
  [ -n "$new" ] || fail "no _2 report next to the earlier ones: $(ls)"
  grep -q '"kind": "SIGSEGV"' "$new" || fail "the new report is not a crash report"
  [ "$(cat crashagent_pid*_1.json)" = earlier ] || fail "an earlier report was overwritten"
  log=$(ls crashagent_pid*.log | grep -Ev '_[0-9]+\.log$')
  [ "$(cat "$log")" = earlier ] || fail "an earlier log was overwritten"
  ;;
unwritable_working_directory)
  # No dir= and a working directory the process cannot write (a service started in /): the
  # reports go to the temp directory, with a warning, instead of the JVM refusing to start.
  mkdir -p ro tmp && chmod 0555 ro && chmod 1777 tmp
  as_nobody_if_root
  rc=$(cd ro && TMPDIR="$work/tmp" "${as_user[@]}" "$host" "$lib" crash "" >../out.txt 2>../err.txt; echo $?)
  [ "$rc" = 139 ] || fail "exit $rc, expected 139 (the crash, after starting)"
  grep -q "no dir= given and the working directory cannot take reports" err.txt || fail "no warning"
  grep -q "they go to the temp directory $work/tmp instead" err.txt || fail "the warning does not name the temp directory"
  json=$(ls tmp/crashagent_pid*.json 2>/dev/null)
  [ -n "$json" ] || fail "no report in the temp directory: $(ls -la tmp ro)"
  grep -q '"kind": "SIGSEGV"' "$json" || fail "kind"
  [ -z "$(ls ro)" ] || fail "something was written in the working directory"
  ;;
bad_dir_and_temp)
  # No dir=, and neither the working directory nor the temp directory can take reports: the
  # agent refuses to start and says what to do.
  mkdir -p ro && chmod 0555 ro
  as_nobody_if_root
  rc=$(cd ro && TMPDIR="$work/ro" "${as_user[@]}" "$host" "$lib" start "" >../out.txt 2>../err.txt; echo $?)
  [ "$rc" != 0 ] || fail "started without a writable directory"
  grep -q "give dir= a writable directory" err.txt || fail "the message does not say what to do"
  ;;
stop_then_crash)
  rc=$(run stop-crash "dir=$work")
  [ "$rc" = 139 ] || fail "exit $rc, expected 139"
  [ -z "$(ls crashagent_pid* 2>/dev/null)" ] || fail "a report was written after crashagent_stop"
  ;;
*) fail "unknown case" ;;
esac
echo "PASS: $case_name"
