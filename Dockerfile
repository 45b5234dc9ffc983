# The dynamodb-streams-webhook image. Build from the repository root:
#   docker build -t dynamodb-streams-webhook:0.2.0 .
# (or `podman build` / `buildah build`). No BuildKit-only syntax, so no frontend image is pulled:
# the two Debian base images are all a build needs from a registry (or from local storage, as in
# scripts/image-test.sh, which builds and runs this image in CI).
#
# Build stage: the project's dependency script, then the build command of the README ("Build the
# image"): a Release build (the build type of the performance figures in docs/performance.md) of
# the server target only, no tests. The shipped binary is a stripped copy; the unstripped one
# stays in this stage at /src/build/bin (`--target build` to get at it).
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
# Only what the server target's build reads, so that a change to the tests, the docs or the chart
# leaves the cached compile step below valid.
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY lib/ lib/
COPY server/ server/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDSW_BUILD_TESTS=OFF \
 && cmake --build build -j2 --target dynamodb-streams-webhook \
 && strip --strip-all -o /src/dynamodb-streams-webhook build/bin/dynamodb-streams-webhook \
 && /src/dynamodb-streams-webhook --version

# Final stage: the shared libraries the binary links against, the binary, nothing else.
FROM debian:bookworm-slim
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime-only && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh
COPY --from=build /src/dynamodb-streams-webhook /usr/local/bin/dynamodb-streams-webhook
# No malloc tunables: `serve` caps glibc's arenas itself and gives freed memory back after work
# (server/serve/memory.h); an operator's GLIBC_TUNABLES or MALLOC_ARENA_MAX still wins.
# A numeric user (the "nonroot" uid of distroless images), so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/dynamodb-streams-webhook"]
CMD ["serve", "--help"]
