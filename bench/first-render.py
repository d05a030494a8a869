#!/usr/bin/env python3
"""How much more the first render of a process costs than later ones (issue 17's cold start),
apart from start-up itself: starts `ogforge serve` on bench/ogforge.toml and a fresh store, lets
it settle, then times single PNG renders of new ids: the first, a second and a third each after
300 ms idle, then 20 back to back. Medians over several starts; it reports, never asserts.

    bench/first-render.py [--ogforge target/release/ogforge] [--starts 8]

Build first (`cargo build --release --bin ogforge`). Everything listens on 127.0.0.1; the
server it starts is stopped when it ends. The numbers are in docs/BENCHMARKS.md ("A cold start").
"""

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The browser routes of bench/ogforge.toml as HTML routes, so no Chromium starts beside it
# (as examples/ogbench does for its cold starts).
NO_CHROMIUM = {
    f"OGFORGE__ROUTES__{i}__{k}": v
    for i in (2, 3)
    for k, v in (("RENDERER", "html"), ("PAGE_URL", ""))
}


def start(binary, store):
    env = dict(os.environ, OGFORGE__SERVER__ADMIN_LISTEN="", OGFORGE_LOG="warn", **NO_CHROMIUM)
    cmd = [binary, "serve", "--config", str(ROOT / "bench/ogforge.toml"),
           "--listen", "127.0.0.1:0", "--store", store]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    for line in server.stdout:
        line = line.decode().strip()
        if line.startswith("listening on http://"):
            host, port = line.removeprefix("listening on http://").rsplit(":", 1)
            return server, (host, int(port))
    raise SystemExit(f"ogforge exited before listening ({server.wait()})")


def render_ms(addr, card):
    """One GET of a new card on a new connection: request sent -> first response bytes."""
    with socket.create_connection(addr) as s:
        t = time.perf_counter()
        s.sendall(f"GET /card/{card}.png HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        head = s.recv(65536)
        elapsed = (time.perf_counter() - t) * 1e3
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"unexpected answer: {head[:80]!r}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ogforge", default=str(ROOT / "target/release/ogforge"))
    parser.add_argument("--starts", type=int, default=8)
    args = parser.parse_args()
    rows = {"the first of the process": [], "the second, after 300 ms idle": [],
            "the third, after 300 ms idle": [], "one of 20 back to back": []}
    series = list(rows.values())
    for n in range(args.starts):
        with tempfile.TemporaryDirectory(prefix="ogforge-first-") as store:
            server, addr = start(args.ogforge, store)
            try:
                base = 1_000_000 + 1_000 * n
                for i in range(3):
                    time.sleep(0.3)
                    series[i].append(render_ms(addr, base + i))
                for i in range(20):  # untimed: the back-to-back series starts warm
                    render_ms(addr, base + 100 + i)
                series[3].append(statistics.median(
                    render_ms(addr, base + 200 + i) for i in range(20)))
            finally:
                server.terminate()
                server.wait()
    print(f"| render ({args.starts} starts, medians) | ms |\n| --- | ---: |")
    for name, values in rows.items():
        print(f"| {name} | {statistics.median(values):.1f} |")


if __name__ == "__main__":
    main()
