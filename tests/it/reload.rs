//! Reload (issue 16): SIGHUP and `serve --watch` swap in a new config, templates and fonts
//! whole. An edited template is a new digest, so the same id is rendered again under a new key;
//! a broken config is refused with its key logged and the old one keeps serving; a replaced
//! App's Chromium ends once no request holds it. Every wait is a bounded poll: a loaded CI
//! machine may take seconds to reload.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use crate::util::{Reply, Server, Workdir, get, tool};

/// How long a reload may take to show on a loaded 2-core machine.
const RELOAD_LIMIT: Duration = Duration::from_secs(30);

const ID: &str = "12-34-10";

fn template(colour: &str, text: &str) -> String {
    format!(
        "<div style=\"display:flex;align-items:center;justify-content:center;width:100%;\
         height:100%;background:{colour};color:#fff;font-size:96px\">{text} {{{{ id }}}}</div>"
    )
}

/// A route over `card.html` with a folder store, and `server` keys if any.
fn config(server: &str, extra: &str) -> String {
    format!(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\n{server}[store]\nurl = \"data\"\n\
         [rate_limit]\nrenders_per_minute = 0\n[[routes]]\nname = \"card\"\npath = \"/{{id}}.jpg\"\n\
         id_pattern = '[0-9]{{2}}-[0-9]{{2}}-[0-9]{{2}}'\ntemplate = \"card.html\"\n\
         sample_id = \"{ID}\"\n{extra}"
    )
}

fn hangup(server: &Server) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -HUP failed");
}

