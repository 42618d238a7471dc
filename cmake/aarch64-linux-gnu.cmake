# SPDX-License-Identifier: Apache-2.0
# Cross-compiles libcrashagent.so for Linux aarch64 with Debian's cross compiler (package
# g++-aarch64-linux-gnu). Test programs run under qemu-user when CRASHAGENT_AARCH64_SYSROOT names
# the sysroot that cpp/test/aarch64/sysroot.sh sets up.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(AARCH64_TRIPLE aarch64-linux-gnu)

find_program(AARCH64_CXX NAMES ${AARCH64_TRIPLE}-g++)
find_program(AARCH64_CC NAMES ${AARCH64_TRIPLE}-gcc)
if(NOT AARCH64_CXX OR NOT AARCH64_CC)
  message(FATAL_ERROR
    "The Linux aarch64 build needs the aarch64 cross compiler, which was not found.\n"
    "Install it with:  sudo apt-get install g++-aarch64-linux-gnu qemu-user-static\n"
    "or build without the aarch64 library with:  mvn -Dcrashagent.aarch64=false ...")
endif()
set(CMAKE_C_COMPILER ${AARCH64_CC})
set(CMAKE_CXX_COMPILER ${AARCH64_CXX})

set(CMAKE_FIND_ROOT_PATH /usr/${AARCH64_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

if(NOT CMAKE_CROSSCOMPILING_EMULATOR AND DEFINED ENV{CRASHAGENT_AARCH64_SYSROOT})
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L $ENV{CRASHAGENT_AARCH64_SYSROOT})
endif()
