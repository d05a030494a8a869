#!/usr/bin/env bash
# Metrics memory of an instance that is never scraped (issue 10): RSS of `ogforge serve` while
# wrk sends store-tier hits (memory tier off, so every request records one store-latency sample)
# and nothing reads /metrics. Without recorder upkeep every sample is kept until a scrape.
#
#   bench/metrics-memory.sh [BINARY] [SECONDS_PER_STEP] [STEPS]
#
# Prints requests served and VmRSS after each step. Loopback only; bounded by STEPS x SECONDS.
set -euo pipefail
bin=$(realpath "${1:-target/release/ogforge}")
secs=${2:-10}
steps=${3:-6}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/fast.html" <<'HTML'
<div style="display:flex;width:64px;height:32px;background-color:teal"></div>
HTML
cat > "$work/ogforge.toml" <<'TOML'
[server]
admin_listen = ""
[store]
url = "data"
[cache]
memory_bytes = 0
[rate_limit]
renders_per_minute = 0
burst = 0
[[routes]]
name = "m"
path = "/m/{id}.png"
id_pattern = "[0-9]+"
format = "png"
width = 64
height = 32
template = "fast.html"
TOML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work" && OGFORGE_LOG=warn exec "$bin" serve -c ogforge.toml --listen "127.0.0.1:$port" >/dev/null 2>&1) &
pid=$!
for _ in $(seq 100); do curl -fso /dev/null "http://127.0.0.1:$port/m/1.png" && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
total=0
echo "step requests rss_kib"
echo "0 0 $(rss)"
for step in $(seq "$steps"); do
  n=$(wrk -t1 -c8 -d"${secs}s" "http://127.0.0.1:$port/m/1.png" | awk '/requests in/ {print $1}')
  total=$((total + n))
  echo "$step $total $(rss)"
done
