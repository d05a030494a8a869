//! The gallery page, `GET /_ogforge/preview[?route=NAME][&id=[NAME:]ID ...]`: every route's
//! sample id and the ids asked for (a bare `ID` belongs to `route`, else to the first route),
//! each with its card, size, bytes and render time, the fallback reason and error instead of the
//! card when there is none, the tags a page would get, and a data route's fields; Chromium's
//! rendering beside a `preview_compare` route's card. Everything from a request or a template
//! error is escaped (minijinja's HTML auto-escape), and the page loads nothing from elsewhere.

use std::sync::{Arc, LazyLock};

use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use futures::StreamExt;
use minijinja::{AutoEscape, Environment, Value, context};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{PATH, PreviewState, Query, ms, routes_version, text, uncached};
use crate::{app::App, assets, config::Engine, pipeline::Preview, reason::Reason, route::Route};

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

/// What the gallery shows: every route's sample, then the ids asked for.
pub(super) async fn gallery(State(s): State<PreviewState>, uri: Uri) -> Response {
    let app = s.app();
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
            let mut r = uncached(body, "text/html; charset=utf-8");
            let h = r.headers_mut();
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use super::*;
    use crate::{
        app::Needs,
        config::{Overrides, load},
        http::AppState,
    };

    /// The page through the admin router (no socket): the embedded route's sample drawn, an
    /// id from the query escaped and refused, the version token in the page.
    #[tokio::test]
    async fn the_page_shows_the_sample_and_escapes_the_query() {
        let config = load(None, &Overrides::default()).unwrap();
        let app = Arc::new(App::build(&config, Needs::NOTHING).unwrap());
        let router = crate::http::admin::router(AppState::from(Arc::clone(&app)), None, None);
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

    #[test]
    fn links_encode_the_id() {
        assert_eq!(
            admin_link("image", "q", "a&b <c>"),
            "/_ogforge/preview/image?route=q&id=a%26b+%3Cc%3E"
        );
    }
}
