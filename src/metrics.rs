//! Every metric ogforge exports: names and help text in one place, described at start-up, and
//! a drop guard that times a stage even when its future is cancelled.
//!
//! Render time is a histogram ([`RENDER_BUCKETS`]), not the exporter's default summary: bucket
//! counters add up across instances and time windows, so alerts and dashboards can take
//! `histogram_quantile` over a whole fleet. Store time stays a summary (one instance's view).

use std::time::{Duration, Instant};

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::PrometheusHandle;

pub const HTTP_REQUESTS: &str = "ogforge_http_requests_total";
pub const RENDERS: &str = "ogforge_renders_total";
pub const RENDER_SECONDS: &str = "ogforge_render_seconds";
pub const RENDERS_IN_FLIGHT: &str = "ogforge_renders_in_flight";
pub const RENDERS_QUEUED: &str = "ogforge_renders_queued";
pub const FLIGHT_WAITERS: &str = "ogforge_flight_waiters_total";
pub const FALLBACKS: &str = "ogforge_fallbacks_total";
pub const STORE_SECONDS: &str = "ogforge_store_seconds";
pub const STORE_ERRORS: &str = "ogforge_store_errors_total";
pub const STORE_PENDING: &str = "ogforge_store_pending_writes";
pub const STORE_WRITES: &str = "ogforge_store_writes_total";
pub const LEASES: &str = "ogforge_leases_total";
pub const MEMORY_BYTES: &str = "ogforge_memory_bytes";
pub const MEMORY_ENTRIES: &str = "ogforge_memory_entries";
pub const MEMORY_EVICTIONS: &str = "ogforge_memory_evictions_total";
pub const BUILD_INFO: &str = "ogforge_build_info";
pub const STORE_PENDING_DROPPED: &str = "ogforge_store_pending_dropped_total";
pub const STORE_BREAKER_OPEN: &str = "ogforge_store_breaker_open";
pub const STORE_DAMAGED: &str = "ogforge_store_damaged_total";
pub const BROWSER_LAUNCHES: &str = "ogforge_browser_launches_total";
pub const RATE_LIMITED: &str = "ogforge_rate_limited_total";
pub const REQUEST_TIMEOUTS: &str = "ogforge_request_timeouts_total";
pub const MISSING_GLYPHS: &str = "ogforge_missing_glyphs_total";
pub const OPEN_CONNECTIONS: &str = "ogforge_open_connections";
pub const CONNECTIONS_REFUSED: &str = "ogforge_connections_refused_total";
pub const CONNECTION_TIMEOUTS: &str = "ogforge_connection_timeouts_total";
pub const FETCHES: &str = "ogforge_fetches_total";
pub const FETCH_SECONDS: &str = "ogforge_fetch_seconds";
pub const FETCH_BLOCKED: &str = "ogforge_fetch_blocked_total";
pub const RELOADS: &str = "ogforge_reloads_total";
pub const ENCODE_PIECES: &str = "ogforge_encode_pieces_total";

/// Upper bounds (seconds) of the render time buckets: dense around the milliseconds an HTML
/// card takes, then up past the 3 s render timeout for slow templates and browser renders.
pub const RENDER_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

/// How often the recorder drains recorded samples into its summaries. Without this upkeep the
/// exporter keeps every histogram sample until the next scrape, so an instance that is never
/// scraped grows without bound; drained, its metrics memory is flat.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Upper bounds (seconds) of the store call buckets: a local folder answers in well under a
/// millisecond, S3 in tens of milliseconds, a failing store at its deadline (5 s by default).
pub const STORE_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Starts the calibration of the clock the recorder and its histograms read (quanta's TSC
/// clock) on a thread of its own. The first clock made in a process calibrates it by busy-waiting
/// (0.6 ms here, longer on a busy machine) and every later one waits for it: started first thing,
/// it runs while the config and the fonts load instead of inside [`install`] or the first render.
pub fn calibrate_clock() {
    let _ = std::thread::Builder::new()
        .name("ogforge-clock".into())
        .spawn(|| drop(quanta::Clock::new()));
}

/// The Prometheus recorder with ogforge's histogram buckets; install it once per process.
pub fn prometheus_builder()
-> Result<metrics_exporter_prometheus::PrometheusBuilder, metrics_exporter_prometheus::BuildError> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(RENDER_SECONDS.into()), RENDER_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(STORE_SECONDS.into()), STORE_BUCKETS)
}

