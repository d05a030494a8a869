//! The image handler: the request resolved once (`crate::resolve`), the pipeline's outcome,
//! and that outcome as the response (`http/response.rs`). A memory hit is answered without a
//! span or a deadline; everything else runs in the request's span (`observe::span`).

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    response::{IntoResponse, Response},
};

use tracing::Instrument;

use super::{AppState, observe, response::Reply};

pub(super) async fn handle(State(state): State<AppState>, req: Request) -> Response {
    // Set per connection by `http::serve` (`conn.rs`); absent when driven without a socket,
    // and then nothing is rate limited.
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let app = state.app();
    let resolution = app.resolver.request(req.uri(), req.headers(), peer);
    let pipeline = &app.pipeline;
    let outcome = match pipeline.memory_hit(resolution).await {
        Ok(hit) => hit,
        Err(resolution) => {
            let span = observe::span(&req);
            // Boxed: the miss path's future (deadline, data, flight, store) is kilobytes, and
            // inline it made this handler's future that large, copied on every move of a hit.
            Box::pin(pipeline.serve(resolution).instrument(span)).await
        }
    };
    Reply::new(outcome, req.method(), req.headers()).into_response()
}
