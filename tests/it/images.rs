//! Remote images (issue 12) against the loopback API of [`crate::data`]. Image fields of data
//! routes: an avatar drawn on the card (checked by its pixels), and the refusals: a header of
//! 10,000 x 10,000, a `data:` URI in the JSON, a host off `image_hosts` (never contacted).
//! Images a template names (`<img src>`, `background-image`): PNG, GIF and SVG drawn; a host off
//! `images.allowed_hosts` never contacted; a broken image skipped or, per route, the default
//! image.

use crate::{
    data::{ALLOW_LOOPBACK, Api, fetch, pixels},
    util::Workdir,
};

/// The RGB at `(x, y)` of a PNG.
fn rgb_at(png_bytes: &[u8], x: usize, y: usize) -> [u8; 3] {
    let (rows, channels) = pixels(png_bytes);
    let px = &rows[y][x * channels..];
    [px[0], px[1], px[2]]
}

/// An avatar drawn at 100..300 px, on white.
const AVATAR_TEMPLATE: &str = r#"<div style="display:flex;width:100%;height:100%;background:#fff">
{% if data.avatar %}<img src="{{ data.avatar }}" style="width:200px;height:200px;margin:100px">{% endif %}
</div>"#;

/// Image fields: the avatar is drawn; a 10,000 x 10,000 header, a `data:` URI and a host off
/// the list are refused (the card is drawn without them, or is the default image with
/// `image_error = "fallback"`), and the other host is never contacted.
#[tokio::test]
async fn image_fields_are_drawn_and_refused_by_the_rules() {
    let api = Api::default();
    let base = api.start();
    let w = Workdir::new();
    w.write("card.html", AVATAR_TEMPLATE);
    let route = |name: &str, path: &str, on_error: &str| {
        format!(
            "[[routes]]\nname = \"{name}\"\npath = \"{path}\"\nformat = \"png\"\n\
             id_pattern = '(?P<post>[0-9]+)'\ntemplate = \"card.html\"\n\
             [routes.data]\nurl = \"{base}/posts/{{post}}\"\n{ALLOW_LOOPBACK}\
             image_hosts = [\"127.0.0.1\"]\nimage_error = \"{on_error}\"\n\
             [routes.data.fields.avatar]\npointer = \"/avatar\"\nkind = \"image\"\n"
        )
    };
    w.config(&format!(
        "[store]\nurl = \"data\"\n[rate_limit]\nrenders_per_minute = 0\n{}{}",
        route("skip", "/i/{id}.png", "skip"),
        route("strict", "/f/{id}.png", "fallback")
    ));
    let server = w.serve();
    const RED: [u8; 3] = [255, 0, 0];
    const WHITE: [u8; 3] = [255, 255, 255];

    let drawn = fetch(&server, "/i/20.png").await;
    assert_eq!(
        drawn.header("x-ogforge-tier"),
        "render",
        "{}",
        drawn.header("x-ogforge-fallback")
    );
    assert_eq!(rgb_at(&drawn.body, 200, 200), RED);
    for post in [21, 22, 23] {
        let r = fetch(&server, &format!("/i/{post}.png")).await;
        assert_eq!(r.header("x-ogforge-tier"), "render", "{post}");
        assert_eq!(rgb_at(&r.body, 200, 200), WHITE, "{post}");
        let strict = fetch(&server, &format!("/f/{post}.png")).await;
        assert_eq!(strict.header("x-ogforge-fallback"), "image-error", "{post}");
    }
    // Only the allowed host was asked, and only for the two http images.
    let mut asked = api.images.lock().unwrap().clone();
    asked.sort();
    asked.dedup();
    assert_eq!(asked, ["huge.png", "red.png"]);
    let m = server.scrape().await;
    assert!(
        m.get(
            "ogforge_fetch_blocked_total",
            &[("reason", "host-not-allowed")]
        ) >= 1.0
    );
}

