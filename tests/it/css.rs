//! Which CSS the HTML renderer (takumi) draws as a browser does, measured: each snippet below
//! is one route's card, drawn by ogforge's HTML renderer and by Chromium from the same HTML
//! (the gallery's side-by-side: `/_ogforge/preview/image` and `/_ogforge/preview/browser`,
//! same size, same bundled Inter), and the two PNGs compared pixel by pixel.
//!
//! A measurement, not a check, so it is ignored by default; docs/templates.md's table is its
//! output:
//!
//! ```sh
//! cargo test --test it css_support -- --ignored --nocapture
//! ```
//!
//! It writes `target/css-support.md` (the table) and, per snippet, `target/css-support/NAME.
//! {ogforge,chromium,pair}.png` for a person to look at (`pair`: ogforge left, Chromium right).

use std::{fmt::Write as _, path::Path};

use crate::{
    golden::{Rgb, decode_png, encode_png},
    util::{Workdir, get as fetch, tool},
};

const W: u32 = 480;
const H: u32 = 240;

/// A wide two-colour picture, as a `data:` URI (no network on either side).
const PICTURE: &str = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIzMDAiIGhlaWdodD0iMTAwIj48cmVjdCB3aWR0aD0iMTUwIiBoZWlnaHQ9IjEwMCIgZmlsbD0iIzBlYTVlOSIvPjxyZWN0IHg9IjE1MCIgd2lkdGg9IjE1MCIgaGVpZ2h0PSIxMDAiIGZpbGw9IiNmNTllMGIiLz48Y2lyY2xlIGN4PSIxNTAiIGN5PSI1MCIgcj0iMzAiIGZpbGw9IiMxZTI5M2IiLz48L3N2Zz4=";

