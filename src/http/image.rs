//! The image handler: a path in, the pipeline's outcome out.
//!
//! It names the client (`http/client.rs`) so the pipeline can charge a render to it; hits are
//! never charged. A miss refused by the render cap or the client's render budget may become a
//! 503 or a 429 here, per `render.overload` and `rate_limit.over_limit`.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    response::Response,
};

use super::{AppState, access::Access, client, response};
use crate::pipeline::Options;

pub(super) async fn handle(State(state): State<AppState>, req: Request) -> Response {
    // Set by `serve` (`into_make_service_with_connect_info`); absent when driven without a
    // socket, and then nothing is rate limited.
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let client = client::client_ip(peer, req.headers(), &state.limits.trusted_proxies);
    let opts = Options {
        client,
        ..Options::SERVE
    };
    let outcome = state.pipeline.handle_with(req.uri().path(), opts).await;
    let mut response = response::overloaded(&outcome, state.limits.overload)
        .or_else(|| {
            response::rate_limited(
                &outcome,
                state.limits.over_limit,
                state.limits.rate_limit_retry_after_secs,
            )
        })
        .unwrap_or_else(|| response::respond(&outcome, req.method(), req.headers()));
    Access::record(outcome, &mut response);
    response
}
