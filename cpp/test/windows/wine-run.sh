#!/usr/bin/env bash
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
exec "$WINE" "$@"
