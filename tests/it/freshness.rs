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

/// Post 1 of a route with a 1 s TTL, rendered once with `title`; then `change` is applied
/// to the API, and the card is requested every 250 ms until `asked` (what the API saw) says
/// the expired document was fetched again (at most 30 s). Every reply, and one more after,
/// must be the first card, the last from memory.
async fn same_card_past_the_ttl(title: &str, change: impl Fn(&Api), asked: impl Fn(&Api) -> bool) {
    let api = Api::default();
    *api.title.lock().unwrap() = title.into();
    let (_w, server) = serve(&api.start(), "ttl_secs = 1\n");
    let first = fetch(&server, "/p/1.png").await;
    assert_eq!(first.header("x-ogforge-tier"), "render");
    change(&api);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !asked(&api) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let r = fetch(&server, "/p/1.png").await;
        assert_eq!(r.header("x-ogforge-fallback"), "", "a fallback");
        assert_eq!(r.header("etag"), first.header("etag"));
    }
    assert!(asked(&api), "the API was never asked again");
    let r = fetch(&server, "/p/1.png").await;
    assert_eq!(r.header("etag"), first.header("etag"));
    assert_eq!(r.header("x-ogforge-tier"), "memory");
}

/// Past the TTL, an API that fails keeps the card it had (its last good document stands in).
#[tokio::test]
async fn a_failing_api_keeps_the_last_good_card() {
    // The first card cost the API one request; a second means the expired one was asked for.
    same_card_past_the_ttl(
        "Hello",
        |api| api.down.store(true, Ordering::SeqCst),
        |api| api.hits.load(Ordering::SeqCst) > 1,
    )
    .await;
}

/// Past the TTL the document is revalidated: a 304 keeps the card, without the body.
#[tokio::test]
async fn an_unchanged_document_is_revalidated_not_refetched() {
    same_card_past_the_ttl(
        "Same",
        |_| {},
        |api| api.not_modified.load(Ordering::SeqCst) > 0,
    )
    .await;
}
