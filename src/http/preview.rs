//! The preview gallery, on the admin listener only: what a card author needs while editing a
//! template, without restarts or hand-made requests.
//!
//! - `GET /_ogforge/preview[?route=NAME][&id=[NAME:]ID ...]`: one page with every route's
//!   sample id and the ids asked for (a bare `ID` belongs to `route`, else to the first route):
//!   each card, its size, bytes and render time, the fallback reason and error instead of the
//!   card when there is none, the tags a page would get, and a data route's fields. Routes with
//!   `preview_compare` show Chromium's rendering of the same HTML beside takumi's.
//! - `GET /_ogforge/preview/image?route=NAME[&id=ID]`: one card (the sample without `id`).
//! - `GET /_ogforge/preview/html?route=NAME&id=ID`: the HTML the template makes, as Chromium
//!   gets it for the side-by-side (the bundled fonts declared, the body's margin off).
//! - `GET /_ogforge/preview/browser?route=NAME&id=ID`: Chromium's screenshot of that HTML,
//!   loaded from this listener over loopback (only for routes with `preview_compare`).
//! - `GET /_ogforge/preview/version`: a token of the routes' digests; the page polls it and
//!   reloads when a reload of the config or a template changes it.
//!
//! Cards are drawn by [`crate::pipeline::Pipeline::preview`]: never stored, never counted as
//! served requests. Everything from a request or a template error is escaped (minijinja's HTML
//! auto-escape), and the page loads nothing from elsewhere.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::{Arc, LazyLock},
    time::Duration,
};

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::Engine as _;
use futures::StreamExt;
use minijinja::{AutoEscape, Environment, Value, context};
use ogforge_tags::Id;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::AppState;
use crate::{
    app::App,
    assets,
    config::{Engine, PageConfig, PageUrl, WaitUntil},
    pipeline::Preview,
    reason::Reason,
    render::RenderError,
    route::Route,
};

/// The gallery page; its sub-resources live under it.
pub(super) const PATH: &str = "/_ogforge/preview";

/// Ids one gallery request may ask for on top of the samples: each is a render.
const MAX_QUERY_IDS: usize = 32;

/// Cards one page draws at once: the gallery shares the render permits and queue with served
/// requests, so a page of many cards must not fill the queue and get them refused.
const PAGE_RENDERS: usize = 4;

/// How often the page asks whether the routes changed.
const POLL_MS: u64 = 1000;

/// The page's only script: reload when the routes' digests change (a reload of the config or
/// of a template). Sent as it is and allowed by its hash, so no injected script could run.
const POLL_SCRIPT: &str = r#"(() => {
  const seen = document.body.dataset.version;
  const every = Number(document.body.dataset.pollMs);
  setInterval(async () => {
    try {
      const r = await fetch("/_ogforge/preview/version", { cache: "no-store" });
      if (r.ok && (await r.text()).trim() !== seen) { location.reload(); }
    } catch (_) { /* the server is restarting: ask again next time */ }
  }, every);
})();"#;

/// The page template (`assets/preview.html`), compiled once, HTML auto-escaped.
static PAGE: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // A test renders the page: a broken template fails there, not here.
    let _ = env.add_template("preview.html", assets::PREVIEW_PAGE);
    env
});

/// The gallery's state: the app, and the loopback address Chromium reaches this listener at.
#[derive(Debug, Clone)]
struct PreviewState {
    app: AppState,
    /// `http://127.0.0.1:PORT`, or why Chromium cannot reach this listener.
    loopback: Result<String, String>,
}

impl PreviewState {
    fn app(&self) -> &Arc<App> {
        &self.app.app
    }
}

/// The gallery's routes, for the admin listener bound at `admin` (`None` in tests that drive
/// the router directly: the side-by-side then says it cannot reach the listener).
pub(super) fn router(app: AppState, admin: Option<SocketAddr>) -> Router {
    let loopback = match admin {
        Some(addr) => loopback(addr).map(|a| format!("http://{a}")),
        None => Err("the admin listener's address is unknown".into()),
    };
    Router::new()
        .route(PATH, get(gallery))
        .route(&format!("{PATH}/version"), get(version))
        .route(&format!("{PATH}/image"), get(image))
        .route(&format!("{PATH}/html"), get(html))
        .route(&format!("{PATH}/browser"), get(browser))
        .route(&format!("{PATH}/fonts/{{file}}"), get(font))
        .with_state(PreviewState { app, loopback })
}

