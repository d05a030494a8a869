//! Data routes (issue 12) against a loopback JSON API started here, allowed by an explicit
//! `allow_cidrs = ["127.0.0.1/32"]`: the title on the card, an edited title under a new key,
//! and each failure as the default image with its own reason, never stored.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::util::{Reply, Workdir, client, send};

const TOKEN: &str = "Bearer api-s3cret";

/// The API's state: the title post 1 has now, requests seen, and the tokens they carried;
/// its own base URL (image fields point back at it) and the images asked for.
#[derive(Clone, Default)]
pub(crate) struct Api {
    pub(crate) title: Arc<Mutex<String>>,
    pub(crate) hits: Arc<AtomicUsize>,
    pub(crate) tokens: Arc<Mutex<Vec<Option<String>>>>,
    base: Arc<Mutex<String>>,
    pub(crate) images: Arc<Mutex<Vec<String>>>,
    /// Post 1 answers 503 while set.
    pub(crate) down: Arc<std::sync::atomic::AtomicBool>,
    /// 304s post 1 gave to a matching `If-None-Match`.
    pub(crate) not_modified: Arc<AtomicUsize>,
    /// Set once `/img/stall-once.png` has been asked (its first ask never answers).
    pub(crate) stalled_once: Arc<std::sync::atomic::AtomicBool>,
}

impl Api {
    /// Serves on a loopback port of its own runtime; returns the base URL.
    pub(crate) fn start(&self) -> String {
        let app = Router::new()
            .route("/posts/{n}", get(post))
            .route("/img/{name}", get(image))
            .with_state(self.clone());
        let base = format!("http://{}", crate::util::serve_loopback(move |_| app));
        base.clone_into(&mut self.base.lock().unwrap());
        base
    }
}

