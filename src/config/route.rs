//! One `[[routes]]` entry: which path serves images, which ids it accepts, and how its card is
//! drawn, sized, encoded and cached. Its raw keys, defaults, validation and tests; the renderer
//! and page keys in the same table are [`super::page`]'s, and the list as a whole (the embedded
//! route, unique names and paths) is [`super::routes`]'. Templates and default images are read
//! here (relative to the config file), so later stages get text and bytes, not paths.
//!
//! Adding a route key: a field in [`RawRouteKeys`] (with its default below if it has one), its
//! check in [`validate`], and a field in [`RouteConfig`]; then its line in
//! `ogforge.example.toml` and the README's table.

use std::{collections::BTreeMap, path::Path};

use ogforge_tags::{IdRule, IdRuleError, PathTemplate};
use serde::{Deserialize, Serialize};
use takumi::prelude::Lang;

use super::{
    data::{self, DataConfig, RawData},
    error::Report,
    images,
    page::{self, Engine, RawPage},
    render::parse_lang,
};
use crate::{assets, image::Format};

pub(super) mod defaults {
    /// Id length limit, checked before the pattern, so a long id never reaches the regex.
    pub const MAX_ID_LEN: usize = ogforge_tags::DEFAULT_MAX_ID_LEN;
    /// Largest width or height in CSS pixels; bounds the memory one render can take.
    pub const MAX_DIMENSION: u32 = 4096;
    /// The size social networks ask for (1.91:1).
    pub const ROUTE_WIDTH: u32 = 1200;
    pub const ROUTE_HEIGHT: u32 = 630;
    pub const ROUTE_DEVICE_SCALE: f32 = 1.0;
    pub const ROUTE_FORMAT: &str = "jpeg";
    pub const ROUTE_QUALITY: u8 = 80;
    /// Browsers: one day.
    pub const ROUTE_MAX_AGE: u32 = 86_400;
    /// CDNs: one year; a template change changes the key, so old images are never served for it.
    pub const ROUTE_S_MAXAGE: u32 = 31_536_000;
    /// The default image stands in for a failure: retry soon.
    pub const ROUTE_FALLBACK_MAX_AGE: u32 = 60;
    /// `og:image:alt` of a route's images.
    pub const ROUTE_ALT: &str = "Social card";
    /// A remote image the template names that cannot be had is left out of the card.
    pub const ROUTE_IMAGE_ERROR: &str = "skip";

    pub(crate) fn max_id_len() -> usize {
        MAX_ID_LEN
    }
    pub(crate) fn width() -> u32 {
        ROUTE_WIDTH
    }
    pub(crate) fn height() -> u32 {
        ROUTE_HEIGHT
    }
    pub(crate) fn device_scale() -> f32 {
        ROUTE_DEVICE_SCALE
    }
    pub(crate) fn format() -> String {
        ROUTE_FORMAT.into()
    }
    pub(crate) fn quality() -> u8 {
        ROUTE_QUALITY
    }
    pub(crate) fn max_age() -> u32 {
        ROUTE_MAX_AGE
    }
    pub(crate) fn s_maxage() -> u32 {
        ROUTE_S_MAXAGE
    }
    pub(crate) fn fallback_max_age() -> u32 {
        ROUTE_FALLBACK_MAX_AGE
    }
    pub(crate) fn alt() -> String {
        ROUTE_ALT.into()
    }
    pub(crate) fn image_error() -> String {
        ROUTE_IMAGE_ERROR.into()
    }
}
use defaults as d;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRouteKeys {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) id_pattern: String,
    #[serde(default = "d::max_id_len")]
    pub(crate) max_id_len: usize,
    pub(crate) template: Option<String>,
    #[serde(default = "d::width")]
    pub(crate) width: u32,
    #[serde(default = "d::height")]
    pub(crate) height: u32,
    #[serde(default = "d::device_scale")]
    pub(crate) device_scale: f32,
    #[serde(default = "d::format")]
    pub(crate) format: String,
    #[serde(default = "d::quality")]
    pub(crate) quality: u8,
    #[serde(default = "d::max_age")]
    pub(crate) max_age: u32,
    #[serde(default = "d::s_maxage")]
    pub(crate) s_maxage: u32,
    #[serde(default = "d::fallback_max_age")]
    pub(crate) fallback_max_age: u32,
    pub(crate) default_image: Option<String>,
    pub(crate) sample_id: Option<String>,
    /// Text the route's cards will carry (titles in the languages expected), which `check`
    /// finds a font for, character by character.
    pub(crate) sample_text: Option<String>,
    /// The cards' language (BCP 47); `render.lang` when unset.
    pub(crate) lang: Option<String>,
    #[serde(default = "d::alt")]
    pub(crate) alt: String,
    #[serde(default)]
    pub(crate) signed: bool,
    #[serde(default)]
    pub(crate) vars: BTreeMap<String, String>,
    /// A broken remote image (`[images]`): `skip` it or make the card the default image.
    #[serde(default = "d::image_error")]
    pub(crate) image_error: String,
    /// `[routes.data]`: see [`super::data`].
    #[serde(default)]
    pub(crate) data: RawData,
    /// Show the card beside Chromium's rendering of the same HTML in the preview gallery.
    #[serde(default)]
    pub(crate) preview_compare: bool,
}

