//! What a request comes to: an image [`Served`], the default image as a [`Fallback`], or a
//! [`Refused`] request. The pipeline makes every outcome (the edge guard makes refusals of
//! its own); `http/response.rs` turns any of them into a response, the only way out.
//!
//! Refusals are variants with their status, text and retry hint attached, so no code compares
//! status codes to tell them apart.

use std::{sync::Arc, time::Duration};

use http::StatusCode;
use ogforge_tags::Id;

use crate::{cache::Tier, image::Image, reason::Reason, route::Route};

/// The result of one request.
#[derive(Debug, Clone)]
pub enum Outcome {
    Served(Served),
    Fallback(Fallback),
    Refused(Refused),
}

/// An image of the route, from a tier or a fresh render.
#[derive(Debug, Clone)]
pub struct Served {
    pub route: Arc<Route>,
    pub id: Id,
    pub image: Image,
    pub tier: Tier,
    /// This request waited on a render another request started.
    pub joined: bool,
    /// How long the render took, when this image was rendered for this request (or the
    /// flight it joined).
    pub render_time: Option<Duration>,
    /// A render's store write was confirmed before the response (always true for hits).
    pub stored: bool,
}

/// The route's default image in place of a card, with why. Never stored, short-lived.
#[derive(Debug, Clone)]
pub struct Fallback {
    pub route: Arc<Route>,
    pub reason: Reason,
}

/// A request answered with an error status and no image.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The route, when the request got as far as matching one.
    pub route: Option<Arc<Route>>,
    pub refusal: Refusal,
}

/// Why a request is refused. Each variant knows its status and its short text (never the
/// request's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Anything but GET and HEAD: 405 with `Allow`.
    MethodNotAllowed,
    /// More header fields than `server.max_headers`: 431.
    TooManyHeaders,
    /// A header section over `server.max_header_bytes`: 431.
    HeadersTooLarge,
    /// `Content-Length` above zero: 413.
    BodyNotAllowed,
    /// A `Content-Length` that is not a number: 400.
    BadContentLength,
    /// A streamed (chunked) body: 400.
    StreamedBody,
    /// A URI over `server.max_uri_len`: 414.
    UriTooLong,
    /// A query parameter not on the allow-list: 400.
    UnexpectedQuery,
    /// A signed route without a valid `sig` (`server.bad_signature = "forbidden"`): 403.
    BadSignature,
    /// No response within `server.request_timeout_ms`: 503.
    TimedOut,
    /// A miss refused by the full render queue (`render.overload = "unavailable"`): 503.
    Overloaded,
    /// A miss over its client's render budget (`rate_limit.over_limit`): 429.
    RateLimited { retry_after_secs: u64 },
}

/// Seconds a client refused by the full queue should wait: renders take milliseconds, so the
/// queue has moved on by then, and crawlers honour it instead of hammering at once.
const OVERLOADED_RETRY_AFTER_SECS: u64 = 1;

impl Refusal {
    pub fn status(self) -> StatusCode {
        match self {
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManyHeaders | Self::HeadersTooLarge => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Self::BodyNotAllowed => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadContentLength | Self::StreamedBody | Self::UnexpectedQuery => {
                StatusCode::BAD_REQUEST
            }
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::BadSignature => StatusCode::FORBIDDEN,
            Self::TimedOut | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The body: a short reason, the same for every request.
    pub fn text(self) -> &'static str {
        match self {
            Self::MethodNotAllowed => "only GET and HEAD are allowed",
            Self::TooManyHeaders => "too many header fields",
            Self::HeadersTooLarge => "header fields too large",
            Self::BodyNotAllowed | Self::StreamedBody => "image requests carry no body",
            Self::BadContentLength => "bad Content-Length",
            Self::UriTooLong => "the URI is too long",
            Self::UnexpectedQuery => "unexpected query parameter",
            Self::BadSignature => "missing or bad signature",
            Self::TimedOut => "request timed out",
            Self::Overloaded => "overloaded: retry later",
            Self::RateLimited { .. } => "too many renders from this client: retry later",
        }
    }

    /// For a refused miss (the request would have rendered): the reason, as on a default
    /// image, and when to retry. `None` for refusals of the request itself.
    pub fn refused_miss(self) -> Option<(Reason, u64)> {
        match self {
            Self::Overloaded => Some((Reason::Overloaded, OVERLOADED_RETRY_AFTER_SECS)),
            Self::RateLimited { retry_after_secs } => Some((Reason::RateLimited, retry_after_secs)),
            _ => None,
        }
    }
}

impl Outcome {
    /// The route the request reached, if any.
    pub fn route(&self) -> Option<&Arc<Route>> {
        match self {
            Self::Served(s) => Some(&s.route),
            Self::Fallback(f) => Some(&f.route),
            Self::Refused(r) => r.route.as_ref(),
        }
    }
}
