//! `ogforge proxy` (DESIGN.md mission 9) against a small real upstream started by the test: the
//! rewritten page has exactly one `og:image`, the validated one; what must pass through does.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::sync::Notify;

use crate::util::{BIN, Workdir, client, free_port, send};

pub const PUBLIC: &str = "https://social.example.com";

const PAGE: &str = "<!doctype html><html><head><title>Match</title>\
<meta property=\"og:title\" content=\"Match\">\
<meta property=\"og:image\" content=\"https://attacker.example/x.jpg\">\
<meta property=\"og:image:width\" content=\"1\">\
<meta name=\"twitter:card\" content=\"summary\">\
<meta name=\"twitter:image\" content=\"https://attacker.example/y.jpg\">\
</head><body><p>hello</p></body></html>";

#[derive(Default)]
pub struct Upstream {
    accept_encoding: Mutex<Vec<String>>,
    gate: Notify,
}

fn html(body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        "text/html; charset=utf-8".parse().unwrap(),
    );
    r
}

async fn page(State(u): State<Arc<Upstream>>, h: HeaderMap) -> Response {
    let ae = h
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    u.accept_encoding.lock().unwrap().push(ae);
    let mut r = html(PAGE);
    let hs = r.headers_mut();
    hs.insert(header::CONTENT_LENGTH, PAGE.len().into());
    hs.append(header::SET_COOKIE, "a=1; Path=/".parse().unwrap());
    hs.append(header::SET_COOKIE, "b=2; HttpOnly".parse().unwrap());
    hs.insert(header::ETAG, "\"v1\"".parse().unwrap());
    r
}

/// Gzip whatever the request asked for.
async fn gzipped() -> Response {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(PAGE.as_bytes()).unwrap();
    let bytes = enc.finish().unwrap();
    let mut r = html(bytes.clone());
    r.headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, bytes.len().into());
    r
}

const BIG_HALF: usize = 2 * 1024 * 1024;

/// A 4 MiB page in 64 KiB chunks that stops half-way until the test has seen the head: a proxy
/// that buffered the page would never send anything.
async fn big(State(u): State<Arc<Upstream>>) -> Response {
    let filler = "<p>lorem ipsum dolor sit amet</p>\n".repeat(64 * 1024 / 34);
    let stream = async_stream(u, filler);
    html(Body::from_stream(stream))
}

fn async_stream(
    u: Arc<Upstream>,
    filler: String,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let head = PAGE.split("<body>").next().unwrap().to_owned() + "<body>";
    futures::stream::unfold((0usize, u), move |(sent, u)| {
        let (head, filler) = (head.clone(), filler.clone());
        async move {
            if sent >= 2 * BIG_HALF {
                return None;
            }
            if sent == 0 {
                return Some((Ok(bytes::Bytes::from(head)), (1, u)));
            }
            if sent < BIG_HALF && sent + filler.len() >= BIG_HALF {
                u.gate.notified().await;
            }
            Some((
                Ok(bytes::Bytes::from(filler.clone())),
                (sent + filler.len(), u),
            ))
        }
    })
}

/// A head whose charset declaration comes after a title and a description, 600 bytes in: the
/// tags must not push it past the first 1024 bytes.
pub fn late_charset_page() -> String {
    format!(
        "<!doctype html><html><head><title>Match</title>\
         <meta name=\"description\" content=\"{}\"><meta charset=\"utf-8\">\
         <meta property=\"og:image\" content=\"https://attacker.example/x.jpg\">\
         </head><body></body></html>",
        "d".repeat(500)
    )
}

pub async fn start_upstream() -> (String, Arc<Upstream>) {
    let state = Arc::new(Upstream::default());
    let app = Router::new()
        .route("/page", get(page))
        .route("/charset", get(|| async { html(late_charset_page()) }))
        .route("/gz", get(gzipped))
        .route("/big", get(big))
        .route(
            "/data.json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"og:image\":\"<meta property='og:image'>\"}",
                )
            }),
        )
        .route(
            "/moved",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [
                        (header::LOCATION, "/page"),
                        (header::CONTENT_TYPE, "text/html"),
                    ],
                    "<html><head></head></html>",
                )
                    .into_response()
            }),
        )
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state)
}

