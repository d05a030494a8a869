//! Hostile paths: no 5xx, no panic, nothing reflected, nothing stored.

use crate::{
    fast::{FAST, fast_route},
    util::{Server, Workdir, client, default_image, get, send},
};

#[tokio::test]
async fn naughty_paths_never_get_a_5xx_or_their_own_text_back() {
    let w = Workdir::new();
    w.config("[store]\nurl = \"data\"\n");
    let s = w.serve();
    let naughty = [
        "/<script>alert(1)<%2Fscript>.jpg",
        "/%3Cscript%3E.jpg",
        "/..%2F..%2Fetc%2Fpasswd.jpg",
        "/../../etc/passwd",
        "/12-34-10.jpg%00.png",
        "/12-34-10%0d%0aSet-Cookie:%20x=1.jpg",
        "/%E2%80%AE01-02-03.jpg",
        "/12-34-10.jpg/",
        "//12-34-10.jpg",
        "/12-34-10.JPG",
        "/' OR 1=1 --.jpg",
        "/${jndi:ldap:%2F%2Fx}.jpg",
        "/１２-３４-１０.jpg",
        "/12-34-10.jpg;.png",
    ];
    for path in naughty {
        let r = send(client().get(s.url(path))).await;
        assert!(r.status < 500, "{path}: {}", r.status);
        for (name, value) in &r.headers {
            let v = value.to_str().unwrap_or("");
            assert!(
                !v.contains("script") && !v.contains("passwd") && !v.contains("Cookie"),
                "{path}: header {name} reflects input: {v}"
            );
        }
        assert!(
            !String::from_utf8_lossy(&r.body).contains("<script"),
            "{path}"
        );
        assert_ne!(r.header("x-ogforge-tier"), "render", "{path}");
    }
    assert!(w.stored().is_empty(), "{:?}", w.stored());
}

const KEY: &str = "hostile-signing-key-0123456789";

/// A signed route whose ids may be any text (`.+`), on a plain box: which id a request is
/// matters here (its key, its log line), not what is drawn.
fn free_text_route(w: &Workdir) -> Server {
    w.write("fast.html", FAST);
    w.config(&format!(
        "[store]\nurl = \"data\"\n{}",
        fast_route("q", ".+", true)
    ));
    w.serve_with(&["--log-format", "json"], &[("OGFORGE_SIGNING_KEYS", KEY)])
}

/// `sent` (the path as a client spells it) with the signature of `canonical`.
fn signed(s: &Server, sent: &str, canonical: &str) -> String {
    let sig = ogforge_tags::Keys::from_list(KEY).unwrap().sign(canonical);
    s.url(&format!("{sent}?sig={sig}"))
}

/// The `id` of each access line, in order.
fn logged_ids(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["fields"]["id"].as_str().map(str::to_owned))
        .collect()
}