/// A template image at 100..300 px on white: `<img src>` for the `img` routes, a CSS
/// background for the `bg` route.
const IMG_TEMPLATE: &str = r#"<div style="display:flex;width:100%;height:100%;background:#fff">
<img src="{{ base }}/img/{{ id }}" style="width:200px;height:200px;margin:100px"></div>"#;
const BG_TEMPLATE: &str = r#"<div style="display:flex;width:100%;height:100%;background:#fff">
<div style="width:200px;height:200px;margin:100px;background-image:url({{ base }}/img/{{ id }});background-size:100% 100%"></div></div>"#;

/// Images named by templates: drawn from the allowed host (PNG, first GIF frame, SVG, as
/// `<img>` and as a CSS background); a host off the list is never contacted (the same server
/// under the name `localhost`); a broken image is left out, or with `image_error =
/// "fallback"` the card is the default image; nothing broken is stored.
#[tokio::test]
async fn template_images_are_fetched_only_from_allowed_hosts() {
    let api = Api::default();
    let base = api.start();
    let w = Workdir::new();
    w.write("img.html", IMG_TEMPLATE);
    w.write("bg.html", BG_TEMPLATE);
    let route = |name: &str, template: &str, base: &str, on_error: &str| {
        format!(
            "[[routes]]\nname = \"{name}\"\npath = \"/{name}/{{id}}.png\"\nformat = \"png\"\n\
             id_pattern = '[a-z]+\\.(png|gif|svg)'\ntemplate = \"{template}\"\n\
             image_error = \"{on_error}\"\n[routes.vars]\nbase = \"{base}\"\n"
        )
    };
    let elsewhere = base.replace("127.0.0.1", "localhost");
    w.config(&format!(
        "[store]\nurl = \"data\"\n[rate_limit]\nrenders_per_minute = 0\n\
         [images]\nallowed_hosts = [\"127.0.0.1\"]\n{ALLOW_LOOPBACK}{}{}{}{}",
        route("img", "img.html", &base, "skip"),
        route("bg", "bg.html", &base, "skip"),
        route("strict", "img.html", &base, "fallback"),
        route("other", "img.html", &elsewhere, "skip"),
    ));
    let server = w.serve();
    const WHITE: [u8; 3] = [255, 255, 255];
    let drawn = |path: &'static str, rgb: [u8; 3]| {
        let server = &server;
        async move {
            let r = fetch(server, path).await;
            assert_eq!(
                r.header("x-ogforge-tier"),
                "render",
                "{path}: {}",
                r.header("x-ogforge-fallback")
            );
            assert_eq!(rgb_at(&r.body, 200, 200), rgb, "{path}");
            assert_eq!(rgb_at(&r.body, 50, 50), WHITE, "{path}");
        }
    };
    drawn("/img/red.png.png", [255, 0, 0]).await;
    drawn("/img/blue.gif.png", [0, 0, 255]).await;
    drawn("/img/green.svg.png", [0, 255, 0]).await;
    drawn("/bg/red.png.png", [255, 0, 0]).await;
    // Broken: too big by its header, answering 404, an SVG naming another address.
    for name in ["huge.png", "missing.png", "outside.svg"] {
        let skipped = fetch(&server, &format!("/img/{name}.png")).await;
        assert_eq!(skipped.header("x-ogforge-tier"), "render", "{name}");
        assert_eq!(rgb_at(&skipped.body, 200, 200), WHITE, "{name}");
        let strict = fetch(&server, &format!("/strict/{name}.png")).await;
        assert_eq!(strict.header("x-ogforge-fallback"), "image-error", "{name}");
    }
    // Another host: drawn without the image, and never asked.
    let other = fetch(&server, "/other/never.png.png").await;
    assert_eq!(rgb_at(&other.body, 200, 200), WHITE);
    let asked = api.images.lock().unwrap().clone();
    assert!(!asked.iter().any(|n| n == "never.png"), "{asked:?}");
    // Each image was fetched once, though several routes and the strict ones drew it.
    for name in ["red.png", "huge.png", "missing.png"] {
        assert_eq!(
            asked.iter().filter(|n| *n == name).count(),
            1,
            "{name}: {asked:?}"
        );
    }
    // Nothing of the strict route's fallbacks was stored.
    assert!(
        !w.stored().iter().any(|k| k.starts_with("strict/")),
        "{:?}",
        w.stored()
    );
}
