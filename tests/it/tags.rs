//! `GET /_ogforge/tags` (DESIGN.md mission 9): the tags for an id as JSON or HTML, from the
//! configured public URL, with nothing of a hostile value reflected.

use crate::{
    fast::{FAST, fast_route, sign},
    util::{EMBEDDED_ID, Workdir, client, default_image, get, send},
};

const FILE_STORE: &str = "[store]\nurl = \"data\"\n";

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

#[tokio::test]
async fn a_valid_id_gives_its_image_url_under_the_bound_address_by_default() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let r = get(&s.url(&format!("/_ogforge/tags?id={EMBEDDED_ID}"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    let v = json(&r.body);
    let expected = s.url(&format!("/{EMBEDDED_ID}.jpg"));
    assert_eq!(v["image_url"], expected.as_str());
    assert_eq!(v["route"], "default");
    assert_eq!(v["default"], false);
    assert_eq!(v["id"], EMBEDDED_ID);
    let keys: Vec<&str> = v["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["property"].as_str().or(t["name"].as_str()).unwrap())
        .collect();
    // http: no og:image:secure_url; the route's alt text (default "Social card").
    assert_eq!(
        keys,
        [
            "og:image",
            "og:image:type",
            "og:image:width",
            "og:image:height",
            "og:image:alt",
            "twitter:card",
            "twitter:image"
        ]
    );
    assert_eq!(v["tags"][0]["content"], expected.as_str());
}

#[tokio::test]
async fn html_format_and_accept_give_the_escaped_snippet() {
    let w = Workdir::new();
    w.config(&format!(
        "{FILE_STORE}[server]\nadmin_listen = \"127.0.0.1:0\"\npublic_url = \"https://social.example.com/\"\n"
    ));
    let s = w.serve();
    let url = s.url(&format!(
        "/_ogforge/tags?route=default&id={EMBEDDED_ID}&format=html"
    ));
    let r = get(&url).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "text/html; charset=utf-8");
    let html = String::from_utf8(r.body).unwrap();
    assert!(html.starts_with(
        "<meta property=\"og:image\" content=\"https://social.example.com/12-34-10.jpg\">\n\
         <meta property=\"og:image:secure_url\" content=\"https://social.example.com/12-34-10.jpg\">\n"
    ), "{html}");
    // A forged Host header changes nothing.
    let by_accept = send(
        client()
            .get(s.url(&format!("/_ogforge/tags?id={EMBEDDED_ID}")))
            .header("accept", "text/html")
            .header("host", "evil.example"),
    )
    .await;
    assert_eq!(String::from_utf8(by_accept.body).unwrap(), html);
}

#[tokio::test]
async fn hostile_ids_give_the_default_image_url_and_are_never_reflected() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let missing = json(&get(&s.url("/_ogforge/tags")).await.body);
    assert_eq!(missing["default"], true);
    assert_eq!(missing["id"], serde_json::Value::Null);
    let default_url = missing["image_url"].as_str().unwrap().to_owned();
    let naughty = [
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "%22%3E%3Cscript%3E",
        "12-34-10%22%20onerror%3D%22alert(1)",
        "%2F%2Fevil.com",
        "javascript%3Aalert(1)",
        "..%2F..%2Fetc%2Fpasswd",
        "12-34-10%0D%0ASet-Cookie%3A%20x%3D1",
        "12-34-10%00",
        "%E2%80%AE01-02-03",
        "12%252D34%252D10",
    ];
    for raw in naughty {
        for format in ["json", "html"] {
            let r = get(&s.url(&format!("/_ogforge/tags?id={raw}&format={format}"))).await;
            assert_eq!(r.status, 200, "{raw}");
            let body = String::from_utf8(r.body).unwrap();
            for needle in [
                "script",
                "evil",
                "javascript",
                "passwd",
                "Cookie",
                "\u{202E}",
                "%2",
            ] {
                assert!(
                    !body.contains(needle),
                    "{raw} ({format}) reflected {needle}: {body}"
                );
            }
            assert!(body.contains(&default_url), "{raw}: {body}");
        }
    }
    // The default image URL really serves the route's default image.
    let r = get(&default_url).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, default_image());
    assert_eq!(r.header("x-ogforge-fallback"), "invalid-id");
    assert!(w.stored().is_empty(), "{:?}", w.stored());
}

