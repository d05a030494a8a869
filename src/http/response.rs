//! An [`Outcome`] as an HTTP response: lifetimes, validators, which tier served it and why a
//! default image stands in.
//!
//! - `Cache-Control`: the route's lifetimes for an image, its short fallback lifetime otherwise.
//! - `ETag` (strong, a digest of the bytes) and `If-None-Match` -> 304.
//! - `Cache-Status` (RFC 9211) names the tier: `hit; detail=memory|store`, `fwd=miss; stored`
//!   for a fresh render, `fwd=uri-miss` or `fwd=miss` with the reason for a default image.
//! - `X-Ogforge-Tier` says the same in one word; `X-Ogforge-Fallback` gives the reason code.
//! - A miss refused by a full render queue is 503 with `Retry-After` when `render.overload` is
//!   `unavailable` ([`overloaded`]); otherwise it is an ordinary default image.
//! - A miss refused by its client's render budget is 429 with `Retry-After` when
//!   `rate_limit.over_limit` is `too-many-requests` ([`rate_limited`]); otherwise likewise.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::Response,
};

use crate::{
    cache::Tier,
    config::{OverLimit, Overload},
    fallback::Reason,
    metrics as m,
    pipeline::Outcome,
};

pub(crate) const TIER_HEADER: &str = "x-ogforge-tier";
pub(crate) const FALLBACK_HEADER: &str = "x-ogforge-fallback";
/// Seconds a refused client should wait: renders take milliseconds, so the queue has moved on
/// by then, and crawlers honour it instead of hammering at once.
const RETRY_AFTER_SECS: &str = "1";

/// The 503 for a miss the render queue refused, when `render.overload` asks for one.
pub(super) fn overloaded(outcome: &Outcome, mode: Overload) -> Option<Response> {
    let Outcome::Fallback(f) = outcome else {
        return None;
    };
    if f.reason != Reason::Overloaded || mode != Overload::Unavailable {
        return None;
    }
    Some(refused_miss(
        outcome,
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded: retry later",
        HeaderValue::from_static(RETRY_AFTER_SECS),
    ))
}

/// The 429 for a miss over its client's render budget, when `rate_limit.over_limit` asks
/// for one.
pub(super) fn rate_limited(
    outcome: &Outcome,
    mode: OverLimit,
    retry_after_secs: u64,
) -> Option<Response> {
    let Outcome::Fallback(f) = outcome else {
        return None;
    };
    if f.reason != Reason::RateLimited || mode != OverLimit::TooManyRequests {
        return None;
    }
    Some(refused_miss(
        outcome,
        StatusCode::TOO_MANY_REQUESTS,
        "too many renders from this client: retry later",
        HeaderValue::from(retry_after_secs),
    ))
}

/// A refusal like the guard's (`no-store`: the next try may well render), plus when to retry
/// and which tier and reason, as on a default image.
fn refused_miss(
    outcome: &Outcome,
    status: StatusCode,
    text: &'static str,
    retry_after: HeaderValue,
) -> Response {
    let (route, code) = match outcome {
        Outcome::Fallback(f) => (f.route.label.clone(), f.reason.code()),
        Outcome::Served { route, .. } => (route.label.clone(), ""),
    };
    metrics::counter!(
        m::HTTP_REQUESTS,
        "route" => route,
        "status" => status_label(status),
        "tier" => "fallback",
    )
    .increment(1);
    let mut response = refusal(status, text);
    let h = response.headers_mut();
    h.insert(header::RETRY_AFTER, retry_after);
    if let Ok(v) = HeaderValue::from_str(&format!("ogforge; fwd=miss; detail={code}")) {
        h.insert(header::HeaderName::from_static("cache-status"), v);
    }
    h.insert(
        header::HeaderName::from_static(TIER_HEADER),
        HeaderValue::from_static("fallback"),
    );
    if let Ok(v) = HeaderValue::from_str(code) {
        h.insert(header::HeaderName::from_static(FALLBACK_HEADER), v);
    }
    response
}

pub(super) fn respond(outcome: &Outcome, method: &Method, req: &HeaderMap) -> Response {
    let (route, image, cache_control, cache_status, tier, reason) = match outcome {
        Outcome::Served {
            route,
            image,
            tier,
            joined,
            ..
        } => {
            let status = match (tier, joined) {
                (Tier::Memory, _) => "ogforge; hit; detail=memory".to_owned(),
                (Tier::Store, false) => "ogforge; hit; detail=store".to_owned(),
                (Tier::Store, true) => "ogforge; hit; detail=store; collapsed".to_owned(),
                (Tier::Render, false) => "ogforge; fwd=miss; stored".to_owned(),
                (Tier::Render, true) => "ogforge; fwd=miss; stored; collapsed".to_owned(),
            };
            (
                route,
                image,
                route.cache_control(),
                status,
                tier.as_str(),
                None,
            )
        }
        Outcome::Fallback(f) => {
            let fwd = if f.reason.is_client_error() {
                "uri-miss"
            } else {
                "miss"
            };
            (
                &f.route,
                &f.image,
                f.route.fallback_cache_control(),
                format!("ogforge; fwd={fwd}; detail={}", f.reason.code()),
                "fallback",
                Some(f.reason.code()),
            )
        }
    };

    let not_modified = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &image.etag));
    let status = if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    metrics::counter!(
        m::HTTP_REQUESTS,
        "route" => route.label.clone(),
        "status" => status_label(status),
        "tier" => tier,
    )
    .increment(1);

    let body = if not_modified || method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(image.bytes.clone())
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    let mut put = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    put(header::CACHE_CONTROL, &cache_control);
    put(header::ETAG, &image.etag);
    put(
        header::HeaderName::from_static("cache-status"),
        &cache_status,
    );
    put(header::HeaderName::from_static(TIER_HEADER), tier);
    if let Some(reason) = reason {
        put(header::HeaderName::from_static(FALLBACK_HEADER), reason);
    }
    if !not_modified {
        put(header::CONTENT_TYPE, image.content_type);
        put(header::CONTENT_LENGTH, &image.bytes.len().to_string());
        put(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    }
    response
}

/// `If-None-Match` is `*` or a list of entity tags; weak comparison, as RFC 9110 asks for it.
fn etag_matches(header: &str, etag: &str) -> bool {
    let ours = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == ours)
}

/// A short plain-text refusal that is never cached and never echoes the request.
pub(super) fn refusal(status: StatusCode, reason: &'static str) -> Response {
    let mut r = Response::new(Body::from(format!("{reason}\n")));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        h.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    r
}

/// The `status` label: the statuses an image response has, without an allocation.
pub(super) fn status_label(status: StatusCode) -> metrics::SharedString {
    match status {
        StatusCode::OK => metrics::SharedString::const_str("200"),
        StatusCode::NOT_MODIFIED => metrics::SharedString::const_str("304"),
        StatusCode::TOO_MANY_REQUESTS => metrics::SharedString::const_str("429"),
        StatusCode::SERVICE_UNAVAILABLE => metrics::SharedString::const_str("503"),
        other => metrics::SharedString::from_owned(other.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::etag_matches;

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        assert!(etag_matches("\"a\"", "\"a\""));
        assert!(etag_matches("\"x\", W/\"a\"", "\"a\""));
        assert!(etag_matches("*", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }
}
