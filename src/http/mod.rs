//! The HTTP surface: [`router`] holds every public route and layer, [`admin_router`] the
//! admin listener's, [`serve`] runs a listener (connection cap and timeouts, `conn.rs`). Handlers are thin: extract, call the pipeline, turn the outcome into a
//! response (`response.rs`, the only way an image request's response is made).

mod admin;
mod conn;
mod guard;
mod image;
mod observe;
mod preview;
mod request_id;
mod response;
mod tags;

use std::sync::Arc;

use axum::{Router, http::HeaderName, middleware, routing::get};
use metrics_exporter_prometheus::PrometheusHandle;
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

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

/// A state over one fixed App (tests that drive a router without `serve`).
impl From<Arc<App>> for AppState {
    fn from(app: Arc<App>) -> Self {
        Self { live: app.into() }
    }
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
/// 1. request id: set (`x-request-id`, a UUID-shaped id unless the request has one,
///    `http/request_id.rs`) and returned;
/// 2. observe: one access line and one `ogforge_http_requests_total` count per response,
///    refusals included, labelled from what the response says it was (`http/observe.rs`);
/// 3. guard: method, headers, body and URI length, before any route or cache work
///    (`http/guard.rs`); it knows nothing of routes.
///
/// The request's span (id, method, path; never the query, which may hold `sig`) is made by the
/// image handler for requests that get past the memory tier: what logs inside a request is the
/// miss path (data, store, render), and a span per memory hit cost a sixth of its CPU.
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
        .layer(SetRequestIdLayer::new(REQUEST_ID, request_id::Ids::new()))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
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

/// The admin router: health, readiness, Prometheus metrics, purge and the preview gallery, on
/// their own listener (bound at `addr`) so they are never exposed with the public one.
pub fn admin_router(
    app: impl Into<Live>,
    metrics: Option<PrometheusHandle>,
    addr: Option<std::net::SocketAddr>,
) -> Router {
    admin::router(AppState { live: app.into() }, metrics, addr)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
