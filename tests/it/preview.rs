//! The preview gallery (issue 16) on the admin listener: loaded in real headless Chromium
//! (`OGFORGE_CHROMIUM`), it shows one loaded card per route (a data route's fields beside it,
//! Chromium's rendering of the same HTML beside a `preview_compare` route's), a route whose
//! template fails shows its error instead of a card, and nothing is stored or counted as a
//! served request. The test writes a screenshot of the gallery (`target/preview.png`, or
//! `OGFORGE_PREVIEW_SHOT`), which docs/preview.png is a copy of.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use axum::{Router, extract::Path as UrlPath, http::header, routing::get};
use chromiumoxide::{Browser, Page, handler::HandlerConfig, page::ScreenshotParams};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::util::{Server, Workdir, get as fetch, tool};

/// The article card of the data route: title and author from the API.
const ARTICLE: &str = r#"<div style="display:flex;flex-direction:column;justify-content:space-between;width:1200px;height:630px;padding:72px;box-sizing:border-box;background-image:linear-gradient(135deg,#312e81,#7c3aed);color:#fff;font-family:Inter">
<div style="display:flex;font-size:28px;letter-spacing:2px;color:#ddd6fe">BLOG · POST {{ post }}</div>
<div style="display:flex;font-size:72px;font-weight:700;line-height:1.1">{{ data.title }}</div>
<div style="display:flex;font-size:32px;color:#ede9fe">by {{ data.author }}</div></div>"#;

/// A plain card with the id's text.
const PLAIN: &str = r#"<div style="display:flex;align-items:center;justify-content:center;width:800px;height:420px;background-color:#fef3c7;color:#78350f;font-family:Inter;font-size:96px;font-weight:700;border:16px solid #f59e0b;box-sizing:border-box">{{ id }}</div>"#;

/// Compiles, but fails for every id: the variable does not exist (undefined is an error).
const BROKEN: &str = r#"<div style="display:flex">{{ no_such_variable }}</div>"#;

/// A loopback "site API": `/posts/{n}` is a post with a title and an author.
fn start_api() -> String {
    let addr = crate::util::serve_loopback(|_| {
        Router::new().route(
            "/posts/{n}",
            get(|UrlPath(n): UrlPath<u32>| async move {
                let post = json!({
                    "title": format!("Shipping cards without a browser, part {n}"),
                    "author": { "name": "Ada Lovelace" },
                });
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    post.to_string(),
                )
            }),
        )
    });
    format!("http://{addr}")
}

/// Four routes: the embedded score card (compared with Chromium), an article from a data API,
/// a plain card, and a broken template; a folder store.
fn gallery_workdir(api: &str) -> Workdir {
    let chromium = tool("OGFORGE_CHROMIUM", "Chromium (Debian's chromium package)");
    let w = Workdir::new();
    w.write("article.html", ARTICLE);
    w.write("plain.html", PLAIN);
    w.write("broken.html", BROKEN);
    w.config(&format!(
        "[store]\nurl = \"data\"\n[render]\ntimeout_ms = 10000\n\
         [browser]\nexecutable = {:?}\n\
         [[routes]]\nname = \"score\"\npath = \"/{{id}}.jpg\"\n\
         id_pattern = '^(?P<home>[0-9]{{2}})-(?P<away>[0-9]{{2}})-(?P<minute>[0-9]{{2}})$'\n\
         sample_id = \"12-34-10\"\npreview_compare = true\n\
         [[routes]]\nname = \"article\"\npath = \"/a/{{id}}.png\"\nformat = \"png\"\n\
         id_pattern = '(?P<post>[0-9]+)'\ntemplate = \"article.html\"\nsample_id = \"7\"\n\
         [routes.data]\nurl = \"{api}/posts/{{post}}\"\nallow_cidrs = [\"127.0.0.1/32\"]\n\
         [routes.data.fields.title]\npointer = \"/title\"\nrequired = true\n\
         [routes.data.fields.author]\npointer = \"/author/name\"\n\
         [[routes]]\nname = \"plain\"\npath = \"/p/{{id}}.png\"\nformat = \"png\"\n\
         width = 800\nheight = 420\nid_pattern = '[a-z]+'\ntemplate = \"plain.html\"\n\
         sample_id = \"hello\"\n\
         [[routes]]\nname = \"broken\"\npath = \"/b/{{id}}.png\"\nformat = \"png\"\n\
         id_pattern = '[a-z]+'\ntemplate = \"broken.html\"\nsample_id = \"oops\"\n",
        chromium.display().to_string()
    ));
    w
}

/// A headless Chromium of its own (not ogforge's), driven over CDP; its process group is
/// killed on drop.
struct Chrome {
    child: Child,
    browser: Browser,
    _profile: tempfile::TempDir,
}

impl Chrome {
    async fn start() -> Self {
        use std::os::unix::process::CommandExt;
        let exe = tool("OGFORGE_CHROMIUM", "Chromium (Debian's chromium package)");
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--window-size=1280,1000",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .env("HOME", profile.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start Chromium");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let ws = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("Chromium said where its DevTools listen within 60 s");
        let (browser, mut handler) = Browser::connect_with_config(ws, HandlerConfig::default())
            .await
            .expect("connect to Chromium");
        tokio::spawn(async move { while let Some(Ok(_)) = handler.next().await {} });
        Self {
            child,
            browser,
            _profile: profile,
        }
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.wait();
    }
}

