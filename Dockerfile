# Tenet knowledge server over HTTP, as a small non-root image.
#
#   docker build -t tenet .
#   docker run --rm -p 3020:3020 tenet
#
# Build stage: the toolchain the repo is tested with; only crates are downloaded.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p tenet \
 && install -D -m 0755 target/release/tenet /out/tenet

# Run stage: glibc and CA certificates only (no shell, no package manager), the same
# Debian release as the build, running as the image's unprivileged `nonroot` user.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/tenet /usr/local/bin/tenet
USER nonroot
# Inside a container the server must listen beyond loopback to be published. Origin
# is still checked; give TENET_ALLOWED_HOSTS (the names clients use) to check Host
# too. Mount a team's standards read-only and add --root DIR.
ENV TENET_TRANSPORT=http \
    TENET_HOST=0.0.0.0 \
    TENET_PORT=3020 \
    TENET_LOG_FORMAT=json
EXPOSE 3020
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 \
  CMD ["tenet", "health", "http://127.0.0.1:3020/health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tenet", "serve"]