/// Text (a template) or bytes (an image) with where they came from.
#[derive(Debug, Clone)]
pub struct Source<T> {
    pub origin: String,
    pub data: T,
}

#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// `routes[i]`, for messages.
    pub key: String,
    pub name: String,
    pub path: PathTemplate,
    pub ids: IdRule,
    pub template: Source<String>,
    pub width: u32,
    pub height: u32,
    pub device_scale: f32,
    pub format: Format,
    pub quality: u8,
    pub max_age: u32,
    pub s_maxage: u32,
    pub fallback_max_age: u32,
    pub default_image: Source<Vec<u8>>,
    pub sample_id: Option<String>,
    /// Text `check` makes sure the loaded fonts cover (with the sample's own text).
    pub sample_text: Option<String>,
    /// The cards' language; `None` takes `render.lang`.
    pub lang: Option<Lang>,
    /// `og:image:alt` in the tags built for this route.
    pub alt: String,
    pub vars: BTreeMap<String, String>,
    /// Requests must carry a valid `sig` (see `signing`); for routes whose ids are free text.
    pub signed: bool,
    /// `renderer`: the template through takumi, or a page in Chromium.
    pub engine: Engine,
    /// `[routes.data]`: per-id JSON fetched before the render; `None` when `data.url` is unset.
    pub data: Option<DataConfig>,
    /// `image_error = "fallback"`: a remote image that cannot be had fails the card
    /// (`image-error`) instead of being left out.
    pub image_fallback: bool,
    /// The preview gallery (`/_ogforge/preview`) shows this html route's card beside Chromium's
    /// rendering of the same HTML. Changes no pixel of a served card, so not in the digest.
    pub preview_compare: bool,
}

/// One route's keys into a [`RouteConfig`], every problem reported.
pub(super) fn validate(
    k: RawRouteKeys,
    page: RawPage,
    base: &Path,
    env: &[(String, String)],
    r: &mut Report,
) -> Option<RouteConfig> {
    let name_ok = !k.name.is_empty()
        && (k.name.chars()).all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let name = if name_ok {
        Some(k.name)
    } else {
        r.error("name", "must be non-empty: letters, digits, '-', '_'")
    };
    let path = r.check("path", PathTemplate::new(&k.path));
    let ids = IdRule::new(&k.id_pattern, k.max_id_len).map_err(|e| match e {
        // The rule anchors the pattern; the error shows the pattern as written.
        IdRuleError::Regex(_) => match regex::Regex::new(&k.id_pattern) {
            Err(own) => format!("invalid id pattern: {own}"),
            Ok(_) => e.to_string(),
        },
        _ => e.to_string(),
    });
    let ids = r.check("id_pattern", ids);
    let dimension = |v: u32| match v {
        1..=d::MAX_DIMENSION => Ok(v),
        _ => Err(format!("must be 1..={}", d::MAX_DIMENSION)),
    };
    let width = r.check("width", dimension(k.width));
    let height = r.check("height", dimension(k.height));
    let device_scale = if (0.5..=4.0).contains(&k.device_scale) {
        Some(k.device_scale)
    } else {
        r.error("device_scale", "must be between 0.5 and 4")
    };
    let format: Option<Format> = r.check("format", k.format.parse());
    let engine = page::engine(page, k.template.is_some(), ids.as_ref(), env, r);
    let html = engine.as_ref().is_none_or(|e| matches!(e, Engine::Html));
    let data = data::validate(k.data, ids.as_ref(), html, env, r);
    let fits = match (&path, format) {
        (Some(path), Some(format))
            if !path.suffix().is_empty() && !format.matches_extension(path.suffix()) =>
        {
            let (suffix, ext) = (path.suffix(), format.extension());
            r.error_with(
                "path",
                &["format"],
                format!("ends in {suffix:?} but the format is {ext}"),
            )
        }
        _ => Some(()),
    };
    let image_fallback = images::image_error("image_error", &k.image_error, r);
    // A browser route is Chromium already: there is nothing to compare it with.
    let preview_compare = if k.preview_compare && !html {
        r.error_with(
            "preview_compare",
            &["renderer"],
            "compares the HTML renderer with Chromium: only an html route can ask for it",
        )
    } else {
        Some(k.preview_compare)
    };
    let quality = match k.quality {
        1..=100 => Some(k.quality),
        _ => r.error("quality", "must be 1..=100"),
    };
    let template = source(base, k.template, "default.html", assets::TEMPLATE, |file| {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
    });
    let template = r.check("template", template);
    let default_image = source(
        base,
        k.default_image,
        "default.jpg",
        assets::DEFAULT_IMAGE,
        |file| {
            let shown = file.display();
            let data = std::fs::read(file).map_err(|e| format!("cannot read {shown}: {e}"))?;
            (crate::image::sniff_content_type(&data).map(|_| data))
                .ok_or_else(|| format!("{shown} is not a JPEG, PNG or WebP image"))
        },
    );
    let default_image = r.check("default_image", default_image);
    let free_text = ids.as_ref().is_some_and(|ids| ids.accepts_free_text());
    let signed = if free_text && !k.signed {
        r.error_with(
            "signed",
            &["id_pattern"],
            "id_pattern accepts free text (spaces, punctuation or symbols), so anyone could \
             put words of their choosing on a card: set signed = true, or narrow the pattern \
             to letters, digits and - . _ ~",
        )
    } else {
        Some(k.signed)
    };
    let sample = match (&k.sample_id, &ids) {
        (Some(sample), Some(ids)) => match ids.check(sample) {
            Ok(_) => Some(()),
            Err(e) => r.error_with("sample_id", &["id_pattern"], format!("{sample:?}: {e}")),
        },
        _ => Some(()),
    };
    let lang = match k.lang.as_deref() {
        None => Some(None),
        Some(tag) => r.check("lang", parse_lang(tag).map(Some)),
    };
    fits?;
    sample?;
    Some(RouteConfig {
        key: r.key(""),
        name: name?,
        path: path?,
        ids: ids?,
        template: template?,
        width: width?,
        height: height?,
        device_scale: device_scale?,
        format: format?,
        quality: quality?,
        max_age: k.max_age,
        s_maxage: k.s_maxage,
        fallback_max_age: k.fallback_max_age,
        default_image: default_image?,
        sample_id: k.sample_id,
        sample_text: k.sample_text,
        lang: lang?,
        alt: k.alt,
        vars: k.vars,
        signed: signed?,
        engine: engine?,
        data: data?,
        image_fallback: image_fallback?,
        preview_compare: preview_compare?,
    })
}

