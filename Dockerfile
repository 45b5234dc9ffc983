# syntax=docker/dockerfile:1
# The dynamodb-streams-webhook image. Build from the repository root:
#   docker build -t dynamodb-streams-webhook:0.1.0 .
#
# Build stage: the same dependency script and the same build command as the README, so the image
# is built exactly like a developer's or CI's binary.
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 \
 && build/bin/dynamodb-streams-webhook --version

# Final stage: the shared libraries the binary links against, the binary, nothing else.
FROM debian:bookworm-slim
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime-only && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh
COPY --from=build /src/build/bin/dynamodb-streams-webhook /usr/local/bin/dynamodb-streams-webhook
# A numeric user (the "nonroot" uid of distroless images), so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/dynamodb-streams-webhook"]
CMD ["serve", "--help"]
