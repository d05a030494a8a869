//! The page server the browser routes screenshot: a tiny HTTP/1.1 server on loopback that
//! serves `../shared/card/card.html` in a page at `/card?id=ID` (the id in the footer, as
//! `bench/card.html.j2` shows it) and the card's font from the same origin, counting what
//! Chromium asks for. The browser series itself is in `browser.rs`.

use std::{
    borrow::Cow,
    fs,
    io::{self, BufRead, BufReader, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::Duration,
};

use anyhow::{Context, Result, ensure};

/// The font of `../shared/card/`, served by the page server at `/` + this name.
const CARD_FONT: &str = "inter-latin-700-normal.woff";
/// Where the id goes in `../shared/card/card.html`, as in `bench/card.html.j2`.
const CARD_SCORE: &str = "12 - 34 - 10";

/// The card page, cut where the id goes.
#[derive(Debug)]
struct CardPage {
    before: String,
    after: String,
    font: Vec<u8>,
}

impl CardPage {
    fn load(card_dir: &Path) -> Result<Self> {
        let html_path = card_dir.join("card.html");
        let card = fs::read_to_string(&html_path)
            .with_context(|| format!("cannot read {}", html_path.display()))?;
        ensure!(
            card.matches(CARD_SCORE).count() == 1,
            "{} does not show {CARD_SCORE:?} exactly once",
            html_path.display()
        );
        let font_path = card_dir.join(CARD_FONT);
        let font =
            fs::read(&font_path).with_context(|| format!("cannot read {}", font_path.display()))?;
        let (head, tail) = card.split_once(CARD_SCORE).unwrap_or_default();
        // The card is a fragment with inline styles: a page around it registers the font as
        // family Inter, weight 700, and takes the body's margin away. The preload makes the
        // load event wait for the font; ogforge then waits for document.fonts.ready as well.
        Ok(Self {
            before: format!(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>card</title>\
                 <link rel=\"preload\" href=\"/{CARD_FONT}\" as=\"font\" type=\"font/woff\" \
                 crossorigin><style>@font-face{{font-family:Inter;font-style:normal;\
                 font-weight:700;font-display:block;src:url(/{CARD_FONT}) format(\"woff\")}}\
                 html,body{{margin:0;padding:0;overflow:hidden}}</style></head><body>{head}"
            ),
            after: format!("{tail}</body></html>"),
            font,
        })
    }
}

/// Requests the page server answered, by kind.
#[derive(Debug, Default)]
pub(crate) struct PageHits {
    pub(crate) pages: AtomicUsize,
    pub(crate) fonts: AtomicUsize,
    pub(crate) other: AtomicUsize,
}

/// A tiny HTTP/1.1 server on loopback (a thread per connection, keep-alive) for the browser
/// routes: `GET /card?id=ID` is `../shared/card/card.html` in a page, with the id in the
/// footer the way `bench/card.html.j2` shows it; `GET /inter-latin-700-normal.woff` is the
/// card's font, from the same origin (ogforge blocks every other origin), cacheable as a
/// site's font would be. The thread lives until the benchmark exits.
#[derive(Debug)]
pub(crate) struct PageServer {
    pub(crate) addr: SocketAddr,
    pub(crate) hits: Arc<PageHits>,
}

impl PageServer {
    pub(crate) fn start(card_dir: &Path) -> Result<Self> {
        let page = Arc::new(CardPage::load(card_dir)?);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let hits = Arc::new(PageHits::default());
        let counters = Arc::clone(&hits);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (page, hits) = (Arc::clone(&page), Arc::clone(&counters));
                thread::spawn(move || {
                    let _ = serve_page(stream, &page, &hits);
                });
            }
        });
        Ok(Self { addr, hits })
    }

    /// The page URL with ogforge's `{id}` placeholder.
    pub(crate) fn page_url(&self) -> String {
        format!("http://{}/card?id={{id}}", self.addr)
    }
}

/// One connection of the page server: GET requests (no bodies), keep-alive until closed.
fn serve_page(stream: TcpStream, page: &CardPage, hits: &PageHits) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(300)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let Some((target, close)) = read_request(&mut reader)? else {
            return Ok(());
        };
        let (status, content_type, cache, body) = answer(&target, page, hits);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Cache-Control: {cache}\r\n{}\r\n",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        out.write_all(head.as_bytes())?;
        out.write_all(&body)?;
        out.flush()?;
        if close {
            return Ok(());
        }
    }
}

/// The next request's target and whether it asks to close the connection; `None` once the
/// client has closed it.
fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<(String, bool)>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut close = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        close |= header.starts_with("connection:") && header.contains("close");
    }
    Ok(Some((target, close)))
}

/// Status, content type, cache control and body for a request target, counted in `hits`.
fn answer<'a>(
    target: &str,
    page: &'a CardPage,
    hits: &PageHits,
) -> (&'static str, &'static str, &'static str, Cow<'a, [u8]>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let id = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("id="))
        .map(percent_decode);
    match (path, id) {
        ("/card", Some(id)) => {
            hits.pages.fetch_add(1, Ordering::Relaxed);
            let html = format!("{}{}{}", page.before, card_score(&id), page.after);
            (
                "200 OK",
                "text/html; charset=utf-8",
                "no-store",
                Cow::Owned(html.into_bytes()),
            )
        }
        (p, _) if p.strip_prefix('/') == Some(CARD_FONT) => {
            hits.fonts.fetch_add(1, Ordering::Relaxed);
            (
                "200 OK",
                "font/woff",
                "public, max-age=31536000, immutable",
                Cow::Borrowed(&page.font),
            )
        }
        _ => {
            hits.other.fetch_add(1, Ordering::Relaxed);
            let body: &[u8] = b"not found\n";
            (
                "404 Not Found",
                "text/plain",
                "no-store",
                Cow::Borrowed(body),
            )
        }
    }
}

/// The footer score for an id, as `bench/card.html.j2` shows it (six characters read
/// "12 - 34 - 10", anything else as it is), HTML-escaped.
fn card_score(id: &str) -> String {
    let shown = if id.chars().count() == 6 {
        let c: Vec<char> = id.chars().collect();
        format!(
            "{} - {} - {}",
            c[0..2].iter().collect::<String>(),
            c[2..4].iter().collect::<String>(),
            c[4..6].iter().collect::<String>()
        )
    } else {
        id.to_owned()
    };
    let mut out = String::with_capacity(shown.len());
    for ch in shown.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `%XX` escapes (and `+` as a space) of a query value; invalid escapes stay as they are.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|&c| (c as char).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
