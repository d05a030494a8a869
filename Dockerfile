# syntax=docker/dockerfile:1
#
# ogforge's container image (docs/deploy.md).
#
#   docker build -t ogforge .                              # default: the html renderer only
#   docker build --target browser -t ogforge:browser .     # + Debian's chromium, for
#                                                          #   routes with renderer = "browser"
#
# Checked offline by scripts/check-deploy.sh (hadolint); no build is run there (no engine).

# --- builder ---------------------------------------------------------------------------------
# Same Rust as the project's machines (rust-version in Cargo.toml is the floor) and the same
# Debian release as the runtime stage, so the binary's glibc matches the one it runs on.
FROM rust:1.95.0-slim-bookworm AS builder

# The C the crates compile from source: tikv-jemalloc-sys (./configure + make),
# aws-lc-sys (rustls' crypto provider; on x86_64/aarch64 Linux it builds with cc and ships its
# bindings: no cmake, no clang), ring and libwebp-sys (cc). TLS is rustls everywhere: no
# OpenSSL, no pkg-config. Versions unpinned, as in the runtime stage (why: there).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# .dockerignore keeps target/, .git, .tools and the docs out of the context. .cargo/config.toml
# must come along: it compiles jemalloc's settings into the binary.
COPY . .
# Cache mounts keep the registry and target/ between builds (BuildKit); the binary is copied
# out of the cached target/ so that the next stage can take it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ogforge \
 && install -D -m 0755 target/release/ogforge /out/ogforge

# --- runtime (the default target) ------------------------------------------------------------
# debian:bookworm-slim rather than gcr.io/distroless/cc-debian12: the binary needs only glibc,
# libgcc_s and CA certificates (S3/GCS/Azure over rustls with the system roots), which both
# have, but the browser variant below must apt-get install chromium on top of this stage, and
# one base for both keeps the layers shared and the glibc the builder linked against. It also
# leaves `sleep` for Kubernetes' preStop hook (deploy/k8s/deployment.yaml). The cost is about
# 75 MB more than distroless.
FROM debian:bookworm-slim AS runtime

# Versions are not pinned: Debian's security archive replaces a package's version and drops
# the old one, so a pin breaks the build instead of making it reproducible. Pin the base image
# by digest for a reproducible image.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ogforge \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin ogforge \
 && install -d -o 10001 -g 10001 -m 0750 /data

COPY --from=builder /out/ogforge /usr/local/bin/ogforge

# Listen on every interface inside the container (the defaults are loopback). Variables beat
# the config file, so these two stay in force under a mounted ogforge.toml too; the ports are
# the image's contract (EXPOSE below), change them with the same variables.
ENV OGFORGE__SERVER__LISTEN=0.0.0.0:8080 \
    OGFORGE__SERVER__ADMIN_LISTEN=0.0.0.0:9090

# The store: the embedded default `./data` resolves against the working directory when no
# config file is given, so it is /data here. No OGFORGE__STORE__URL on purpose: a variable
# would override the `store.url` (say s3://...) of a mounted config file.
WORKDIR /
VOLUME ["/data"]

# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001

# 8080: images (public listener); 9090: /healthz, /readyz, /metrics (admin listener).
EXPOSE 8080 9090

# `ogforge health` GETs the admin listener's /readyz (http://127.0.0.1:9090 unless --admin):
# exit 0 on 200, 1 otherwise; no curl needed in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["ogforge", "health"]

# SIGTERM: in-flight requests get server.shutdown_timeout_ms (25 s) to finish.
STOPSIGNAL SIGTERM
ENTRYPOINT ["ogforge"]
CMD ["serve"]

# --- browser variant: docker build --target browser -----------------------------------------
# Debian's chromium for routes with renderer = "browser" (docs/browser.md): ogforge starts it
# (browser.executable, /usr/bin/chromium) with --headless --no-sandbox and a fresh profile
# under the temporary folder, so it runs as the same non-root user. Give the container shared
# memory for it (docker run --shm-size=512m; Kubernetes: a memory emptyDir at /dev/shm).
# fonts-liberation: metric-compatible Arial/Times/Courier for pages that name them;
# fonts-noto-color-emoji: emoji in pages. Several hundred MB more than the default image.
FROM runtime AS browser
USER 0:0
# Versions unpinned, as in the runtime stage (why: there).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation fonts-noto-color-emoji \
 && rm -rf /var/lib/apt/lists/*
USER 10001:10001