/// Post 1 has the current title; 2 an empty one; 404 and 410 are gone; 7 never answers; 8 is
/// 300 KB; 9 has no title.
async fn post(State(api): State<Api>, Path(n): Path<u32>, headers: HeaderMap) -> Response {
    api.hits.fetch_add(1, Ordering::SeqCst);
    let token = headers.get("authorization").and_then(|v| v.to_str().ok());
    api.tokens.lock().unwrap().push(token.map(str::to_owned));
    let json = |v: serde_json::Value| {
        ([("content-type", "application/json")], v.to_string()).into_response()
    };
    match n {
        1 if api.down.load(Ordering::SeqCst) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        1 => {
            let title = api.title.lock().unwrap().clone();
            // By length: every edit the tests make changes it.
            let etag = format!("\"{}\"", title.len());
            if headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(&etag) {
                api.not_modified.fetch_add(1, Ordering::SeqCst);
                return StatusCode::NOT_MODIFIED.into_response();
            }
            let body = serde_json::json!({"title": title, "author": {"name": "Ann"}});
            let mut r = json(body);
            r.headers_mut().insert("etag", etag.parse().unwrap());
            r
        }
        2 => json(serde_json::json!({"title": "", "author": {"name": "Ann"}})),
        404 => StatusCode::NOT_FOUND.into_response(),
        410 => StatusCode::GONE.into_response(),
        7 => std::future::pending().await,
        8 => json(serde_json::json!({"title": "x".repeat(300 * 1024)})),
        9 => json(serde_json::json!({"author": {"name": "Ann"}})),
        // Image fields: an avatar here, a header of 10,000 x 10,000, a data: URI, another host.
        20..=23 => {
            let base = api.base.lock().unwrap().clone();
            let avatar = match n {
                20 => format!("{base}/img/red.png"),
                21 => format!("{base}/img/huge.png"),
                22 => format!("data:image/png;base64,{}", base64_of(&red_png())),
                _ => "http://images.example.com/a.png".to_owned(),
            };
            json(serde_json::json!({"title": "With avatar", "avatar": avatar}))
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn image(State(api): State<Api>, Path(name): Path<String>) -> Response {
    api.images.lock().unwrap().push(name.clone());
    let (mime, bytes) = match name.as_str() {
        "red.png" => ("image/png", red_png()),
        // One blue pixel (a two-colour global table, LZW code size 2).
        "blue.gif" => (
            "image/gif",
            b"GIF89a\x01\0\x01\0\x80\0\0\0\0\xff\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;"
                .to_vec(),
        ),
        "green.svg" => (
            "image/svg+xml",
            br##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#00ff00"/></svg>"##.to_vec(),
        ),
        // An SVG that would make the renderer fetch from elsewhere.
        "outside.svg" => (
            "image/svg+xml",
            br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="http://169.254.169.254/x.png" width="10" height="10"/></svg>"#.to_vec(),
        ),
        "missing.png" => return StatusCode::NOT_FOUND.into_response(),
        // Never answers the first time it is asked, then is red.png: a render that stalls
        // once (tests/it/cluster.rs kills the replica stuck in it).
        "stall-once.png" if !api.stalled_once.swap(true, Ordering::SeqCst) => {
            return std::future::pending().await;
        }
        "stall-once.png" => ("image/png", red_png()),
        // A PNG signature and IHDR that claim 10,000 x 10,000, and no pixels.
        _ => {
            let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
            v.extend(10_000u32.to_be_bytes());
            v.extend(10_000u32.to_be_bytes());
            v.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
            ("image/png", v)
        }
    };
    ([("content-type", mime)], bytes).into_response()
}

/// A 64 x 64 solid red PNG.
fn red_png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 64, 64);
    enc.set_color(png::ColorType::Rgb);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&[255, 0, 0].repeat(64 * 64)).unwrap();
    w.finish().unwrap();
    out
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Black title text on white, top left: where the pixels are checked.
const TEMPLATE: &str = r#"<div style="display:flex;flex-direction:column;width:100%;height:100%;background:#fff;color:#000;padding:40px">
<div style="font-size:96px;font-weight:700;height:120px">{{ data.title }}</div>
<div style="font-size:40px">{{ data.author }}</div></div>"#;

/// A folder whose config has one data route `/p/{post}.png` on `api`; `data`: more
/// `[routes.data]` keys; `route`: more route keys.
fn workdir(api: &str, data: &str, route: &str) -> Workdir {
    let w = Workdir::new();
    w.write("card.html", TEMPLATE);
    w.config(&format!(
        "[store]\nurl = \"data\"\n[rate_limit]\nrenders_per_minute = 0\n\
         [[routes]]\nname = \"post\"\npath = \"/p/{{id}}.png\"\nformat = \"png\"\n\
         id_pattern = '(?P<post>[0-9]+)'\ntemplate = \"card.html\"\n{route}\n\
         [routes.data]\nurl = \"{api}/posts/{{post}}\"\n{data}\n\
         [routes.data.headers_env]\nAuthorization = \"API_TOKEN\"\n\
         [routes.data.fields.title]\npointer = \"/title\"\nrequired = true\n\
         [routes.data.fields.author]\npointer = \"/author/name\"\n"
    ));
    w
}

pub(crate) const ALLOW_LOOPBACK: &str = "allow_cidrs = [\"127.0.0.1/32\"]\n";

/// ogforge serving [`workdir`]'s route with the loopback API allowed.
pub(crate) fn serve(api: &str, extra: &str) -> (Workdir, crate::util::Server) {
    let w = workdir(api, &format!("{ALLOW_LOOPBACK}{extra}"), "");
    let server = w.serve_with(&[], &[("API_TOKEN", TOKEN)]);
    (w, server)
}

pub(crate) async fn fetch(server: &crate::util::Server, path: &str) -> Reply {
    send(client().get(server.url(path))).await
}

/// A PNG's rows of RGB(A) pixels, and its channels per pixel.
pub(crate) fn pixels(png_bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.line_size / info.width as usize;
    let rows = buf[..info.buffer_size()].chunks_exact(info.line_size);
    (rows.map(<[u8]>::to_vec).collect(), channels)
}

/// Dark pixels in the title's region (top left), in a PNG.
fn dark_pixels_in_title(png_bytes: &[u8]) -> usize {
    let (rows, channels) = pixels(png_bytes);
    (rows.iter().skip(40).take(110))
        .flat_map(|row| row.chunks_exact(channels).skip(40).take(800))
        .filter(|px| px[..3].iter().all(|c| *c < 96))
        .count()
}

#[tokio::test]
async fn the_title_is_drawn_and_an_edit_moves_the_card_to_a_new_key() {
    let api = Api::default();
    *api.title.lock().unwrap() = "Hello World".into();
    let (w, server) = serve(&api.start(), "ttl_secs = 1\n");

    let first = fetch(&server, "/p/1.png").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("x-ogforge-tier"),
        "render",
        "{}",
        first.header("x-ogforge-fallback")
    );
    // The same card with an empty title is the render without the text.
    let empty = fetch(&server, "/p/2.png").await;
    assert_eq!(empty.header("x-ogforge-tier"), "render");
    let (with, without) = (
        dark_pixels_in_title(&first.body),
        dark_pixels_in_title(&empty.body),
    );
    assert_eq!(without, 0, "the title region of the empty card has text");
    assert!(with > 0, "the title region of the card has no text");
    // Lifetimes follow the data's TTL.
    let cc = first.header("cache-control");
    assert_eq!(
        cc,
        "public, max-age=1, s-maxage=1, stale-while-revalidate=1, stale-if-error=3600"
    );
    // The token went to the API, and never into the log.
    assert!(
        api.tokens
            .lock()
            .unwrap()
            .iter()
            .all(|t| t.as_deref() == Some(TOKEN))
    );

    // The edit shows once the cached JSON has expired: a new key, a new ETag.
    *api.title.lock().unwrap() = "Edited".into();
    let deadline = Instant::now() + Duration::from_secs(30);
    let second = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let r = fetch(&server, "/p/1.png").await;
        if r.header("etag") != first.header("etag") || Instant::now() > deadline {
            break r;
        }
    };
    assert_ne!(
        second.header("etag"),
        first.header("etag"),
        "the edit never showed"
    );
    assert_eq!(second.header("x-ogforge-tier"), "render");
    let stored: Vec<String> = (w.stored().into_iter())
        .filter(|k| k.ends_with("/1.png"))
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    let log = server.stop();
    assert!(!log.contains("api-s3cret"), "the token was logged");
}

