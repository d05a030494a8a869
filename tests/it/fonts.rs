//! Fonts through the real binary (issue 13): collections load, a folder without a font and an
//! unknown fallback family are config errors, the colour-font lint warns (and fails `check
//! --strict`), `check` fails on characters no font has and lists them by script, renders count
//! them in `ogforge_missing_glyphs_total` and log each route once, and the regression where an
//! emoji font's file name sorting first made it draw a card's digits.

use std::path::{Path, PathBuf};

use crate::{
    golden::{decode_png, diff},
    scripts::CJK_DIR,
    util::{Workdir, get},
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fonts")
        .join(name)
}

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/fonts")
        .join(name)
}

/// A folder `dir` in the work folder holding `files` (source path, name there).
fn font_folder(w: &Workdir, dir: &str, files: &[(PathBuf, &str)]) {
    std::fs::create_dir_all(w.path().join(dir)).unwrap();
    for (from, name) in files {
        std::fs::copy(from, w.path().join(dir).join(name)).unwrap();
    }
}

/// One PNG route `t` over the template `html`, with `render` keys.
fn route(w: &Workdir, render: &str, html: &str, route_keys: &str) {
    w.write("t.html", html);
    w.config(&format!(
        "[store]\nurl = \"data\"\n[render]\n{render}\n[[routes]]\nname = \"t\"\n\
         path = \"/t/{{id}}.png\"\nid_pattern = \"[a-z0-9]+\"\ntemplate = \"t.html\"\n\
         format = \"png\"\nwidth = 400\nheight = 120\nsample_id = \"one\"\n{route_keys}"
    ));
}

const CARD: &str = "<div style=\"display:flex;width:400px;height:120px;background-color:#fff;\
                    color:#000;font-size:48px;font-family:FAMILY\">TEXT</div>";

fn card(family: &str, text: &str) -> String {
    CARD.replace("FAMILY", family).replace("TEXT", text)
}

/// `ogforge check` (with `flags`) on the work folder's config: exit code and everything printed.
fn check(w: &Workdir, flags: &[&str]) -> (i32, String) {
    let mut args = vec!["check", "-c", "ogforge.toml"];
    args.extend(flags);
    let (code, out, err) = w.run(&args, None);
    (code, format!("{out}{err}"))
}