/// Where Chromium reaches a listener bound at `addr` without leaving the machine.
fn loopback(addr: SocketAddr) -> Result<SocketAddr, String> {
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

/// A token of every route's name and digest: it changes when a template, the fonts or a
/// route's render options do.
fn routes_version(app: &App) -> String {
    let mut h = Sha256::new();
    for route in app.routes.routes() {
        h.update(route.config.name.as_bytes());
        h.update([0]);
        h.update(route.digest.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

async fn version(State(s): State<PreviewState>) -> Response {
    text(StatusCode::OK, routes_version(s.app()) + "\n")
}

/// A query's parameters: the first `route`, every `id`.
#[derive(Debug, Default)]
struct Query {
    route: Option<String>,
    ids: Vec<String>,
}

impl Query {
    fn parse(uri: &Uri) -> Self {
        let mut q = Self::default();
        for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "route" if q.route.is_none() => q.route = Some(v.into_owned()),
                "id" => q.ids.push(v.into_owned()),
                _ => {}
            }
        }
        q
    }

    /// The named route, or a 400/404 naming the problem.
    fn route(&self, app: &App) -> Result<Arc<Route>, Bad> {
        let Some(name) = &self.route else {
            return Err(Bad(StatusCode::BAD_REQUEST, "route is required".into()));
        };
        (app.routes.by_name(name).cloned())
            .ok_or_else(|| Bad(StatusCode::NOT_FOUND, format!("no route named {name:?}")))
    }

    /// The named route and its id from `id`, or its sample without one.
    fn card(&self, app: &App) -> Result<(Arc<Route>, Id), Bad> {
        let route = self.route(app)?;
        let raw = match (self.ids.first(), &route.config.sample_id) {
            (Some(raw), _) | (None, Some(raw)) => raw,
            (None, None) => {
                let why = "id is required: the route has no sample_id";
                return Err(Bad(StatusCode::BAD_REQUEST, why.into()));
            }
        };
        let id = (route.config.ids.check(raw))
            .map_err(|e| Bad(StatusCode::BAD_REQUEST, format!("invalid id: {e}")))?;
        Ok((route, id))
    }
}

/// A request the gallery cannot answer (the client's mistake): its status and why, as text.
#[derive(Debug)]
struct Bad(StatusCode, String);

impl IntoResponse for Bad {
    fn into_response(self) -> Response {
        text(self.0, format!("{}\n", self.1))
    }
}

/// Where a card's id came from; shown on the page as `sample` or `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Asked {
    /// The route's `sample_id`: the operator's own choice.
    Sample,
    /// The gallery's query: anyone's who reaches the admin listener.
    Query,
}

/// One card of the gallery: what was asked for, and what came of it.
#[derive(Debug, Serialize)]
struct Entry {
    route: String,
    path: String,
    renderer: &'static str,
    /// The id's text as asked (valid or not).
    id: String,
    from: Asked,
    /// The card as a `data:` URI: the page holds what it shows, so one render serves both.
    image: Option<String>,
    /// Why there is no card: the reason code a served request would carry, and the error.
    reason: Option<&'static str>,
    error: Option<String>,
    content_type: &'static str,
    /// Pixels: CSS size times the device scale.
    width: u32,
    height: u32,
    bytes: usize,
    render_ms: Option<String>,
    data_ms: Option<String>,
    /// A data route's declared fields (name, value), or why there are none.
    fields: Vec<(String, String)>,
    data_error: Option<String>,
    /// The `og:`/`twitter:` tags a page with this id would carry.
    tags: String,
    /// The card's own admin links.
    image_link: String,
    html_link: Option<String>,
    /// Chromium's rendering of the same HTML, for `preview_compare` routes.
    compare: Option<String>,
}

impl Entry {
    fn new(route: &Route, id: &str, from: Asked) -> Self {
        let c = &route.config;
        let px = |v: u32| (v as f32 * c.device_scale).round() as u32;
        let link = |what: &str| admin_link(what, &c.name, id);
        let html = matches!(c.engine, Engine::Html);
        Self {
            route: c.name.clone(),
            path: c.path.to_string(),
            renderer: c.engine.name(),
            id: id.to_owned(),
            from,
            image: None,
            reason: None,
            error: None,
            content_type: c.format.content_type(),
            width: px(c.width),
            height: px(c.height),
            bytes: 0,
            render_ms: None,
            data_ms: None,
            fields: Vec::new(),
            data_error: None,
            tags: String::new(),
            image_link: link("image"),
            html_link: html.then(|| link("html")),
            compare: c.preview_compare.then(|| link("browser")),
        }
    }

    fn failed(mut self, reason: Reason, error: String) -> Self {
        self.reason = Some(reason.code());
        self.error = Some(error);
        self.compare = None;
        self
    }
}

/// `/_ogforge/preview/{what}?route=NAME&id=ID`, encoded.
fn admin_link(what: &str, route: &str, id: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("route", route)
        .append_pair("id", id)
        .finish();
    format!("{PATH}/{what}?{query}")
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// What the gallery shows: every route's sample, then the ids asked for.
async fn gallery(State(s): State<PreviewState>, uri: Uri) -> Response {
    let app = Arc::clone(s.app());
    let q = Query::parse(&uri);
    if q.ids.len() > MAX_QUERY_IDS {
        let why = format!("at most {MAX_QUERY_IDS} ids at once\n");
        return text(StatusCode::BAD_REQUEST, why);
    }
    let default_route = match &q.route {
        None => Arc::clone(app.routes.first()),
        Some(_) => match q.route(&app) {
            Ok(route) => route,
            Err(bad) => return bad.into_response(),
        },
    };
    let mut wanted: Vec<(Arc<Route>, String, Asked)> = Vec::new();
    for route in app.routes.routes() {
        if let Some(sample) = &route.config.sample_id {
            wanted.push((Arc::clone(route), sample.clone(), Asked::Sample));
        }
    }
    for raw in &q.ids {
        // Route names are letters, digits, '-' and '_': the first ':' ends one.
        let (route, id) = match raw.split_once(':') {
            Some((name, id)) if app.routes.by_name(name).is_some() => {
                (app.routes.by_name(name).cloned(), id)
            }
            _ => (Some(Arc::clone(&default_route)), raw.as_str()),
        };
        if let Some(route) = route {
            wanted.push((route, id.to_owned(), Asked::Query));
        }
    }
    let without_sample: Vec<String> = (app.routes.routes().iter())
        .filter(|r| r.config.sample_id.is_none())
        .map(|r| r.config.name.clone())
        .collect();
    // Owned futures: a stream of ones borrowing `wanted` is not `Send` to the compiler.
    let entries: Vec<Entry> = futures::stream::iter(wanted)
        .map(|(route, id, from)| {
            let app = Arc::clone(&app);
            async move { entry(&app, &route, &id, from).await }
        })
        .buffered(PAGE_RENDERS)
        .collect()
        .await;
    let page = PAGE.get_template("preview.html").and_then(|t| {
        t.render(context! {
            entries => entries,
            version => routes_version(&app),
            poll_ms => POLL_MS,
            without_sample => without_sample,
            script => Value::from_safe_string(POLL_SCRIPT.to_owned()),
            max_ids => MAX_QUERY_IDS,
        })
    });
    match page {
        Ok(body) => {
            let mut r = (StatusCode::OK, body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(csp) = HeaderValue::from_str(&page_policy()) {
                h.insert(header::CONTENT_SECURITY_POLICY, csp);
            }
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "the preview page did not render");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the preview page did not render (logged)\n".into(),
            )
        }
    }
}

/// The page loads nothing from elsewhere and runs only [`POLL_SCRIPT`].
fn page_policy() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(POLL_SCRIPT));
    format!(
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; \
         script-src 'sha256-{hash}'; connect-src 'self'; base-uri 'none'; form-action 'self'"
    )
}