/// (name, what it tries, the snippet: inside a 480x240 white root with Inter 24px).
fn snippets() -> Vec<(&'static str, &'static str, String)> {
    let boxes = r#"<div class="b" style="background:#0ea5e9"></div><div class="b" style="background:#f59e0b"></div><div class="b" style="background:#10b981"></div>"#;
    let text = "Shipping social cards without a browser: layout, raster and encoding in a few milliseconds, every time.";
    vec![
        ("flex", "display:flex, gap, justify-content, align-items",
         format!(r#"<style>.b{{width:100px;height:100px}}</style><div style="display:flex;gap:20px;justify-content:space-between;align-items:center;width:100%;height:100%;padding:20px;box-sizing:border-box">{boxes}</div>"#)),
        ("flex-wrap", "flex-wrap: wrap, flex-grow",
         r#"<div style="display:flex;flex-wrap:wrap;gap:10px;padding:10px;width:100%">
            <div style="flex-grow:1;width:150px;height:60px;background:#0ea5e9"></div><div style="flex-grow:2;width:150px;height:60px;background:#f59e0b"></div>
            <div style="flex-grow:1;width:150px;height:60px;background:#10b981"></div><div style="flex-grow:1;width:150px;height:60px;background:#e11d48"></div></div>"#.into()),
        ("grid", "display:grid, grid-template-columns fr, gap",
         r#"<div style="display:grid;grid-template-columns:1fr 2fr 1fr;gap:10px;padding:10px;width:100%;height:100%;box-sizing:border-box">
            <div style="background:#0ea5e9"></div><div style="background:#f59e0b"></div><div style="background:#10b981"></div>
            <div style="background:#e11d48"></div><div style="background:#8b5cf6"></div><div style="background:#64748b"></div></div>"#.into()),
        ("block-flow", "no flex: block divs and paragraphs stacked",
         r#"<div style="padding:16px"><div style="background:#e0f2fe;height:40px"></div><div style="margin-top:12px">A block of text in normal flow.</div><div style="margin-top:12px;background:#fde68a;height:40px"></div></div>"#.into()),
        ("ua-styles", "`<h1>`, `<p>`, `<b>`, `<ul>` with no CSS of their own",
         r#"<div><h1>Heading one</h1><p>A paragraph with <b>bold</b> and <i>italic</i>.</p><ul><li>item</li></ul></div>"#.into()),
        ("text-wrap", "a long paragraph wrapping, line-height",
         format!(r#"<div style="padding:16px;font-size:26px;line-height:1.3">{text}</div>"#)),
        ("linear-gradient", "background-image: linear-gradient(135deg, 3 stops)",
         r#"<div style="width:100%;height:100%;background-image:linear-gradient(135deg,#0b1120 0%,#172554 55%,#0e7490 100%)"></div>"#.into()),
        ("radial-gradient", "background-image: radial-gradient(circle)",
         r#"<div style="width:100%;height:100%;background-image:radial-gradient(circle at 30% 40%,#fde68a,#f59e0b 40%,#7c2d12)"></div>"#.into()),
        ("border-radius", "border-radius, border (solid)",
         r#"<div style="margin:30px;width:300px;height:160px;border-radius:32px;border:8px solid #0ea5e9;background:#e0f2fe"></div>"#.into()),
        ("border-dashed", "border-style: dashed",
         r#"<div style="margin:30px;width:300px;height:160px;border:6px dashed #e11d48"></div>"#.into()),
        ("box-shadow", "box-shadow (offset, blur)",
         r#"<div style="margin:50px;width:300px;height:120px;background:#fff;border-radius:12px;box-shadow:0 12px 30px rgba(15,23,42,0.45)"></div>"#.into()),
        ("text-shadow", "text-shadow",
         r#"<div style="padding:40px;font-size:64px;font-weight:700;color:#0ea5e9;text-shadow:4px 4px 6px rgba(0,0,0,0.5)">Shadow</div>"#.into()),
        ("transform", "transform: rotate() scale()",
         r#"<div style="margin:60px 150px;width:160px;height:100px;background:#8b5cf6;transform:rotate(15deg) scale(1.1)"></div>"#.into()),
        ("opacity", "opacity on overlapping boxes",
         r#"<div style="display:flex;padding:30px"><div style="width:200px;height:160px;background:#0ea5e9"></div><div style="width:200px;height:160px;margin-left:-80px;background:#e11d48;opacity:0.5"></div></div>"#.into()),
        ("filter", "filter: blur() grayscale()",
         r#"<div style="display:flex;gap:30px;padding:40px"><div style="width:160px;height:160px;background:#e11d48;filter:blur(6px)"></div><div style="width:160px;height:160px;background:#10b981;filter:grayscale(1)"></div></div>"#.into()),
        ("position-absolute", "position: absolute with top/right/bottom/left",
         r#"<div style="position:relative;width:100%;height:100%"><div style="position:absolute;top:20px;left:20px;width:120px;height:80px;background:#0ea5e9"></div><div style="position:absolute;right:30px;bottom:20px;width:160px;height:60px;background:#f59e0b"></div></div>"#.into()),
        ("z-index", "z-index over source order",
         r#"<div style="position:relative;width:100%;height:100%"><div style="position:absolute;z-index:2;top:40px;left:60px;width:200px;height:120px;background:#0ea5e9"></div><div style="position:absolute;z-index:1;top:80px;left:160px;width:200px;height:120px;background:#e11d48"></div></div>"#.into()),
        ("overflow-hidden", "overflow: hidden with border-radius (a round crop)",
         format!(r#"<div style="margin:40px;width:160px;height:160px;border-radius:50%;overflow:hidden;display:flex"><img src="{PICTURE}" style="width:480px;height:160px"></div>"#)),
        ("ellipsis", "white-space: nowrap + text-overflow: ellipsis",
         format!(r#"<div style="margin:20px;width:400px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-size:28px">{text}</div>"#)),
        ("line-clamp", "-webkit-line-clamp: 2",
         format!(r#"<div style="margin:20px;width:420px;font-size:28px;line-height:1.3;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden">{text}</div>"#)),
        ("white-space-pre", "white-space: pre (spaces and line breaks kept)",
         "<div style=\"padding:20px;white-space:pre;font-size:26px\">two   spaces\nand a new line</div>".into()),
        ("text-align", "text-align: center / right",
         r#"<div style="padding:20px;font-size:28px"><div style="text-align:center">centred</div><div style="text-align:right">to the right</div></div>"#.into()),
        ("letter-spacing", "letter-spacing, text-transform: uppercase",
         r#"<div style="padding:30px;font-size:32px;letter-spacing:6px;text-transform:uppercase">Letter spacing</div>"#.into()),
        ("inline-spans", "inline `<span>`s of other weights and colours in one line",
         r#"<div style="padding:30px;font-size:34px">Plain <span style="font-weight:700;color:#e11d48">bold red</span> and <span style="color:#0ea5e9">blue</span> text</div>"#.into()),
        ("units", "em, %, vw, vh units",
         r#"<div style="font-size:20px"><div style="width:50%;height:10vh;background:#0ea5e9"></div><div style="width:50vw;height:2em;margin-top:1em;background:#f59e0b"></div><div style="width:10em;height:20vh;margin-top:1em;background:#10b981"></div></div>"#.into()),
        ("css-variables", "custom properties: --brand, var()",
         r#"<style>.v{--brand:#e11d48;--pad:24px}</style><div class="v" style="padding:var(--pad)"><div style="width:200px;height:120px;background:var(--brand)"></div></div>"#.into()),
        ("img-object-fit", "`<img>` with object-fit: cover",
         format!(r#"<div style="display:flex;gap:20px;padding:20px"><img src="{PICTURE}" style="width:200px;height:200px;object-fit:cover"><img src="{PICTURE}" style="width:200px;height:200px;object-fit:contain"></div>"#)),
        ("background-url", "background-image: url(data:...) with background-size: cover",
         format!(r#"<div style="width:100%;height:100%;background-image:url({PICTURE});background-size:cover;background-position:center"></div>"#)),
        ("font-face", "@font-face in the template (a web font by URL)",
         r#"<style>@font-face{font-family:Brand;src:url(/_ogforge/preview/fonts/inter-latin-700-normal.woff2)}</style><div style="padding:30px;font-family:Brand;font-size:48px">Web font</div>"#.into()),
        ("box-sizing", "the border-radius box with box-sizing: border-box set",
         r#"<div style="margin:30px;width:300px;height:160px;box-sizing:border-box;border-radius:32px;border:8px solid #0ea5e9;background:#e0f2fe"></div>"#.into()),
        ("flex-wrap-bb", "the flex-wrap row with box-sizing: border-box set",
         r#"<div style="display:flex;flex-wrap:wrap;gap:10px;padding:10px;width:100%;box-sizing:border-box">
            <div style="flex-grow:1;width:150px;height:60px;background:#0ea5e9"></div><div style="flex-grow:2;width:150px;height:60px;background:#f59e0b"></div>
            <div style="flex-grow:1;width:150px;height:60px;background:#10b981"></div><div style="flex-grow:1;width:150px;height:60px;background:#e11d48"></div></div>"#.into()),
        ("margin-auto", "margin: auto centring, calc()",
         r#"<div style="display:flex;width:100%;height:100%"><div style="margin:auto;width:calc(50% - 40px);height:calc(100% - 80px);background:#0ea5e9"></div></div>"#.into()),
        ("aspect-ratio", "aspect-ratio: 16 / 9",
         r#"<div style="padding:20px"><div style="width:320px;aspect-ratio:16 / 9;background:#10b981"></div></div>"#.into()),
        ("grid-areas", "grid-template-areas with named areas",
         r#"<div style="display:grid;grid-template-columns:120px 1fr;grid-template-rows:60px 1fr;grid-template-areas:'head head' 'side main';gap:8px;width:100%;height:100%;padding:8px;box-sizing:border-box">
            <div style="grid-area:head;background:#0ea5e9"></div><div style="grid-area:side;background:#f59e0b"></div><div style="grid-area:main;background:#10b981"></div></div>"#.into()),
        ("selectors", "`<style>` selectors: descendant, child, :first-child, :nth-child()",
         r#"<style>.l > div{height:40px;margin:6px 20px;background:#cbd5e1}.l div:first-child{background:#0ea5e9}.l > div:nth-child(3){background:#e11d48}</style><div class="l"><div></div><div></div><div></div><div></div></div>"#.into()),
        ("colors", "hsl(), rgb() with alpha, hex with alpha, oklch()",
         r#"<div style="display:flex;gap:10px;padding:20px"><div style="width:100px;height:160px;background:hsl(200 90% 45%)"></div><div style="width:100px;height:160px;background:rgb(225 29 72 / 60%)"></div><div style="width:100px;height:160px;background:#10b98180"></div><div style="width:100px;height:160px;background:oklch(0.7 0.15 60)"></div></div>"#.into()),
        ("conic-gradient", "conic-gradient and repeating-linear-gradient",
         r#"<div style="display:flex;gap:20px;padding:20px"><div style="width:200px;height:200px;border-radius:50%;background-image:conic-gradient(#0ea5e9,#f59e0b,#e11d48,#0ea5e9)"></div><div style="width:200px;height:200px;background-image:repeating-linear-gradient(45deg,#0f172a 0 10px,#fde68a 10px 20px)"></div></div>"#.into()),
        ("text-decoration", "text-decoration: underline, line-through",
         r#"<div style="padding:30px;font-size:36px"><span style="text-decoration:underline">underlined</span> and <span style="text-decoration:line-through">struck</span></div>"#.into()),
        ("background-clip-text", "gradient text: background-clip: text",
         r#"<div style="display:flex;padding:30px"><div style="font-size:72px;font-weight:700;background-image:linear-gradient(90deg,#0ea5e9,#e11d48);background-clip:text;-webkit-background-clip:text;color:transparent">Gradient</div></div>"#.into()),
        ("word-break", "overflow-wrap: anywhere on a long URL",
         r#"<div style="margin:20px;width:300px;font-size:24px;overflow-wrap:anywhere">https://social.example.com/posts/a-very-long-slug-without-any-spaces-at-all.jpg</div>"#.into()),
        ("inline-block", "display: inline-block boxes in a line of text",
         r#"<div style="padding:30px;font-size:28px">before <span style="display:inline-block;width:80px;height:40px;background:#0ea5e9"></span> after</div>"#.into()),
        ("float", "float: left with text beside it",
         r#"<div style="padding:20px;font-size:24px"><div style="float:left;width:120px;height:120px;margin-right:16px;background:#f59e0b"></div>Text that should flow to the right of the floated box and under it.</div>"#.into()),
        ("table", "`<table>` layout",
         r#"<table style="margin:20px;border-collapse:collapse;font-size:24px"><tr><td style="border:2px solid #0f172a;padding:8px">one</td><td style="border:2px solid #0f172a;padding:8px">two</td></tr><tr><td style="border:2px solid #0f172a;padding:8px">three</td><td style="border:2px solid #0f172a;padding:8px">four</td></tr></table>"#.into()),
        ("pseudo-elements", "::before / ::after with content",
         r#"<style>.p::before{content:"";display:block;width:120px;height:60px;background:#e11d48}.p::after{content:"after";color:#0ea5e9}</style><div class="p" style="padding:20px;font-size:32px">text </div>"#.into()),
        ("clip-path", "clip-path: circle() / polygon()",
         r#"<div style="display:flex;gap:20px;padding:20px"><div style="width:200px;height:200px;background:#0ea5e9;clip-path:circle(40%)"></div><div style="width:200px;height:200px;background:#f59e0b;clip-path:polygon(50% 0,100% 100%,0 100%)"></div></div>"#.into()),
        ("mix-blend-mode", "mix-blend-mode: multiply",
         r#"<div style="display:flex;padding:30px"><div style="width:200px;height:160px;background:#0ea5e9"></div><div style="width:200px;height:160px;margin-left:-80px;background:#f59e0b;mix-blend-mode:multiply"></div></div>"#.into()),
        ("mask-image", "mask-image: linear-gradient()",
         r#"<div style="width:100%;height:100%;background:#0ea5e9;mask-image:linear-gradient(90deg,#000,transparent)"></div>"#.into()),
        ("inline-svg", "an inline `<svg>` element",
         r##"<div style="display:flex;padding:20px"><svg width="200" height="200" viewBox="0 0 200 200" xmlns="http://www.w3.org/2000/svg"><circle cx="100" cy="100" r="80" fill="#e11d48"/><rect x="60" y="60" width="80" height="80" fill="#fde68a"/></svg></div>"##.into()),
        ("writing-mode", "writing-mode: vertical-rl",
         r#"<div style="padding:20px;font-size:32px;writing-mode:vertical-rl;height:200px">vertical</div>"#.into()),
        ("outline", "outline with outline-offset",
         r#"<div style="margin:40px;width:240px;height:120px;background:#e0f2fe;outline:4px solid #e11d48;outline-offset:6px"></div>"#.into()),
        ("text-wrap-balance", "text-wrap: balance on a two-line title",
         r#"<div style="margin:20px;width:440px;font-size:34px;font-weight:700;text-wrap:balance">Shipping social cards without a browser today</div>"#.into()),
        ("hyphens", "hyphens: auto (lang en)",
         r#"<div lang="en" style="margin:20px;width:150px;font-size:30px;hyphens:auto">Internationalization considerations</div>"#.into()),
        ("tabular-nums", "font-variant-numeric: tabular-nums",
         r#"<div style="padding:20px;font-size:40px;font-variant-numeric:tabular-nums"><div>111111</div><div>888888</div></div>"#.into()),
        ("text-indent", "text-indent and `<br>`",
         r#"<div style="padding:20px;font-size:28px;text-indent:60px">First line indented<br>after a break</div>"#.into()),
        ("columns", "multi-column layout: columns: 2",
         format!(r#"<div style="margin:20px;columns:2;column-gap:30px;font-size:22px">{text}</div>"#)),
        ("backdrop-filter", "backdrop-filter: blur()",
         r#"<div style="position:relative;width:100%;height:100%;background-image:repeating-linear-gradient(90deg,#0f172a 0 20px,#fde68a 20px 40px)"><div style="position:absolute;left:100px;top:50px;width:280px;height:140px;backdrop-filter:blur(8px);background:rgba(255,255,255,0.2)"></div></div>"#.into()),
        ("media-query", "@media (min-width: 400px) in a `<style>` block",
         r#"<style>.m{width:100px;height:100px;background:#e11d48}@media (min-width: 400px){.m{background:#10b981;width:300px}}</style><div style="padding:20px"><div class="m"></div></div>"#.into()),
        ("border-image", "border-image: linear-gradient()",
         r#"<div style="margin:30px;width:300px;height:140px;box-sizing:border-box;border:12px solid;border-image:linear-gradient(90deg,#0ea5e9,#e11d48) 1"></div>"#.into()),
        ("font-weight", "Inter 400 and 700 from the bundled pack",
         r#"<div style="padding:20px;font-size:44px"><div>Regular 400</div><div style="font-weight:700">Bold 700</div></div>"#.into()),
    ]
}

/// The template: one branch per snippet, inside the common root.
fn template() -> String {
    let mut t = String::new();
    for (i, (name, _, html)) in snippets().iter().enumerate() {
        let kw = if i == 0 { "if" } else { "elif" };
        let _ = write!(t, "{{% {kw} id == \"{name}\" %}}{html}");
    }
    t.push_str("{% endif %}");
    format!(
        "<div style=\"display:flex;flex-direction:column;width:{W}px;height:{H}px;overflow:hidden;\
         background:#ffffff;color:#0f172a;font-family:Inter;font-size:24px\">{t}</div>"
    )
}

/// `a` and `b` side by side, 8 grey pixels apart, for a person to compare.
fn side_by_side(a: &Rgb, b: &Rgb) -> Rgb {
    const GAP: u32 = 8;
    let (w, h) = (a.0 + GAP + b.0, a.1.max(b.1));
    let mut px = vec![160u8; (w * h * 3) as usize];
    for (img, x0) in [(a, 0), (b, a.0 + GAP)] {
        for y in 0..img.1 {
            let row = &img.2[(y * img.0 * 3) as usize..((y + 1) * img.0 * 3) as usize];
            let at = ((y * w + x0) * 3) as usize;
            px[at..at + row.len()].copy_from_slice(row);
        }
    }
    (w, h, px)
}

/// Share of pixels whose largest channel difference is over 32, and the mean absolute
/// difference per channel.
fn compare(a: &Rgb, b: &Rgb) -> (f64, f64) {
    assert_eq!((a.0, a.1), (b.0, b.1), "sizes differ");
    let (mut abs, mut off) = (0u64, 0u64);
    for (p, q) in a.2.chunks_exact(3).zip(b.2.chunks_exact(3)) {
        let d: Vec<u8> = p.iter().zip(q).map(|(x, y)| x.abs_diff(*y)).collect();
        abs += d.iter().map(|&v| u64::from(v)).sum::<u64>();
        off += u64::from(d.iter().any(|&v| v > 32));
    }
    let px = (a.2.len() / 3) as f64;
    (off as f64 / px * 100.0, abs as f64 / a.2.len() as f64)
}

/// One side of snippet `name`: `image` (ogforge) or `browser` (Chromium).
async fn card(admin: &str, kind: &str, name: &str) -> Vec<u8> {
    let r = fetch(&format!(
        "{admin}/_ogforge/preview/{kind}?route=css&id={name}"
    ))
    .await;
    let text = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, 200, "{kind} {name}: {text}");
    r.body
}

#[tokio::test]
#[ignore = "a measurement for docs/templates.md: cargo test --test it css_support -- --ignored --nocapture"]
async fn css_support() {
    let chromium = tool("OGFORGE_CHROMIUM", "Chromium (Debian's chromium package)");
    let w = Workdir::new();
    w.write("css.html", &template());
    w.config(&format!(
        "[store]\nurl = \"data\"\n[render]\ntimeout_ms = 15000\n[rate_limit]\nrenders_per_minute = 0\n\
         [browser]\nexecutable = {:?}\n\
         [[routes]]\nname = \"css\"\npath = \"/css/{{id}}.png\"\nformat = \"png\"\n\
         id_pattern = '[a-z-]+'\ntemplate = \"css.html\"\nwidth = {W}\nheight = {H}\n\
         preview_compare = true\n",
        chromium.display().to_string()
    ));
    let server = w.serve();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/css-support");
    std::fs::create_dir_all(&out).unwrap();
    let mut table = String::from(
        "| snippet | what it tries | pixels off by > 32 | mean abs diff |\n| --- | --- | ---: | ---: |\n",
    );
    for (name, what, _) in snippets() {
        let (ours, theirs) = (
            card(&server.admin, "image", name).await,
            card(&server.admin, "browser", name).await,
        );
        std::fs::write(out.join(format!("{name}.ogforge.png")), &ours).unwrap();
        std::fs::write(out.join(format!("{name}.chromium.png")), &theirs).unwrap();
        let (ours, theirs) = (decode_png(&ours), decode_png(&theirs));
        let pair = encode_png(&side_by_side(&ours, &theirs));
        std::fs::write(out.join(format!("{name}.pair.png")), pair).unwrap();
        let (off, mad) = compare(&ours, &theirs);
        let _ = writeln!(table, "| `{name}` | {what} | {off:.1} % | {mad:.2} |");
    }
    println!("ogforge's HTML renderer against Chromium, same HTML, {W}x{H}:\n{table}");
    std::fs::write(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/css-support.md"),
        &table,
    )
    .unwrap();
    assert!(w.stored().is_empty());
    server.stop();
}
