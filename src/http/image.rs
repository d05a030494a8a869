//! The image handler: a path in, the pipeline's outcome out.

use axum::{
    extract::State,
    http::{HeaderMap, Method, Uri},
    response::Response,
};

use super::{AppState, response};

pub(super) async fn handle(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let outcome = state.pipeline.handle(uri.path()).await;
    if let Some(refused) = response::overloaded(&outcome, state.limits.overload) {
        return refused;
    }
    response::respond(&outcome, &method, &headers)
}