#[tokio::test]
async fn unknown_route_bad_format_and_other_methods_are_refused() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let r = get(&s.url("/_ogforge/tags?route=%3Cscript%3E&id=1")).await;
    assert_eq!(r.status, 404);
    assert!(!String::from_utf8_lossy(&r.body).contains("script"));
    let r = get(&s.url("/_ogforge/tags?format=%3Cb%3E")).await;
    assert_eq!(r.status, 400);
    assert!(!String::from_utf8_lossy(&r.body).contains("<b>"));
    let r = send(client().post(s.url("/_ogforge/tags?id=12-34-10"))).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), "GET, HEAD");
    let r = send(client().head(s.url("/_ogforge/tags?id=12-34-10"))).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    // The exemption is for this path only: image paths still refuse a query.
    let r = get(&s.url("/12-34-10.jpg?id=1")).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn a_public_url_that_is_not_absolute_http_is_a_config_error() {
    let w = Workdir::new();
    for bad in [
        "social.example.com",
        "javascript:alert(1)",
        "https://u:p@x.example",
        "https://x.example/?q=1",
    ] {
        w.config(&format!(
            "{FILE_STORE}[server]\nadmin_listen = \"\"\npublic_url = \"{bad}\"\n"
        ));
        let (code, out, err) = w.run(&["check", "-c", "ogforge.toml"], None);
        assert_ne!(code, 0, "{bad}: {out}");
        assert!(err.contains("server.public_url"), "{bad}: {err}");
    }
}

const KEY: &str = "tags-signing-key-0123456789";

/// A signed free-text route `q` first, then an unsigned PNG route `p`, served with the key.
fn signed_config(w: &Workdir) {
    w.write("fast.html", FAST);
    w.config(&format!(
        "{FILE_STORE}{}{}",
        fast_route("q", ".+", true),
        fast_route("p", "[0-9]+", false)
    ));
}

/// Issue 11: a signed route's tags carry `?sig=` (its default image's too, so a crawler is
/// never refused), and the endpoint, which answers anyone, gives an id's own URL only when the
/// id comes with the signature `ogforge sign` made for it: it never signs what it is sent.
#[tokio::test]
async fn signed_routes_give_signed_urls_and_never_sign_a_value_they_are_sent() {
    let w = Workdir::new();
    signed_config(&w);
    let signed = sign(&w, "/q/Hello, world!.png", KEY);
    let sig = signed.split_once("?sig=").unwrap().1;
    let s = w.serve_with(&[], &[("OGFORGE_SIGNING_KEYS", KEY)]);
    let id = "Hello%2C%20world%21";

    let v = json(
        &get(&s.url(&format!("/_ogforge/tags?route=q&id={id}&sig={sig}")))
            .await
            .body,
    );
    let url = s.url(&format!("/q/{id}.png?sig={sig}"));
    assert_eq!(v["default"], false, "{v}");
    assert_eq!(v["id"], "Hello, world!");
    assert_eq!(v["image_url"], url.as_str());
    assert!(v["html"].as_str().unwrap().contains(&url), "{v}");
    let card = get(&url).await;
    assert_eq!(card.status, 200);
    assert_eq!(card.header("x-ogforge-tier"), "render");

    // Without its signature, or with another id's: the default image, signed and served.
    for query in [
        format!("route=q&id={id}"),
        format!("route=q&id=Hello%2C%20world%3F&sig={sig}"),
        format!("route=q&id={id}&sig=00"),
    ] {
        let v = json(&get(&s.url(&format!("/_ogforge/tags?{query}"))).await.body);
        assert_eq!(v["default"], true, "{query}: {v}");
        let default_url = v["image_url"].as_str().unwrap();
        assert!(
            default_url.starts_with(&s.url("/q/.png?sig=")),
            "{default_url}"
        );
        let r = get(default_url).await;
        assert_eq!(r.status, 200, "{query}");
        assert_eq!(r.header("x-ogforge-fallback"), "invalid-id");
        assert_eq!(r.body, default_image());
    }
    assert_eq!(w.stored().len(), 1, "{:?}", w.stored());
}

/// Issue 11: `og:image:type` states what each URL is served as: the route's format for its
/// cards, the default image's own type (the bundled one is a JPEG) for the default image.
#[tokio::test]
async fn og_image_type_is_the_content_type_each_url_is_served_with() {
    let w = Workdir::new();
    signed_config(&w);
    let s = w.serve_with(&[], &[("OGFORGE_SIGNING_KEYS", KEY)]);
    for id in ["7", "not-a-number"] {
        let v = json(
            &get(&s.url(&format!("/_ogforge/tags?route=p&id={id}")))
                .await
                .body,
        );
        let stated = v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["property"] == "og:image:type")
            .map(|t| t["content"].as_str().unwrap().to_owned())
            .unwrap();
        let served = get(v["image_url"].as_str().unwrap()).await;
        assert_eq!(served.status, 200, "{id}");
        assert_eq!(stated, served.header("content-type"), "{id}: {v}");
    }
}
