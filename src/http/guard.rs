//! The edge guard: refuses what no image request looks like, before any route or cache work.
//! It knows nothing of routes; the query and the signature are checked when the request is
//! resolved (`crate::resolve`).
//!
//! | request | answer |
//! | --- | --- |
//! | a method other than GET or HEAD | 405, `Allow: GET, HEAD` |
//! | more header fields than `server.max_headers`, or more bytes than `server.max_header_bytes` | 431 |
//! | a body (`Content-Length` > 0) | 413 |
//! | a streamed body (`Transfer-Encoding: chunked`) | 400 |
//! | a URI longer than `server.max_uri_len` | 414 |
//!
//! Refusals are [`Refusal`]s, answered by `http/response.rs` like every other outcome: a short
//! plain-text reason and `Cache-Control: no-store`; nothing of the request is echoed back.
//!
//! The header limits are ours, below hyper's own hard ones (100 fields and a ~400 KiB read
//! buffer, answered 431 or by closing the connection before this guard runs): an image request
//! needs a handful of short headers, so anything near those limits is stuffing.

use axum::{
    body::HttpBody,
    extract::{Request, State},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::response::Reply;
use crate::{config::ServerConfig, outcome::Refusal};

/// The guard's limits, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    pub max_uri_len: usize,
    pub max_header_bytes: usize,
    pub max_headers: usize,
}

impl From<&ServerConfig> for Guard {
    fn from(s: &ServerConfig) -> Self {
        Self {
            max_uri_len: s.max_uri_len,
            max_header_bytes: s.max_header_bytes,
            max_headers: s.max_headers,
        }
    }
}

pub(super) async fn guard(State(limits): State<Guard>, req: Request, next: Next) -> Response {
    match limits.check(&req) {
        Ok(()) => next.run(req).await,
        Err(refusal) => Reply::refused(refusal).into_response(),
    }
}

impl Guard {
    fn check(&self, req: &Request) -> Result<(), Refusal> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return Err(Refusal::MethodNotAllowed);
        }
        let headers = req.headers();
        if headers.len() > self.max_headers {
            return Err(Refusal::TooManyHeaders);
        }
        // As on the wire: `name: value` and CRLF per field.
        let header_bytes: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        if header_bytes > self.max_header_bytes {
            return Err(Refusal::HeadersTooLarge);
        }
        let length = headers
            .get(header::CONTENT_LENGTH)
            .map(|v| v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()));
        match length {
            None | Some(Some(0)) => {}
            Some(Some(_)) => return Err(Refusal::BodyNotAllowed),
            Some(None) => return Err(Refusal::BadContentLength),
        }
        // A streamed (chunked) body has no length to check; the body itself says it is there.
        if !req.body().is_end_stream() {
            return Err(Refusal::StreamedBody);
        }
        let uri_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
        if uri_len > self.max_uri_len {
            return Err(Refusal::UriTooLong);
        }
        Ok(())
    }
}
