# syntax=docker/dockerfile:1
# Watchword container image: a release build of the `watchword` binary on Debian bookworm.
#
#   docker build -t watchword .
#   docker run --rm -p 127.0.0.1:8080:8080 -v watchword-data:/var/lib/watchword/data watchword
#
# Production settings (PostgreSQL, Redis, public URL, master key) come from WATCHWORD__*
# environment variables or a mounted config file: see docs/deployment.md and docker-compose.yml.

# --- build -----------------------------------------------------------------------------------
# rust:1 on bookworm, the same Debian release as the runtime image, so the binary links against
# the same glibc and libpq.
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The cache mounts keep downloaded crates and compiled dependencies between builds. The binary
# is copied out of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin watchword \
 && cp target/release/watchword /usr/local/bin/watchword

# --- runtime ---------------------------------------------------------------------------------
FROM debian:bookworm-slim
# libpq5: the PostgreSQL client library the binary links against (SQLite is compiled in).
# ca-certificates: for verifying TLS connections to PostgreSQL (sslmode=verify-full).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# An unprivileged user with a fixed uid, and a writable data directory for SQLite and the
# generated development master key (both relative to the working directory: ./data/).
RUN groupadd --system --gid 10001 watchword \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/watchword \
      --shell /usr/sbin/nologin watchword \
 && mkdir -p /var/lib/watchword/data \
 && chown -R 10001:10001 /var/lib/watchword
COPY --from=build /usr/local/bin/watchword /usr/local/bin/watchword
WORKDIR /var/lib/watchword
USER 10001:10001
# Listen on every interface inside the container (the built-in default is 127.0.0.1:8080).
ENV WATCHWORD__SERVER__BIND=0.0.0.0:8080
EXPOSE 8080
# No HEALTHCHECK: the image has no HTTP client. Probe GET /healthz and GET /readyz from outside
# (Kubernetes httpGet probes), or as docker-compose.yml does with bash's /dev/tcp.
# Watchword is PID 1 and handles SIGTERM itself: /readyz answers 503 for
# server.shutdown_delay_ms (default 2000) while requests are still served, then in-flight requests
# get server.shutdown_timeout_secs (default 30) to finish.
ENTRYPOINT ["watchword"]
CMD ["serve"]
