//! The HTTP surface: [`router`] holds every public route and layer, [`admin_router`] the
//! admin listener's, [`serve`] runs a listener (connection cap and timeouts, `conn.rs`). Handlers are thin: extract, call the pipeline, turn the outcome into a
//! response (`response.rs`, the only way an image request's response is made).

mod admin;
mod conn;
mod guard;
mod image;
mod observe;
mod response;
mod tags;

use std::sync::Arc;

use axum::{Router, http::HeaderName, middleware, routing::get};
use metrics_exporter_prometheus::PrometheusHandle;
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    app::{App, Live},
    config::ServerConfig,
};

pub use admin::PURGE_PATH;
pub use conn::{listen, serve};
pub use guard::Guard;

/// Shared state of every handler: the handle to the App in place, which a reload replaces.
#[derive(Debug, Clone)]
pub struct AppState {
    live: Live,
}

impl AppState {
    /// The App for one request (one atomic load): a handler takes it once and uses it to the
    /// end, so a reload never changes the config under a request.
    pub(crate) fn app(&self) -> Arc<App> {
        self.live.load()
    }
}

/// The request id header: taken from the request when a proxy set one, generated otherwise,
/// and returned in the response, so one id follows a request through every log.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The public router. Layers run outer to inner:
/// 1. request id: set (`x-request-id`, a UUID unless the request has one) and returned;
/// 2. trace: a span per request with the id, method and path (never the query: it may hold
///    `sig`), around everything below, refusals included;
/// 3. observe: one access line and one `ogforge_http_requests_total` count per response,
///    refusals included, labelled from what the response says it was (`http/observe.rs`);
/// 4. guard: method, headers, body and URI length, before any route or cache work
///    (`http/guard.rs`); it knows nothing of routes.
///
/// Route matching, the query allow-list, signatures and the id happen once, in the handler's
/// call to [`crate::resolve`]. The request deadline, the render cap and the per-client render
/// rate limit are the pipeline's policies, not layers: only the pipeline knows whether a request
/// is a hit (never limited) or a render.
///
/// `app` is an `Arc<App>`, or the [`Live`] handle `serve` swaps on reload. The guard's limits
/// are taken here, once: they need a restart to change.
pub fn router(app: impl Into<Live>, server: &ServerConfig) -> Router {
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(observe::span))
        .layer(middleware::from_fn(observe::observe))
        .layer(middleware::from_fn_with_state(
            Guard::from(server),
            guard::guard,
        ));
    Router::new()
        .route(tags::PATH, get(tags::handle))
        .fallback(image::handle)
        .layer(layers)
        .with_state(AppState { live: app.into() })
}

/// The admin router: health, readiness and Prometheus metrics, on their own listener so they
/// are never exposed with the public one.
pub fn admin_router(app: impl Into<Live>, metrics: Option<PrometheusHandle>) -> Router {
    admin::router(AppState { live: app.into() }, metrics)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