#[tokio::test]
async fn each_data_failure_is_the_default_image_with_its_reason_and_nothing_is_stored() {
    let api = Api::default();
    let (w, server) = serve(&api.start(), "timeout_ms = 500\n");
    for (path, reason) in [
        ("/p/404.png", "data-not-found"),
        ("/p/410.png", "data-not-found"),
        ("/p/7.png", "data-timeout"),
        ("/p/8.png", "data-too-large"),
        ("/p/9.png", "data-missing-field"),
        ("/p/5.png", "data-status"),
    ] {
        let r = fetch(&server, path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("x-ogforge-fallback"), reason, "{path}");
        assert_eq!(r.header("x-ogforge-tier"), "fallback", "{path}");
    }
    assert!(w.stored().is_empty(), "{:?}", w.stored());
    // A 404 is believed for a while; a 500 is asked again.
    let hits = api.hits.load(Ordering::SeqCst);
    let again = fetch(&server, "/p/404.png").await;
    assert_eq!(again.header("x-ogforge-fallback"), "data-not-found");
    assert_eq!(api.hits.load(Ordering::SeqCst), hits);
    let again = fetch(&server, "/p/5.png").await;
    assert_eq!(again.header("x-ogforge-fallback"), "data-status");
    assert_eq!(api.hits.load(Ordering::SeqCst), hits + 1);
    let m = server.scrape().await;
    let not_found = [("route", "post"), ("reason", "data-not-found")];
    assert_eq!(m.get("ogforge_fallbacks_total", &not_found), 3.0);
}

/// Without the allow-list the loopback API is refused before any connection.
#[tokio::test]
async fn a_loopback_api_is_refused_unless_allowed() {
    let api = Api::default();
    let w = workdir(&api.start(), "", "");
    let server = w.serve_with(&[], &[("API_TOKEN", TOKEN)]);
    let r = fetch(&server, "/p/1.png").await;
    assert_eq!(r.header("x-ogforge-fallback"), "data-blocked");
    assert_eq!(api.hits.load(Ordering::SeqCst), 0);
    let m = server.scrape().await;
    let blocked = [("reason", "loopback")];
    assert_eq!(m.get("ogforge_fetch_blocked_total", &blocked), 1.0);
}

/// `check` fetches the sample's data and renders it; a sample the API does not know fails,
/// naming the data URL and the reason.
#[test]
fn check_fetches_the_sample() {
    let api = Api::default();
    *api.title.lock().unwrap() = "Hello".into();
    let base = api.start();
    for (sample, ok) in [("1", true), ("404", false)] {
        let w = workdir(&base, ALLOW_LOOPBACK, &format!("sample_id = \"{sample}\""));
        let (code, out, err) = crate::util::run_in_env(
            w.path(),
            &["check", "-c", "ogforge.toml"],
            &[("API_TOKEN", TOKEN)],
        );
        if ok {
            assert_eq!(code, 0, "{out}{err}");
            assert!(out.contains("sample \"1\" rendered"), "{out}");
        } else {
            assert_ne!(code, 0, "{out}{err}");
            assert!(err.contains("routes[0].data.url"), "{err}");
            assert!(err.contains("data-not-found"), "{err}");
            // --offline does not ask the API.
            let hits = api.hits.load(Ordering::SeqCst);
            let args = ["check", "-c", "ogforge.toml", "--offline"];
            let (code, out, err) =
                crate::util::run_in_env(w.path(), &args, &[("API_TOKEN", TOKEN)]);
            assert_eq!(code, 0, "{out}{err}");
            assert!(out.contains("--offline"), "{out}");
            assert_eq!(api.hits.load(Ordering::SeqCst), hits);
        }
    }
}
