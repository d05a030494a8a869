//! The image handler: the request resolved once (`crate::resolve`), the pipeline's outcome,
//! and that outcome as the response (`http/response.rs`).

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    response::{IntoResponse, Response},
};

use super::{AppState, response::Reply};

pub(super) async fn handle(State(state): State<AppState>, req: Request) -> Response {
    // Set per connection by `http::serve` (`conn.rs`); absent when driven without a socket,
    // and then nothing is rate limited.
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let app = state.app();
    let resolution = app.resolver.request(req.uri(), req.headers(), peer);
    let outcome = app.pipeline.serve(resolution).await;
    Reply::new(outcome, req.method(), req.headers()).into_response()
}
