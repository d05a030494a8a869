//! Request logs: a span per request and one `ogforge::access` line when its response is known.
//!
//! Cache hits (tiers `memory` and `store`) are logged at `debug`, everything else (renders,
//! default images, refusals, errors) at `info`: a hit costs microseconds, and formatting and
//! writing a line for each one took a sixth of the hit throughput. `OGFORGE_LOG=info,
//! ogforge::access=debug` logs every request. With the line off, nothing of it is built.
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

use axum::{extract::Request, middleware::Next, response::Response};
use ogforge_tags::Id;
use tracing::{Level, Span};

use crate::{pipeline::Outcome, route::Route};

const TARGET: &str = "ogforge::access";

/// Longest path written to a log line (the guard refuses URIs over `server.max_uri_len`, but
/// this layer sits outside the guard and logs the refusals too).
const MAX_LOGGED_PATH: usize = 256;
/// Longest request id written to a log line (a UUID is 36).
const MAX_LOGGED_REQUEST_ID: usize = 128;

/// What the image handler did, put in the response's extensions for the access log.
/// Built from the outcome it consumes, so recording it copies nothing.
#[derive(Debug, Clone)]
pub(super) struct Access {
    route: Arc<Route>,
    id: Option<Id>,
    tier: &'static str,
    render_ms: Option<u64>,
    fallback: Option<&'static str>,
}

impl Access {
    /// Puts what `outcome` was into `response` for the access line (nothing when it is off).
    pub(super) fn record(outcome: Outcome, response: &mut Response) {
        if let Some(access) = Self::of(outcome) {
            response.extensions_mut().insert(access);
        }
    }

    /// `None` when no access line could be written (the log is off at `info`).
    fn of(outcome: Outcome) -> Option<Self> {
        if !tracing::enabled!(target: TARGET, Level::INFO) {
            return None;
        }
        Some(match outcome {
            Outcome::Served {
                route,
                id,
                tier,
                render_time,
                ..
            } => Self {
                route,
                id: Some(id),
                tier: tier.as_str(),
                render_ms: render_time.map(|t| t.as_millis() as u64),
                fallback: None,
            },
            Outcome::Fallback(f) => Self {
                route: f.route,
                id: None,
                tier: "fallback",
                render_ms: None,
                fallback: Some(f.reason.code()),
            },
        })
    }

    fn is_hit(&self) -> bool {
        matches!(self.tier, "memory" | "store")
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

/// Logs one line per request, after the response is built (refusals and timeouts included).
pub(super) async fn log(req: Request, next: Next) -> Response {
    if !tracing::enabled!(target: TARGET, Level::INFO) {
        return next.run(req).await;
    }
    let started = Instant::now();
    let id = request_id(&req).to_owned();
    let method = req.method().clone();
    let path = logged_path(req.uri().path()).to_owned();
    let response = next.run(req).await;
    let access = response.extensions().get::<Access>();
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
                route = access.map(|a| a.route.config.name.as_str()),
                id = access.and_then(|a| a.id.as_ref()).map(Id::as_str),
                tier = access.map(|a| a.tier),
                render_ms = access.and_then(|a| a.render_ms),
                fallback = access.and_then(|a| a.fallback),
                "request"
            )
        };
    }
    if access.is_some_and(Access::is_hit) {
        line!(Level::DEBUG);
    } else {
        line!(Level::INFO);
    }
    response
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