/// Issue 11: ids are percent-decoded once, the decoded text is the id (what the template gets,
/// what is logged), and every spelling of one id is one key; a `%2F` stays inside its segment.
#[tokio::test]
async fn ids_are_percent_decoded_once_and_every_spelling_is_one_id() {
    let w = Workdir::new();
    let s = free_text_route(&w);
    // (as sent, canonical path, the id's text, tier: a second spelling is a hit)
    let cases = [
        (
            "/q/Hello%20world.png",
            "/q/Hello%20world.png",
            "Hello world",
            "render",
        ),
        (
            "/q/Hello%2C%20world%21.png",
            "/q/Hello%2C%20world%21.png",
            "Hello, world!",
            "render",
        ),
        (
            "/q/Hello%2c%20world!.png",
            "/q/Hello%2C%20world%21.png",
            "Hello, world!",
            "memory",
        ),
        ("/q/Caf%C3%A9.png", "/q/Caf%C3%A9.png", "Café", "render"),
        ("/q/Caf%c3%a9.png", "/q/Caf%C3%A9.png", "Café", "memory"),
        ("/q/%2520.png", "/q/%2520.png", "%20", "render"),
        ("/q/%20.png", "/q/%20.png", " ", "render"),
        ("/q/AC%2FDC.png", "/q/AC%2FDC.png", "AC/DC", "render"),
    ];
    for (sent, canonical, _, tier) in cases {
        let r = get(&signed(&s, sent, canonical)).await;
        assert_eq!(r.status, 200, "{sent}");
        assert_eq!(r.header("content-type"), "image/png", "{sent}");
        assert_eq!(r.header("x-ogforge-tier"), tier, "{sent}");
    }
    let log = s.stop();
    let texts: Vec<&str> = cases.iter().map(|c| c.2).collect();
    assert_eq!(logged_ids(&log), texts, "{log}");
    // One object per id, each one segment under its route and digest: the decoded `/` did not
    // make a folder, and object_store escapes the canonical form's `%` once more.
    let stored = w.stored();
    assert_eq!(stored.len(), 6, "{stored:?}");
    for key in &stored {
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!((parts.len(), parts[0]), (3, "q"), "{key}");
    }
    let names: Vec<&str> = stored.iter().filter_map(|k| k.rsplit('/').next()).collect();
    assert!(names.contains(&"AC%252FDC.png"), "{names:?}");
    assert!(names.contains(&"%252520.png"), "{names:?}");
}

/// Issue 11: NUL, line breaks, bidi controls and dot segments are refused after decoding, even
/// under a valid signature; escapes that do not decode (overlong UTF-8, bad hex, a literal `/`)
/// have no canonical path, so no signature is theirs. Nothing is rendered or stored.
#[tokio::test]
async fn nul_controls_dot_segments_and_malformed_escapes_never_reach_a_card() {
    let w = Workdir::new();
    let s = free_text_route(&w);
    for (sent, canonical) in [
        ("/q/%00.png", "/q/%00.png"),
        (
            "/q/a%0D%0ASet-Cookie:%20x.png",
            "/q/a%0D%0ASet-Cookie%3A%20x.png",
        ),
        ("/q/%E2%80%AEgnp.png", "/q/%E2%80%AEgnp.png"),
        ("/q/%2E%2E.png", "/q/...png"),
        ("/q/%2e.png", "/q/..png"),
    ] {
        let r = get(&signed(&s, sent, canonical)).await;
        assert_eq!(r.status, 200, "{sent}");
        assert_eq!(r.header("x-ogforge-fallback"), "invalid-id", "{sent}");
        assert_eq!(r.body, default_image(), "{sent}");
    }
    for sent in [
        "/q/%C0%AF.png",
        "/q/%E0%80%AE.png",
        "/q/%zz.png",
        "/q/a/b.png",
        "/q/%.png",
    ] {
        let r = get(&signed(&s, sent, sent)).await;
        assert_eq!(r.status, 403, "{sent}");
    }
    assert!(w.stored().is_empty(), "{:?}", w.stored());
}

/// Issue 11: on an unsigned token route, escaped spellings of a valid id are that id (one key,
/// one ETag); an escaped NUL or slash is an invalid id.
#[tokio::test]
async fn escaped_spellings_of_a_token_id_are_that_id() {
    let w = Workdir::new();
    w.config("[store]\nurl = \"data\"\n");
    let s = w.serve();
    let plain = get(&s.url("/12-34-10.jpg")).await;
    assert_eq!(plain.header("x-ogforge-tier"), "render");
    for spelling in ["/%31%32-34-10.jpg", "/12%2D34%2d10.jpg"] {
        let r = get(&s.url(spelling)).await;
        assert_eq!(r.header("x-ogforge-tier"), "memory", "{spelling}");
        assert_eq!(r.header("etag"), plain.header("etag"), "{spelling}");
    }
    for bad in ["/12-34-10%00.jpg", "/12%2F34-10.jpg", "/12-34-10%2.jpg"] {
        let r = get(&s.url(bad)).await;
        assert_eq!(r.header("x-ogforge-fallback"), "invalid-id", "{bad}");
    }
    assert_eq!(w.stored().len(), 1, "{:?}", w.stored());
}
