#!/usr/bin/env python3
"""The scale-out benchmark (issue 14), driven by bench/cluster.sh: N ogforge replicas on one
SeaweedFS bucket behind nginx (the shipped deploy/nginx/ogforge.conf: consistent hashing on the
path, its cache turned off so that every request reaches a replica), on this machine.

It measures, with wrk on loopback:
  - misses/s through the front (every request a new id of the standard card, JPEG q80) and
    hits/s through the front (a set of warmed ids, served from the replicas' memory tiers),
    for 1 and for 3 replicas;
  - the render lease's added latency: new ids one at a time, straight to one replica, with
    `cluster.lease = "off"` and with the lease on ("all" for the HTML card, the default
    "browser" for the browser route), rounds alternating;
and writes one table into docs/BENCHMARKS.md between its markers. Everything listens on
127.0.0.1; every process it starts is stopped when it ends. It reports, never asserts.
"""

import argparse
import datetime
import http.server
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY, SECRET, BUCKET = "ogforge-bench-key", "ogforge-bench-secret-0123456789", "ogforge"
BEGIN = "<!-- BEGIN SCALE-OUT by bench/cluster.sh: edits inside are overwritten -->"
END = "<!-- END SCALE-OUT -->"
HEADING = "## Scale-out: replicas behind a front (issue 14)"

procs = []  # (name, Popen, stop signal)
weed_ports = []
# The HTML series' replicas: bench/ogforge.toml's browser routes (2 and 3) turned into HTML
# routes, so that no Chromium runs beside their figures (as examples/ogbench does).
NO_CHROMIUM = {f"OGFORGE__ROUTES__{i}__{k}": v for i in (2, 3)
               for k, v in (("RENDERER", "html"), ("PAGE_URL", ""))}


