//! Freshness of data routes (issue 12) against the loopback API of [`crate::data`]: an edit
//! within the TTL, `ogforge purge`, revalidation past the TTL, and the last good document
//! standing in while the API fails.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use crate::{
    data::{Api, fetch, serve},
    util::{client, send},
};

/// Within the TTL an edit does not show; `ogforge purge` makes it show at once, and the admin
/// endpoint refuses what does not name a route's valid id.
#[tokio::test]
async fn purge_makes_an_edit_show_at_once() {
    let api = Api::default();
    *api.title.lock().unwrap() = "Before".into();
    let (w, server) = serve(&api.start(), "");
    let first = fetch(&server, "/p/1.png").await;
    assert_eq!(first.header("x-ogforge-tier"), "render");
    *api.title.lock().unwrap() = "After".into();
    let cached = fetch(&server, "/p/1.png").await;
    assert_eq!(cached.header("etag"), first.header("etag"));
    assert_eq!(cached.header("x-ogforge-tier"), "memory");

    let (code, out, err) = w.run(&["purge", "post", "1", "--admin", &server.admin], None);
    assert_eq!(code, 0, "{out}{err}");
    let after = fetch(&server, "/p/1.png").await;
    assert_eq!(after.header("x-ogforge-tier"), "render");
    assert_ne!(after.header("etag"), first.header("etag"));

    let c = client();
    for (query, status) in [
        ("route=post&id=x", 400),
        ("route=nope&id=1", 404),
        ("id=1", 400),
    ] {
        let url = format!("{}/_ogforge/purge?{query}", server.admin);
        assert_eq!(send(c.post(url)).await.status, status, "{query}");
    }
    let (code, _, err) = w.run(&["purge", "post", "x", "--admin", &server.admin], None);
    assert_ne!(code, 0);
    assert!(err.contains("400"), "{err}");
}

/// Past the TTL, an API that fails keeps the card it had (its last good document stands in),
/// and is asked again on each miss of the cache.
#[tokio::test]
async fn a_failing_api_keeps_the_last_good_card() {
    let api = Api::default();
    *api.title.lock().unwrap() = "Hello".into();
    let (_w, server) = serve(&api.start(), "ttl_secs = 1\n");
    let first = fetch(&server, "/p/1.png").await;
    assert_eq!(first.header("x-ogforge-tier"), "render");
    let asked = api.hits.load(Ordering::SeqCst);
    api.down.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    // Until the TTL has passed and the API was asked again (and failed), then once more.
    while api.hits.load(Ordering::SeqCst) == asked && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let r = fetch(&server, "/p/1.png").await;
        assert_eq!(
            r.header("x-ogforge-fallback"),
            "",
            "a fallback while the API is down"
        );
    }
    assert!(
        api.hits.load(Ordering::SeqCst) > asked,
        "the API was never asked again"
    );
    let r = fetch(&server, "/p/1.png").await;
    assert_eq!(r.header("etag"), first.header("etag"));
    assert_eq!(r.header("x-ogforge-tier"), "memory");
}

/// Past the TTL the document is revalidated: a 304 keeps the card, without the body.
#[tokio::test]
async fn an_unchanged_document_is_revalidated_not_refetched() {
    let api = Api::default();
    *api.title.lock().unwrap() = "Same".into();
    let (_w, server) = serve(&api.start(), "ttl_secs = 1\n");
    let first = fetch(&server, "/p/1.png").await;
    assert_eq!(first.header("x-ogforge-tier"), "render");
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.not_modified.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let r = fetch(&server, "/p/1.png").await;
        assert_eq!(r.header("etag"), first.header("etag"));
    }
    assert!(
        api.not_modified.load(Ordering::SeqCst) > 0,
        "never revalidated"
    );
    let r = fetch(&server, "/p/1.png").await;
    assert_eq!(r.header("etag"), first.header("etag"));
    assert_eq!(r.header("x-ogforge-tier"), "memory");
}
