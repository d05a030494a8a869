//! The HTTP surface: [`router`] holds every public route and layer, [`admin_router`] the
//! admin listener's. Handlers are thin: extract, call the pipeline, map the outcome.

mod admin;
mod guard;
mod image;
mod response;
mod tags;

use std::sync::Arc;

use axum::{Router, middleware, routing::get};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::trace::TraceLayer;

use crate::{
    config::{Overload, ServerConfig},
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
}

impl From<&ServerConfig> for Limits {
    fn from(s: &ServerConfig) -> Self {
        Self {
            max_uri_len: s.max_uri_len,
            ignored_query_params: s.ignored_query_params.clone(),
            overload: Overload::Unavailable,
            signing_keys: Keys::default(),
            bad_signature_default_image: s.bad_signature_default_image,
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

/// The public router. Layers run outer to inner:
/// 1. trace: every request gets a span, including the ones the guard refuses;
/// 2. guard: method, body, URI length and query rules, before any route or cache work.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(tags::PATH, get(tags::handle))
        .fallback(image::handle)
        .layer(middleware::from_fn_with_state(state.clone(), guard::guard))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The admin router: health, readiness and Prometheus metrics, on their own listener so they
/// are never exposed with the public one.
pub fn admin_router(state: AppState, metrics: Option<PrometheusHandle>) -> Router {
    admin::router(state, metrics)
}