def log(msg):
    print(f"[cluster] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(what, ok, within=60.0, proc=None):
    """Polls ok() until true, bounded."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"{what}: exited with {proc.returncode}")
        try:
            if ok():
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"{what}: not ready within {within:.0f} s")


def spawn(name, args, stop=signal.SIGTERM, **kw):
    p = subprocess.Popen(args, **kw)
    procs.append((name, p, stop))
    return p


def stop(p):
    for i, (name, q, sig) in enumerate(procs):
        if q is p:
            procs.pop(i)
            _stop(q, sig)
            return


def _stop(p, sig):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop_all():
    while procs:
        _, p, sig = procs.pop()
        _stop(p, sig)
    # weed also listens on /tmp/seaweedfs-{service}-grpc-{port}.sock, a path it does not let
    # one change.
    for port in weed_ports:
        for service in ("master", "volume", "filer", "s3", "admin"):
            Path(f"/tmp/seaweedfs-{service}-grpc-{port}.sock").unlink(missing_ok=True)


def http_get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


# --- SeaweedFS -----------------------------------------------------------------------------------


def start_weed(weed, tmp):
    d = tmp / "weed"
    (d / "data").mkdir(parents=True)
    conf = d / "s3.json"
    conf.write_text(json.dumps({"identities": [{
        "name": "ogforge",
        "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    ports = [free_port() for _ in range(8)]
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    args = [
        weed, "server", f"-dir={d / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-master.telemetry=false", f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=1024", "-volume.max=0", "-volume.minFreeSpace=1GiB",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={d / 'filer.sock'}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", "-s3.port.iceberg=0",
        "-s3.port.lance=0", f"-s3.localSocket={d / 's3.sock'}", f"-s3.config={conf}",
    ]
    p = spawn("weed", args, stop=signal.SIGKILL, stdout=subprocess.DEVNULL,
              stderr=open(d / "weed.log", "w"), cwd=d)
    weed_ports.extend(ports)

    def bucket():
        req = urllib.request.Request(f"http://127.0.0.1:{filer}/buckets/{BUCKET}/", method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status in (200, 201)

    wait("SeaweedFS filer", bucket, proc=p)

    def s3_up():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{s3}/", timeout=5)
        except urllib.error.HTTPError:
            return True  # 403 without a signature: the gateway answers
        return True

    wait("SeaweedFS S3", s3_up, proc=p)
    return p, f"http://127.0.0.1:{s3}", ports


# --- replicas ------------------------------------------------------------------------------------


class Replica:
    def __init__(self, binary, endpoint, tmp, lease, env_extra=None, name="r"):
        self.log = tmp / f"{name}-{time.monotonic_ns()}.log"
        env = dict(os.environ)
        env.update({
            "OGFORGE__STORE__URL": f"s3://{BUCKET}",
            "OGFORGE__STORE__ENDPOINT": endpoint,
            "OGFORGE__STORE__REGION": "us-east-1",
            "OGFORGE__STORE__ACCESS_KEY_ID": KEY,
            "OGFORGE__STORE__SECRET_ACCESS_KEY": SECRET,
            "OGFORGE__STORE__ALLOW_HTTP": "true",
            "OGFORGE__SERVER__ADMIN_LISTEN": "127.0.0.1:0",
            "OGFORGE__CLUSTER__LEASE": lease,
            "OGFORGE_LOG": "warn",
        })
        env.update(env_extra or {})
        out = open(self.log, "w")
        self.p = spawn(name, [binary, "serve", "--config", str(ROOT / "bench/ogforge.toml"),
                              "--listen", "127.0.0.1:0"],
                       env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
        self.base = self.admin = None

        def up():
            text = self.log.read_text()
            m = re.search(r"^listening on (http://\S+)", text, re.M)
            a = re.search(r"^admin listening on (http://\S+)", text, re.M)
            if m and a:
                self.base, self.admin = m.group(1), a.group(1)
                return True
            return False

        try:
            wait(f"ogforge {name}", up, proc=self.p)
        except SystemExit:
            print(self.log.read_text()[-3000:], file=sys.stderr)
            raise

    def metric(self, name, **labels):
        _, _, body = http_get(f"{self.admin}/metrics")
        total = 0.0
        for line in body.decode().splitlines():
            if line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            n, _, rest = series.partition("{")
            if n == name and all(f'{k}="{v}"' in rest for k, v in labels.items()):
                total += float(value)
        return total

    def host_port(self):
        return self.base.removeprefix("http://")


def sum_metric(replicas, name, **labels):
    return sum(r.metric(name, **labels) for r in replicas)


# --- nginx ---------------------------------------------------------------------------------------


def nginx_site(backends, port, cache_dir):
    """deploy/nginx/ogforge.conf with its marked lines rewritten, and its cache off."""
    out, done = [], False
    for line in (ROOT / "deploy/nginx/ogforge.conf").read_text().splitlines():
        if line.rstrip().endswith("# [backend]"):
            if not done:
                params = " ".join(line.split()[2:]).removesuffix("# [backend]").strip()
                out += [f"    server {b} {params}" for b in backends]
                done = True
            continue
        if line.rstrip().endswith("# [listen]"):
            line = f"    listen 127.0.0.1:{port};"
        elif line.rstrip().endswith("# [cache-path]"):
            line = re.sub(r"^proxy_cache_path \S+", f"proxy_cache_path {cache_dir}", line)
        elif line.strip() == "proxy_cache ogforge;":
            line = "    proxy_cache off;"
        out.append(line)
    text = "\n".join(out) + "\n"
    assert done and "hash $ogforge_path consistent;" in text and "proxy_cache off;" in text
    return text


def start_nginx(nginx, backends, tmp):
    d = tmp / f"nginx-{time.monotonic_ns()}"
    d.mkdir()
    port = free_port()
    (d / "ogforge.conf").write_text(nginx_site(backends, port, d / "cache"))
    (d / "nginx.conf").write_text(
        f"worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n"
        f" fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n"
        f" include {d}/ogforge.conf;\n}}\n")
    if os.geteuid() == 0:
        text = (d / "nginx.conf").read_text()
        (d / "nginx.conf").write_text("user root;\n" + text)
    p = spawn("nginx", [nginx, "-p", str(d), "-e", str(d / "error.log"), "-c", str(d / "nginx.conf"),
                        "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up():
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True

    wait("nginx", up, proc=p)
    return p, f"http://127.0.0.1:{port}"


# --- wrk -----------------------------------------------------------------------------------------

MISS_LUA = """
-- Every request a new id: RUN (1-999) * 1e6 + thread * 1e5 + a counter.
local n = 0
local run = tonumber(os.getenv("OGB_RUN"))
local prefix = os.getenv("OGB_PREFIX")
local ext = os.getenv("OGB_EXT")
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function request()
  n = n + 1
  return wrk.format("GET", string.format("%s%d%s", prefix, run * 1000000 + tid * 100000 + n, ext))
end
"""

HIT_LUA = """
-- The warmed ids, in turn: FIRST .. FIRST + COUNT - 1.
local n = 0
local first = tonumber(os.getenv("OGB_FIRST"))
local count = tonumber(os.getenv("OGB_COUNT"))
function request()
  n = n + 1
  return wrk.format("GET", string.format("/card/%d.jpg", first + n % count))
end
"""


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    x, unit = float(m.group(1)), m.group(2)
    return x * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(tmp, url, lua, threads, conns, seconds, env):
    script = tmp / f"s{time.monotonic_ns()}.lua"
    script.write_text(lua)
    e = dict(os.environ)
    e.update(env)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency",
                          "--timeout", "30s", "-s", str(script), url],
                         env=e, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: to_ms(v) for p, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M)}
    avg = to_ms(re.search(r"Latency\s+(\S+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rps, "p50": lat.get("50"), "p90": lat.get("90"), "p99": lat.get("99"),
        "avg": avg, "requests": total,
        "bad": (int(bad.group(1)) if bad else 0) + (sum(map(int, errs.groups())) if errs else 0),
    }


# --- the browser page ----------------------------------------------------------------------------


def start_page_server(card_dir):
    """/card?id=ID: ../shared/card/card.html in a page, the id in the footer; the font too."""
    card = (card_dir / "card.html").read_text()
    head, tail = card.split("12 - 34 - 10", 1)
    font = (card_dir / "inter-latin-700-normal.woff").read_bytes()
    before = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>card</title>"
              "<link rel=\"preload\" href=\"/inter-latin-700-normal.woff\" as=\"font\" "
              "type=\"font/woff\" crossorigin><style>@font-face{font-family:Inter;"
              "font-style:normal;font-weight:700;font-display:block;"
              "src:url(/inter-latin-700-normal.woff) format(\"woff\")}"
              "html,body{margin:0;padding:0;overflow:hidden}</style></head><body>" + head)
    after = tail + "</body></html>"

    class Page(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path.startswith("/card?id="):
                body = (before + self.path.split("=", 1)[1] + after).encode()
                kind, cache = "text/html; charset=utf-8", "no-store"
            elif self.path == "/inter-latin-700-normal.woff":
                body, kind, cache = font, "font/woff", "public, max-age=86400"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", cache)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/card?id={{id}}"


# --- the series ----------------------------------------------------------------------------------


def throughput(a, tmp, endpoint, n, run):
    """Misses/s and hits/s through nginx (hash, no cache) before n replicas."""
    html_only = NO_CHROMIUM
    reps = [Replica(a.bin, endpoint, tmp, "off", html_only, name=f"r{n}-{i}") for i in range(n)]
    front, base = start_nginx(a.nginx, [r.host_port() for r in reps], tmp)
    # Warm-up: every replica renders a few cards (first-use costs out of the figures).
    for i in range(8 * n):
        http_get(f"{base}/card/{run * 1000000 + 900000 + i}.jpg")
    renders0 = sum_metric(reps, "ogforge_renders_total", outcome="ok")
    miss = wrk(tmp, base, MISS_LUA, 2, a.miss_conns, a.seconds,
               {"OGB_RUN": str(run), "OGB_PREFIX": "/card/", "OGB_EXT": ".jpg"})
    renders = sum_metric(reps, "ogforge_renders_total", outcome="ok") - renders0
    fallbacks = sum_metric(reps, "ogforge_fallbacks_total")
    # Hits: warmed ids, one each, then wrk round them (the same ids on the same replicas).
    first = (run + 1) * 1000000 + 950000
    for i in range(a.hit_ids):
        http_get(f"{base}/card/{first + i}.jpg")
    mem0 = sum_metric(reps, "ogforge_http_requests_total", tier="memory")
    renders1 = sum_metric(reps, "ogforge_renders_total", outcome="ok")
    hit = wrk(tmp, base, HIT_LUA, 2, a.hit_conns, a.seconds,
              {"OGB_FIRST": str(first), "OGB_COUNT": str(a.hit_ids)})
    mem = sum_metric(reps, "ogforge_http_requests_total", tier="memory") - mem0
    hit_renders = sum_metric(reps, "ogforge_renders_total", outcome="ok") - renders1
    per_replica = [r.metric("ogforge_renders_total", outcome="ok") for r in reps]
    stop(front)
    for r in reps:
        stop(r.p)
    return {"n": n, "miss": miss, "miss_renders": renders, "fallbacks": fallbacks,
            "hit": hit, "hit_memory": mem, "hit_renders": hit_renders,
            "renders_per_replica": per_replica}


def lease_latency(a, tmp, endpoint, series, run0):
    """p50 of new ids one at a time, straight to one replica, lease off vs on, rounds
    alternating. series: (label, path prefix, ext, lease on, env, warm-up count)."""
    out = []
    for label, prefix, ext, on, env, warmup in series:
        off_r = Replica(a.bin, endpoint, tmp, "off", env, name=f"off-{len(out)}")
        on_r = Replica(a.bin, endpoint, tmp, on, env, name=f"on-{len(out)}")
        for r in (off_r, on_r):
            for i in range(warmup):
                http_get(f"{r.base}{prefix}{run0 * 1000000 + 990000 + i + (500 if r is on_r else 0)}{ext}")
        results = {"off": [], on: []}
        run = run0
        for _ in range(a.rounds):
            for mode, r in (("off", off_r), (on, on_r)):
                run += 1
                results[mode].append(wrk(tmp, r.base, MISS_LUA, 1, 1, a.seconds,
                                         {"OGB_RUN": str(run), "OGB_PREFIX": prefix, "OGB_EXT": ext}))
        leases = {k: on_r.metric("ogforge_leases_total", outcome=k)
                  for k in ("acquired", "waited", "stolen", "expired")}
        fallbacks = off_r.metric("ogforge_fallbacks_total") + on_r.metric("ogforge_fallbacks_total")
        stop(off_r.p)
        stop(on_r.p)
        out.append({"label": label, "on": on, "results": results, "leases": leases,
                    "fallbacks": fallbacks})
        run0 = run + 1
    return out


# --- report --------------------------------------------------------------------------------------


def machine():
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{cpu}, {os.cpu_count()} CPUs"


def report(a, tp, lat, took, weed_version, profile):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        "",
        f"Generated by `bench/cluster.sh` on **{now}** in {took:.0f} s; {machine()}; "
        f"ogforge {profile} build; SeaweedFS {weed_version} (`weed server`, one process, data "
        f"on local disk); nginx from `deploy/nginx/ogforge.conf` (consistent hashing on the "
        f"path, its `proxy_cache` turned off so that every request reaches a replica; one "
        f"worker). Everything (replicas, SeaweedFS, nginx, wrk) shares the same "
        f"{os.cpu_count()} cores. The standard card, `/card/{{id}}.jpg` (JPEG q80) of "
        f"`bench/ogforge.toml`; `cluster.lease = \"off\"` for the throughput rows.",
        "",
        "| through nginx (hash) | 1 replica | 3 replicas |",
        "| --- | ---: | ---: |",
    ]
    by = {t["n"]: t for t in tp}
    one, three = by.get(1), by.get(3)

    def cell(t, f):
        return f(t) if t else "-"

    lines.append(
        f"| misses/s: new id per request, wrk -t2 -c{a.miss_conns}, {a.seconds} s (p50 ms) | "
        + " | ".join(cell(t, lambda t: f"{t['miss']['rps']:.1f} ({t['miss']['p50']:.1f})")
                     for t in (one, three)) + " |")
    lines.append(
        f"| hits/s: {a.hit_ids} warmed ids in turn, memory tier, wrk -t2 -c{a.hit_conns}, "
        f"{a.seconds} s (p50 ms) | "
        + " | ".join(cell(t, lambda t: f"{t['hit']['rps']:.0f} ({t['hit']['p50']:.2f})")
                     for t in (one, three)) + " |")
    lines.append(
        "| renders during the miss run / requests; fallbacks; errors + non-2xx | "
        + " | ".join(cell(t, lambda t: f"{t['miss_renders']:.0f} / {t['miss']['requests']}; "
                                       f"{t['fallbacks']:.0f}; {t['miss']['bad']}")
                     for t in (one, three)) + " |")
    lines.append(
        "| hits: memory-tier answers / requests; renders; errors + non-2xx | "
        + " | ".join(cell(t, lambda t: f"{t['hit_memory']:.0f} / {t['hit']['requests']}; "
                                       f"{t['hit_renders']:.0f}; {t['hit']['bad']}")
                     for t in (one, three)) + " |")
    if three:
        lines.append("")
        lines.append(f"- Renders per replica over the 3-replica run (warm-up, misses and the "
                     f"hits' warm-up): {', '.join(f'{x:.0f}' for x in three['renders_per_replica'])}.")
    if lat:
        lines += [
            "",
            f"The lease's added latency: new ids one at a time (wrk -t1 -c1, {a.seconds} s a "
            f"round, {a.rounds} rounds per mode, alternating) straight to one replica, one "
            f"replica with the lease off and one with it on, on the same bucket; medians of the "
            f"rounds' figures.",
            "",
            "| miss, one at a time | lease | p50 ms | p90 ms | misses/s | added p50 ms |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for s in lat:
            off = s["results"]["off"]
            on = s["results"][s["on"]]
            med = lambda rs, k: statistics.median(r[k] for r in rs)
            lines.append(f"| {s['label']} | off | {med(off, 'p50'):.2f} | {med(off, 'p90'):.2f} | "
                         f"{med(off, 'rps'):.1f} | |")
            lines.append(f"| {s['label']} | `{s['on']}` | {med(on, 'p50'):.2f} | "
                         f"{med(on, 'p90'):.2f} | {med(on, 'rps'):.1f} | "
                         f"{med(on, 'p50') - med(off, 'p50'):+.2f} |")
        lines.append("")
        for s in lat:
            leases = ", ".join(f"{k} {v:.0f}" for k, v in s["leases"].items())
            lines.append(f"- {s['label']}, the lease replica's `ogforge_leases_total`: {leases}; "
                         f"fallbacks (both replicas): {s['fallbacks']:.0f}.")
    lines.append("")
    return "\n".join(lines)


def write_doc(section):
    doc = ROOT / "docs/BENCHMARKS.md"
    text = doc.read_text()
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        intro = (
            f"\n{HEADING}\n\n"
            "N replicas on one bucket behind a front that hashes by path: what one and three\n"
            "replicas take through the front on this machine, and what the render lease adds to\n"
            "a miss. `bench/cluster.sh` (see its header) reruns it and rewrites the block below.\n"
            "On one 2-core machine a second and third replica add no CPU: the figures show the\n"
            "front's and the hashing's cost, not the scaling a fleet of machines gets.\n\n")
        text = text.rstrip("\n") + "\n" + intro + block + "\n"
    doc.write_text(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--profile", default="release")
    ap.add_argument("--weed", required=True)
    ap.add_argument("--nginx", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--miss-conns", type=int, default=8)
    ap.add_argument("--hit-conns", type=int, default=32)
    ap.add_argument("--hit-ids", type=int, default=200)
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="ogforge-cluster-"))
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda *_: sys.exit(130))
    try:
        weed_version = subprocess.run([a.weed, "version"], capture_output=True, text=True).stdout
        weed_version = (weed_version.split() + ["?"] * 3)[2]
        _, endpoint, _ = start_weed(a.weed, tmp)
        log(f"SeaweedFS {weed_version} at {endpoint}")
        tp = []
        for i, n in enumerate((1, 3)):
            log(f"throughput through nginx, {n} replica(s)")
            t = throughput(a, tmp, endpoint, n, run=10 + 2 * i)
            log(f"  misses/s {t['miss']['rps']:.1f}, hits/s {t['hit']['rps']:.0f}")
            tp.append(t)
        series = [("HTML card (`/card/{id}.jpg`)", "/card/", ".jpg", "all",
                   NO_CHROMIUM, 10)]
        page_srv = None
        if not a.skip_browser:
            page_srv, page_url = start_page_server(ROOT.parent / "shared/card")
            series.append(("browser card (`/browser/{id}.jpg`, Chromium)", "/browser/", ".jpg",
                           "browser", {"OGFORGE__ROUTES__2__PAGE_URL": page_url,
                                       "OGFORGE__ROUTES__3__PAGE_URL": page_url}, 10))
        log("lease latency")
        lat = lease_latency(a, tmp, endpoint, series, run0=100)
        for s in lat:
            off = statistics.median(r["p50"] for r in s["results"]["off"])
            on = statistics.median(r["p50"] for r in s["results"][s["on"]])
            log(f"  {s['label']}: p50 off {off:.2f} ms, {s['on']} {on:.2f} ms")
        if page_srv:
            page_srv.shutdown()
        section = report(a, tp, lat, time.monotonic() - started, weed_version, a.profile)
        print(section)
        if not a.no_write:
            write_doc(section)
            log("docs/BENCHMARKS.md updated")
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
