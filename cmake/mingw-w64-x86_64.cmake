# SPDX-License-Identifier: Apache-2.0
# Cross-compiles crashagent.dll for Windows x86-64 with Debian's mingw-w64 (package g++-mingw-w64-x86-64).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(MINGW_TRIPLE x86_64-w64-mingw32)

find_program(MINGW_CXX NAMES ${MINGW_TRIPLE}-g++-win32 ${MINGW_TRIPLE}-g++)
find_program(MINGW_CC NAMES ${MINGW_TRIPLE}-gcc-win32 ${MINGW_TRIPLE}-gcc)
find_program(MINGW_WINDRES NAMES ${MINGW_TRIPLE}-windres)
if(NOT MINGW_CXX OR NOT MINGW_CC)
  message(FATAL_ERROR
    "The Windows build needs the mingw-w64 cross compiler, which was not found.\n"
    "Install it with:  sudo apt-get install g++-mingw-w64-x86-64 wine64\n"
    "or build only the Linux library with:  mvn -Dcrashagent.windows=false ...")
endif()
set(CMAKE_C_COMPILER ${MINGW_CC})
set(CMAKE_CXX_COMPILER ${MINGW_CXX})
if(MINGW_WINDRES)
  set(CMAKE_RC_COMPILER ${MINGW_WINDRES})
endif()

set(CMAKE_FIND_ROOT_PATH /usr/${MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

# Windows test programs run under Wine (see cpp/test/windows/wine-run.sh).
if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/../cpp/test/windows/wine-run.sh)
endif()
