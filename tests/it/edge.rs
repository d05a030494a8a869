//! Edge protection (issue 6): the render cap and its bounded queue.
//!
//! Misses past `render.concurrency` + `render.queue` are refused at once (503 + `Retry-After`,
//! or the default image with reason `overloaded`); cache hits are served all the while.
//! Nothing here waits on a clock: the overload is set up by holding the one render slot with a
//! slow template and watching `/metrics` until the slot (and the queue) is taken.

use std::time::Duration;

use crate::{
    fast::{FAST, fast_route, sign},
    util::{Server, Workdir, default_image, get},
};

const FILE_STORE: &str = "[store]\nurl = \"data\"\n";

/// A slow route (thousands of boxes to lay out) and a fast one, one render slot between them.
fn overload_config(w: &Workdir, queue: usize, overload: &str) {
    w.write(
        "slow.html",
        "<div style=\"display:flex;flex-wrap:wrap;width:256px;height:256px\">\
         {% for i in range(6000) %}<div style=\"width:2px;height:2px;background-color:#{{ \
         ['123', '456', '789'][i % 3] }}\">{{ i }}</div>{% endfor %}</div>",
    );
    w.write(
        "fast.html",
        "<div style=\"display:flex;width:64px;height:32px;background-color:teal\"></div>",
    );
    let route = |name: &str, template: &str| {
        format!(
            "[[routes]]\nname = \"{name}\"\npath = \"/{name}/{{id}}.png\"\nid_pattern = \"[0-9]+\"\n\
             format = \"png\"\nwidth = 256\nheight = 256\ntemplate = \"{template}\"\n"
        )
    };
    w.config(&format!(
        "{FILE_STORE}[render]\nconcurrency = 1\nqueue = {queue}\noverload = \"{overload}\"\n\
         timeout_ms = 600000\n{}{}",
        route("slow", "slow.html"),
        route("fast", "fast.html"),
    ));
}

