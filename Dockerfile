# The dynamodb-streams-webhook image, for linux/amd64 and linux/arm64. Build from the repository
# root, for this machine's platform:
#   docker build -t dynamodb-streams-webhook:0.2.0 .
# or for both platforms into one manifest list (docs/install.md "Build the image", docs/image.md):
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/dynamodb-streams-webhook:0.2.0 --push .
# (or `podman build` / `buildah build`, see below). No BuildKit-only syntax, so no frontend image
# is pulled: the two Debian base images are all a build needs from a registry (or from local
# storage, as in scripts/image-test.sh, which builds this file for both platforms and runs them).
#
# Platforms. The build stage runs on the build machine's platform (BUILDPLATFORM) and
# cross-compiles for the target's (TARGETARCH) with Debian's cross toolchain and the target's -dev
# packages (scripts/install-deps.sh --build-cross, cmake/toolchains/); on the target's own
# platform it is the plain native build. The final stage is the target platform's
# bookworm-slim: its RUN steps run the target's programs, under QEMU (binfmt_misc) when the build
# machine is another architecture. docs/image.md has the measurements (cross-compiling is 3-8 times
# faster than building under emulation).
# BuildKit (`docker buildx`) sets BUILDPLATFORM, TARGETPLATFORM and TARGETARCH itself. buildah 1.28
# (Debian 12, and the podman built on it) sets them inside a stage but not in FROM lines, where
# they expand to nothing unless given with --build-arg; so give it the build machine's platform
# (scripts/image-test.sh does, one platform at a time):
#   buildah build --platform linux/amd64,linux/arm64 --build-arg BUILDPLATFORM=linux/amd64 \
#     --manifest NAME .
# Without it every stage runs on the target platform (an emulated build: slower, same image).
# The final stage's --platform=$TARGETPLATFORM matters although buildah 1.28 expands it to
# nothing: without a --platform flag there, buildah 1.28 takes that stage's base image for the
# build stage's platform (a FROM --platform sticks to later stages).
#
# Build stage: the project's dependency script, then the build command of docs/install.md ("Build the
# image"): a Release build (the build type of the performance figures in docs/performance.md) of
# the server target only, no tests, installed stripped by CMake's install rule into /out/bin. The
# unstripped binary stays in this stage at /src/build/bin (`--target build` to get at it).
FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build-cross "$TARGETARCH" && rm -rf /var/lib/apt/lists/*
# Only what the server target's build reads, so that a change to the tests, the docs or the chart
# leaves the cached compile step below valid.
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY lib/ lib/
COPY server/ server/
RUN if [ -n "$TARGETARCH" ] && [ "$TARGETARCH" != "$(dpkg --print-architecture)" ]; then \
      export CMAKE_TOOLCHAIN_FILE="/src/cmake/toolchains/$TARGETARCH.cmake"; \
    fi \
 && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDSW_BUILD_TESTS=OFF \
 && cmake --build build -j2 --target dynamodb-streams-webhook \
 && cmake --install build --strip --prefix /out

# Final stage: the shared libraries the binary links against, the binary, nothing else.
FROM --platform=$TARGETPLATFORM debian:bookworm-slim
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime-only && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh
COPY --from=build /out/bin/dynamodb-streams-webhook /usr/local/bin/dynamodb-streams-webhook
# The binary starts on the target platform with the runtime libraries alone (a cross build's
# first run; it writes nothing).
RUN ["/usr/local/bin/dynamodb-streams-webhook", "--version"]
# No malloc tunables: `serve` caps glibc's arenas itself and gives freed memory back after work
# (server/serve/memory.h); an operator's GLIBC_TUNABLES or MALLOC_ARENA_MAX still wins.
# A numeric user (the "nonroot" uid of distroless images), so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/dynamodb-streams-webhook"]
CMD ["serve", "--help"]
