//! Image fields of data routes (issue 12) against the loopback API of [`crate::data`]: an
//! avatar drawn on the card (checked by its pixels), and the refusals: a header of 10,000 x
//! 10,000, a `data:` URI in the JSON, a host off `image_hosts` (never contacted).

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
