# Cross-compiling on Debian for another Debian architecture, with what
# `scripts/install-deps.sh --build-cross ARCH` installs: Debian's cross compiler
# (<triplet>-g++), ARCH's -dev packages through dpkg multiarch (libraries and CMake package files
# in /usr/lib/<triplet>, which CMake searches because it takes CMAKE_LIBRARY_ARCHITECTURE from
# the compiler) and the triplet's pkg-config wrapper (pkgconf:ARCH), which reads ARCH's .pc files.
# Included by the per-architecture files next to it (arm64.cmake, amd64.cmake), which set
# DSW_CROSS_TRIPLET and CMAKE_SYSTEM_PROCESSOR. The Dockerfile's build stage selects one through
# the CMAKE_TOOLCHAIN_FILE environment variable when its TARGETARCH is not the build machine's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${DSW_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${DSW_CROSS_TRIPLET}-g++)
set(PKG_CONFIG_EXECUTABLE ${DSW_CROSS_TRIPLET}-pkg-config CACHE FILEPATH "pkg-config for the target architecture")
