//! `ogforge proxy` (issue 11): where the tags go in the page, what the proxy logs, and signed
//! routes, against the real upstream of `proxy.rs`.

use crate::{
    fast::{FAST, fast_route},
    proxy::{PUBLIC, late_charset_page, metas, start_proxy_with, start_upstream},
    util::{Workdir, client, free_port, send},
};

/// Issue 11: the tags go after the head's `<meta charset>`, so the declaration stays where
/// upstream put it, inside the first 1024 bytes a browser scans for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tags_follow_the_charset_declaration_which_stays_in_the_first_1024_bytes() {
    let (up, _state) = start_upstream().await;
    let w = Workdir::new();
    let p = start_proxy_with(&w, &up, "", &[]);
    let r = send(client().get(format!("{}/charset?social=12-34-10", p.base))).await;
    assert_eq!(r.status, 200);
    let page = String::from_utf8(r.body).unwrap();
    let charset = "<meta charset=\"utf-8\">";
    let at = page.find(charset).unwrap();
    assert_eq!(at, late_charset_page().find(charset).unwrap(), "{page}");
    assert!(at + charset.len() <= 1024, "{at}");
    let og = page.find("og:image").unwrap();
    assert!(og > at, "{page}");
    assert_eq!(metas(&page, "og:image"), [format!("{PUBLIC}/12-34-10.jpg")]);
}

/// Issue 11: an upstream failure is logged without the visitor's path or query (reqwest's
/// message holds the whole URL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_are_logged_without_the_visitors_query() {
    let w = Workdir::new();
    let down = format!("http://127.0.0.1:{}", free_port());
    let p = start_proxy_with(&w, &down, "", &[]);
    let r = send(client().get(format!(
        "{}/private-page?social=12-34-10&token=hunter2-secret",
        p.base
    )))
    .await;
    assert_eq!(r.status, 502);
    drop(p);
    let log = std::fs::read_to_string(w.path().join("proxy.log")).unwrap();
    assert!(log.contains("upstream unreachable"), "{log}");
    for secret in ["hunter2-secret", "token", "private-page", "social="] {
        assert!(!log.contains(secret), "{secret} was logged:\n{log}");
    }
}

const KEY: &str = "proxy-signing-key-0123456789";

/// Issue 11: on a signed route the proxy's tags carry `?sig=`: the id's own signed URL when the
/// page's link carries its signature (`social_sig`, as `ogforge sign` prints it), else the
/// signed default image. The query is anyone's to write, so a value alone is never signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_route_gets_signed_tags_only_for_a_link_that_carries_the_signature() {
    let (up, _state) = start_upstream().await;
    let w = Workdir::new();
    w.write("fast.html", FAST);
    let routes = fast_route("q", ".+", true);
    let p = start_proxy_with(&w, &up, &routes, &[("OGFORGE_SIGNING_KEYS", KEY)]);
    let keys = ogforge_tags::Keys::from_list(KEY).unwrap();
    let path = "/q/Hello%2C%20world%21.png";
    let sig = keys.sign(path);
    let image = |q: &str| {
        let url = format!("{}/page?{q}", p.base);
        async move {
            let page = String::from_utf8(send(client().get(url)).await.body).unwrap();
            metas(&page, "og:image")
        }
    };
    let signed = format!("{PUBLIC}{path}?sig={sig}");
    let text = "social=Hello%2C%20world%21";
    assert_eq!(image(&format!("{text}&social_sig={sig}")).await, [signed]);
    let default = format!("{PUBLIC}/q/.png?sig={}", keys.sign("/q/.png"));
    for q in [
        text.to_owned(),
        format!("{text}&social_sig=00"),
        format!("social=Hello%2C%20world%3F&social_sig={sig}"),
    ] {
        assert_eq!(image(&q).await, std::slice::from_ref(&default), "{q}");
    }
}
