#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds and tests the native agent for Linux x86-64, Linux aarch64 and Windows; Maven calls it
# from agent/pom.xml.
#   build-native.sh build <out-dir> <windows: true|false> [version] [aarch64: true|false]
#   build-native.sh test  <out-dir> <windows: true|false>
#   build-native.sh aarch64-java-home <cache-dir>   (sets up the arm64 JDK sysroot for qemu there;
#                                                     prints the Java home that runs it)
# version is Maven's project.version (the reports' agent_version); without it CMake reads pom.xml.
# The aarch64 library is cross-built (cmake/aarch64-linux-gnu.cmake); its tests are JUnit child
# JVMs under qemu-user (agent/pom.xml, execution aarch64), not CTest.
# Libraries land in <out-dir>/native/<platform>/, test libraries in <out-dir>/native-test/<platform>/.
set -euo pipefail
action=$1 out=${2:-} windows=${3:-true} version=${4:-} aarch64=${5:-true}
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# On a fresh Debian machine as root (a container, CI) a missing build tool is installed, saying
# so; anywhere else the build stops with the command to run. CRASHAGENT_NO_INSTALL=1 never installs.
#   need <what is missing> <Debian packages> <check command...>
need() {
  local what=$1 packages=$2
  shift 2
  "$@" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${CRASHAGENT_NO_INSTALL:-}" ]; then
    echo "[crashagent] $what not found; installing Debian package(s): $packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends $packages >&2 \
      || { apt-get update >&2 && apt-get install -y --no-install-recommends $packages >&2; }
    "$@" >/dev/null 2>&1 && return 0
  fi
  echo "crashagent native build: $what not found. Install it with: sudo apt-get install $packages" >&2
  if [ "$packages" = g++-mingw-w64-x86-64 ]; then
    echo "  (or build only the Linux library with: mvn -Dcrashagent.windows=false ...)" >&2
  fi
  case $packages in
    *aarch64*|qemu-user-static)
      echo "  (or build without the Linux aarch64 library with: mvn -Dcrashagent.aarch64=false ...)" >&2 ;;
  esac
  exit 1
}

windows_check() {
  if [ "$windows" != true ]; then
    echo "[WARNING] crashagent: Windows build and tests are OFF (-Dcrashagent.windows=false); crashagent.dll is not built." >&2
    return 1
  fi
  need "the mingw-w64 cross compiler (x86_64-w64-mingw32-g++)" g++-mingw-w64-x86-64 command -v x86_64-w64-mingw32-g++
  return 0
}

aarch64_check() {
  if [ "$aarch64" != true ]; then
    echo "[WARNING] crashagent: Linux aarch64 build and tests are OFF (-Dcrashagent.aarch64=false); linux-aarch64/libcrashagent.so is not built." >&2
    return 1
  fi
  need "the aarch64 cross compiler (aarch64-linux-gnu-g++)" "g++-aarch64-linux-gnu gcc-aarch64-linux-gnu" \
    command -v aarch64-linux-gnu-g++
  return 0
}

case $action in
aarch64-java-home)
  need "qemu-user (runs the aarch64 tests)" qemu-user-static command -v qemu-aarch64-static
  exec bash "$root/cpp/test/aarch64/sysroot.sh" "$out"
  ;;
build)
  need cmake cmake command -v cmake
  need "a C++ compiler (g++)" g++ command -v g++
  need "doctest (native unit tests)" doctest-dev test -f /usr/include/doctest/doctest.h
  # Not for the build itself: show --symbolize's tests run a real debuginfod (SymbolizeDebuginfodTest).
  need "debuginfod (the debuginfod server for the symbolizer tests)" debuginfod command -v debuginfod
  version_flag=()
  [ -z "$version" ] || version_flag=("-DCRASHAGENT_VERSION=$version")
  cmake -S "$root" -B "$out/cmake/linux-x86_64" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${version_flag[@]}"
  cmake --build "$out/cmake/linux-x86_64" -j "$jobs"
  mkdir -p "$out/native/linux-x86_64" "$out/native-test/linux-x86_64"
  cp "$out/cmake/linux-x86_64/libcrashagent.so" "$out/native/linux-x86_64/"
  cp "$out/cmake/linux-x86_64/cpp/test/jni/libcrashtest.so" "$out/native-test/linux-x86_64/"
  cp "$out/cmake/linux-x86_64/cpp/test/posix/libfull_disk_shim.so" "$out/native-test/linux-x86_64/"
  cp "$out/cmake/linux-x86_64/cpp/test/posix/libloopback_bind_shim.so" "$out/native-test/linux-x86_64/"
  mkdir -p "$out/native-samples/linux-x86_64"
  cp "$out/cmake/linux-x86_64/samples/native/libcrashdemo.so" "$out/native-samples/linux-x86_64/"
  if windows_check; then
    cmake -S "$root" -B "$out/cmake/windows-x86_64" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${version_flag[@]}" \
      -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake"
    cmake --build "$out/cmake/windows-x86_64" -j "$jobs"
    mkdir -p "$out/native/windows-x86_64"
    cp "$out/cmake/windows-x86_64/crashagent.dll" "$out/native/windows-x86_64/"
  fi
  if aarch64_check; then
    # Only the agent and the JNI test library: the other native tests are x86-64 CTest cases.
    cmake -S "$root" -B "$out/cmake/linux-aarch64" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${version_flag[@]}" \
      -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" -DCRASHAGENT_TESTS=OFF -DCRASHAGENT_JNI_TEST_LIBRARY=ON
    cmake --build "$out/cmake/linux-aarch64" -j "$jobs" --target crashagent crashtest
    mkdir -p "$out/native/linux-aarch64" "$out/native-test/linux-aarch64"
    cp "$out/cmake/linux-aarch64/libcrashagent.so" "$out/native/linux-aarch64/"
    cp "$out/cmake/linux-aarch64/cpp/test/jni/libcrashtest.so" "$out/native-test/linux-aarch64/"
  else
    # Not one left over from an earlier build: the jar must not carry a library this build skipped.
    rm -rf "$out/native/linux-aarch64" "$out/native-test/linux-aarch64"
  fi
  ;;
test)
  need "python3 (the native test runners)" python3 command -v python3
  ctest --test-dir "$out/cmake/linux-x86_64" --output-on-failure
  if [ -f "$out/cmake/linux-aarch64/libcrashagent_core.a" ]; then
    # The aarch64 tests are JUnit child JVMs under qemu (Aarch64CrashIT); here only the
    # crash-context rule over the aarch64 core, whose atomics are calls into libgcc.
    python3 "$root/cmake/check_crash_context.py" aarch64-linux-gnu-nm "$out/cmake/linux-aarch64/libcrashagent_core.a" \
      "$root/cpp/src/platform.h"
  fi
  if windows_check; then
    need "Wine (runs the Windows tests)" "wine64 wine" command -v wine
    need "python3-jsonschema (checks the Windows reports against the schema)" python3-jsonschema \
      python3 -c "import jsonschema"
    ctest --test-dir "$out/cmake/windows-x86_64" --output-on-failure
  fi
  ;;
*)
  echo "usage: build-native.sh build|test <out-dir> <windows: true|false> [version] [aarch64: true|false]" >&2
  echo "       build-native.sh aarch64-java-home <cache-dir>" >&2
  exit 2
  ;;
esac
