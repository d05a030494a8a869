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
pub const STORE_PENDING_DROPPED: &str = "ogforge_store_pending_dropped_total";
pub const STORE_BREAKER_OPEN: &str = "ogforge_store_breaker_open";
pub const STORE_DAMAGED: &str = "ogforge_store_damaged_total";
pub const BROWSER_LAUNCHES: &str = "ogforge_browser_launches_total";
pub const RATE_LIMITED: &str = "ogforge_rate_limited_total";
pub const REQUEST_TIMEOUTS: &str = "ogforge_request_timeouts_total";
pub const OPEN_CONNECTIONS: &str = "ogforge_open_connections";
pub const CONNECTIONS_REFUSED: &str = "ogforge_connections_refused_total";
pub const CONNECTION_TIMEOUTS: &str = "ogforge_connection_timeouts_total";

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

/// The Prometheus recorder with ogforge's histogram buckets; install it once per process.
pub fn prometheus_builder()
-> Result<metrics_exporter_prometheus::PrometheusBuilder, metrics_exporter_prometheus::BuildError> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(RENDER_SECONDS.into()), RENDER_BUCKETS)
}

/// Installs the recorder, describes every metric and starts its upkeep on the current runtime
/// (every [`UPKEEP_INTERVAL`]). `None` when a recorder is already installed.
pub fn install() -> Option<PrometheusHandle> {
    let handle = prometheus_builder().ok()?.install_recorder().ok()?;
    describe();
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

/// Registers help text and units with the installed recorder.
pub fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "Responses by route, status and the tier that served them (none: refused before a route or tier)."
    );
    describe_counter!(
        RENDERS,
        "Renders started, by route and outcome (ok, error, timeout)."
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
        "Object store call time by operation (get, put)."
    );
    describe_counter!(STORE_ERRORS, "Object store failures by operation.");
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