/// One card of the gallery.
async fn entry(app: &App, route: &Arc<Route>, raw: &str, from: Asked) -> Entry {
    let e = Entry::new(route, raw, from);
    let id = match route.config.ids.check(raw) {
        Ok(id) => id,
        Err(err) => return e.failed(Reason::InvalidId, err.to_string()),
    };
    // A sample is the operator's own choice, so a signed route's page shows its signed URL;
    // an id from the query gets what any request's value gets (the default image there).
    let tags = match from {
        Asked::Sample => route.tags.signed_tags(id.as_str()),
        Asked::Query => route.tags.tags(Some(id.as_str())),
    };
    let mut e = Entry {
        tags: tags.to_html(),
        ..e
    };
    let Preview {
        data,
        data_time,
        image,
        render_time,
    } = app.pipeline.preview(route, &id).await;
    e.data_ms = data_time.map(ms);
    match &data {
        Some(Ok(data)) => {
            e.fields = (data.values().iter())
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect();
        }
        Some(Err(err)) => e.data_error = Some(err.to_string()),
        None => {}
    }
    match image {
        Ok(bytes) => {
            e.render_ms = Some(ms(render_time));
            e.bytes = bytes.len();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            e.image = Some(format!("data:{};base64,{b64}", e.content_type));
            e
        }
        Err(err) => e.failed(err.reason(), err.to_string()),
    }
}

/// `/_ogforge/preview/image`: one card, never stored.
async fn image(State(s): State<PreviewState>, uri: Uri) -> Response {
    let q = Query::parse(&uri);
    let (route, id) = match q.card(s.app()) {
        Ok(card) => card,
        Err(bad) => return bad.into_response(),
    };
    let preview = s.app().pipeline.preview(&route, &id).await;
    match preview.image {
        Ok(bytes) => {
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(route.config.format.content_type()),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(v) = HeaderValue::from_str(&ms(preview.render_time)) {
                h.insert("x-ogforge-render-ms", v);
            }
            r
        }
        Err(e) => failure(&e),
    }
}