/// What the page shows of each card, read in the page itself.
const READ_PAGE: &str = r#"JSON.stringify({
  ready: document.readyState === "complete" && [...document.images].every(i => i.complete),
  entries: [...document.querySelectorAll("section.entry")].map(s => ({
    route: s.dataset.route,
    id: s.dataset.id,
    reason: s.dataset.error || null,
    card: s.querySelector("img.card") ? s.querySelector("img.card").naturalWidth : null,
    chromium: s.querySelector("img.chromium") ? s.querySelector("img.chromium").naturalWidth : null,
    error: s.querySelector(".error") ? s.querySelector(".error").textContent : null,
    text: s.textContent,
  })),
})"#;

/// The gallery's entries once every image has loaded or failed (within a generous bound: a
/// loaded 2-core machine renders the cards and starts ogforge's own Chromium meanwhile).
async fn read_when_loaded(page: &Page) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got: String = page
            .evaluate(READ_PAGE)
            .await
            .expect("evaluate")
            .into_value()
            .expect("a string");
        let v: Value = serde_json::from_str(&got).unwrap();
        if v["ready"] == true {
            return v["entries"].as_array().cloned().unwrap_or_default();
        }
        assert!(
            Instant::now() < deadline,
            "the gallery's images did not finish loading within 120 s: {v}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn entry<'a>(entries: &'a [Value], route: &str, id: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["route"] == route && e["id"] == id)
        .unwrap_or_else(|| panic!("no card for {route}:{id} in {entries:?}"))
}

/// Where the gallery's screenshot goes.
fn shot_path() -> PathBuf {
    std::env::var_os("OGFORGE_PREVIEW_SHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/preview.png"))
}

/// Every series of a counter summed (0 when it has none).
async fn counted(server: &Server, name: &str) -> f64 {
    server.scrape().await.get(name, &[])
}

#[tokio::test]
async fn the_gallery_in_chromium_shows_each_routes_card_or_its_error_and_stores_nothing() {
    let api = start_api();
    let w = gallery_workdir(&api);
    let server = w.serve();
    let chrome = Chrome::start().await;
    let url = format!(
        "{}/_ogforge/preview?id=plain:world&id=plain:NOPE",
        server.admin
    );
    let page = chrome.browser.new_page(url.as_str()).await.expect("open");
    let entries = read_when_loaded(&page).await;

    // One loaded card per working route, at the route's size.
    for (route, id, width) in [
        ("score", "12-34-10", 1200),
        ("article", "7", 1200),
        ("plain", "hello", 800),
        ("plain", "world", 800),
    ] {
        let e = entry(&entries, route, id);
        assert_eq!(e["card"], width, "{route}:{id} card: {e}");
        assert_eq!(e["reason"], Value::Null, "{e}");
    }
    // The compared route has Chromium's rendering of the same HTML beside it.
    assert_eq!(entry(&entries, "score", "12-34-10")["chromium"], 1200);
    assert_eq!(entry(&entries, "plain", "hello")["chromium"], Value::Null);
    // The data route shows its fields.
    let article = entry(&entries, "article", "7")["text"].as_str().unwrap();
    assert!(
        article.contains("Shipping cards without a browser, part 7")
            && article.contains("Ada Lovelace"),
        "{article}"
    );
    // The tags a page would get, under the public URL.
    let score = entry(&entries, "score", "12-34-10")["text"]
        .as_str()
        .unwrap();
    assert!(
        score.contains(&format!("{}/12-34-10.jpg", server.base)),
        "{score}"
    );

    // A broken template: its error, no image.
    let broken = entry(&entries, "broken", "oops");
    assert_eq!(broken["card"], Value::Null, "{broken}");
    assert_eq!(broken["reason"], "template-error", "{broken}");
    let error = broken["error"].as_str().unwrap();
    assert!(
        error.contains("no_such_variable") && error.contains("broken.html"),
        "{error}"
    );
    // An id the route refuses: said so, no image.
    let refused = entry(&entries, "plain", "NOPE");
    assert_eq!(refused["reason"], "invalid-id", "{refused}");
    assert_eq!(refused["card"], Value::Null, "{refused}");

    let png = page
        .screenshot(ScreenshotParams::builder().full_page(true).build())
        .await
        .expect("screenshot");
    let out = shot_path();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&out, png).unwrap();
    println!("gallery screenshot: {}", out.display());

    // Renders there are never stored, and none of it counts as a served request or render.
    assert!(w.stored().is_empty(), "stored: {:?}", w.stored());
    assert_eq!(counted(&server, "ogforge_http_requests_total").await, 0.0);
    assert_eq!(counted(&server, "ogforge_renders_total").await, 0.0);
    drop(chrome);
    server.stop();
}