/// Polls `/metrics` until `ogforge_reloads_total{outcome}` reaches `n`.
async fn reloads_reach(server: &Server, outcome: &str, n: f64) {
    let deadline = Instant::now() + RELOAD_LIMIT;
    loop {
        let seen = server
            .metric("ogforge_reloads_total", &[("outcome", outcome)])
            .await;
        if seen >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "ogforge_reloads_total{{outcome=\"{outcome}\"}} stayed at {seen} (wanted {n}) for {RELOAD_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first image: rendered and stored under the route's first digest.
async fn first_render(w: &Workdir, server: &Server) -> (Reply, Vec<String>) {
    let r = get(&server.url(&format!("/{ID}.jpg"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ogforge-tier"), "render");
    assert_eq!(r.header("x-ogforge-fallback"), "");
    let stored = stored_eventually(w, 1).await;
    (r, stored)
}

/// The stored images once there are `n` (a write may land just after its response).
async fn stored_eventually(w: &Workdir, n: usize) -> Vec<String> {
    let deadline = Instant::now() + RELOAD_LIMIT;
    loop {
        let stored: Vec<String> = (w.stored().into_iter())
            .filter(|k| k.ends_with(".jpg"))
            .collect();
        if stored.len() >= n || Instant::now() >= deadline {
            return stored;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The digest folder of a key `card/{digest}/{id}.jpg`.
fn digest_of(key: &str) -> &str {
    key.split('/').nth(1).unwrap_or("")
}

/// After a reload, the same id is a miss under a new key: rendered again, a new ETag, a second
/// stored image under another digest; the next request is a memory hit with that ETag.
async fn assert_rendered_anew(w: &Workdir, server: &Server, before: &Reply, old_keys: &[String]) {
    let r = get(&server.url(&format!("/{ID}.jpg"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ogforge-fallback"), "");
    assert_eq!(
        r.header("x-ogforge-tier"),
        "render",
        "the edited template must be a new key, not the old image"
    );
    assert_ne!(r.header("etag"), before.header("etag"));
    assert_ne!(r.body, before.body);
    let stored = stored_eventually(w, 2).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    let new: Vec<&String> = stored.iter().filter(|k| !old_keys.contains(k)).collect();
    assert_eq!(new.len(), 1, "{stored:?}");
    assert_ne!(digest_of(new[0]), digest_of(&old_keys[0]));
    let again = get(&server.url(&format!("/{ID}.jpg"))).await;
    assert_eq!(again.header("x-ogforge-tier"), "memory");
    assert_eq!(again.header("etag"), r.header("etag"));
}

#[tokio::test]
async fn sighup_after_a_template_edit_renders_under_a_new_digest() {
    let w = Workdir::new();
    w.write("card.html", &template("#1d4ed8", "before"));
    w.write("ogforge.toml", &config("", ""));
    let s = w.serve();
    let (before, keys) = first_render(&w, &s).await;

    w.write("card.html", &template("#b91c1c", "after"));
    // A key that needs a restart changes too: the reload warns and keeps the running value.
    w.write("ogforge.toml", &config("max_uri_len = 4096\n", ""));
    hangup(&s);
    reloads_reach(&s, "ok", 1.0).await;
    assert_rendered_anew(&w, &s, &before, &keys).await;
    assert_eq!(
        s.metric("ogforge_reloads_total", &[("outcome", "error")])
            .await,
        0.0
    );

    let log = s.stop();
    assert!(log.contains("reloaded"), "{log}");
    assert!(log.contains("route changed"), "{log}");
    assert!(
        log.contains("server.max_uri_len changed, but it takes effect only on a restart"),
        "{log}"
    );
}

#[tokio::test]
async fn sighup_with_a_broken_config_keeps_the_old_one_serving() {
    let w = Workdir::new();
    w.write("card.html", &template("#1d4ed8", "before"));
    w.write("ogforge.toml", &config("", ""));
    let s = w.serve();
    let (before, keys) = first_render(&w, &s).await;

    // A bad value: refused, and its key logged.
    w.write("ogforge.toml", &config("", "quality = 500\n"));
    hangup(&s);
    reloads_reach(&s, "error", 1.0).await;
    let r = get(&s.url(&format!("/{ID}.jpg"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ogforge-tier"), "memory");
    assert_eq!(r.header("etag"), before.header("etag"));

    // A template that does not compile (the config itself is fine): refused as well.
    w.write("ogforge.toml", &config("", ""));
    w.write("card.html", "<div>{% if %}</div>");
    hangup(&s);
    reloads_reach(&s, "error", 2.0).await;
    let r = get(&s.url(&format!("/{ID}.jpg"))).await;
    assert_eq!(r.header("etag"), before.header("etag"));
    assert_eq!(w.stored().iter().filter(|k| k.ends_with(".jpg")).count(), 1);

    // Fixed: the next SIGHUP takes it.
    w.write("card.html", &template("#15803d", "fixed"));
    hangup(&s);
    reloads_reach(&s, "ok", 1.0).await;
    assert_rendered_anew(&w, &s, &before, &keys).await;

    let log = s.stop();
    assert!(log.contains("reload refused"), "{log}");
    assert!(log.contains("routes[0].quality"), "{log}");
    assert!(log.contains("routes[0].template"), "{log}");
}

#[tokio::test]
async fn watch_reloads_after_a_template_edit() {
    let w = Workdir::new();
    w.write("card.html", &template("#1d4ed8", "before"));
    w.write("ogforge.toml", &config("", ""));
    let s = w.serve_with(&["--watch"], &[]);
    let (before, keys) = first_render(&w, &s).await;

    // Saved as editors do: a new file renamed over the old one.
    w.write("card.html.tmp", &template("#7c3aed", "watched"));
    std::fs::rename(w.path().join("card.html.tmp"), w.path().join("card.html")).unwrap();
    reloads_reach(&s, "ok", 1.0).await;
    assert_rendered_anew(&w, &s, &before, &keys).await;

    // Writes elsewhere (the store's own folder, files no config names) reload nothing.
    w.write("notes.txt", "not a template");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        s.metric("ogforge_reloads_total", &[("outcome", "ok")])
            .await,
        1.0
    );
    let log = s.stop();
    assert!(log.contains("watching for changes"), "{log}");
}

/// A browser route's Chromium belongs to its App: after a reload the new App runs its own, and
/// the replaced App's is ended, so one Chromium is left.
#[tokio::test]
async fn a_reload_ends_the_replaced_chromium() {
    let chromium = tool("OGFORGE_CHROMIUM", "Chromium (Debian's chromium package)");
    let w = Workdir::new();
    let text = |wait: u32| {
        format!(
            "[server]\nadmin_listen = \"127.0.0.1:0\"\n[store]\nurl = \"data\"\n\
             [browser]\nexecutable = {:?}\n[[routes]]\nname = \"page\"\npath = \"/{{id}}.jpg\"\n\
             id_pattern = '[0-9]{{2}}-[0-9]{{2}}-[0-9]{{2}}'\nrenderer = \"browser\"\n\
             page_url = \"https://cards.example.com/card?id={{id}}\"\nnavigation_timeout_ms = {wait}\n",
            chromium.display().to_string()
        )
    };
    w.write("ogforge.toml", &text(2000));
    let s = w.serve();
    let first = until_some(|| chromiums_of(s.pid()).first().copied())
        .await
        .expect("serve starts a Chromium for a browser route");

    w.write("ogforge.toml", &text(2500));
    hangup(&s);
    reloads_reach(&s, "ok", 1.0).await;
    let swapped = until_some(|| match chromiums_of(s.pid()).as_slice() {
        [one] if *one != first => Some(*one),
        _ => None,
    })
    .await;
    assert!(
        swapped.is_some(),
        "the replaced Chromium {first} should end and one new Chromium run: {:?}",
        chromiums_of(s.pid())
    );
    let log = s.stop();
    assert!(log.contains("reloaded"), "{log}");
}

/// Chromium processes whose parent is `pid`.
fn chromiums_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let (Some((head, rest)), Some(open)) = (stat.rsplit_once(')'), stat.find('(')) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() >= 2
            && !matches!(f[0], "Z" | "X")
            && f[1] == pid.to_string()
            && head[open + 1..].starts_with("chrom")
        {
            out.push(child);
        }
    }
    out
}

async fn until_some<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + RELOAD_LIMIT;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A font added to a font folder the config names is a reload under `--watch`, and a new digest
/// (the fonts are part of it), so the same id is rendered anew.
#[tokio::test]
async fn watch_reloads_when_a_font_folder_changes() {
    let fonts = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fonts");
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fonts");
    let w = Workdir::new();
    std::fs::create_dir(w.path().join("fonts")).unwrap();
    std::fs::copy(
        format!("{fonts}/inter-latin-400-normal.woff2"),
        w.path().join("fonts/inter-latin-400-normal.woff2"),
    )
    .unwrap();
    w.write("card.html", &template("#1d4ed8", "fonts"));
    w.write(
        "ogforge.toml",
        &config("", "").replace(
            "[rate_limit]",
            "[render]\nfonts_dirs = [\"fonts\"]\n[rate_limit]",
        ),
    );
    let s = w.serve_with(&["--watch"], &[]);
    let (_, keys) = first_render(&w, &s).await;

    std::fs::copy(
        format!("{fixtures}/two-faces.ttc"),
        w.path().join("fonts/two-faces.ttc"),
    )
    .unwrap();
    reloads_reach(&s, "ok", 1.0).await;
    let r = get(&s.url(&format!("/{ID}.jpg"))).await;
    assert_eq!(
        r.header("x-ogforge-tier"),
        "render",
        "a new font is a new key"
    );
    let stored = stored_eventually(&w, 2).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.iter().any(|k| digest_of(k) != digest_of(&keys[0])));
    let log = s.stop();
    assert!(log.contains("route changed"), "{log}");
}

/// A loopback JSON API whose answers wait until the test opens the gate.
#[derive(Clone, Default)]
struct Gate {
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    arrived: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Gate {
    fn start(&self) -> String {
        use axum::{Router, routing::get};
        let app = Router::new()
            .route("/posts/{n}", get(gated))
            .with_state(self.clone());
        format!("http://{}", crate::util::serve_loopback(move |_| app))
    }
}

async fn gated(
    axum::extract::State(gate): axum::extract::State<Gate>,
) -> ([(&'static str, &'static str); 1], &'static str) {
    use std::sync::atomic::Ordering;
    gate.arrived.fetch_add(1, Ordering::SeqCst);
    while !gate.open.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (
        [("content-type", "application/json")],
        r#"{"title": "Gated"}"#,
    )
}

/// A request under way when the reload lands finishes on the config it started with: its card
/// is the old template's, stored under the old digest; the next request gets the new one.
#[tokio::test]
async fn a_request_under_way_finishes_on_the_config_it_started_with() {
    use std::sync::atomic::Ordering;
    let gate = Gate::default();
    let api = gate.start();
    let w = Workdir::new();
    let text = |colour: &str| {
        format!(
            "[server]\nadmin_listen = \"127.0.0.1:0\"\nrequest_timeout_ms = 120000\n\
             [store]\nurl = \"data\"\n[render]\ntimeout_ms = 90000\n\
             [rate_limit]\nrenders_per_minute = 0\n[[routes]]\nname = \"post\"\n\
             path = \"/{{id}}.jpg\"\nid_pattern = '(?P<post>[0-9]+)'\ntemplate = \"post.html\"\n\
             vars = {{ colour = \"{colour}\" }}\n\
             [routes.data]\nurl = \"{api}/posts/{{post}}\"\nallow_cidrs = [\"127.0.0.1/32\"]\n\
             timeout_ms = 90000\n[routes.data.fields.title]\npointer = \"/title\"\n"
        )
    };
    w.write(
        "post.html",
        "<div style=\"display:flex;width:100%;height:100%;background:{{ colour }};color:#fff;\
         font-size:80px\">{{ data.title }}</div>",
    );
    w.write("ogforge.toml", &text("#1d4ed8"));
    let s = w.serve();

    let url = s.url("/7.jpg");
    let under_way = tokio::spawn(async move { get(&url).await });
    let deadline = Instant::now() + RELOAD_LIMIT;
    while gate.arrived.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the request never reached the API"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.write("ogforge.toml", &text("#b91c1c"));
    hangup(&s);
    reloads_reach(&s, "ok", 1.0).await;
    gate.open.store(true, Ordering::SeqCst);
    let old = under_way.await.unwrap();
    assert_eq!(old.status, 200);
    assert_eq!(old.header("x-ogforge-fallback"), "");
    assert_eq!(old.header("x-ogforge-tier"), "render");
    let first = stored_eventually(&w, 1).await;
    assert_eq!(first.len(), 1, "{first:?}");

    let new = get(&s.url("/7.jpg")).await;
    assert_eq!(
        new.header("x-ogforge-tier"),
        "render",
        "the new config is a new key"
    );
    assert_ne!(new.header("etag"), old.header("etag"));
    let both = stored_eventually(&w, 2).await;
    assert_eq!(both.len(), 2, "{both:?}");
    assert!(both.iter().any(|k| digest_of(k) != digest_of(&first[0])));
}
