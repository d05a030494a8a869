//! An [`Outcome`] as an HTTP response, in one [`IntoResponse`]: the only way an image request
//! (or a request the guard refused) is answered.
//!
//! - `Cache-Control`: the route's lifetimes for an image, its short fallback lifetime for the
//!   default image (both built once per route), `no-store` for a refusal.
//! - `ETag` (strong, a digest of the bytes) and `If-None-Match` -> 304.
//! - `Cache-Status` (RFC 9211) names the tier: `hit; detail=memory|store`, `fwd=miss; stored`
//!   for a fresh render, `fwd=uri-miss` or `fwd=miss` with the reason for a default image.
//! - `X-Ogforge-Tier` says the same in one word; `X-Ogforge-Fallback` gives the reason code.
//! - A refused miss (full render queue, client over its render budget) is a refusal with
//!   `Retry-After`, and the tier and reason headers a default image would have.
//!
//! Every response carries an [`Observed`] extension: what the observe layer counts and logs.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::observe::Observed;
use crate::{
    cache::Tier,
    image::Image,
    outcome::{Fallback, Outcome, Refusal, Refused, Served},
};

const TIER_HEADER: HeaderName = HeaderName::from_static("x-ogforge-tier");
const FALLBACK_HEADER: HeaderName = HeaderName::from_static("x-ogforge-fallback");
const CACHE_STATUS: HeaderName = HeaderName::from_static("cache-status");

/// An outcome and what of the request decides its response.
#[derive(Debug)]
pub(super) struct Reply {
    outcome: Outcome,
    asked: Asked,
}

/// What of the request shapes an image response: `HEAD`, `If-None-Match`.
#[derive(Debug, Default)]
struct Asked {
    head: bool,
    if_none_match: Option<HeaderValue>,
}

impl Reply {
    pub(super) fn new(outcome: Outcome, method: &Method, headers: &HeaderMap) -> Self {
        Self {
            outcome,
            asked: Asked {
                head: method == Method::HEAD,
                if_none_match: headers.get(header::IF_NONE_MATCH).cloned(),
            },
        }
    }

    /// A refusal before any route was matched (the guard's).
    pub(super) fn refused(refusal: Refusal) -> Self {
        Self {
            outcome: Outcome::Refused(Refused {
                route: None,
                refusal,
            }),
            asked: Asked::default(),
        }
    }
}

impl Asked {
    fn not_modified(&self, image: &Image) -> bool {
        self.if_none_match
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| etag_matches(v, image.etag.to_str().unwrap_or_default()))
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self.outcome {
            Outcome::Served(s) => served(&self.asked, s),
            Outcome::Fallback(f) => fallback(&self.asked, f),
            Outcome::Refused(r) => refused(r),
        }
    }
}

fn served(asked: &Asked, s: Served) -> Response {
    // `stored` only once the store confirmed the write (RFC 9211).
    let cache_status = match (s.tier, s.joined, s.stored) {
        (Tier::Memory, _, _) => "ogforge; hit; detail=memory",
        (Tier::Store, false, _) => "ogforge; hit; detail=store",
        (Tier::Store, true, _) => "ogforge; hit; detail=store; collapsed",
        (Tier::Render, false, true) => "ogforge; fwd=miss; stored",
        (Tier::Render, true, true) => "ogforge; fwd=miss; stored; collapsed",
        (Tier::Render, false, false) => "ogforge; fwd=miss; detail=store-unavailable",
        (Tier::Render, true, false) => "ogforge; fwd=miss; detail=store-unavailable; collapsed",
    };
    let mut r = image_response(
        asked,
        &s.image,
        s.route.cache_control.clone(),
        HeaderValue::from_static(cache_status),
        s.tier.as_str(),
    );
    r.extensions_mut().insert(Observed {
        tier: Some(s.tier.as_str()),
        render_ms: s.render_time.map(|t| t.as_millis() as u64),
        fallback: None,
        id: Some(s.id),
        route: Some(s.route),
    });
    r
}

fn fallback(asked: &Asked, f: Fallback) -> Response {
    let code = f.reason.code();
    let fwd = if f.reason.is_client_error() {
        "uri-miss"
    } else {
        "miss"
    };
    let cache_status = HeaderValue::from_str(&format!("ogforge; fwd={fwd}; detail={code}"))
        .unwrap_or(HeaderValue::from_static("ogforge; fwd=miss"));
    let mut r = image_response(
        asked,
        &f.route.default_image,
        f.route.fallback_cache_control.clone(),
        cache_status,
        "fallback",
    );
    r.headers_mut()
        .insert(FALLBACK_HEADER, HeaderValue::from_static(code));
    r.extensions_mut().insert(Observed {
        tier: Some("fallback"),
        render_ms: None,
        fallback: Some(code),
        id: None,
        route: Some(f.route),
    });
    r
}

/// 200 (or 304) with the image, its validators and where it came from.
fn image_response(
    asked: &Asked,
    image: &Image,
    cache_control: HeaderValue,
    cache_status: HeaderValue,
    tier: &'static str,
) -> Response {
    let not_modified = asked.not_modified(image);
    let body = if not_modified || asked.head {
        Body::empty()
    } else {
        Body::from(image.bytes.clone())
    };
    let mut r = Response::new(body);
    if not_modified {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let h = r.headers_mut();
    // Room for these seven and the layers' request id at once: growing the map as they were
    // inserted reallocated it on every hit.
    h.reserve(8);
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(header::ETAG, image.etag.clone());
    h.insert(CACHE_STATUS, cache_status);
    h.insert(TIER_HEADER, HeaderValue::from_static(tier));
    if !not_modified {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(image.content_type),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(image.bytes.len()));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    r
}

/// A short plain-text refusal that is never cached and never echoes the request; a refused
/// miss also says when to retry, and which tier and reason, as a default image would.
fn refused(refused: Refused) -> Response {
    let refusal = refused.refusal;
    let mut r = Response::new(Body::from(format!("{}\n", refusal.text())));
    *r.status_mut() = refusal.status();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if refusal == Refusal::MethodNotAllowed {
        h.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    let miss = refusal.refused_miss();
    if let Some((reason, retry_after)) = miss {
        let code = reason.code();
        h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        if let Ok(v) = HeaderValue::from_str(&format!("ogforge; fwd=miss; detail={code}")) {
            h.insert(CACHE_STATUS, v);
        }
        h.insert(TIER_HEADER, HeaderValue::from_static("fallback"));
        h.insert(FALLBACK_HEADER, HeaderValue::from_static(code));
    }
    r.extensions_mut().insert(Observed {
        tier: miss.map(|_| "fallback"),
        render_ms: None,
        fallback: miss.map(|(reason, _)| reason.code()),
        id: None,
        route: refused.route,
    });
    r
}

/// `If-None-Match` is `*` or a list of entity tags; weak comparison, as RFC 9110 asks for it.
fn etag_matches(header: &str, etag: &str) -> bool {
    let ours = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == ours)
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