#[tokio::test]
async fn the_preview_endpoints_refuse_bad_input_escape_ids_and_store_nothing() {
    let api = start_api();
    let w = gallery_workdir(&api);
    let server = w.serve();
    let admin = |path: &str| format!("{}{path}", server.admin);

    // One card alone, the sample without an id.
    let r = fetch(&admin("/_ogforge/preview/image?route=plain&id=world")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "image/png");
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(
        fetch(&admin("/_ogforge/preview/image?route=plain"))
            .await
            .status,
        200
    );
    // Bad input: a clear 4xx each.
    for (path, status) in [
        ("/_ogforge/preview/image", 400),
        ("/_ogforge/preview/image?route=nope", 404),
        ("/_ogforge/preview/image?route=plain&id=NOPE", 400),
        ("/_ogforge/preview/browser?route=plain&id=abc", 404),
        ("/_ogforge/preview/fonts/..%2Fdefault.jpg", 404),
        ("/_ogforge/preview?route=nope", 404),
    ] {
        let r = fetch(&admin(path)).await;
        assert_eq!(
            r.status,
            status,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    let too_many = (0..40).map(|_| "id=plain:a").collect::<Vec<_>>().join("&");
    let r = fetch(&admin(&format!("/_ogforge/preview?{too_many}"))).await;
    assert_eq!(r.status, 400);
    // A broken template: its reason and error.
    let r = fetch(&admin("/_ogforge/preview/image?route=broken")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.header("x-ogforge-fallback"), "template-error");
    assert!(String::from_utf8_lossy(&r.body).contains("no_such_variable"));
    // The HTML Chromium gets for the side-by-side.
    let r = fetch(&admin("/_ogforge/preview/html?route=plain&id=world")).await;
    let html = String::from_utf8_lossy(&r.body);
    assert!(r.status == 200 && html.contains(">world</div>"), "{html}");

    // Ids and route names from the query are escaped wherever the page shows them.
    let evil = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let r = fetch(&admin(&format!(
        "/_ogforge/preview?id=plain:{evil}&id=x\"onmouseover=alert(1)"
    )))
    .await;
    assert_eq!(r.status, 200);
    let page = String::from_utf8_lossy(&r.body);
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{page}"
    );
    assert!(!page.contains("\"onmouseover"), "{page}");
    assert!(
        r.header("content-security-policy")
            .contains("script-src 'sha256-")
    );

    // The version token: stable while the routes are.
    let v1 = fetch(&admin("/_ogforge/preview/version")).await;
    let v2 = fetch(&admin("/_ogforge/preview/version")).await;
    let token = String::from_utf8_lossy(&v1.body).trim().to_owned();
    assert_eq!(token.len(), 16, "{token}");
    assert_eq!(v1.body, v2.body);
    assert!(page.contains(&format!("data-version=\"{token}\"")));

    assert!(w.stored().is_empty(), "stored: {:?}", w.stored());
    assert_eq!(counted(&server, "ogforge_http_requests_total").await, 0.0);
    server.stop();
}

/// The page's `data-version`, or `None` while it is between two documents (reloading).
async fn shown_version(page: &Page) -> Option<String> {
    let got = page.evaluate("document.body.dataset.version").await.ok()?;
    got.into_value::<String>().ok()
}

/// The gallery refreshes itself: it polls the routes' version token and reloads when it
/// changes. Here `serve --watch` reloads the edited template (a new digest); the page is never
/// touched by the test.
#[tokio::test]
async fn the_gallery_reloads_itself_when_a_template_changes() {
    let w = Workdir::new();
    w.write("plain.html", PLAIN);
    w.config(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\n[store]\nurl = \"data\"\n\
         [[routes]]\nname = \"plain\"\npath = \"/p/{id}.png\"\nformat = \"png\"\n\
         width = 800\nheight = 420\nid_pattern = '[a-z]+'\ntemplate = \"plain.html\"\n\
         sample_id = \"hello\"\n",
    );
    let server = w.serve_with(&["--watch"], &[]);
    let version = |s: &Server| format!("{}/_ogforge/preview/version", s.admin);
    let before = String::from_utf8(fetch(&version(&server)).await.body).unwrap();
    let chrome = Chrome::start().await;
    let url = format!("{}/_ogforge/preview", server.admin);
    let page = chrome.browser.new_page(url.as_str()).await.expect("open");
    assert_eq!(shown_version(&page).await.as_deref(), Some(before.trim()));

    w.write("plain.html", &PLAIN.replace("#fef3c7", "#dcfce7"));
    // The reload lands once the edit has been quiet for 200 ms; a loaded machine takes longer.
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let now = String::from_utf8(fetch(&version(&server)).await.body).unwrap();
        if now != before {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "serve --watch did not reload the edited template within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The page polls each second; a loaded machine gets a generous bound.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if shown_version(&page).await.as_deref() == Some(after.trim()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gallery did not reload itself within 60 s of the new version"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The reloaded page shows the new card.
    assert_eq!(read_when_loaded(&page).await.len(), 1);
    assert!(w.stored().is_empty(), "stored: {:?}", w.stored());
    drop(chrome);
    server.stop();
}