/// Polls `/metrics` until `name` reaches `at_least` (bounded: 600 polls).
async fn wait_for_metric(s: &Server, name: &str, at_least: f64) {
    for _ in 0..600 {
        if s.metric(name, &[]).await >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{name} never reached {at_least}");
}

/// Holds the render slot (and `queued` places in the queue) with slow renders, then sends a
/// burst of distinct slow ids and one hit; returns (held replies, burst replies, hit reply).
async fn overload(
    s: &Server,
    queued: usize,
) -> (
    Vec<crate::util::Reply>,
    Vec<crate::util::Reply>,
    crate::util::Reply,
) {
    let hit_url = s.url("/fast/7.png");
    let stored = get(&hit_url).await;
    assert_eq!(stored.status, 200);
    assert_eq!(stored.header("x-ogforge-tier"), "render");

    let mut held = Vec::new();
    let first = tokio::spawn(get_owned(s.url("/slow/1.png")));
    wait_for_metric(s, "ogforge_renders_in_flight", 1.0).await;
    held.push(first);
    for i in 0..queued {
        held.push(tokio::spawn(get_owned(
            s.url(&format!("/slow/{}.png", 100 + i)),
        )));
        wait_for_metric(s, "ogforge_renders_queued", (i + 1) as f64).await;
    }
    let burst: Vec<_> = (0..6)
        .map(|i| tokio::spawn(get_owned(s.url(&format!("/slow/{}.png", 1000 + i)))))
        .collect();
    let hit = get(&hit_url).await;
    let mut burst_replies = Vec::new();
    for b in burst {
        burst_replies.push(b.await.unwrap());
    }
    let mut held_replies = Vec::new();
    for h in held {
        held_replies.push(h.await.unwrap());
    }
    (held_replies, burst_replies, hit)
}

async fn get_owned(url: String) -> crate::util::Reply {
    get(&url).await
}

#[tokio::test]
async fn a_full_render_queue_is_503_with_retry_after_and_hits_keep_flowing() {
    let w = Workdir::new();
    overload_config(&w, 1, "unavailable");
    let s = w.serve();
    let (held, burst, hit) = overload(&s, 1).await;

    assert_eq!(hit.status, 200, "a cache hit is never refused");
    assert_eq!(hit.header("x-ogforge-tier"), "memory");
    for r in &held {
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-ogforge-tier"), "render");
    }
    let refused: Vec<_> = burst.iter().filter(|r| r.status == 503).collect();
    assert!(
        burst.iter().all(|r| r.status == 200 || r.status == 503),
        "statuses: {:?}",
        burst.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(!refused.is_empty(), "no burst request was refused");
    for r in &refused {
        assert_eq!(r.header("retry-after"), "1");
        assert_eq!(r.header("cache-control"), "no-store");
        assert_eq!(r.header("x-ogforge-fallback"), "overloaded");
    }
    let counted = s
        .metric(
            "ogforge_http_requests_total",
            &[("route", "slow"), ("status", "503")],
        )
        .await;
    assert_eq!(counted, refused.len() as f64);
    assert_eq!(s.metric("ogforge_renders_queued", &[]).await, 0.0);
    // Refused renders are never stored: only what was rendered is on disk.
    let rendered = held.len() + burst.iter().filter(|r| r.status == 200).count() + 1;
    assert_eq!(w.stored().len(), rendered, "{:?}", w.stored());
}

#[tokio::test]
async fn a_full_render_queue_can_answer_with_the_default_image() {
    let w = Workdir::new();
    overload_config(&w, 0, "default-image");
    let s = w.serve();
    let (held, burst, hit) = overload(&s, 0).await;

    assert_eq!(hit.status, 200);
    assert_eq!(hit.header("x-ogforge-tier"), "memory");
    assert_eq!(held[0].status, 200);
    assert!(burst.iter().all(|r| r.status == 200));
    let fallbacks: Vec<_> = burst
        .iter()
        .filter(|r| r.header("x-ogforge-fallback") == "overloaded")
        .collect();
    assert!(!fallbacks.is_empty(), "no burst request was refused");
    for r in &fallbacks {
        assert_eq!(r.body, default_image());
        assert_eq!(r.header("cache-control"), "public, max-age=60, s-maxage=60");
    }
    assert_eq!(
        s.metric("ogforge_fallbacks_total", &[("reason", "overloaded")])
            .await,
        fallbacks.len() as f64
    );
}

#[tokio::test]
async fn signed_routes_accept_valid_signatures_of_old_and_new_keys_and_refuse_others() {
    const OLD: &str = "old-signing-key-0123456789";
    const NEW: &str = "new-signing-key-0123456789";
    let w = Workdir::new();
    w.write(
        "fast.html",
        "<div style=\"display:flex;width:64px;height:32px;background-color:teal\"></div>",
    );
    w.config(&format!(
        "{FILE_STORE}[[routes]]\nname = \"s\"\npath = \"/s/{{id}}.png\"\nid_pattern = \"[0-9]+\"\n\
         format = \"png\"\nwidth = 64\nheight = 32\ntemplate = \"fast.html\"\nsigned = true\n\
         [[routes]]\nname = \"open\"\npath = \"/open/{{id}}.png\"\nid_pattern = \"[0-9]+\"\n\
         format = \"png\"\nwidth = 64\nheight = 32\ntemplate = \"fast.html\"\n"
    ));
    let by_old = sign(&w, "/s/1.png", OLD);
    let by_new = sign(&w, "/s/1.png", &format!("{NEW},{OLD}"));
    assert!(by_old.starts_with("/s/1.png?sig="), "{by_old}");
    assert_ne!(by_old, by_new);
    let s = w.serve_with(&[], &[("OGFORGE_SIGNING_KEYS", &format!("{NEW},{OLD}"))]);

    // Rotation: a signature by the old key and one by the new key both pass.
    for signed in [&by_old, &by_new] {
        let r = get(&s.url(signed)).await;
        assert_eq!(r.status, 200, "{signed}");
        assert_eq!(r.header("content-type"), "image/png");
    }
    // Unsigned, a signature moved to another id, a flipped digit, an empty one: 403.
    let sig = by_new.split_once("?sig=").unwrap().1;
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { '1' } else { '0' },
        &sig[1..]
    );
    for bad in [
        "/s/1.png".to_owned(),
        format!("/s/2.png?sig={sig}"),
        format!("/s/1.png?sig={flipped}"),
        "/s/1.png?sig=".to_owned(),
    ] {
        let r = get(&s.url(&bad)).await;
        assert_eq!(r.status, 403, "{bad}");
        assert!(!String::from_utf8_lossy(&r.body).contains(sig));
    }
    // Unsigned routes need no signature and take no `sig`.
    assert_eq!(get(&s.url("/open/1.png")).await.status, 200);
    assert_eq!(
        get(&s.url(&format!("/open/1.png?sig={sig}"))).await.status,
        400
    );
}

#[tokio::test]
async fn sigterm_during_a_render_completes_the_response_and_stores_it_whole() {
    let w = Workdir::new();
    overload_config(&w, 4, "unavailable");
    let s = w.serve();
    let url = s.url("/slow/5.png");
    let request = tokio::spawn(async move { get(&url).await });
    wait_for_metric(&s, "ogforge_renders_in_flight", 1.0).await;
    let log = tokio::task::spawn_blocking(move || s.stop()).await.unwrap();
    let r = request.await.unwrap();
    assert_eq!(r.status, 200, "{log}");
    assert_eq!(r.header("x-ogforge-tier"), "render");
    assert!(log.contains("shutting down"), "{log}");
    let stored = w.stored();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        std::fs::read(w.path().join("data").join(&stored[0])).unwrap(),
        r.body
    );
}

