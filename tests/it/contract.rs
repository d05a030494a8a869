//! One test per row of the HTTP contract table in DESIGN.md (the default route, file store).

use crate::util::{EMBEDDED_ID, Workdir, client, default_image, get, send};

const FILE_STORE: &str = "[store]\nurl = \"data\"\n";

fn jpeg(body: &[u8]) -> bool {
    body.starts_with(&[0xFF, 0xD8, 0xFF])
}

#[tokio::test]
async fn first_get_renders_stores_and_returns_the_image() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let r = get(&s.url(&format!("/{EMBEDDED_ID}.jpg"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "image/jpeg");
    assert!(jpeg(&r.body));
    assert_ne!(r.body, default_image());
    assert_eq!(
        r.header("cache-control"),
        "public, max-age=86400, s-maxage=31536000"
    );
    let etag = r.header("etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10,
        "{etag}"
    );
    assert_eq!(r.header("content-length"), r.body.len().to_string());
    assert_eq!(r.header("cache-status"), "ogforge; fwd=miss; stored");
    assert_eq!(r.header("x-ogforge-tier"), "render");
    let stored = w.stored();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].starts_with("default/") && stored[0].ends_with("/12-34-10.jpg"));
    assert_eq!(
        std::fs::read(w.path().join("data").join(&stored[0])).unwrap(),
        r.body
    );
}

#[tokio::test]
async fn the_same_again_comes_from_memory_with_the_same_bytes_and_etag() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let url = s.url(&format!("/{EMBEDDED_ID}.jpg"));
    let first = get(&url).await;
    let second = get(&url).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("x-ogforge-tier"), "memory");
    assert_eq!(second.header("cache-status"), "ogforge; hit; detail=memory");
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("etag"), first.header("etag"));
}

#[tokio::test]
async fn if_none_match_with_the_etag_is_304_without_a_body() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let url = s.url(&format!("/{EMBEDDED_ID}.jpg"));
    let first = get(&url).await;
    let etag = first.header("etag").to_owned();
    let r = send(client().get(&url).header("if-none-match", &etag)).await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), etag);
    assert_eq!(r.header("cache-control"), first.header("cache-control"));
    let other = send(client().get(&url).header("if-none-match", "\"nope\"")).await;
    assert_eq!(other.status, 200);
}

#[tokio::test]
async fn head_gives_the_get_headers_without_a_body() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let url = s.url(&format!("/{EMBEDDED_ID}.jpg"));
    let head = send(client().head(&url)).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let got = get(&url).await;
    for h in ["content-type", "content-length", "etag", "cache-control"] {
        assert_eq!(head.header(h), got.header(h), "{h}");
    }
    assert_eq!(head.header("content-length"), got.body.len().to_string());
}

#[tokio::test]
async fn an_invalid_id_or_unknown_path_gets_the_default_image_briefly() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    for (path, reason, fwd) in [
        ("/12-34-1x.jpg", "invalid-id", "uri-miss"),
        ("/12-34-10.png", "unknown-route", "uri-miss"),
        ("/nested/12-34-10.jpg", "invalid-id", "uri-miss"),
        ("/", "unknown-route", "uri-miss"),
        (
            &format!("/{}.jpg", "1".repeat(500)),
            "id-too-long",
            "uri-miss",
        ),
    ] {
        let r = get(&s.url(path)).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, default_image(), "{path}");
        assert_eq!(r.header("content-type"), "image/jpeg");
        assert_eq!(r.header("x-ogforge-fallback"), reason, "{path}");
        assert_eq!(r.header("x-ogforge-tier"), "fallback");
        assert_eq!(
            r.header("cache-status"),
            format!("ogforge; fwd={fwd}; detail={reason}")
        );
        assert_eq!(r.header("cache-control"), "public, max-age=60, s-maxage=60");
    }
    assert!(w.stored().is_empty());
}

