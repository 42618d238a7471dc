#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One agent_host case: runs it in a fresh directory and checks exit status, output and reports.
set -u
case_name=$1 host=$2 lib=$3 shim=${4:-}
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
full_disk|nearly_full_disk)
  # The report directory's file system is full (or has 4 KiB left, less than a report): the
  # whole report goes to the temp directory, with a note, and nothing partial stays behind.
  mkdir -p reports tmp
  free=0; [ "$case_name" = nearly_full_disk ] && free=4096
  rc=$(TMPDIR="$work/tmp" LD_PRELOAD="$shim" CRASHAGENT_FULL_DIRS="$work/reports" CRASHAGENT_FULL_FREE=$free \
       "$host" "$lib" crash "dir=$work/reports" >out.txt 2>err.txt; echo $?)
  [ "$rc" = 139 ] || fail "exit $rc, expected 139"
  [ -z "$(ls reports)" ] || fail "partial files left in the full directory: $(ls -la reports)"
  json=$(ls tmp/crashagent_pid*.json 2>/dev/null)
  [ -n "$json" ] || fail "no report in the temp directory: $(ls -la tmp)"
  python3 -m json.tool "$json" >/dev/null || fail "the JSON report does not parse"
  grep -q "report directory $work/reports: no space left on device; wrote to the temp directory $work/tmp instead" "$json" \
    || fail "no note on why: $(grep '"note"' "$json")"
  grep -q "\"directory\": \"$work/reports\"" "$json" || fail "the report does not name the configured directory"
  grep -q "end of crashagent report" tmp/crashagent_pid*.log || fail "the log in the temp directory is incomplete"
  grep -q "report: $work/$json" err.txt || fail "stderr does not name the report written: $(cat err.txt)"
  [ -z "$(ls tmp/*.tmp 2>/dev/null)" ] || fail "temporary file left behind"
  ;;
full_disk_and_temp)
  # Both the report directory and the temp directory are full: no file anywhere, and the log
  # text goes to stderr, which service managers collect.
  mkdir -p reports tmp
  rc=$(TMPDIR="$work/tmp" LD_PRELOAD="$shim" CRASHAGENT_FULL_DIRS="$work/reports:$work/tmp" \
       "$host" "$lib" crash "dir=$work/reports" >out.txt 2>err.txt; echo $?)
  [ "$rc" = 139 ] || fail "exit $rc, expected 139"
  [ -z "$(find reports tmp -type f)" ] || fail "files left behind: $(ls -la reports tmp)"
  grep -q "could not write the crash report to $work/reports nor to the temp directory" err.txt \
    || fail "stderr does not say the report was not written"
  grep -q "the report follows (no space left on device)" err.txt || fail "stderr does not say why"
  grep -q "kind:          SIGSEGV" err.txt || fail "the log text is not on stderr"
  grep -q "end of crashagent report" err.txt || fail "the log text on stderr is incomplete"
  grep -q "report: .*\.json" err.txt && fail "stderr names a report that was not written"
  ;;
taken_temporary_names)
  # Every temporary name for the JSON report is taken: the agent tries the next number, then
  # the temp directory, and leaves no log without its JSON behind.
  mkdir -p reports tmp
  rc=$(TMPDIR="$work/tmp" LD_PRELOAD="$shim" CRASHAGENT_FULL_DIRS="$work/reports" CRASHAGENT_FULL_FREE=100000000 \
       CRASHAGENT_TAKEN_TMP=1 "$host" "$lib" crash "dir=$work/reports" >out.txt 2>err.txt; echo $?)
  [ "$rc" = 139 ] || fail "exit $rc, expected 139"
  [ -z "$(ls reports)" ] || fail "files left in the report directory: $(ls -la reports)"
  json=$(ls tmp/crashagent_pid*.json 2>/dev/null)
  [ -n "$json" ] || fail "no report in the temp directory: $(ls -la tmp)"
  grep -q "no temporary file could be created; wrote to the temp directory $work/tmp instead" "$json" || fail "no note on why"
  ;;
planted_temporary_name)
  # Another user plants the temporary name the JSON report used to get, in a shared sticky
  # directory: a symlink the agent can neither remove nor open. The report must not care.
  [ "$(id -u)" = 0 ] || { echo "SKIP: $case_name needs root, to plant a file as another user"; exit 77; }
  command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed to run this case as root"
  mkdir -p shared bin && chmod 1777 shared && echo secret > victim && chmod 0644 victim
  cp "$host" "$lib" bin/ && chmod 0755 "$work" bin bin/*
  # exec keeps the subshell's pid: plant for exactly the pid the host will have.
  rc=$( (ln -s "$work/victim" "shared/crashagent_pid${BASHPID}.json.tmp" &&
         exec setpriv --reuid=65534 --regid=65534 --clear-groups "$work/bin/$(basename "$host")" \
           "$work/bin/$(basename "$lib")" crash "dir=$work/shared") >out.txt 2>err.txt; echo $?)
  [ "$rc" = 139 ] || fail "exit $rc, expected 139"
  json=$(ls shared/crashagent_pid*.json 2>/dev/null)
  [ -n "$json" ] || fail "no JSON report next to the planted name: $(ls -la shared)"
  python3 -m json.tool "$json" >/dev/null || fail "the JSON report does not parse"
  [ "$(cat victim)" = secret ] || fail "the planted link's target was written"
  [ -L "$(ls shared/crashagent_pid*.json.tmp | head -1)" ] || fail "the planted link is gone"
  ;;
non_utf8_directory)
  # A report directory whose name is not UTF-8 (Latin-1 "café"): the JSON stays valid, and the
  # name can be had back byte for byte (surrogateescape), where U+FFFD would lose it.
  dir="$work/caf$(printf '\351')"
  mkdir "$dir"
  rc=$(run crash "dir=$dir")
  [ "$rc" = 139 ] || fail "exit $rc, expected 139"
  json=$(ls "$dir"/crashagent_pid*.json 2>/dev/null)
  [ -n "$json" ] || fail "no JSON report"
  python3 - "$json" "$dir" <<'PY' || fail "the directory in the report does not give back the name's bytes"
import json, os, sys
report = json.load(open(sys.argv[1], encoding="utf-8"))
named = report["report"]["directory"].encode("utf-8", "surrogateescape")
sys.exit(0 if named == os.fsencode(sys.argv[2]) else 1)
PY
  ;;
*) fail "unknown case" ;;
esac
echo "PASS: $case_name"
