#!/usr/bin/env bash
# Memory under a soak (issue 11), and hit throughput, of `ogforge serve` on loopback.
#
#   bench/soak.sh [BINARY]                 soak: 240 s, 20,000 distinct ids, 16 MiB memory tier
#   bench/soak.sh --hits BINARY [BINARY]   wrk on one memory hit, rounds alternating the binaries
#
# The soak: wrk (-t2 -c64) walks ids 00-00-00, 00-00-01, ... of the embedded route over and
# over (20,000 of them, so the first pass renders and later passes are store hits past the small
# memory tier), and the script samples VmRSS and the thread count every 5 s. It prints the
# samples, then the peak (VmHWM, the kernel's own high-water mark), requests, non-2xx and the
# load average. Environment variables reach ogforge (e.g. MALLOC_ARENA_MAX=2 to compare).
# SOAK_SECONDS, SOAK_IDS, SOAK_CONNECTIONS, SOAK_MAX_REQUESTS and HIT_SECONDS, HIT_ROUNDS
# change the bounds. Everything listens on 127.0.0.1; every run is bounded in time and requests.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${SOAK_SECONDS:-240}
ids=${SOAK_IDS:-20000}
conns=${SOAK_CONNECTIONS:-64}
max_requests=${SOAK_MAX_REQUESTS:-5000000}
work=$(mktemp -d)
pid=
trap 'stop_server; rm -rf "$work"' EXIT

stop_server() {
  if [[ -n "$pid" ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
  fi
}

# Starts BINARY on a fresh store with a 16 MiB memory tier; sets $pid and $base.
start_server() {
  rm -rf "$work/data"
  cat > "$work/ogforge.toml" <<'TOML'
[server]
admin_listen = ""
[store]
url = "data"
[cache]
memory_bytes = 16777216
[rate_limit]
renders_per_minute = 0
burst = 0
TOML
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  (cd "$work" && OGFORGE_LOG=warn exec "$1" serve -c ogforge.toml --listen "127.0.0.1:$port" >/dev/null 2>"$work/stderr") &
  pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -fso /dev/null "$base/12-34-10.jpg" && return; sleep 0.1; done
  echo "ogforge did not start:" >&2
  cat "$work/stderr" >&2
  exit 1
}

status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

if [[ "${1:-}" == "--hits" ]]; then
  shift
  rounds=${HIT_ROUNDS:-3}
  hit_secs=${HIT_SECONDS:-10}
  echo "round binary req/s p50 p99 non2xx load"
  for round in $(seq "$rounds"); do
    for bin in "$@"; do
      start_server "$(realpath "$bin")"
      wrk -t2 -c64 -d1s "$base/12-34-10.jpg" >/dev/null
      out=$(wrk -t2 -c64 -d"${hit_secs}s" --latency "$base/12-34-10.jpg")
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
      p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
      bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
      echo "$round $bin $rps $p50 $p99 ${bad:-0} $(load)"
      stop_server
    done
  done
  exit 0
fi

bin=$(realpath "${1:-$repo/target/release/ogforge}")
# Each wrk thread walks its own half of the ids in order, wrapping around, and stops the run
# after its share of SOAK_MAX_REQUESTS.
cat > "$work/ids.lua" <<LUA
local ids, limit = $ids, $max_requests
local threads, n = 0, 0
function setup(thread)
  thread:set("first", threads)
  threads = threads + 1
end
function init()
  n = first
end
function request()
  local id = n % ids
  n = n + 2
  return wrk.format("GET", string.format("/%02d-%02d-%02d.jpg", math.floor(id / 10000), math.floor(id / 100) % 100, id % 100))
end
function response()
  if n >= limit / 2 + first then wrk.thread:stop() end
end
LUA
start_server "$bin"
echo "binary: $bin; ${secs} s, $ids ids, $conns connections, memory tier 16 MiB"
echo "load average before: $(load)"
echo "t_s rss_mib threads"
wrk -t2 -c"$conns" -d"${secs}s" -s "$work/ids.lua" "$base" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
start=$SECONDS
while kill -0 "$wrk_pid" 2>/dev/null; do
  echo "$((SECONDS - start)) $(( $(status VmRSS) / 1024 )) $(status Threads)"
  sleep 5
done
wait "$wrk_pid"
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
bad=$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt")
echo "requests: $requests, non-2xx: ${bad:-0}, $(grep -F 'Requests/sec' "$work/wrk.txt")"
echo "end: rss $(( $(status VmRSS) / 1024 )) MiB, threads $(status Threads)"
echo "peak rss (VmHWM): $(( $(status VmHWM) / 1024 )) MiB"
echo "load average after: $(load)"
