//! Structured logs (issue 6): `--log-format json` gives one JSON object per line, each request
//! one `ogforge::access` line with its request id, route, id, tier, status and render time;
//! signatures and signing keys never reach the log.

use crate::{
    fast::sign,
    util::{Reply, Workdir, client, send},
};

const KEY: &str = "log-test-signing-key-0123456789";

/// The access line (`fields`) whose request id is `id`.
fn access_line<'a>(lines: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    let found: Vec<_> = lines
        .iter()
        .filter(|l| l["target"] == "ogforge::access" && l["fields"]["request_id"] == id)
        .collect();
    assert_eq!(found.len(), 1, "one access line for {id}: {lines:#?}");
    &found[0]["fields"]
}

fn request_id(r: &Reply) -> String {
    let id = r.header("x-request-id").to_owned();
    assert!(!id.is_empty(), "no x-request-id");
    id
}

#[tokio::test]
async fn json_logs_carry_request_id_route_id_tier_status_and_render_ms_but_no_signature() {
    let w = Workdir::new();
    w.write(
        "fast.html",
        "<div style=\"display:flex;width:64px;height:32px;background-color:teal\"></div>",
    );
    w.config(
        "[store]\nurl = \"data\"\n[[routes]]\nname = \"s\"\npath = \"/s/{id}.png\"\n\
         id_pattern = \"[0-9]+\"\nformat = \"png\"\nwidth = 64\nheight = 32\n\
         template = \"fast.html\"\nsigned = true\n",
    );
    let signed = sign(&w, "/s/7.png", KEY);
    let sig = signed.split_once("?sig=").unwrap().1.to_owned();
    let s = w.serve_with(&["--log-format", "json"], &[("OGFORGE_SIGNING_KEYS", KEY)]);

    let miss = send(client().get(s.url(&signed))).await;
    assert_eq!(miss.header("x-ogforge-tier"), "render");
    let hit = send(client().get(s.url(&signed))).await;
    assert_eq!(hit.header("x-ogforge-tier"), "memory");
    // A request id from upstream (a proxy, a load balancer) is kept and returned.
    let own = send(
        client()
            .get(s.url(&signed))
            .header("x-request-id", "from-the-edge-42"),
    )
    .await;
    assert_eq!(own.header("x-request-id"), "from-the-edge-42");
    let refused = send(client().get(s.url("/s/7.png"))).await;
    assert_eq!(refused.status, 403);
    let (miss_id, hit_id, refused_id) = (request_id(&miss), request_id(&hit), request_id(&refused));
    assert_ne!(miss_id, hit_id);

    let log = s.stop();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();

    let m = access_line(&lines, &miss_id);
    assert_eq!(m["route"], "s");
    assert_eq!(m["id"], "7");
    assert_eq!(m["tier"], "render");
    assert_eq!(m["status"], 200);
    assert_eq!(m["path"], "/s/7.png");
    assert!(m["render_ms"].is_u64(), "{m}");

    let h = access_line(&lines, &hit_id);
    assert_eq!(h["tier"], "memory");
    assert_eq!(h["status"], 200);
    assert_eq!(h["id"], "7");
    assert!(h.get("render_ms").is_none(), "{h}");

    assert_eq!(access_line(&lines, "from-the-edge-42")["tier"], "memory");
    assert_eq!(access_line(&lines, &refused_id)["status"], 403);

    // Secrets: neither the signature nor the key, anywhere in the log.
    assert!(!log.contains(&sig), "the signature was logged:\n{log}");
    assert!(!log.contains(KEY), "the signing key was logged");
}

/// Issue 10: refusals of the edge guard (405, 414) and of resolution (400) are counted in
/// `ogforge_http_requests_total` and each gets its access line, like every other response.
#[tokio::test]
async fn guard_refusals_are_counted_and_access_logged() {
    let w = Workdir::new();
    w.config("[store]\nurl = \"data\"\n");
    let s = w.serve_with(&["--log-format", "json"], &[]);
    let post = send(client().post(s.url("/12-34-10.jpg"))).await;
    assert_eq!(post.status, 405);
    let long = send(client().get(s.url(&format!("/{}.jpg", "1".repeat(3000))))).await;
    assert_eq!(long.status, 414);
    let query = send(client().get(s.url("/12-34-10.jpg?utm=1"))).await;
    assert_eq!(query.status, 400);
    let counted = |route: &'static str, status: &'static str| {
        let s = &s;
        async move {
            s.metric(
                "ogforge_http_requests_total",
                &[("route", route), ("status", status), ("tier", "none")],
            )
            .await
        }
    };
    assert_eq!(counted("none", "405").await, 1.0);
    assert_eq!(counted("none", "414").await, 1.0);
    // The query is checked once the route is known, so the count names it.
    assert_eq!(counted("default", "400").await, 1.0);
    let ids = [request_id(&post), request_id(&long), request_id(&query)];

    let log = s.stop();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for (id, status) in ids.iter().zip([405, 414, 400]) {
        assert_eq!(access_line(&lines, id)["status"], status);
    }
    assert_eq!(access_line(&lines, &ids[2])["route"], "default");
}
