//! `GET /_ogforge/tags?route=NAME&id=RAW[&sig=HEX][&format=html|json]`: the `og:image` /
//! `twitter:*` tags for an id, for main-site backends in any language.
//!
//! `route` is optional (the first route); `id` is the raw, untrusted value (its text: the query
//! string is decoded once), validated by the `ogforge-tags` crate (missing or invalid -> the
//! default image's URL, never the value). On a signed route the URLs carry `?sig=`, and the id's
//! own URL needs `sig`, the signature of its canonical path (as `ogforge sign` prints it): this
//! endpoint answers anyone, so it never signs a value it was merely given. JSON
//! unless `format=html` or the `Accept` header asks for `text/html`. The guard's method, body
//! and URI rules apply; the query allow-list of image routes does not (its parameters are its
//! input). The tags come from the same route table as the images (`crate::route`).

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use ogforge_tags::Tags;

use super::AppState;
use crate::signing::SIG_PARAM;

/// Where the endpoint lives: under `/_ogforge/`, a prefix no sensible image route uses.
pub(crate) const PATH: &str = "/_ogforge/tags";

/// Tags depend only on the query and the config: cacheable, but not for long, so a config
/// change shows soon.
const CACHE_CONTROL: &str = "public, max-age=300";

pub(super) async fn handle(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (mut route, mut id, mut sig, mut format) = (None, None, None, None);
    // The first of each parameter wins; the others are ignored, never merged.
    for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "route" if route.is_none() => route = Some(v.into_owned()),
            "id" if id.is_none() => id = Some(v.into_owned()),
            SIG_PARAM if sig.is_none() => sig = Some(v.into_owned()),
            "format" if format.is_none() => format = Some(v.into_owned()),
            _ => {}
        }
    }
    let app = state.app();
    let found = (app.routes).tags(route.as_deref(), id.as_deref(), sig.as_deref());
    let Some((route, tags)) = found else {
        return plain(StatusCode::NOT_FOUND, "unknown route\n");
    };
    let html = match format.as_deref() {
        Some("html") => true,
        Some("json") => false,
        Some(_) => return plain(StatusCode::BAD_REQUEST, "format must be html or json\n"),
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html")),
    };
    let (content_type, body) = if html {
        ("text/html; charset=utf-8", tags.to_html())
    } else {
        ("application/json", json(&route.config.name, &tags))
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `{"route", "image_url", "default", "id", "tags": [{"property"|"name", "content"}], "html"}`.
fn json(route: &str, tags: &Tags) -> String {
    let list: Vec<serde_json::Value> = tags
        .meta()
        .into_iter()
        .map(|m| {
            let mut o = serde_json::Map::new();
            o.insert(m.attr.as_str().to_owned(), m.key.into());
            o.insert("content".to_owned(), m.content.into());
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::json!({
        "route": route,
        "image_url": tags.image_url(),
        "default": tags.is_default(),
        "id": tags.id().map(|id| id.as_str()),
        "tags": list,
        "html": tags.to_html(),
    })
    .to_string()
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = (status, text).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