pub struct ProxyProcess {
    child: Child,
    pub base: String,
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(w: &Workdir, upstream: &str) -> ProxyProcess {
    start_proxy_with(w, upstream, "", &[])
}

/// `ogforge proxy` in front of `upstream`, with `routes` (TOML) after the embedded config and
/// `env` set; its log goes to `proxy.log` in the workdir.
pub fn start_proxy_with(
    w: &Workdir,
    upstream: &str,
    routes: &str,
    env: &[(&str, &str)],
) -> ProxyProcess {
    w.config(&format!(
        "[server]\npublic_url = \"{PUBLIC}\"\n[store]\nurl = \"data\"\n{routes}"
    ));
    let log = std::fs::File::create(w.path().join("proxy.log")).unwrap();
    let mut child = Command::new(BIN)
        .args(["proxy", "-c", "ogforge.toml", "--listen", "127.0.0.1:0"])
        .args(["--upstream", upstream])
        .envs(env.iter().copied())
        .current_dir(w.path())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn ogforge proxy");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("proxy did not start: {line:?}"))
        .to_owned();
    ProxyProcess { child, base }
}

/// `content` of every `<meta>` with this property or name, by parsing the page.
pub fn metas(page: &str, key: &str) -> Vec<String> {
    let found = std::cell::RefCell::new(Vec::new());
    let selector_p = format!("meta[property=\"{key}\"]");
    let selector_n = format!("meta[name=\"{key}\"]");
    lol_html::rewrite_str(
        page,
        lol_html::RewriteStrSettings::new()
            .append_element_content_handler(lol_html::element!(selector_p, |el| {
                found
                    .borrow_mut()
                    .push(el.get_attribute("content").unwrap_or_default());
                Ok(())
            }))
            .append_element_content_handler(lol_html::element!(selector_n, |el| {
                found
                    .borrow_mut()
                    .push(el.get_attribute("content").unwrap_or_default());
                Ok(())
            })),
    )
    .unwrap();
    found.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_gets_exactly_one_og_image_with_the_validated_url_and_headers_pass_through() {
    let (up, state) = start_upstream().await;
    let w = Workdir::new();
    let p = start_proxy(&w, &up);
    let r = send(client().get(format!("{}/page?social=12-34-10", p.base))).await;
    assert_eq!(r.status, 200);
    let page = String::from_utf8(r.body.clone()).unwrap();
    let expected = format!("{PUBLIC}/12-34-10.jpg");
    assert_eq!(
        metas(&page, "og:image"),
        std::slice::from_ref(&expected),
        "{page}"
    );
    assert_eq!(metas(&page, "twitter:image"), [expected], "{page}");
    assert_eq!(metas(&page, "twitter:card"), ["summary_large_image"]);
    assert_eq!(metas(&page, "og:image:width"), ["1200"]);
    assert_eq!(metas(&page, "og:title"), ["Match"], "other tags stay");
    assert!(!page.contains("attacker"), "{page}");
    let cookies: Vec<_> = r.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; HttpOnly"]);
    assert_eq!(r.header("content-length"), "", "rewritten bodies drop it");
    assert_eq!(r.header("etag"), "W/\"v1\"");
    assert_eq!(
        state.accept_encoding.lock().unwrap().as_slice(),
        ["identity"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_or_missing_values_give_the_default_image_and_are_not_reflected() {
    let (up, _state) = start_upstream().await;
    let w = Workdir::new();
    let p = start_proxy(&w, &up);
    for q in [
        "",
        "?social=",
        "?social=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "?social=%2F%2Fevil.com",
        "?social=javascript%3Aalert(1)",
        "?social=12-34-10%0D%0ASet-Cookie%3Ax",
    ] {
        let r = send(client().get(format!("{}/page{q}", p.base))).await;
        let page = String::from_utf8(r.body).unwrap();
        assert_eq!(metas(&page, "og:image"), [format!("{PUBLIC}/.jpg")], "{q}");
        for needle in ["script", "evil", "javascript", "Set-Cookie:x"] {
            assert!(!page.contains(needle), "{q}: {page}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_upstream_is_decompressed_and_rewritten() {
    let (up, _state) = start_upstream().await;
    let w = Workdir::new();
    let p = start_proxy(&w, &up);
    let r = send(client().get(format!("{}/gz?social=12-34-10", p.base))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), "");
    let page = String::from_utf8(r.body).unwrap();
    assert_eq!(metas(&page, "og:image"), [format!("{PUBLIC}/12-34-10.jpg")]);
    assert!(page.ends_with("</html>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_megabyte_page_streams_without_being_buffered_whole() {
    let (up, state) = start_upstream().await;
    let w = Workdir::new();
    let p = start_proxy(&w, &up);
    let mut resp = client()
        .get(format!("{}/big?social=12-34-10", p.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut got = Vec::new();
    // Upstream holds the second half back until we have seen the head through the proxy.
    while !String::from_utf8_lossy(&got).contains("</head>") {
        let chunk = tokio::time::timeout(Duration::from_secs(20), resp.chunk())
            .await
            .expect("the proxy sent nothing while upstream was still streaming")
            .unwrap()
            .expect("body ended early");
        got.extend_from_slice(&chunk);
    }
    state.gate.notify_one();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(60), resp.chunk())
        .await
        .unwrap()
        .unwrap()
    {
        got.extend_from_slice(&chunk);
    }
    assert!(got.len() > 2 * BIG_HALF, "{}", got.len());
    let page = String::from_utf8(got).unwrap();
    assert_eq!(metas(&page, "og:image"), [format!("{PUBLIC}/12-34-10.jpg")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_html_redirects_and_head_pass_through_untouched() {
    let (up, _state) = start_upstream().await;
    let w = Workdir::new();
    let p = start_proxy(&w, &up);
    let r = send(client().get(format!("{}/data.json?social=12-34-10", p.base))).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        "{\"og:image\":\"<meta property='og:image'>\"}"
    );
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = send(no_redirect.get(format!("{}/moved?social=12-34-10", p.base))).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), "/page");
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        "<html><head></head></html>"
    );
    let r = send(client().head(format!("{}/page?social=12-34-10", p.base))).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), PAGE.len().to_string());
}

#[tokio::test]
async fn upstream_down_is_a_502_with_a_clear_message() {
    let w = Workdir::new();
    let p = start_proxy(&w, &format!("http://127.0.0.1:{}", free_port()));
    let r = send(client().get(format!("{}/page?social=12-34-10", p.base))).await;
    assert_eq!(r.status, 502);
    assert!(
        String::from_utf8(r.body).unwrap().contains("upstream"),
        "the message names the upstream"
    );
}
