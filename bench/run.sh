#!/usr/bin/env bash
# ogforge's benchmark (issue 3), one command:
#
#   bench/run.sh            full run (300 ids per miss series, 10 s wrk runs, the peers' full run)
#   bench/run.sh --quick    smoke run (60 ids, 3 s wrk runs, QUICK=1 for the peers)
#   bench/run.sh --quick --skip-peers   ogforge only; the peers' last results are reused
#   bench/run.sh --data-only     the data routes' misses (issue 12) alone, their own section
#   bench/run.sh --scaling-only  hits/s and misses/s at concurrency 1-32, one CPU against all
#                                (issue 17), its own section
#   bench/run.sh --lambda-only   the Lambda build's cold start next to the server's (issue 15);
#                                needs target/lambda/ogforge/bootstrap (scripts/test.sh builds it)
#
# Installs nginx, wrk and hyperfine from Debian if they are missing, builds ogforge and the
# benchmark client (examples/ogbench/) in release mode, then runs the client: ogforge on a
# fresh store with bench/ogforge.toml (the standard card of ../shared/card/), nginx on loopback
# with a temporary config, then ../shared/peers/run.sh. It prints one table and rewrites the
# generated section of docs/BENCHMARKS.md and docs/card.png. Everything listens on 127.0.0.1
# only; every process it starts is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "[bench] installing ${missing[*]} from Debian"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/sbin"

echo "[bench] cargo build --release (ogforge and the benchmark client)"
cargo build --release --locked --bin ogforge --example ogbench

exec target/release/examples/ogbench "$@"
