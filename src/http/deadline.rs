//! The whole-request deadline (`server.request_timeout_ms`): past it, the request gets a 503
//! refusal and its handler is dropped.
//!
//! It sits above `render.timeout_ms` by default, so a slow render turns into the default image
//! (short lifetime) before this fires; what it catches is anything else that hangs, such as a
//! store call stuck past its own deadline. Dropping the handler never cuts a render or a store
//! write in half: those run in their own task (`cache/flight.rs`) and still land whole.
//!
//! What it does not bound: the clock starts once hyper has read the request's headers and
//! stops when the response's headers are ready, so a client slow to send its headers, or slow
//! to read a finished body, is outside it. Under `axum::serve` hyper has no header-read timer;
//! slow-header clients are better cut by the reverse proxy or load balancer in front. A slow
//! reader holds only its connection: the body is a shared, already-encoded `Bytes`.

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
};

use super::{AppState, response};
use crate::metrics as m;

pub(super) async fn deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // A `Uri` clone shares its bytes; the route is looked up only if the deadline passes.
    let uri = req.uri().clone();
    match tokio::time::timeout(state.limits.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            let route = state
                .pipeline
                .routes()
                .matching(uri.path())
                .map_or(metrics::SharedString::const_str("none"), |r| {
                    r.label.clone()
                });
            metrics::counter!(m::REQUEST_TIMEOUTS, "route" => route.clone()).increment(1);
            metrics::counter!(
                m::HTTP_REQUESTS,
                "route" => route,
                "status" => response::status_label(StatusCode::SERVICE_UNAVAILABLE),
                "tier" => "none",
            )
            .increment(1);
            tracing::warn!(
                timeout = ?state.limits.request_timeout,
                "request timed out (server.request_timeout_ms)"
            );
            response::refusal(StatusCode::SERVICE_UNAVAILABLE, "request timed out")
        }
    }
}
