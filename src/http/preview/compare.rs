//! Chromium's side of a `preview_compare` route, for the gallery's side-by-side: the
//! template's HTML as a page (`/_ogforge/preview/html`, with the bundled fonts it needs from
//! `/_ogforge/preview/fonts/FILE`), and Chromium's screenshot of it (`/_ogforge/preview/browser`),
//! loaded from this admin listener over loopback, so no card's HTML leaves the machine.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

use super::{PATH, PreviewState, Query, failure, text, uncached};
use crate::{
    assets,
    config::{Engine, PageConfig, PageUrl, WaitUntil},
};

/// Where Chromium reaches a listener bound at `addr` without leaving the machine.
pub(super) fn loopback(addr: SocketAddr) -> Result<SocketAddr, String> {
    match addr.ip() {
        ip if ip.is_loopback() => Ok(addr),
        IpAddr::V4(ip) if ip.is_unspecified() => Ok((Ipv4Addr::LOCALHOST, addr.port()).into()),
        IpAddr::V6(ip) if ip.is_unspecified() => Ok((Ipv6Addr::LOCALHOST, addr.port()).into()),
        _ => Err(format!(
            "Chromium loads the card's HTML from the admin listener over loopback, and \
             server.admin_listen ({addr}) is neither a loopback nor an unspecified address"
        )),
    }
}

/// `/_ogforge/preview/html`: the template's HTML for Chromium, in a standards-mode page with
/// no body margin (takumi has none) and the bundled fonts declared (Chromium reads only
/// system fonts otherwise). No script runs in it; it may load only this listener's fonts and
/// `data:` images.
pub(super) async fn html(State(s): State<PreviewState>, uri: Uri) -> Response {
    let q = Query::parse(&uri);
    let app = s.app();
    let (route, id) = match q.card(&app) {
        Ok(card) => card,
        Err(bad) => return bad.into_response(),
    };
    if !matches!(route.config.engine, Engine::Html) {
        let why = "a browser route has no template: its page_url is its HTML\n";
        return text(StatusCode::NOT_FOUND, why.into());
    }
    match app.pipeline.preview_html(&route, &id).await {
        Ok(card) => {
            let body = format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><style>{}</style></head>\
                 <body>{card}</body></html>",
                chromium_css()
            );
            let mut r = uncached(body, "text/html; charset=utf-8");
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; img-src 'self' data:; font-src 'self' data:; \
                     style-src 'unsafe-inline'",
                ),
            );
            r
        }
        Err(e) => failure(&e),
    }
}

/// What Chromium needs to draw a template as takumi does: no body margin, and the bundled
/// fonts under the families ogforge registers them as. Inter's other subsets are left out: a
/// browser takes the last face of a family and weight that has no `unicode-range`.
fn chromium_css() -> String {
    let mut css = String::from("html,body{margin:0;padding:0}");
    for font in assets::FONTS {
        let latin =
            font.file.starts_with("inter-latin-400") || font.file.starts_with("inter-latin-700");
        if font.family == "Inter" && !latin {
            continue;
        }
        let weight = if font.file.contains("-700-") {
            700
        } else {
            400
        };
        css.push_str(&format!(
            "@font-face{{font-family:\"{}\";font-weight:{weight};src:url(\"{PATH}/fonts/{}\") \
             format(\"woff2\")}}",
            font.family, font.file
        ));
    }
    css
}

/// `/_ogforge/preview/fonts/{file}`: a bundled font, for Chromium's side.
pub(super) async fn font(Path(file): Path<String>) -> Response {
    match assets::FONTS.iter().find(|f| f.file == file) {
        Some(f) => {
            let mut r = (StatusCode::OK, f.bytes).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("font/woff2"));
            r
        }
        None => text(StatusCode::NOT_FOUND, "no such bundled font\n".into()),
    }
}

/// `/_ogforge/preview/browser`: Chromium's screenshot of [`html`], for `preview_compare`
/// routes only (each costs a browser tab).
pub(super) async fn browser(State(s): State<PreviewState>, uri: Uri) -> Response {
    let q = Query::parse(&uri);
    let app = s.app();
    let (route, id) = match q.card(&app) {
        Ok(card) => card,
        Err(bad) => return bad.into_response(),
    };
    if !route.config.preview_compare {
        let why = "the route does not set preview_compare = true\n";
        return text(StatusCode::NOT_FOUND, why.into());
    }
    let base = match &s.loopback {
        Ok(base) => base,
        Err(why) => return text(StatusCode::CONFLICT, format!("{why}\n")),
    };
    let name = &route.config.name;
    let template = format!("{base}{PATH}/html?route={name}&id={{id}}");
    let page = match PageUrl::parse(&template, &route.config.ids) {
        Ok(url) => PageConfig {
            url,
            navigation_timeout: COMPARE_NAVIGATION,
            wait_until: WaitUntil::Load,
            ready_js: None,
            ready_selector: None,
            headers: Vec::new(),
            basic_auth: None,
            allowed_origins: Vec::new(),
        },
        Err(e) => {
            tracing::error!(error = %e, "preview: the loopback page URL does not parse");
            let why = "the loopback page URL does not parse (logged)\n";
            return text(StatusCode::INTERNAL_SERVER_ERROR, why.into());
        }
    };
    match app.pipeline.preview_browser(&route, &page, &id).await {
        Ok(bytes) => uncached(bytes, route.config.format.content_type()),
        Err(e) => failure(&e),
    }
}

/// Chromium's load of a card from this listener: loopback, a template and the bundled fonts.
const COMPARE_NAVIGATION: Duration = Duration::from_secs(5);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(loopback(a("127.0.0.1:9090")).unwrap(), a("127.0.0.1:9090"));
        assert_eq!(loopback(a("0.0.0.0:9090")).unwrap(), a("127.0.0.1:9090"));
        assert_eq!(loopback(a("[::]:9090")).unwrap(), a("[::1]:9090"));
        assert!(loopback(a("10.0.0.5:9090")).is_err());
    }
}