#[tokio::test]
async fn a_bad_signature_can_get_the_default_image() {
    let w = Workdir::new();
    w.write(
        "fast.html",
        "<div style=\"display:flex;width:64px;height:32px;background-color:teal\"></div>",
    );
    w.config(&format!(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\nbad_signature = \"default-image\"\n\
         {FILE_STORE}[[routes]]\nname = \"s\"\npath = \"/s/{{id}}.png\"\nid_pattern = \"[0-9]+\"\n\
         format = \"png\"\nwidth = 64\nheight = 32\ntemplate = \"fast.html\"\nsigned = true\n"
    ));
    let s = w.serve_with(&[], &[("OGFORGE_SIGNING_KEYS", "a-signing-key-0123456789")]);
    let r = get(&s.url("/s/1.png?sig=00")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, default_image());
    assert_eq!(r.header("x-ogforge-fallback"), "bad-signature");
    assert_eq!(r.header("cache-control"), "public, max-age=60, s-maxage=60");
    assert!(w.stored().is_empty());
}

/// `ogforge sign PATH` that is expected to fail: its stderr.
fn sign_fails(w: &Workdir, path: &str) -> String {
    let out = std::process::Command::new(crate::util::BIN)
        .args(["sign", "-c", "ogforge.toml", path])
        .current_dir(w.path())
        .env("OGFORGE_SIGNING_KEYS", "a-signing-key-0123456789")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

/// Issue 11: `ogforge sign` signs the canonical path, whether PATH is typed as text or encoded
/// in any spelling, and that one signature verifies every spelling of the request.
#[tokio::test]
async fn sign_signs_the_canonical_path_of_free_text_and_every_spelling_verifies() {
    const KEY: &str = "free-text-signing-key-0123456789";
    let w = Workdir::new();
    w.write("fast.html", FAST);
    w.config(&format!(
        "{FILE_STORE}{}{}",
        fast_route("q", ".+", true),
        fast_route("open", "[0-9]+", false)
    ));
    let typed = sign(&w, "/q/Hello, world!.png", KEY);
    let (canonical, sig) = typed.split_once("?sig=").unwrap();
    assert_eq!(canonical, "/q/Hello%2C%20world%21.png");
    for spelling in ["/q/Hello%2C%20world%21.png", "/q/Hello%2c%20world!.png"] {
        assert_eq!(sign(&w, spelling, KEY), typed, "{spelling}");
    }
    assert_eq!(
        sign(&w, "/q/Café 100%25.png", KEY),
        sign(&w, "/q/Caf%C3%A9%20100%25.png", KEY)
    );
    let s = w.serve_with(&[], &[("OGFORGE_SIGNING_KEYS", KEY)]);
    let first = get(&s.url(&typed)).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-ogforge-tier"), "render");
    let other = get(&s.url(&format!("/q/Hello%2c%20world!.png?sig={sig}"))).await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("x-ogforge-tier"), "memory");
    // Not another id, whatever the spelling.
    let r = get(&s.url(&format!("/q/Hello%2C%20world%3F.png?sig={sig}"))).await;
    assert_eq!(r.status, 403);
    // What sign refuses rather than print a URL that would not be served.
    assert!(sign_fails(&w, "/q/a%00b.png").contains("routes[0]"));
    assert!(sign_fails(&w, "/q/a%zz.png").contains("invalid-id"));
    assert!(sign_fails(&w, "/open/1.png").contains("not signed"));
    assert!(sign_fails(&w, "/nowhere").contains("no route"));
    assert!(sign_fails(&w, "/q/a.png?sig=1").contains("query"));
}
