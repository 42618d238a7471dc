#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets up an arm64 sysroot with Debian's OpenJDK 17 for running the aarch64 tests under
# qemu-user, and prints the Java home to use: a directory whose bin/java runs the arm64 java
# under qemu-aarch64-static.
#   cpp/test/aarch64/sysroot.sh [cache-dir]    (default: ~/.cache/crashagent/aarch64)
# The packages are unpacked with dpkg -x, never installed: a multiarch install of the JDK would
# upgrade dozens of amd64 packages. The result is kept in the cache directory and reused when
# it is complete (a "ready" marker names the packages it holds).
# Needs qemu-user-static and arm64 packages from apt: as root it adds the arm64 architecture
# and runs apt-get update when the packages cannot be found, saying so.
set -euo pipefail
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/crashagent/aarch64}
packages=(openjdk-17-jre-headless:arm64 libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 zlib1g:arm64)
sysroot="$cache/sysroot"
jdk_rel=usr/lib/jvm/java-17-openjdk-arm64
javahome="$cache/java-home"

log() { echo "[crashagent] $*" >&2; }

command -v qemu-aarch64-static >/dev/null 2>&1 || {
  echo "aarch64 sysroot: qemu-aarch64-static not found. Install it with: sudo apt-get install qemu-user-static" >&2
  exit 1
}

if [ ! -f "$cache/ready" ] || [ "$(cat "$cache/ready")" != "${packages[*]}" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    if [ "$(id -u)" != 0 ]; then
      echo "aarch64 sysroot: the arm64 architecture is not enabled for apt. Run:" \
        "sudo dpkg --add-architecture arm64 && sudo apt-get update" >&2
      exit 1
    fi
    log "adding the arm64 architecture to dpkg (for apt-get download only) and running apt-get update"
    dpkg --add-architecture arm64
    apt-get update >&2
  fi
  rm -rf "$cache/debs" "$sysroot" "$cache/ready"
  mkdir -p "$cache/debs" "$sysroot"
  if ! (cd "$cache/debs" && apt-get download "${packages[@]}" >&2); then
    [ "$(id -u)" = 0 ] || { echo "aarch64 sysroot: apt-get download failed; run sudo apt-get update" >&2; exit 1; }
    log "apt-get download failed; running apt-get update and trying again"
    apt-get update >&2
    (cd "$cache/debs" && apt-get download "${packages[@]}" >&2)
  fi
  for deb in "$cache/debs"/*.deb; do dpkg -x "$deb" "$sysroot"; done
  # The JDK links into /etc/java-17-openjdk (security, jvm.cfg, ...) with absolute links: point
  # them inside the sysroot, or the arm64 java would read the host's files or none.
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    case $target in
      /*) [ -e "$sysroot$target" ] && ln -sfn "$sysroot$target" "$link" ;;
    esac
  done < <(find "$sysroot/$jdk_rel" -type l -print0)
  rm -rf "$cache/debs"
  echo "${packages[*]}" >"$cache/ready"
fi

# A Java home for the test harness and the benchmarks: bin/java runs the arm64 java under qemu.
mkdir -p "$javahome/bin"
cat >"$javahome/bin/java.tmp" <<WRAPPER
#!/bin/sh
# Runs Debian's arm64 OpenJDK 17 under qemu-user (made by cpp/test/aarch64/sysroot.sh).
exec qemu-aarch64-static -L "$sysroot" "$sysroot/$jdk_rel/bin/java" "\$@"
WRAPPER
chmod +x "$javahome/bin/java.tmp"
mv "$javahome/bin/java.tmp" "$javahome/bin/java"
"$javahome/bin/java" -version >/dev/null 2>&1 || { echo "aarch64 sysroot: $javahome/bin/java does not run" >&2; exit 1; }
echo "$javahome"
