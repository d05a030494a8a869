//! The edge guard: refuses what no image request looks like, before any route or cache work.
//!
//! | request | answer |
//! | --- | --- |
//! | a method other than GET or HEAD | 405, `Allow: GET, HEAD` |
//! | more header fields than `server.max_headers`, or more bytes than `server.max_header_bytes` | 431 |
//! | a body (`Content-Length` > 0) | 413 |
//! | a streamed body (`Transfer-Encoding: chunked`) | 400 |
//! | a URI longer than `server.max_uri_len` | 414 |
//! | a query parameter not in `server.ignored_query_params` (nor `sig` on a signed route; the tags endpoint's query is its input) | 400 |
//! | a signed route without a valid `sig` (see `crate::signing`) | 403 |
//!
//! Refusals carry a short plain-text reason and `Cache-Control: no-store`; nothing of the
//! request is echoed back.
//!
//! The header limits are ours, below hyper's own hard ones (100 fields and a ~400 KiB read
//! buffer, answered 431 or by closing the connection before this guard runs): an image request
//! needs a handful of short headers, so anything near those limits is stuffing.

use axum::{
    body::HttpBody,
    extract::{Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::Response,
};

use super::{AppState, response};
use crate::{fallback::Reason, signing::SIG_PARAM};

pub(super) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match check(&state, &req) {
        Ok(()) => next.run(req).await,
        // `server.bad_signature = "default-image"`: a page with a stale or forged link still
        // shows a card, and nothing is rendered for it.
        Err((StatusCode::FORBIDDEN, _)) if state.limits.bad_signature_default_image => {
            let outcome = state
                .pipeline
                .refuse(req.uri().path(), Reason::BadSignature);
            let mut r = response::respond(&outcome, req.method(), req.headers());
            super::access::Access::record(outcome, &mut r);
            r
        }
        Err((status, reason)) => super::response::refusal(status, reason),
    }
}

/// Why a request is refused: the status and a short reason (never the request's own text).
type Refusal = (StatusCode, &'static str);

fn check(state: &AppState, req: &Request) -> Result<(), Refusal> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are allowed",
        ));
    }
    let headers = req.headers();
    if headers.len() > state.limits.max_headers {
        return Err((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "too many header fields",
        ));
    }
    // As on the wire: `name: value` and CRLF per field.
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > state.limits.max_header_bytes {
        return Err((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header fields too large",
        ));
    }
    let length = headers
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()));
    match length {
        None | Some(Some(0)) => {}
        Some(Some(_)) => {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                "image requests carry no body",
            ));
        }
        Some(None) => return Err((StatusCode::BAD_REQUEST, "bad Content-Length")),
    }
    // A streamed (chunked) body has no length to check; the body itself says it is there.
    if !req.body().is_end_stream() {
        return Err((StatusCode::BAD_REQUEST, "image requests carry no body"));
    }
    let uri_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_len > state.limits.max_uri_len {
        return Err((StatusCode::URI_TOO_LONG, "the URI is too long"));
    }
    let path = req.uri().path();
    let signed = state
        .pipeline
        .routes()
        .matching(path)
        .is_some_and(|r| r.config.signed);
    // The tags endpoint's query is its input (validated there); image paths take none.
    let query = req.uri().query().filter(|_| path != super::tags::PATH);
    if let Some(query) = query {
        let unexpected = url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| {
            let allowed = (signed && name == SIG_PARAM)
                || state
                    .limits
                    .ignored_query_params
                    .iter()
                    .any(|allowed| *allowed == name);
            !allowed
        });
        if unexpected {
            return Err((StatusCode::BAD_REQUEST, "unexpected query parameter"));
        }
    }
    if signed {
        let sig = req.uri().query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(name, _)| name == SIG_PARAM)
                .map(|(_, v)| v.into_owned())
        });
        if !sig.is_some_and(|s| state.limits.signing_keys.verify(path, &s)) {
            return Err((StatusCode::FORBIDDEN, "missing or bad signature"));
        }
    }
    Ok(())
}
