#!/usr/bin/env bash
# Builds and tests the native agent for Linux and Windows; Maven calls it from agent/pom.xml.
#   build-native.sh build <out-dir> <windows: true|false>
#   build-native.sh test  <out-dir> <windows: true|false>
# Libraries land in <out-dir>/native/<platform>/, test libraries in <out-dir>/native-test/<platform>/.
set -euo pipefail
action=$1 out=$2 windows=${3:-true}
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "crashagent native build: '$1' not found. $2" >&2
    exit 1
  fi
}

windows_check() {
  if [ "$windows" != true ]; then
    echo "[WARNING] crashagent: Windows build and tests are OFF (-Dcrashagent.windows=false); crashagent.dll is not built." >&2
    return 1
  fi
  need x86_64-w64-mingw32-g++ "The Windows build needs mingw-w64: sudo apt-get install g++-mingw-w64-x86-64 wine64 wine
  (or build only Linux with: mvn -Dcrashagent.windows=false ...)"
  return 0
}

case $action in
build)
  need cmake "Install it: sudo apt-get install cmake g++"
  need g++ "Install it: sudo apt-get install g++"
  cmake -S "$root" -B "$out/cmake/linux-x86_64" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build "$out/cmake/linux-x86_64" -j "$jobs"
  mkdir -p "$out/native/linux-x86_64" "$out/native-test/linux-x86_64"
  cp "$out/cmake/linux-x86_64/libcrashagent.so" "$out/native/linux-x86_64/"
  cp "$out/cmake/linux-x86_64/cpp/test/jni/libcrashtest.so" "$out/native-test/linux-x86_64/"
  mkdir -p "$out/native-samples/linux-x86_64"
  cp "$out/cmake/linux-x86_64/samples/native/libcrashdemo.so" "$out/native-samples/linux-x86_64/"
  if windows_check; then
    cmake -S "$root" -B "$out/cmake/windows-x86_64" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake"
    cmake --build "$out/cmake/windows-x86_64" -j "$jobs"
    mkdir -p "$out/native/windows-x86_64"
    cp "$out/cmake/windows-x86_64/crashagent.dll" "$out/native/windows-x86_64/"
  fi
  ;;
test)
  ctest --test-dir "$out/cmake/linux-x86_64" --output-on-failure
  if windows_check; then
    if ! command -v wine >/dev/null 2>&1 && ! command -v wine64 >/dev/null 2>&1; then
      echo "crashagent native tests: Wine not found; the Windows tests run under it: sudo apt-get install wine64 wine" >&2
      exit 1
    fi
    ctest --test-dir "$out/cmake/windows-x86_64" --output-on-failure
  fi
  ;;
*)
  echo "usage: build-native.sh build|test <out-dir> <windows: true|false>" >&2
  exit 2
  ;;
esac
