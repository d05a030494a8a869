//! The HTTP surface: [`router`] holds every public route and layer, [`admin_router`] the
//! admin listener's. Handlers are thin: extract, call the pipeline, map the outcome.

mod access;
mod admin;
mod client;
mod deadline;
mod guard;
mod image;
mod response;
mod tags;

use std::{sync::Arc, time::Duration};

use axum::{Router, http::HeaderName, middleware, routing::get};
use metrics_exporter_prometheus::PrometheusHandle;
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    config::{OverLimit, Overload, ServerConfig},
    pipeline::Pipeline,
    signing::Keys,
};

/// Limits the edge guard enforces, from `[server]`.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_uri_len: usize,
    pub ignored_query_params: Vec<String>,
    /// What a miss refused by a full render queue gets (`render.overload`).
    pub overload: Overload,
    /// Keys that verify `sig` on signed routes (empty when no route is signed).
    pub signing_keys: Keys,
    /// A bad signature gets the default image instead of 403 (`server.bad_signature`).
    pub bad_signature_default_image: bool,
    /// Header section limits: 431 past them.
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// Whole-request deadline: 503 past it.
    pub request_timeout: Duration,
    /// Peers whose `X-Forwarded-For` names the client (see `http/client.rs`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// What a miss over its client's render budget gets (`rate_limit.over_limit`).
    pub over_limit: OverLimit,
    /// `Retry-After` of a 429: one render's worth of the client's rate.
    pub rate_limit_retry_after_secs: u64,
}

impl From<&ServerConfig> for Limits {
    fn from(s: &ServerConfig) -> Self {
        Self {
            max_uri_len: s.max_uri_len,
            ignored_query_params: s.ignored_query_params.clone(),
            overload: Overload::Unavailable,
            signing_keys: Keys::default(),
            bad_signature_default_image: s.bad_signature_default_image,
            max_header_bytes: s.max_header_bytes,
            max_headers: s.max_headers,
            request_timeout: s.request_timeout,
            trusted_proxies: s.trusted_proxies.clone(),
            over_limit: OverLimit::TooManyRequests,
            rate_limit_retry_after_secs: 1,
        }
    }
}

/// Shared state of every handler, built once.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    pub limits: Arc<Limits>,
    /// Main-site tags per route (`GET /_ogforge/tags`).
    pub tags: Arc<crate::tags::TagTable>,
}

/// The request id header: taken from the request when a proxy set one, generated otherwise,
/// and returned in the response, so one id follows a request through every log.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The public router. Layers run outer to inner:
/// 1. request id: set (`x-request-id`, a UUID unless the request has one) and returned;
/// 2. trace: a span per request with the id, method and path (never the query: it may hold
///    `sig`), around everything below, refusals included;
/// 3. access log: one line per request when the response is known (`http/access.rs`);
/// 4. deadline: `server.request_timeout_ms`, then 503 (`http/deadline.rs`);
/// 5. guard: method, headers, body, URI length and query rules, before any route or cache
///    work (`http/guard.rs`).
///
/// The render cap and the per-client render rate limit are not layers: only the pipeline knows
/// whether a request is a hit (never limited) or a render.
pub fn router(state: AppState) -> Router {
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(access::span))
        .layer(middleware::from_fn(access::log))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            deadline::deadline,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), guard::guard));
    Router::new()
        .route(tags::PATH, get(tags::handle))
        .fallback(image::handle)
        .layer(layers)
        .with_state(state)
}

/// The admin router: health, readiness and Prometheus metrics, on their own listener so they
/// are never exposed with the public one.
pub fn admin_router(state: AppState, metrics: Option<PrometheusHandle>) -> Router {
    admin::router(state, metrics)
}
