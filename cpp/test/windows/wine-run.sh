#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs a Windows test program under Wine with a private, prepared prefix: no installers, no
# debugger popping up, deterministic exit codes (low byte of the NTSTATUS).
set -u
export WINEPREFIX=${WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/crashagent/wineprefix}
export WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
export WINEDEBUG=-all
WINE=${WINE:-$(command -v wine64 || command -v wine || true)}
if [ -z "$WINE" ] && [ -x /usr/lib/wine/wine64 ]; then WINE=/usr/lib/wine/wine64; fi
if [ -z "$WINE" ]; then
  echo "wine-run.sh: Wine is not installed; the Windows tests need it: sudo apt-get install wine64 wine" >&2
  exit 127
fi
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  mkdir -p "$WINEPREFIX"
  "$WINE" wineboot -i >/dev/null 2>&1
  wineserver -w
fi
# wine-run.sh --linger SECONDS: starts this prefix's wineserver (unless one runs) and keeps it
# for SECONDS after its last client, so that a series of short runs does not start it each time
# (about 2 s each). wineserver daemonizes and returns once it serves (status 2 when one runs
# already), so no run starts while a server is still coming up.
if [ "${1:-}" = "--linger" ]; then
  WINESERVER=$(command -v wineserver || true)
  if [ -z "$WINESERVER" ] && [ -x /usr/lib/wine/wineserver64 ]; then WINESERVER=/usr/lib/wine/wineserver64; fi
  [ -n "$WINESERVER" ] || exit 0
  "$WINESERVER" -p"${2:-10}" </dev/null >/dev/null 2>&1 || true
  exit 0
fi
exec "$WINE" "$@"
