//! Every script on a card (issue 13): one card per script through the real `ogforge serve`,
//! with the bundled pack and Debian's `fonts-noto-cjk` in `render.fonts_dirs` (the recipe of
//! docs/fonts.md), each compared with its golden reference; Japanese and Simplified Chinese from
//! the same characters take different glyph forms by `lang`; and each reference compared once
//! with Chromium's rendering of the same HTML with the same fonts, the figures printed for
//! docs/fonts.md.

use std::path::Path;

use axum::{
    Router,
    extract::Path as UrlPath,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{
    golden::{self, decode_png, diff},
    util::{Server, Workdir, get as fetch, tool},
};

/// Where Debian's `fonts-noto-cjk` puts its collections.
pub const CJK_DIR: &str = "/usr/share/fonts/opentype/noto";

/// A card: route name, `lang`, `dir`, title.
struct Card {
    name: &'static str,
    lang: &'static str,
    dir: &'static str,
    title: &'static str,
}

const fn card(
    name: &'static str,
    lang: &'static str,
    dir: &'static str,
    title: &'static str,
) -> Card {
    Card {
        name,
        lang,
        dir,
        title,
    }
}

/// The same four Han characters differ between Japanese and Simplified Chinese forms.
const HAN: &str = "直骨海角 今天";

const CARDS: &[Card] = &[
    card("ja", "ja", "ltr", HAN),
    card("zh-hans", "zh-Hans", "ltr", HAN),
    card("ko", "ko", "ltr", "안녕하세요, 세계"),
    card("ru", "ru", "ltr", "Привет, мир! Ωμέγα"),
    card("ar", "ar", "rtl", "مرحبا بالعالم"),
    card("ar-mixed", "ar", "rtl", "إصدار Rust 1.91 في 2025"),
    card("he", "he", "rtl", "שלום עולם"),
    card("hi", "hi", "ltr", "नमस्ते दुनिया"),
    card("th", "th", "ltr", "สวัสดีชาวโลก"),
    card("emoji", "en", "ltr", "Launch 🚀 😀 👍🏽 🇯🇵"),
];

/// Renders differ from their reference by anti-aliasing noise at most.
const MAX_MAD: f64 = 0.5;
const MIN_PSNR: f64 = 35.0;

/// The template the cards share.
fn template() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scripts/card.html"),
    )
    .unwrap()
}

/// The CJK fonts folder, or a failure naming the command that installs it.
fn cjk_dir() -> &'static str {
    let ttc = Path::new(CJK_DIR).join("NotoSansCJK-Regular.ttc");
    assert!(
        ttc.exists(),
        "{} is missing: Debian's fonts-noto-cjk is not installed; run the tests with \
         ./scripts/test.sh, which installs it",
        ttc.display()
    );
    CJK_DIR
}

/// One html route per card, and `extra` (more routes, `[browser]`).
fn config(w: &Workdir, extra: &str) -> String {
    w.write("card.html", &template());
    let mut text = format!(
        "[store]\nurl = \"data\"\n[render]\nfonts_dirs = [{:?}]\ntimeout_ms = 20000\n\
         [rate_limit]\nrenders_per_minute = 0\n{extra}",
        cjk_dir()
    );
    for c in CARDS {
        text.push_str(&format!(
            "[[routes]]\nname = \"{}\"\npath = \"/{}/{{id}}.png\"\nid_pattern = \"card\"\n\
             template = \"card.html\"\nformat = \"png\"\nwidth = 640\nheight = 160\nlang = \"{}\"\n\
             [routes.vars]\ntitle = \"{}\"\ndir = \"{}\"\n",
            c.name, c.name, c.lang, c.title, c.dir
        ));
    }
    text
}

async fn png(server: &Server, path: &str) -> Vec<u8> {
    let r = fetch(&server.url(path)).await;
    assert_eq!(r.status, 200, "{path}");
    assert_eq!(
        r.header("content-type"),
        "image/png",
        "{path}: {}",
        r.header("x-ogforge-fallback")
    );
    r.body.to_vec()
}

#[tokio::test]
async fn every_script_matches_its_golden_render_and_lang_picks_the_han_forms() {
    let w = Workdir::new();
    w.config(&config(&w, ""));
    let server = w.serve();
    let mut renders = Vec::new();
    for c in CARDS {
        let bytes = png(&server, &format!("/{}/card.png", c.name)).await;
        golden::check(c.name, &bytes, MAX_MAD, MIN_PSNR);
        renders.push(decode_png(&bytes));
    }
    // Same characters, other forms: far more apart than the golden tolerance lets through
    // (MAD 2.4, PSNR 22 dB when written).
    let forms = diff(&renders[0], &renders[1]);
    assert!(
        forms.mad > 3.0 * MAX_MAD && forms.psnr < MIN_PSNR - 5.0,
        "ja and zh-Hans drew the same Han forms: {forms:?}"
    );
    // Every card drew every character with a font.
    assert_eq!(
        server.metric("ogforge_missing_glyphs_total", &[]).await,
        0.0
    );
}

/// The bundled pack's files as the Chromium page declares them: one family per subset (its 400
/// and 700 files), in the fallback order ogforge uses.
const CHROMIUM_FAMILIES: &[&str] = &[
    "inter-latin",
    "inter-latin-ext",
    "inter-cyrillic",
    "inter-cyrillic-ext",
    "inter-greek",
    "inter-greek-ext",
    "inter-vietnamese",
    "noto-sans-arabic-arabic",
    "noto-sans-hebrew-hebrew",
    "noto-sans-devanagari-devanagari",
    "noto-sans-thai-thai",
];