/// A card that could not be drawn: its reason in `X-Ogforge-Fallback`, its error as text.
fn failure(e: &RenderError) -> Response {
    let reason = e.reason();
    let status = match reason {
        Reason::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        Reason::DataNotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut r = text(status, format!("{}: {e}\n", reason.code()));
    r.headers_mut().insert(
        "x-ogforge-fallback",
        HeaderValue::from_static(reason.code()),
    );
    r
}

/// `/_ogforge/preview/html`: the template's HTML for Chromium, in a standards-mode page with
/// no body margin (takumi has none) and the bundled fonts declared (Chromium reads only
/// system fonts otherwise). No script runs in it; it may load only this listener's fonts and
/// `data:` images.
async fn html(State(s): State<PreviewState>, uri: Uri) -> Response {
    let q = Query::parse(&uri);
    let (route, id) = match q.card(s.app()) {
        Ok(card) => card,
        Err(bad) => return bad.into_response(),
    };
    if !matches!(route.config.engine, Engine::Html) {
        let why = "a browser route has no template: its page_url is its HTML\n";
        return text(StatusCode::NOT_FOUND, why.into());
    }
    match s.app().pipeline.preview_html(&route, &id).await {
        Ok(card) => {
            let body = format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><style>{}</style></head>\
                 <body>{card}</body></html>",
                chromium_css()
            );
            let mut r = (StatusCode::OK, body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
async fn font(Path(file): Path<String>) -> Response {
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
async fn browser(State(s): State<PreviewState>, uri: Uri) -> Response {
    let q = Query::parse(&uri);
    let (route, id) = match q.card(s.app()) {
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
    match s.app().pipeline.preview_browser(&route, &page, &id).await {
        Ok(bytes) => {
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(route.config.format.content_type()),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => failure(&e),
    }
}

/// Chromium's load of a card from this listener: loopback, a template and the bundled fonts.
const COMPARE_NAVIGATION: Duration = Duration::from_secs(5);

fn text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use super::*;
    use crate::{
        app::Needs,
        config::{Overrides, load},
    };

    /// The page through the admin router (no socket): the embedded route's sample drawn, an
    /// id from the query escaped and refused, the version token in the page.
    #[tokio::test]
    async fn the_page_shows_the_sample_and_escapes_the_query() {
        let config = load(None, &Overrides::default()).unwrap();
        let app = Arc::new(App::build(&config, Needs::NOTHING).unwrap());
        let router = super::super::admin::router(
            AppState {
                app: Arc::clone(&app),
            },
            None,
            None,
        );
        let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
        let r = (router.clone().oneshot(get("/_ogforge/preview?id=%3Cb%3Ex")))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body = axum::body::to_bytes(r.into_body(), 10 << 20).await.unwrap();
        let page = String::from_utf8_lossy(&body);
        assert!(
            page.contains("<img class=\"card\" src=\"data:image/jpeg;base64,"),
            "{page}"
        );
        assert!(
            page.contains("&lt;b&gt;x") && !page.contains("<b>x"),
            "{page}"
        );
        assert!(page.contains("invalid-id"), "{page}");
        assert!(page.contains(&routes_version(&app)));
        // A route without preview_compare has no Chromium side.
        let r = router
            .oneshot(get("/_ogforge/preview/browser?route=default"))
            .await;
        assert_eq!(r.unwrap().status(), StatusCode::NOT_FOUND);
    }

    /// The token the page polls follows the routes' digests: an option that changes the pixels
    /// changes it.
    #[test]
    fn the_version_follows_the_digests() {
        let build = |env: &[(&str, &str)]| {
            let env: Vec<(String, String)> = (env.iter())
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            let config = crate::config::load_with_env(None, &Overrides::default(), &env).unwrap();
            routes_version(&App::build(&config, Needs::NOTHING).unwrap())
        };
        let v = build(&[]);
        assert_eq!(v, build(&[]));
        assert_ne!(v, build(&[("OGFORGE__ROUTES__0__QUALITY", "90")]));
    }

    #[test]
    fn loopback_addresses() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(loopback(a("127.0.0.1:9090")).unwrap(), a("127.0.0.1:9090"));
        assert_eq!(loopback(a("0.0.0.0:9090")).unwrap(), a("127.0.0.1:9090"));
        assert_eq!(loopback(a("[::]:9090")).unwrap(), a("[::1]:9090"));
        assert!(loopback(a("10.0.0.5:9090")).is_err());
    }

    #[test]
    fn links_encode_the_id() {
        assert_eq!(
            admin_link("image", "q", "a&b <c>"),
            "/_ogforge/preview/image?route=q&id=a%26b+%3Cc%3E"
        );
    }
}