#[test]
fn every_face_of_a_ttc_collection_loads() {
    // Debian's fonts-noto-cjk ships only collections; its Korean and Chinese faces are not
    // first in the file.
    let w = Workdir::new();
    let cjk = Path::new(CJK_DIR).join("NotoSansCJK-Regular.ttc");
    assert!(
        cjk.exists(),
        "fonts-noto-cjk is not installed; run the tests with ./scripts/test.sh, which installs it"
    );
    font_folder(
        &w,
        "fonts",
        &[(fixture("two-faces.ttc"), "two.ttc"), (cjk, "cjk.ttc")],
    );
    let text = "Ωμέγα שלום 안녕 简体";
    route(
        &w,
        "fonts_dirs = [\"fonts\"]\nbundled_fonts = false\nfont_fallback = [\"Noto Sans CJK KR\", \"Noto Sans CJK SC\"]",
        &card("Inter", text),
        &format!("sample_text = \"{text}\"\n"),
    );
    let (code, err) = check(&w, &[]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_folder_without_a_font_is_a_config_error() {
    let w = Workdir::new();
    std::fs::create_dir_all(w.path().join("empty")).unwrap();
    w.write("empty/readme.txt", "fonts go here");
    route(&w, "fonts_dirs = [\"empty\"]", &card("Inter", "x"), "");
    let (code, err) = check(&w, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("render.fonts_dirs") && err.contains("holds no .ttf"),
        "{err}"
    );
    // The old one-folder key is named when it is the one set.
    route(&w, "fonts_dir = \"empty\"", &card("Inter", "x"), "");
    let (_, err) = check(&w, &[]);
    assert!(err.contains("render.fonts_dir:"), "{err}");
}

#[test]
fn an_unknown_fallback_family_is_a_config_error() {
    let w = Workdir::new();
    route(
        &w,
        "font_fallback = [\"Noto Sans CJK JP\"]",
        &card("Inter", "x"),
        "",
    );
    let (code, err) = check(&w, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("render.font_fallback") && err.contains("loaded: Inter, Noto Sans Arabic"),
        "{err}"
    );
}

#[test]
fn a_colrv1_only_font_is_linted_and_fails_check_strict() {
    let w = Workdir::new();
    font_folder(
        &w,
        "fonts",
        &[(fixture("colrv1-only-emoji.ttf"), "emoji.ttf")],
    );
    route(&w, "fonts_dirs = [\"fonts\"]", &card("Inter", "ok 😀"), "");
    let (code, err) = check(&w, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning:")
            && err.contains("emoji.ttf")
            && err.contains("COLRv1")
            && err.contains("COLRv0"),
        "{err}"
    );
    let (code, err) = check(&w, &["--strict"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn check_fails_on_characters_no_font_has_and_lists_them_by_script() {
    let w = Workdir::new();
    route(
        &w,
        "",
        &card("Inter", "東京 {{ id }}"),
        "sample_text = \"Привет 😀 ソウル 서울\"\n",
    );
    let (code, err) = check(&w, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("routes[0].sample_text: 5 characters no loaded font has")
            && err.contains("Katakana: ソウル (U+30BD U+30A6 U+30EB); Hangul: 서울"),
        "{err}"
    );
    assert!(
        err.contains("routes[0].template: 2 characters") && err.contains("Han: 東京"),
        "{err}"
    );
    assert!(err.contains("fonts-noto-cjk"), "{err}");
    // With the CJK collection listed, every character has a font.
    route(
        &w,
        &format!("fonts_dirs = [{CJK_DIR:?}]"),
        &card("Inter", "東京 {{ id }}"),
        "sample_text = \"Привет 😀 ソウル 서울\"\n",
    );
    let (code, err) = check(&w, &[]);
    assert_eq!(code, 0, "{err}");
}

#[tokio::test]
async fn missing_glyphs_are_counted_per_route_and_logged_once() {
    let w = Workdir::new();
    route(&w, "", &card("Inter", "東京 {{ id }}"), "");
    let server = w.serve();
    for id in ["one", "two"] {
        assert_eq!(get(&server.url(&format!("/t/{id}.png"))).await.status, 200);
    }
    let counted = server
        .metric("ogforge_missing_glyphs_total", &[("route", "t")])
        .await;
    assert_eq!(counted, 4.0, "two cards, two characters each");
    let log = server.stop();
    assert_eq!(log.matches("no loaded font has").count(), 1, "{log}");
    assert!(log.contains("Han: 東京"), "{log}");
}

/// Issue 13's regression: with the template's family not loaded, fallback took the fonts in
/// file-name order, so `a-emoji` drew the card's spaces and digits.
#[tokio::test]
async fn an_emoji_font_sorting_first_does_not_draw_digits() {
    let text = "12 34 5678";
    let render = |files: Vec<(PathBuf, &'static str)>| async move {
        let w = Workdir::new();
        font_folder(&w, "fonts", &files);
        route(
            &w,
            "fonts_dirs = [\"fonts\"]\nbundled_fonts = false",
            &card("Not Loaded", text),
            "",
        );
        let server = w.serve();
        let r = get(&server.url("/t/one.png")).await;
        assert_eq!(r.status, 200);
        decode_png(&r.body)
    };
    let emoji = (bundled("twemoji-colrv0.woff2"), "a-emoji.woff2");
    let text_font = (bundled("inter-latin-400-normal.woff2"), "b-text.woff2");
    let text_only = render(vec![text_font.clone()]).await;
    let emoji_only = render(vec![emoji.clone()]).await;
    let both = render(vec![emoji, text_font]).await;
    // The emoji font's digits look otherwise, so the test can tell who drew them ...
    assert!(diff(&text_only, &emoji_only).mad > 1.0);
    // ... and with both loaded, the text font draws them.
    let d = diff(&both, &text_only);
    assert_eq!(d.mad, 0.0, "{d:?}");
}