/// The card page Chromium shows: the template with the card's values, the bundled fonts as
/// `@font-face` rules (CJK comes from the same Debian collections through Chromium's own
/// fallback), and `window.ogReady` once every font has loaded.
fn chromium_page(c: &Card) -> String {
    let mut faces = String::new();
    for family in CHROMIUM_FAMILIES {
        for weight in [400, 700] {
            faces.push_str(&format!(
                "@font-face {{ font-family: \"ogf-{family}\"; font-weight: {weight}; \
                 src: url(/fonts/{family}-{weight}-normal.woff2); }}\n"
            ));
        }
    }
    faces.push_str(
        "@font-face { font-family: \"ogf-twemoji\"; src: url(/fonts/twemoji-colrv0.woff2); }\n",
    );
    let families: Vec<String> = (CHROMIUM_FAMILIES.iter().map(|f| format!("\"ogf-{f}\"")))
        .chain(["\"ogf-twemoji\"".into(), "sans-serif".into()])
        .collect();
    let template = template();
    let body = template
        .split_once("-#}")
        .map_or(template.as_str(), |(_, rest)| rest)
        .replace("{{ title }}", c.title)
        .replace("{{ dir }}", c.dir);
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><style>{faces}\
         body {{ margin: 0; }}</style></head><body>{body}<style>.card {{ font-family: {}; }}</style>\
         <script>Promise.all([...document.fonts].map(f => f.load().catch(() => null)))\
         .then(() => document.fonts.ready).then(() => {{ window.ogReady = true; }});</script>\
         </body></html>",
        c.lang,
        families.join(", ")
    )
}

async fn page(UrlPath(name): UrlPath<String>) -> Response {
    match CARDS.iter().find(|c| c.name == name) {
        Some(c) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            chromium_page(c),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn font(UrlPath(file): UrlPath<String>) -> Response {
    let ok = file.ends_with(".woff2") && !file.contains('/') && !file.contains("..");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/fonts")
        .join(&file);
    match std::fs::read(path) {
        Ok(bytes) if ok => ([(header::CONTENT_TYPE, "font/woff2")], bytes).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Serves the card pages and fonts on loopback; returns its base URL.
fn start_pages() -> String {
    let addr = crate::util::serve_loopback(|_| {
        Router::new()
            .route("/card/{name}", get(page))
            .route("/fonts/{file}", get(font))
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn each_golden_render_is_close_to_chromium_drawing_the_same_html() {
    let chromium = tool("OGFORGE_CHROMIUM", "Chromium (Debian's chromium package)");
    let pages = start_pages();
    let w = Workdir::new();
    let browser_route = format!(
        "[browser]\nexecutable = {:?}\n[[routes]]\nname = \"chromium\"\npath = \"/chromium/{{id}}.png\"\n\
         id_pattern = \"[a-z-]+\"\nrenderer = \"browser\"\npage_url = \"{pages}/card/{{id}}\"\n\
         page_ready_js = \"window.ogReady === true\"\nnavigation_timeout_ms = 15000\n\
         format = \"png\"\nwidth = 640\nheight = 160\n",
        chromium.display().to_string()
    );
    w.config(&config(&w, &browser_route));
    let server = w.serve();
    let mut table = String::from("| card | MAD | PSNR |\n| --- | ---: | ---: |\n");
    let mut failures = Vec::new();
    let mut shots = Vec::new();
    for c in CARDS {
        let shot = png(&server, &format!("/chromium/{}.png", c.name)).await;
        let d = diff(&golden::reference(c.name), &decode_png(&shot));
        shots.push(decode_png(&shot));
        table.push_str(&format!(
            "| {} | {:.2} | {:.1} dB |\n",
            c.name, d.mad, d.psnr
        ));
        // Same words, same fonts, same place: what differs is hinting, anti-aliasing and
        // sub-pixel positions; a missing glyph, a box or the wrong word order is far more.
        // Kept for a person to compare: target/golden-diff/NAME.chromium.png.
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/golden-diff");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(format!("{}.chromium.png", c.name)), &shot).unwrap();
        if d.mad > MAX_MAD_CHROMIUM || d.psnr < MIN_PSNR_CHROMIUM {
            failures.push(format!("{}: {d:?}", c.name));
        }
    }
    println!("takumi (golden reference) against Chromium, same HTML and fonts:\n{table}");
    // Chromium picks the same Han forms by lang: its Chinese card is nearer ogforge's Chinese
    // reference than ogforge's Japanese one, and the other way round.
    let (ja, zh) = (golden::reference("ja"), golden::reference("zh-hans"));
    assert!(
        diff(&shots[0], &ja).mad < diff(&shots[0], &zh).mad,
        "Chromium's ja card"
    );
    assert!(
        diff(&shots[1], &zh).mad < diff(&shots[1], &ja).mad,
        "Chromium's zh-Hans card"
    );
    assert!(
        failures.is_empty(),
        "too far from Chromium (its screenshots: target/golden-diff/NAME.chromium.png): \
         {failures:?}\n{table}"
    );
}

/// How far a card may be from Chromium's rendering of it (the worst when written: MAD 1.25,
/// PSNR 26.5 dB; Japanese against Chinese forms of the same characters: MAD 2.4, 22 dB).
const MAX_MAD_CHROMIUM: f64 = 2.0;
const MIN_PSNR_CHROMIUM: f64 = 24.0;
