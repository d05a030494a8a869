//! Edge limits (issue 6): the per-client render rate limit and who the client is, header
//! limits, the request deadline, the shutdown deadline, and `/metrics` counting all of it.
//!
//! Rate limits here refill one render a minute, so a test finishes long before a token comes
//! back: the counts are exact and nothing waits on a clock.

use std::time::Duration;

use crate::util::{Reply, Workdir, client, get, send};

const FILE_STORE: &str = "[store]\nurl = \"data\"\n";
const FAST: &str =
    "<div style=\"display:flex;width:64px;height:32px;background-color:teal\"></div>";

/// `[server]` (admin on a free port, plus `server`), `[rate_limit]` and a fast PNG route.
fn config(w: &Workdir, server: &str, rate_limit: &str, extra: &str) {
    w.write("fast.html", FAST);
    w.config(&format!(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\n{server}\n{FILE_STORE}\
         [rate_limit]\n{rate_limit}\n{extra}\
         [[routes]]\nname = \"fast\"\npath = \"/fast/{{id}}.png\"\nid_pattern = \"[0-9]+\"\n\
         format = \"png\"\nwidth = 64\nheight = 32\ntemplate = \"fast.html\"\n"
    ));
}

async fn get_from(url: &str, forwarded_for: &str) -> Reply {
    send(client().get(url).header("x-forwarded-for", forwarded_for)).await
}

#[tokio::test]
async fn a_burst_of_misses_over_the_render_limit_gets_429_while_hits_keep_flowing() {
    let w = Workdir::new();
    // The memory tier is off, so every hit below comes from the store tier.
    config(
        &w,
        "",
        "renders_per_minute = 1\nburst = 3\n",
        "[cache]\nmemory_bytes = 0\n",
    );
    let s = w.serve();
    let hit_url = s.url("/fast/0.png");
    assert_eq!(get(&hit_url).await.header("x-ogforge-tier"), "render");

    let (mut rendered, mut limited, mut hits) = (0, 0, 0);
    for i in 1..=8 {
        let miss = get(&s.url(&format!("/fast/{i}.png"))).await;
        match miss.status {
            200 => {
                assert_eq!(miss.header("x-ogforge-tier"), "render");
                rendered += 1;
            }
            429 => {
                assert_eq!(miss.header("retry-after"), "60");
                assert_eq!(miss.header("cache-control"), "no-store");
                assert_eq!(miss.header("x-ogforge-fallback"), "rate-limited");
                assert!(String::from_utf8_lossy(&miss.body).contains("too many renders"));
                limited += 1;
            }
            other => panic!("status {other}"),
        }
        // The same client's hits are never limited, before or after its budget is spent.
        let hit = get(&hit_url).await;
        assert_eq!(hit.status, 200);
        assert_eq!(hit.header("x-ogforge-tier"), "store");
        hits += 1;
    }
    assert_eq!((rendered, limited, hits), (2, 6, 8));
    assert_eq!(
        s.metric("ogforge_rate_limited_total", &[("route", "fast")])
            .await,
        6.0
    );
    assert_eq!(
        s.metric(
            "ogforge_http_requests_total",
            &[("route", "fast"), ("status", "429")]
        )
        .await,
        6.0
    );
    // Refused misses are never rendered nor stored.
    assert_eq!(w.stored().len(), 3, "{:?}", w.stored());
    drop(s);

    // `warm` is not limited: it renders everything it is given.
    let list: String = (20..30).map(|i| format!("/fast/{i}.png\n")).collect();
    let (code, out, err) = w.run(&["warm", "-c", "ogforge.toml", "--from", "-"], Some(&list));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(w.stored().len(), 13, "{:?}", w.stored());
}

