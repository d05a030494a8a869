//! The admin listener: `/healthz` (the process answers), `/readyz` (the store answers) and
//! `/metrics` (Prometheus text format; gauges that are read rather than counted, such as the
//! memory tier's size and the process's RSS, are refreshed on each scrape).

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::PrometheusHandle;

use super::AppState;

#[derive(Debug, Clone)]
struct AdminState {
    app: AppState,
    metrics: Option<PrometheusHandle>,
}

pub(super) fn router(app: AppState, metrics: Option<PrometheusHandle>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(AdminState { app, metrics })
}

async fn readyz(State(s): State<AdminState>) -> Response {
    match s.app.app.pipeline.store() {
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
            s.app.app.pipeline.observe().await;
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