/// The file `name` names (relative to the config file's folder, `base`) as `read` reads it,
/// or, without one, the bundled `embedded`.
fn source<B: ToOwned + ?Sized>(
    base: &Path,
    name: Option<String>,
    embedded_name: &str,
    embedded: &B,
    read: impl FnOnce(&Path) -> Result<B::Owned, String>,
) -> Result<Source<B::Owned>, String> {
    let Some(name) = name else {
        let origin = format!("embedded:{embedded_name}");
        return Ok(Source {
            origin,
            data: embedded.to_owned(),
        });
    };
    let file = base.join(name);
    let data = read(&file)?;
    Ok(Source {
        origin: file.display().to_string(),
        data,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::load_str;

    const A: &str = "[[routes]]\nname='a'\npath='/{id}.png'\nid_pattern='[0-9]+'\n";

    #[test]
    fn bad_regex_names_the_key() {
        let e = load_str(
            "[[routes]]\nname='a'\npath='/{id}.jpg'\nid_pattern='('\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.first().key, "routes[0].id_pattern");
    }

    #[test]
    fn lang_and_sample_text() {
        let c = load_str(
            "[[routes]]\nname='a'\npath='/{id}.jpg'\nid_pattern='[0-9]+'\nlang='ja'\n\
             sample_text='東京'\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.routes[0].lang.unwrap().as_str(), "ja");
        assert_eq!(c.routes[0].sample_text.as_deref(), Some("東京"));
        let e = load_str(&format!("{A}lang='?'\nformat='png'\n"), &[]).unwrap_err();
        assert_eq!(e.first().key, "routes[0].lang");
    }

    #[test]
    fn preview_compare_is_for_html_routes() {
        let c = load_str(&format!("{A}format='png'\npreview_compare=true\n"), &[]).unwrap();
        assert!(c.routes[0].preview_compare);
        let browser = "[[routes]]\nname='b'\npath='/b/{id}.jpg'\nid_pattern='[0-9]+'\n\
                       renderer='browser'\npage_url='https://cards.example/c/{id}'\n\
                       preview_compare=true\n";
        let e = load_str(browser, &[]).unwrap_err();
        assert_eq!(e.first().key, "routes[0].preview_compare");
    }

    #[test]
    fn extension_must_match_format() {
        let e = load_str(A, &[]).unwrap_err();
        assert_eq!(e.first().key, "routes[0].path");
    }

    #[test]
    fn a_free_text_pattern_from_env_blames_the_variable() {
        let env = [("OGFORGE__ROUTES__0__ID_PATTERN", "[^/]+")];
        let e = load_str("", &env).unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["routes[0].signed"]);
        assert_eq!(
            e.first().origin,
            "environment variable OGFORGE__ROUTES__0__ID_PATTERN"
        );
        assert!(
            e.to_string().contains(
                "OGFORGE__ROUTES__0__ID_PATTERN: routes[0].signed: id_pattern accepts free text"
            ),
            "{e}"
        );
    }
}