/// Installs the recorder, describes every metric and starts its upkeep on the current runtime
/// (every [`UPKEEP_INTERVAL`]). `None` when a recorder is already installed.
/// `ogforge_http_requests_total` of one route for the answers nearly every request gets (200 and
/// 304, from each tier), looked up once when the route is built: a labelled `counter!` hashes its
/// labels and searches the recorder's registry on every call, which a memory hit felt. Build
/// routes after [`install`], or these count into nothing.
#[derive(Clone)]
pub struct RequestCounters {
    /// `[status][tier]`: status 200 and 304, tiers in [`TIERS`] order.
    by: [[metrics::Counter; 4]; 2],
}

/// The `tier` label values of served images, in [`RequestCounters`]' order.
const TIERS: [&str; 4] = ["memory", "store", "render", "fallback"];

impl RequestCounters {
    pub fn new(route: &metrics::SharedString) -> Self {
        let row = |status: &'static str| {
            TIERS.map(|tier| {
                metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "status" => status, "tier" => tier)
            })
        };
        Self {
            by: [row("200"), row("304")],
        }
    }

    /// The counter for `status` and `tier`, where it is one of the common ones.
    pub fn get(&self, status: u16, tier: &str) -> Option<&metrics::Counter> {
        let row = match status {
            200 => &self.by[0],
            304 => &self.by[1],
            _ => return None,
        };
        TIERS.iter().position(|t| *t == tier).map(|i| &row[i])
    }
}

impl std::fmt::Debug for RequestCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestCounters")
    }
}

pub fn install() -> Option<PrometheusHandle> {
    let handle = prometheus_builder().ok()?.install_recorder().ok()?;
    describe();
    metrics_process::Collector::default().describe();
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Some(handle)
}

/// Reads the process's own figures (`process_resident_memory_bytes`, `process_open_fds`,
/// `process_cpu_seconds_total`, threads) into their gauges; called on each scrape.
pub fn collect_process() {
    metrics_process::Collector::default().collect();
}

/// Creates, at zero, the series that alerts and dashboards take rates of, so that a quiet
/// instance has them from start-up instead of "no data": per route (`routes` are the route
/// labels) the requests by tier, renders, fallbacks by reason, rate-limited misses and request
/// timeouts; the store's errors by operation; the flight, Chromium and pending-write figures;
/// reloads by outcome.
pub fn zero(routes: &[metrics::SharedString]) {
    zero_routes(routes);
    for outcome in ["ok", "error"] {
        metrics::counter!(RELOADS, "outcome" => outcome).absolute(0);
    }
    for op in ["get", "put"] {
        metrics::counter!(STORE_ERRORS, "op" => op).absolute(0);
    }
    for from in ["cache", "encoder"] {
        metrics::counter!(ENCODE_PIECES, "from" => from).absolute(0);
    }
    for outcome in ["created", "conflict"] {
        metrics::counter!(STORE_WRITES, "outcome" => outcome).absolute(0);
    }
    for outcome in ["acquired", "waited", "stolen", "expired", "unguarded"] {
        metrics::counter!(LEASES, "outcome" => outcome).absolute(0);
    }
    for counter in [
        FLIGHT_WAITERS,
        BROWSER_LAUNCHES,
        STORE_PENDING_DROPPED,
        STORE_DAMAGED,
        MEMORY_EVICTIONS,
    ] {
        metrics::counter!(counter).absolute(0);
    }
    for gauge in [
        RENDERS_IN_FLIGHT,
        RENDERS_QUEUED,
        STORE_PENDING,
        STORE_BREAKER_OPEN,
        MEMORY_BYTES,
        MEMORY_ENTRIES,
    ] {
        metrics::gauge!(gauge).set(0.0);
    }
}

/// The per-route series of [`zero`] for routes a reload adds; a route that was there keeps its
/// counts (adding 0 creates a series and changes none).
pub fn zero_routes(routes: &[metrics::SharedString]) {
    for route in routes {
        for tier in ["memory", "store", "render", "fallback"] {
            metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "status" => "200", "tier" => tier)
                .increment(0);
        }
        metrics::counter!(RENDERS, "route" => route.clone(), "outcome" => "ok").increment(0);
        for reason in crate::reason::Reason::ALL {
            metrics::counter!(FALLBACKS, "route" => route.clone(), "reason" => reason.code())
                .increment(0);
        }
        metrics::counter!(RATE_LIMITED, "route" => route.clone()).increment(0);
        metrics::counter!(REQUEST_TIMEOUTS, "route" => route.clone()).increment(0);
    }
}