#[tokio::test]
async fn a_render_error_gets_the_default_image_and_stores_nothing() {
    let w = Workdir::new();
    // `missing` is undefined: minijinja fails at render time, for every id.
    w.write(
        "broken.html",
        "<div style=\"display:flex\">{{ missing.field }}</div>",
    );
    w.config(&format!(
        "{FILE_STORE}[[routes]]\nname = \"b\"\npath = \"/b/{{id}}.jpg\"\nid_pattern = \"[0-9]+\"\ntemplate = \"broken.html\"\nfallback_max_age = 30\n"
    ));
    let s = w.serve();
    for _ in 0..2 {
        let r = get(&s.url("/b/42.jpg")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, default_image());
        assert_eq!(r.header("x-ogforge-fallback"), "template-error");
        assert_eq!(
            r.header("cache-status"),
            "ogforge; fwd=miss; detail=template-error"
        );
        assert_eq!(r.header("cache-control"), "public, max-age=30, s-maxage=30");
    }
    assert!(w.stored().is_empty(), "{:?}", w.stored());
    // Not cached either: each request tried again.
    assert_eq!(
        s.metric("ogforge_renders_total", &[("outcome", "template-error")])
            .await,
        2.0
    );
}

#[tokio::test]
async fn a_render_timeout_gets_the_default_image_and_stores_nothing() {
    let w = Workdir::new();
    w.config(&format!("{FILE_STORE}[render]\ntimeout_ms = 1\n"));
    let s = w.serve();
    let r = get(&s.url(&format!("/{EMBEDDED_ID}.jpg"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, default_image());
    assert_eq!(r.header("x-ogforge-fallback"), "render-timeout");
    assert_eq!(r.header("cache-control"), "public, max-age=60, s-maxage=60");
    // The abandoned render finishes in the background; it must still not be stored.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(w.stored().is_empty(), "{:?}", w.stored());
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let url = s.url(&format!("/{EMBEDDED_ID}.jpg"));
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = send(client().request(m, &url)).await;
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), "GET, HEAD", "{method}");
    }
    assert!(w.stored().is_empty());
}

#[tokio::test]
async fn a_request_with_a_body_is_refused() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let url = s.url(&format!("/{EMBEDDED_ID}.jpg"));
    let r = send(client().get(&url).body("x".repeat(100))).await;
    assert_eq!(r.status, 413);
    // A streamed body, written by hand so that it is really sent chunked.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let raw = format!(
        "GET /{EMBEDDED_ID}.jpg HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    );
    let reply = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.write_all(raw.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = tcp.read_to_string(&mut out);
        out
    })
    .await
    .unwrap();
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(w.stored().is_empty());
}

#[tokio::test]
async fn an_over_long_uri_is_414() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let r = get(&s.url(&format!("/{}.jpg", "9".repeat(3000)))).await;
    assert_eq!(r.status, 414);
    assert_eq!(r.header("cache-control"), "no-store");
}

#[tokio::test]
async fn an_unexpected_query_is_400_but_ignored_parameters_pass() {
    let w = Workdir::new();
    w.config(&format!(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\nignored_query_params = [\"v\", \"utm_source\"]\n{FILE_STORE}"
    ));
    let s = w.serve();
    let bad = get(&s.url(&format!("/{EMBEDDED_ID}.jpg?social=<script>"))).await;
    assert_eq!(bad.status, 400);
    assert!(!String::from_utf8_lossy(&bad.body).contains("script"));
    let ok = get(&s.url(&format!("/{EMBEDDED_ID}.jpg?v=3&utm_source=x"))).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("x-ogforge-tier"), "render");
}

#[tokio::test]
async fn every_image_response_names_its_tier_in_cache_status() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    let url = s.url(&format!("/{EMBEDDED_ID}.jpg"));
    let statuses = [
        get(&url).await.header("cache-status").to_owned(),
        get(&url).await.header("cache-status").to_owned(),
        get(&s.url("/x.jpg"))
            .await
            .header("cache-status")
            .to_owned(),
    ];
    assert_eq!(
        statuses,
        [
            "ogforge; fwd=miss; stored",
            "ogforge; hit; detail=memory",
            "ogforge; fwd=uri-miss; detail=invalid-id",
        ]
    );
}
