# Debian arm64 (linux/arm64), cross-compiled: see debian-cross.cmake.
set(DSW_CROSS_TRIPLET aarch64-linux-gnu)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
