//! The preview gallery, on the admin listener only: what a card author needs while editing a
//! template, without restarts or hand-made requests.
//!
//! - `GET /_ogforge/preview[?route=NAME][&id=[NAME:]ID ...]`: the page (`page.rs`).
//! - `GET /_ogforge/preview/image?route=NAME[&id=ID]`: one card (the sample without `id`).
//! - `GET /_ogforge/preview/version`: a token of the routes' digests; the page polls it and
//!   reloads when a reload of the config or a template changes it.
//! - `GET /_ogforge/preview/{html,browser,fonts/FILE}`: Chromium's side of a `preview_compare`
//!   route (`compare.rs`).
//!
//! Cards are drawn by [`crate::pipeline::Pipeline::preview`]: never stored, never counted as
//! served requests. Handlers here are thin: the query in, the pipeline, a response out.

mod compare;
mod page;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use ogforge_tags::Id;
use sha2::{Digest, Sha256};

use super::AppState;
use crate::{app::App, reason::Reason, render::RenderError, route::Route};

/// The gallery page; its sub-resources live under it.
pub(super) const PATH: &str = "/_ogforge/preview";

/// The gallery's state: the app, and the loopback address Chromium reaches this listener at.
#[derive(Debug, Clone)]
struct PreviewState {
    app: AppState,
    /// `http://127.0.0.1:PORT`, or why Chromium cannot reach this listener.
    loopback: Result<String, String>,
}

impl PreviewState {
    /// The App in place (a reload may have replaced it since the last request); a handler
    /// takes it once, so its route and its pipeline come from one config.
    fn app(&self) -> Arc<App> {
        self.app.app()
    }
}

/// The gallery's routes, for the admin listener bound at `admin` (`None` in tests that drive
/// the router directly: the side-by-side then says it cannot reach the listener).
pub(super) fn router(app: AppState, admin: Option<SocketAddr>) -> Router {
    let loopback = match admin {
        Some(addr) => compare::loopback(addr).map(|a| format!("http://{a}")),
        None => Err("the admin listener's address is unknown".into()),
    };
    Router::new()
        .route(PATH, get(page::gallery))
        .route(&format!("{PATH}/version"), get(version))
        .route(&format!("{PATH}/image"), get(image))
        .route(&format!("{PATH}/html"), get(compare::html))
        .route(&format!("{PATH}/browser"), get(compare::browser))
        .route(&format!("{PATH}/fonts/{{file}}"), get(compare::font))
        .with_state(PreviewState { app, loopback })
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
    text(StatusCode::OK, routes_version(&s.app()) + "\n")
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

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// `/_ogforge/preview/image`: one card, never stored.
async fn image(State(s): State<PreviewState>, uri: Uri) -> Response {
    let q = Query::parse(&uri);
    let app = s.app();
    let (route, id) = match q.card(&app) {
        Ok(card) => card,
        Err(bad) => return bad.into_response(),
    };
    let preview = app.pipeline.preview(&route, &id).await;
    match preview.image {
        Ok(bytes) => {
            let mut r = uncached(bytes, route.config.format.content_type());
            let h = r.headers_mut();
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

/// A 200 that no cache keeps: every preview is rendered for the one who asked.
fn uncached(body: impl IntoResponse, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{app::Needs, config::Overrides};

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
}
