//! The router as a function (`oneshot`, no socket): resolution (match, query allow-list, id
//! validation, signature) and the edge guard, each seen in the response, and one route lookup
//! per request.

use std::sync::Arc;

use axum::{
    body::Body,
    http::{Request, StatusCode},
    response::Response,
};
use tower::ServiceExt;

use crate::{
    app::{App, Needs},
    config::{Config, Overrides, load},
    resolve::Resolver,
    route::test_seam,
    signing::{self, Keys},
};

const KEY: &str = "router-test-signing-key-0123";

/// Two small routes: `/{id}.jpg` and a signed `/s/{id}.png`.
fn config() -> Config {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ogforge.toml");
    std::fs::write(
        dir.path().join("fast.html"),
        "<div style=\"display:flex;width:64px;height:32px;background-color:teal\"></div>",
    )
    .unwrap();
    std::fs::write(
        &file,
        "[[routes]]\nname = \"default\"\npath = \"/{id}.jpg\"\ntemplate = \"fast.html\"\n\
         id_pattern = \"^[0-9]{2}-[0-9]{2}-[0-9]{2}$\"\nwidth = 64\nheight = 32\n\
         [[routes]]\nname = \"s\"\npath = \"/s/{id}.png\"\nid_pattern = \"[0-9]+\"\n\
         format = \"png\"\nwidth = 64\nheight = 32\ntemplate = \"fast.html\"\nsigned = true\n",
    )
    .unwrap();
    load(Some(&file), &Overrides::default()).unwrap()
}

fn keys() -> Keys {
    signing::from_env("TEST_KEYS", Some(KEY)).unwrap()
}

/// The app with the signing key set by hand (the process environment is not the test's).
fn app() -> Arc<App> {
    let config = config();
    let mut app = App::build(&config, Needs::NOTHING).unwrap();
    app.resolver = Resolver::new(
        Arc::clone(&app.routes),
        config.server.ignored_query_params.clone(),
        Some(keys()),
        Vec::new(),
    );
    Arc::new(app)
}

async fn send(app: &Arc<App>, method: &str, uri: &str) -> Response {
    let router = super::router(Arc::clone(app), &config().server);
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    router.oneshot(req).await.unwrap()
}

fn header<'r>(r: &'r Response, name: &str) -> &'r str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "current_thread")]
async fn a_request_is_matched_once() {
    let app = app();
    for uri in [
        "/12-34-10.jpg",
        "/12-34-10.jpg",
        "/nope.jpg",
        "/s/1.png?sig=00",
    ] {
        let before = test_seam::finds();
        let r = send(&app, "GET", uri).await;
        assert_eq!(test_seam::finds() - before, 1, "{uri}: {:?}", r.status());
    }
    // The guard refuses before any route work.
    let before = test_seam::finds();
    send(&app, "POST", "/12-34-10.jpg").await;
    assert_eq!(test_seam::finds(), before);
}

#[tokio::test(flavor = "current_thread")]
async fn resolve_matches_validates_and_allows_listed_queries() {
    let app = app();
    let r = send(&app, "GET", "/12-34-10.jpg").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "x-ogforge-tier"), "render");
    let r = send(&app, "GET", "/12-34-10.jpg?v=2").await;
    assert_eq!(header(&r, "x-ogforge-tier"), "memory");
    let r = send(&app, "GET", "/12-34-10.jpg?x=1").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = send(&app, "GET", "/nope.jpg").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "x-ogforge-fallback"), "invalid-id");
    let r = send(&app, "GET", "/no/such/path").await;
    assert_eq!(header(&r, "x-ogforge-fallback"), "unknown-route");
    // An unknown path with a query no route takes is refused, not served.
    let r = send(&app, "GET", "/no/such/path?x=1").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "current_thread")]
async fn resolve_checks_signatures_before_the_id() {
    let app = app();
    let sig = keys().sign("/s/7.png");
    let r = send(&app, "GET", &format!("/s/7.png?sig={sig}")).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.headers());
    assert_eq!(header(&r, "content-type"), "image/png");
    for uri in ["/s/7.png", "/s/8.png?sig=00", "/s/x.png"] {
        let r = send(&app, "GET", uri).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{uri}");
    }
    // `sig` is allowed only where it is checked.
    let r = send(&app, "GET", &format!("/12-34-10.jpg?sig={sig}")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "current_thread")]
async fn guard_refusals_are_answered_like_every_outcome() {
    let app = app();
    let r = send(&app, "DELETE", "/12-34-10.jpg").await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&r, "allow"), "GET, HEAD");
    assert_eq!(header(&r, "cache-control"), "no-store");
    let long = format!("/{}.jpg", "1".repeat(3000));
    assert_eq!(
        send(&app, "GET", &long).await.status(),
        StatusCode::URI_TOO_LONG
    );
}
