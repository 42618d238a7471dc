# SPDX-License-Identifier: Apache-2.0
# Builds the Windows test binaries with the mingw-w64 toolchain into target/soak-windows and
# sets build, host and agent. Sourced by the Windows bench scripts.
build="$root/target/soak-windows"
# The build needs the JNI headers of a JDK.
if [ -z "${JAVA_HOME:-}" ] && command -v javac >/dev/null; then
  export JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
fi
cmake -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake" >/dev/null
cmake --build "$build" -j2 >/dev/null
host="$build/cpp/test/windows/crash_host.exe"
agent="$build/crashagent.dll"