#[tokio::test]
async fn over_the_limit_can_get_the_default_image() {
    let w = Workdir::new();
    config(
        &w,
        "",
        "renders_per_minute = 1\nburst = 1\nover_limit = \"default-image\"\n",
        "",
    );
    let s = w.serve();
    assert_eq!(get(&s.url("/fast/1.png")).await.status, 200);
    let r = get(&s.url("/fast/2.png")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, crate::util::default_image());
    assert_eq!(r.header("x-ogforge-fallback"), "rate-limited");
    assert_eq!(r.header("cache-control"), "public, max-age=60, s-maxage=60");
    assert_eq!(
        s.metric("ogforge_fallbacks_total", &[("reason", "rate-limited")])
            .await,
        1.0
    );
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_from_a_trusted_proxy() {
    let limit = "renders_per_minute = 1\nburst = 1\n";

    // 127.0.0.1 is a trusted proxy: each forwarded client has its own budget.
    let w = Workdir::new();
    config(&w, "trusted_proxies = [\"127.0.0.1\"]", limit, "");
    let s = w.serve();
    let a = "198.51.100.1";
    let b = "198.51.100.2";
    assert_eq!(get_from(&s.url("/fast/1.png"), a).await.status, 200);
    assert_eq!(get_from(&s.url("/fast/2.png"), a).await.status, 429);
    assert_eq!(get_from(&s.url("/fast/3.png"), b).await.status, 200);
    // The right-most untrusted hop is the client: a trusted hop after it changes nothing,
    // and whatever a client claims to the left of it is ignored.
    let via = format!("203.0.113.7, {a}, 127.0.0.1");
    assert_eq!(get_from(&s.url("/fast/4.png"), &via).await.status, 429);
    // Without the header, the proxy itself is the client (a budget of its own).
    assert_eq!(get(&s.url("/fast/5.png")).await.status, 200);
    drop(s);

    // No trusted proxies: the header is ignored and the peer is the client, whatever it says.
    let w = Workdir::new();
    config(&w, "", limit, "");
    let s = w.serve();
    assert_eq!(get_from(&s.url("/fast/1.png"), a).await.status, 200);
    assert_eq!(get_from(&s.url("/fast/2.png"), b).await.status, 429);
}

#[tokio::test]
async fn too_many_or_too_large_header_fields_get_431() {
    let w = Workdir::new();
    config(&w, "max_headers = 32\nmax_header_bytes = 2048", "", "");
    let s = w.serve();
    let url = s.url("/fast/1.png");

    let mut req = client().get(&url);
    for i in 0..20 {
        req = req.header(format!("x-h{i}"), "1");
    }
    assert_eq!(send(req).await.status, 200, "a few headers are fine");

    let mut req = client().get(&url);
    for i in 0..40 {
        req = req.header(format!("x-h{i}"), "1");
    }
    let r = send(req).await;
    assert_eq!(r.status, 431);
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(String::from_utf8_lossy(&r.body).contains("too many header fields"));

    let r = send(client().get(&url).header("x-big", "a".repeat(3000))).await;
    assert_eq!(r.status, 431);
    assert!(String::from_utf8_lossy(&r.body).contains("header fields too large"));
}

#[tokio::test]
async fn a_request_past_the_request_timeout_gets_503_and_its_render_still_lands() {
    let w = Workdir::new();
    // Thousands of boxes to lay out: far more than a millisecond.
    w.write(
        "slow.html",
        "<div style=\"display:flex;flex-wrap:wrap;width:256px;height:256px\">\
         {% for i in range(6000) %}<div style=\"width:2px;height:2px;background-color:#{{ \
         ['123', '456', '789'][i % 3] }}\">{{ i }}</div>{% endfor %}</div>",
    );
    config(
        &w,
        "request_timeout_ms = 1",
        "",
        "[render]\ntimeout_ms = 600000\n\
         [[routes]]\nname = \"slow\"\npath = \"/slow/{id}.png\"\nid_pattern = \"[0-9]+\"\n\
         format = \"png\"\nwidth = 256\nheight = 256\ntemplate = \"slow.html\"\n",
    );
    let s = w.serve();
    let r = get(&s.url("/slow/1.png")).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(String::from_utf8_lossy(&r.body), "request timed out\n");
    let m = s.scrape().await;
    assert_eq!(
        m.get("ogforge_request_timeouts_total", &[("route", "slow")]),
        1.0
    );
    assert_eq!(
        m.get(
            "ogforge_http_requests_total",
            &[("route", "slow"), ("status", "503"), ("tier", "none")]
        ),
        1.0
    );
    // The render runs in its own task: cutting the request off does not cut it in half.
    for _ in 0..600 {
        if !w.stored().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(w.stored().len(), 1);
}

#[tokio::test]
async fn metrics_grow_by_what_the_requests_did() {
    let w = Workdir::new();
    config(&w, "", "renders_per_minute = 1\nburst = 2\n", "");
    let s = w.serve();
    let before = s.scrape().await;

    assert_eq!(
        get(&s.url("/fast/1.png")).await.header("x-ogforge-tier"),
        "render"
    );
    for _ in 0..2 {
        assert_eq!(
            get(&s.url("/fast/1.png")).await.header("x-ogforge-tier"),
            "memory"
        );
    }
    assert_eq!(
        get(&s.url("/fast/2.png")).await.header("x-ogforge-tier"),
        "render"
    );
    assert_eq!(get(&s.url("/fast/3.png")).await.status, 429);
    assert_eq!(
        get(&s.url("/fast/abc.png"))
            .await
            .header("x-ogforge-fallback"),
        "invalid-id"
    );

    let after = s.scrape().await;
    let requests = |status: &str, tier: &str| {
        after.delta(
            &before,
            "ogforge_http_requests_total",
            &[("route", "fast"), ("status", status), ("tier", tier)],
        )
    };
    assert_eq!(requests("200", "render"), 2.0);
    assert_eq!(requests("200", "memory"), 2.0);
    assert_eq!(requests("200", "fallback"), 1.0);
    assert_eq!(requests("429", "fallback"), 1.0);

    let render = [("route", "fast"), ("renderer", "html")];
    assert_eq!(
        after.delta(&before, "ogforge_render_seconds_count", &render),
        2.0
    );
    assert!(after.get("ogforge_render_seconds_sum", &render) > 0.0);
    // A histogram: every bucket counts the renders at or under its bound, +Inf all of them.
    let inf = [("route", "fast"), ("renderer", "html"), ("le", "+Inf")];
    assert_eq!(
        after.delta(&before, "ogforge_render_seconds_bucket", &inf),
        2.0
    );
    let ten_s = [("route", "fast"), ("renderer", "html"), ("le", "10")];
    assert_eq!(
        after.delta(&before, "ogforge_render_seconds_bucket", &ten_s),
        2.0
    );
    assert_eq!(
        after.delta(&before, "ogforge_renders_total", &[("outcome", "ok")]),
        2.0
    );

    let fallbacks =
        |reason: &str| after.delta(&before, "ogforge_fallbacks_total", &[("reason", reason)]);
    assert_eq!(fallbacks("invalid-id"), 1.0);
    assert_eq!(fallbacks("rate-limited"), 1.0);
    assert_eq!(
        after.delta(&before, "ogforge_rate_limited_total", &[("route", "fast")]),
        1.0
    );
    assert_eq!(
        after.delta(&before, "ogforge_store_seconds_count", &[("op", "put")]),
        2.0
    );
    assert_eq!(after.get("ogforge_renders_in_flight", &[]), 0.0);
    assert_eq!(after.get("ogforge_renders_queued", &[]), 0.0);
    assert!(
        after
            .text
            .contains("# TYPE ogforge_render_seconds histogram")
    );
}

#[tokio::test]
async fn the_shutdown_deadline_ends_a_request_that_outlives_it() {
    // A "store" that accepts connections and never answers: the request stays in flight.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", blackhole.local_addr().unwrap());
    let (accepted_tx, accepted_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        while let Ok((stream, _)) = blackhole.accept() {
            open.push(stream);
            let _ = accepted_tx.send(());
        }
    });
    let w = Workdir::new();
    w.write("fast.html", FAST);
    w.config(&format!(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\nshutdown_timeout_ms = 300\n\
         request_timeout_ms = 600000\n\
         [store]\nurl = \"s3://ogforge\"\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\n\
         access_key_id = \"k\"\nsecret_access_key = \"s\"\nallow_http = true\ntimeout_ms = 600000\n\
         [[routes]]\nname = \"fast\"\npath = \"/fast/{{id}}.png\"\nid_pattern = \"[0-9]+\"\n\
         format = \"png\"\nwidth = 64\nheight = 32\ntemplate = \"fast.html\"\n"
    ));
    let s = w.serve();
    let url = s.url("/fast/1.png");
    let request = tokio::spawn(async move { client().get(&url).send().await.map(|r| r.status()) });
    // The store call has started (and hangs) once the black hole sees a connection.
    tokio::task::spawn_blocking(move || accepted_rx.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the store was never called");

    let (status, log) = tokio::task::spawn_blocking(move || s.stop_within(Duration::from_secs(20)))
        .await
        .unwrap();
    let status = status.unwrap_or_else(|| panic!("serve did not exit by itself:\n{log}"));
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("shutdown deadline passed"), "{log}");
    // The request never got an image: the connection closed with the process.
    assert!(request.await.unwrap().is_err());
}
