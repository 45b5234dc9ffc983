# Debian amd64 (linux/amd64), cross-compiled (from an arm64 build machine): see debian-cross.cmake.
set(DSW_CROSS_TRIPLET x86_64-linux-gnu)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