/// Registers help text and units with the installed recorder.
pub fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "Responses by route, status and the tier that served them (none: refused before a route or tier)."
    );
    describe_counter!(
        RENDERS,
        "Renders started, by route and outcome (ok, or the fallback reason it came to)."
    );
    describe_histogram!(
        RENDER_SECONDS,
        Unit::Seconds,
        "Render time (template, layout, raster, encode) by route and renderer."
    );
    describe_gauge!(
        RENDERS_IN_FLIGHT,
        "Renders running or waiting for a permit."
    );
    describe_gauge!(
        RENDERS_QUEUED,
        "Renders waiting for a render slot (at most render.queue; past it misses are refused)."
    );
    describe_counter!(
        FLIGHT_WAITERS,
        "Requests that joined a render already under way for the same key."
    );
    describe_counter!(FALLBACKS, "Default images served, by route and reason.");
    describe_histogram!(
        STORE_SECONDS,
        Unit::Seconds,
        "Object store call time by operation (get, put); calls skipped by the breaker are not timed."
    );
    describe_gauge!(
        MEMORY_BYTES,
        Unit::Bytes,
        "Encoded bytes (and keys) held by the memory tier (at most cache.memory_bytes)."
    );
    describe_gauge!(MEMORY_ENTRIES, "Images held by the memory tier.");
    describe_counter!(
        MEMORY_EVICTIONS,
        "Images evicted from the memory tier to stay within cache.memory_bytes."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label says which ogforge runs."
    );
    describe_counter!(STORE_ERRORS, "Object store failures by operation.");
    describe_counter!(
        STORE_WRITES,
        "Image writes by outcome: created, or conflict (another replica stored the key first; its object is served)."
    );
    describe_counter!(
        LEASES,
        "Render leases (cluster.lease): acquired, waited (another replica's image was served), expired (a holder's lease ran out), stolen (taken over after expiry), unguarded (rendered without one: store trouble)."
    );
    describe_gauge!(
        STORE_PENDING,
        "Renders whose store write waits for the store to answer again."
    );
    describe_counter!(
        STORE_PENDING_DROPPED,
        "Pending store writes dropped past the bound (rendered again on their next miss)."
    );
    describe_gauge!(
        STORE_BREAKER_OPEN,
        "1 while the object store is skipped after consecutive failures (circuit breaker)."
    );
    describe_counter!(
        STORE_DAMAGED,
        "Stored objects that were not whole images, rendered again and replaced."
    );
    describe_counter!(
        ENCODE_PIECES,
        "JPEG strips and PNG bands of rendered images, by where their bytes came from: the piece cache (the same pixels encoded before, render.piece_cache_mib) or the encoder."
    );
    describe_counter!(
        BROWSER_LAUNCHES,
        "Chromium starts: the first, then one per crash or hang."
    );
    describe_counter!(
        RATE_LIMITED,
        "Misses refused because their client was over its render rate limit, by route."
    );
    describe_counter!(
        REQUEST_TIMEOUTS,
        "Requests cut off by server.request_timeout_ms (503)."
    );
    describe_counter!(
        MISSING_GLYPHS,
        "Characters of rendered cards that no loaded font has (drawn as boxes), by route; the first card of each route with one is logged."
    );
    describe_gauge!(
        OPEN_CONNECTIONS,
        "Client connections open, by listener (public, admin); at most server.max_connections."
    );
    describe_counter!(
        CONNECTIONS_REFUSED,
        "Connections accepted and closed at once because server.max_connections were open, by listener."
    );
    describe_counter!(
        CONNECTION_TIMEOUTS,
        "Connections closed by a timeout, by listener and kind: header (no whole request head \
         within server.header_read_timeout_ms: slowloris, silent sockets), idle (after a \
         request: idle past server.idle_timeout_ms, or the next request head too slow)."
    );
    describe_counter!(
        FETCHES,
        "Outbound fetches (route data) by kind and outcome (ok, status, blocked, timeout, too-large, ...)."
    );
    describe_histogram!(
        FETCH_SECONDS,
        Unit::Seconds,
        "Outbound fetch time by kind, every hop and the body."
    );
    describe_counter!(
        RELOADS,
        "Reloads (SIGHUP, or a watched file changed with serve --watch) by outcome: ok (the new config serves), error (refused; the old one keeps serving, the reason is logged)."
    );
    describe_counter!(
        FETCH_BLOCKED,
        "Outbound fetches refused before connecting, by reason (loopback, private, link-local, ...)."
    );
}

/// Records the time from its creation to its drop into a histogram.
#[derive(Debug)]
pub(crate) struct Timer {
    start: Instant,
    histogram: metrics::Histogram,
}

impl Timer {
    pub(crate) fn new(histogram: metrics::Histogram) -> Self {
        Self {
            start: Instant::now(),
            histogram,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.histogram.record(self.start.elapsed().as_secs_f64());
    }
}
