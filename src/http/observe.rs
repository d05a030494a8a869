//! Observing every response, in one layer: one `ogforge_http_requests_total` count and one
//! `ogforge::access` line per request, refusals and timeouts included, labelled with what the
//! response says it was (its [`Observed`] extension, set by `http/response.rs`) and never by
//! matching the route again.
//!
//! Cache hits (tiers `memory` and `store`) are logged at `debug`, everything else (renders,
//! default images, refusals) at `info`: a hit costs microseconds, and formatting and writing a
//! line for each one took a sixth of the hit throughput. `OGFORGE_LOG=info,ogforge::access=debug`
//! logs every request. With the line off, nothing of it is built.
//!
//! The line carries the request id (`x-request-id`, also in the response), method, path,
//! status, latency and, for image requests, what the pipeline did: route, validated id, tier
//! (`memory`, `store`, `render`, `fallback`), render ms when it rendered, and the fallback
//! reason. With `--log-format json` it is one JSON object per line (fields under `fields`).
//!
//! Never logged: the query string (it holds `sig` on signed routes), header values other than
//! the request id (`Authorization`, cookies), signing keys or store credentials. The path is
//! cut at [`MAX_LOGGED_PATH`] bytes so a hostile URI cannot flood the log.

use std::{sync::Arc, time::Instant};

use axum::{extract::Request, http::StatusCode, middleware::Next, response::Response};
use ogforge_tags::Id;
use tracing::{Level, Span};

use crate::{metrics as m, route::Route};

const TARGET: &str = "ogforge::access";

/// Longest path written to a log line (the guard refuses URIs over `server.max_uri_len`, but
/// this layer sits outside the guard and logs the refusals too).
const MAX_LOGGED_PATH: usize = 256;
/// Longest request id written to a log line (a UUID is 36).
const MAX_LOGGED_REQUEST_ID: usize = 128;

/// What a response was, put in its extensions by `http/response.rs` from the outcome it
/// consumed, so recording it copies nothing.
#[derive(Debug, Clone)]
pub(super) struct Observed {
    /// The route, when the request reached one.
    pub(super) route: Option<Arc<Route>>,
    pub(super) id: Option<Id>,
    /// `memory`, `store`, `render`, `fallback`; `None` for a refusal of the request itself.
    pub(super) tier: Option<&'static str>,
    pub(super) render_ms: Option<u64>,
    pub(super) fallback: Option<&'static str>,
}

impl Observed {
    fn is_hit(&self) -> bool {
        matches!(self.tier, Some("memory" | "store"))
    }
}

/// The request's span: id, method and path, never the query.
pub(super) fn span(req: &Request) -> Span {
    tracing::info_span!(
        "request",
        request_id = request_id(req),
        method = %req.method(),
        path = logged_path(req.uri().path()),
    )
}

/// Counts every response and logs one line per request, after the response is built.
pub(super) async fn observe(req: Request, next: Next) -> Response {
    if !tracing::enabled!(target: TARGET, Level::INFO) {
        let response = next.run(req).await;
        count(&response);
        return response;
    }
    let started = Instant::now();
    let id = request_id(&req).to_owned();
    let method = req.method().clone();
    let path = logged_path(req.uri().path()).to_owned();
    let response = next.run(req).await;
    count(&response);
    let seen = response.extensions().get::<Observed>();
    macro_rules! line {
        ($level:expr) => {
            tracing::event!(
                target: TARGET,
                $level,
                request_id = id.as_str(),
                method = method.as_str(),
                path = path.as_str(),
                status = response.status().as_u16(),
                ms = started.elapsed().as_micros() as f64 / 1e3,
                route = seen.and_then(|s| s.route.as_ref()).map(|r| r.config.name.as_str()),
                id = seen.and_then(|s| s.id.as_ref()).map(Id::as_str),
                tier = seen.and_then(|s| s.tier),
                render_ms = seen.and_then(|s| s.render_ms),
                fallback = seen.and_then(|s| s.fallback),
                "request"
            )
        };
    }
    if seen.is_some_and(Observed::is_hit) {
        line!(Level::DEBUG);
    } else {
        line!(Level::INFO);
    }
    response
}

/// `ogforge_http_requests_total{route, status, tier}`; `none` where the response reached no
/// route or tier (guard refusals, the tags endpoint, timeouts have a route but no tier).
fn count(response: &Response) {
    let seen = response.extensions().get::<Observed>();
    if let Some(Observed {
        route: Some(route),
        tier: Some(tier),
        ..
    }) = seen
        && let Some(counter) = route.requests.get(response.status().as_u16(), tier)
    {
        counter.increment(1);
        return;
    }
    let route = seen
        .and_then(|s| s.route.as_ref())
        .map_or(metrics::SharedString::const_str("none"), |r| {
            r.label.clone()
        });
    let tier = seen.and_then(|s| s.tier).unwrap_or("none");
    metrics::counter!(
        m::HTTP_REQUESTS,
        "route" => route,
        "status" => status_label(response.status()),
        "tier" => tier,
    )
    .increment(1);
}

/// The `status` label: the common statuses without an allocation.
fn status_label(status: StatusCode) -> metrics::SharedString {
    match status {
        StatusCode::OK => metrics::SharedString::const_str("200"),
        StatusCode::NOT_MODIFIED => metrics::SharedString::const_str("304"),
        StatusCode::TOO_MANY_REQUESTS => metrics::SharedString::const_str("429"),
        StatusCode::SERVICE_UNAVAILABLE => metrics::SharedString::const_str("503"),
        other => metrics::SharedString::from_owned(other.as_str().to_owned()),
    }
}

/// The request id as logged: a proxy's id is kept, but a client could send kilobytes.
fn request_id(req: &Request) -> &str {
    let id = req
        .headers()
        .get(super::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    cut(id, MAX_LOGGED_REQUEST_ID)
}

fn logged_path(path: &str) -> &str {
    cut(path, MAX_LOGGED_PATH)
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
