//! The admin listener: `/healthz` (the process answers), `/readyz` (the store answers) and
//! `/metrics` (Prometheus text format; gauges that are read rather than counted, such as the
//! memory tier's size and the process's RSS, are refreshed on each scrape), and
//! `POST /_ogforge/purge?route=NAME&id=ID`, which forgets an id's data and memory entry here
//! (pair it with a CDN invalidation of the image's URL: see docs/data.md). The preview gallery
//! under `/_ogforge/preview` is `preview/`'s.

use std::{collections::HashMap, net::SocketAddr};

use axum::{
    Router,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use metrics_exporter_prometheus::PrometheusHandle;

use super::AppState;

#[derive(Debug, Clone)]
struct AdminState {
    app: AppState,
    metrics: Option<PrometheusHandle>,
}

/// `addr`: where this listener is bound, for the gallery's side-by-side (Chromium loads the
/// card's HTML from it over loopback).
pub(super) fn router(
    app: AppState,
    metrics: Option<PrometheusHandle>,
    addr: Option<SocketAddr>,
) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .route(PURGE_PATH, post(purge))
        .with_state(AdminState {
            app: app.clone(),
            metrics,
        })
        .merge(super::preview::router(app, addr))
}

/// Where `ogforge purge` sends its request.
pub const PURGE_PATH: &str = "/_ogforge/purge";

async fn purge(State(s): State<AdminState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (Some(name), Some(raw)) = (q.get("route"), q.get("id")) else {
        return (StatusCode::BAD_REQUEST, "route and id are required\n").into_response();
    };
    let app = s.app.app();
    let Some(route) = app.routes.by_name(name) else {
        return (StatusCode::NOT_FOUND, "no such route\n").into_response();
    };
    let Ok(id) = route.config.ids.check(raw) else {
        return (StatusCode::BAD_REQUEST, "the id does not match the route\n").into_response();
    };
    let dropped = app.pipeline.purge(route, &id).await;
    tracing::info!(route = %name, id = %id.as_str(), dropped, "purged");
    (StatusCode::OK, "purged\n").into_response()
}

async fn readyz(State(s): State<AdminState>) -> Response {
    let app = s.app.app();
    match app.pipeline.store() {
        Some(store) => match store.ping().await {
            Ok(()) => (StatusCode::OK, "ready\n").into_response(),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: store unreachable");
                (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n").into_response()
            }
        },
        None => (StatusCode::OK, "ready (no store)\n").into_response(),
    }
}

async fn render_metrics(State(s): State<AdminState>) -> Response {
    match &s.metrics {
        Some(handle) => {
            s.app.app().pipeline.observe().await;
            crate::metrics::collect_process();
            (
                [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                handle.render(),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "metrics are off\n").into_response(),
    }
}
