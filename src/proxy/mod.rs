//! `ogforge proxy`: forwards every request to the main site and, in its HTML pages, replaces the
//! `og:image*` / `twitter:image*` / `twitter:card` meta tags with ones built from the validated
//! query parameter (`?social=12-34-10`), as the page streams through (`lol_html`). The tags go
//! right after the head's charset declaration (which must stay in the page's first 1024 bytes),
//! or at the end of the head when it has none.
//!
//! On a signed route the value alone gets the (signed) default image: the query is anyone's to
//! write, so the proxy never signs it. The page's link must carry the id's signature as well,
//! `?social=TEXT&social_sig=HEX` (`HEX` as `ogforge sign` prints it); then the tags carry the
//! id's signed URL.
//!
//! Never logged: the visitor's path and query (they may hold a signature, or anything a site
//! puts in its URLs); upstream errors are logged without their URL.
//!
//! What passes through untouched: non-HTML responses, redirects and other non-2xx answers, HEAD,
//! bodies in an encoding it cannot undo (anything but gzip/deflate), and every header except the
//! hop-by-hop ones (`Set-Cookie` included). Upstream is asked for `Accept-Encoding: identity`; a
//! gzip/deflate answer anyway is decompressed on the fly. A rewritten body loses its
//! `Content-Length` (its length changes; it is sent chunked) and its strong `ETag` turns weak.
//! Ids are validated and URLs built by each route's tag builder in [`crate::route`] (the
//! `ogforge-tags` crate): the same route table the image service uses.

mod rewrite;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::{Body, HttpBody},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

use self::rewrite::{Decoder, rewrite_body};
use crate::route::RouteTable;

/// Headers that describe one connection, not the message (RFC 9110 7.6.1): never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// How long connecting to upstream may take before the visitor gets a 502.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the proxy cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The proxy's state, built once.
#[derive(Debug)]
pub struct Proxy {
    client: reqwest::Client,
    /// Base URL of the main site, without a trailing `/`.
    upstream: String,
    param: String,
    /// `{param}_sig`: the signature of the id in `param`, for a signed route.
    sig_param: String,
    routes: Arc<RouteTable>,
}

impl Proxy {
    pub fn new(upstream: &str, param: &str, routes: Arc<RouteTable>) -> Result<Self, ProxyError> {
        let client = reqwest::Client::builder()
            // Redirects are the browser's business: pass them through as they are.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .no_proxy()
            .build()?;
        Ok(Self {
            client,
            upstream: upstream.trim_end_matches('/').to_owned(),
            param: param.to_owned(),
            sig_param: format!("{param}_sig"),
            routes,
        })
    }
}

/// Every path and method goes to [`forward`].
pub fn router(proxy: Arc<Proxy>) -> Router {
    Router::new().fallback(forward).with_state(proxy)
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let url = format!("{}{path_and_query}", p.upstream);
    let mut headers = parts.headers.clone();
    strip_hop_by_hop(&mut headers);
    // reqwest sets Host from the upstream URL; the visitor's Host names the proxy.
    headers.remove(header::HOST);
    // Rewriting needs the plain text; identity spares a decompress/recompress round.
    headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    let mut request = p.client.request(parts.method.clone(), url).headers(headers);
    // No body at all unless the visitor sent one (a chunked empty GET upsets servers).
    if !body.is_end_stream() {
        request = request.body(reqwest::Body::wrap_stream(body.into_data_stream()));
    }
    let upstream = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            // reqwest's message holds the URL, the visitor's query included.
            let e = e.without_url();
            tracing::warn!(error = %e, upstream = %p.upstream, "proxy: upstream unreachable");
            let mut r = (
                StatusCode::BAD_GATEWAY,
                "ogforge proxy: the upstream site did not answer\n",
            )
                .into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return r;
        }
    };

    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    strip_hop_by_hop(&mut headers);
    let decoder = Decoder::for_encoding(headers.get(header::CONTENT_ENCODING));
    let rewrite = parts.method == Method::GET
        && status.is_success()
        && status != StatusCode::NO_CONTENT
        && is_html(&headers)
        && decoder.is_some();
    let body = match decoder.filter(|_| rewrite) {
        None => Body::from_stream(upstream.bytes_stream()),
        Some(decoder) => {
            if !matches!(decoder, Decoder::Identity) {
                headers.remove(header::CONTENT_ENCODING);
            }
            headers.remove(header::CONTENT_LENGTH);
            weaken_etag(&mut headers);
            let query = parts.uri.query();
            let raw = first_param(query, &p.param);
            let sig = first_param(query, &p.sig_param);
            let tags_html = p
                .routes
                .tags(None, raw.as_deref(), sig.as_deref())
                .map(|(_, t)| t.to_html())
                .unwrap_or_default();
            rewrite_body(upstream, decoder, tags_html)
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start().to_ascii_lowercase())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/xhtml+xml"))
}

/// The rewritten body is not byte-for-byte upstream's, so a strong validator would be a lie.
fn weaken_etag(headers: &mut HeaderMap) {
    let weak = headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.starts_with("W/"))
        .and_then(|v| HeaderValue::from_str(&format!("W/{v}")).ok());
    if let Some(weak) = weak {
        headers.insert(header::ETAG, weak);
    }
}

/// The first value of `name` in a query string, decoded once (as a web framework would).
fn first_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_param_decodes_once_and_takes_the_first() {
        assert_eq!(
            first_param(Some("a=1&social=12%2D34&social=x"), "social").as_deref(),
            Some("12-34")
        );
        assert_eq!(first_param(None, "social"), None);
    }
}
