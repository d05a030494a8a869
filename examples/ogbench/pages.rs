//! The page server the browser routes screenshot: on the loopback server of `loopback.rs`, it
//! serves `../shared/card/card.html` in a page at `/card?id=ID` (the id in the footer, as
//! `bench/card.html.j2` shows it) and the card's font from the same origin, counting what
//! Chromium asks for. The browser series itself is in `browser.rs`.

use std::{
    fs,
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use anyhow::{Context, Result, ensure};
use bytes::Bytes;

use crate::loopback::{self, Answer};

/// The font of `../shared/card/`, served by the page server at `/` + this name.
const CARD_FONT: &str = "inter-latin-700-normal.woff";
/// Where the id goes in `../shared/card/card.html`, as in `bench/card.html.j2`.
const CARD_SCORE: &str = "12 - 34 - 10";

/// The card page, cut where the id goes.
#[derive(Debug)]
struct CardPage {
    before: String,
    after: String,
    font: Bytes,
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
            font: Bytes::from(font),
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

/// The page server for the browser routes (on [`loopback`]): `GET /card?id=ID` is
/// `../shared/card/card.html` in a page, with the id in the footer the way
/// `bench/card.html.j2` shows it; `GET /inter-latin-700-normal.woff` is the card's font, from
/// the same origin (ogforge blocks every other origin), cacheable as a site's font would be.
#[derive(Debug)]
pub(crate) struct PageServer {
    pub(crate) addr: SocketAddr,
    pub(crate) hits: Arc<PageHits>,
}

impl PageServer {
    pub(crate) fn start(card_dir: &Path) -> Result<Self> {
        let page = CardPage::load(card_dir)?;
        let hits = Arc::new(PageHits::default());
        let counters = Arc::clone(&hits);
        let addr = loopback::start(Arc::new(move |target: &str| {
            answer(target, &page, &counters)
        }))?;
        Ok(Self { addr, hits })
    }

    /// The page URL with ogforge's `{id}` placeholder.
    pub(crate) fn page_url(&self) -> String {
        format!("http://{}/card?id={{id}}", self.addr)
    }
}

/// The answer to a request target, counted in `hits`.
fn answer(target: &str, page: &CardPage, hits: &PageHits) -> Answer {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let id = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("id="))
        .map(percent_decode);
    match (path, id) {
        ("/card", Some(id)) => {
            hits.pages.fetch_add(1, Ordering::Relaxed);
            let html = format!("{}{}{}", page.before, card_score(&id), page.after);
            Answer::ok("text/html; charset=utf-8", "no-store", Bytes::from(html))
        }
        (p, _) if p.strip_prefix('/') == Some(CARD_FONT) => {
            hits.fonts.fetch_add(1, Ordering::Relaxed);
            Answer::ok(
                "font/woff",
                "public, max-age=31536000, immutable",
                page.font.clone(),
            )
        }
        _ => {
            hits.other.fetch_add(1, Ordering::Relaxed);
            Answer::not_found()
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
