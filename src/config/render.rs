//! `[render]`: how long a render may take, how many run at once, how many may wait, what a
//! refused miss gets, and the fonts every template draws with (folders, the bundled pack, the
//! fallback chain, the default language). Its raw keys, defaults, validation and tests; the
//! renderers themselves are `render/`, and reading the fonts is `fonts/`.

use std::{path::Path, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use takumi::prelude::Lang;
use toml::Value;

use super::{error::Report, raw, server::at_least};

pub(super) mod defaults {
    /// A render that takes longer is abandoned for the default image (the original design's 3 s).
    pub const RENDER_TIMEOUT_MS: u64 = 3_000;
    /// Renders at once; `0` means one per CPU, so renders never queue behind each other for a
    /// core they cannot get.
    pub const RENDER_CONCURRENCY: usize = 0;
    /// Renders that may wait for a free render slot; past it a miss is refused at once
    /// (`render.overload`), so a burst of distinct ids cannot pile up unbounded work and memory.
    pub const RENDER_QUEUE: usize = 64;
    /// What a refused miss gets: 503 with `Retry-After`, which crawlers retry later.
    pub const RENDER_OVERLOAD: &str = "unavailable";
    /// The bundled fallback pack (Latin, Greek, Cyrillic, Arabic, Hebrew, Devanagari, Thai,
    /// colour emoji) stays loaded beside `fonts_dirs`, so adding a font never takes a script away.
    pub const RENDER_BUNDLED_FONTS: bool = true;
    /// Encoded JPEG strips and PNG bands kept for the next card with the same pixels there
    /// (`encode/pieces.rs`): the pieces of a template's background and fixed text are a few
    /// KiB each, so 4 MiB holds those of dozens of templates; `0` turns the cache off.
    pub const RENDER_PIECE_CACHE_MIB: u64 = 4;
    /// The most `piece_cache_mib` may be: far past what any set of templates repeats.
    pub const RENDER_PIECE_CACHE_MIB_MAX: u64 = 1024;
    /// Font folders are read one level deep: a folder such as `/usr/share/fonts` would otherwise
    /// load every font on the machine.
    pub const RENDER_FONTS_RECURSIVE: bool = false;
}
use defaults as d;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawRender {
    pub(crate) timeout_ms: u64,
    pub(crate) concurrency: usize,
    pub(crate) fonts_dirs: Vec<String>,
    /// The one-folder spelling of `fonts_dirs`, kept for configs written before it.
    pub(crate) fonts_dir: Option<String>,
    pub(crate) fonts_recursive: bool,
    pub(crate) bundled_fonts: bool,
    pub(crate) font_fallback: Vec<String>,
    pub(crate) lang: Option<String>,
    pub(crate) queue: usize,
    pub(crate) overload: String,
    pub(crate) piece_cache_mib: u64,
}

impl Default for RawRender {
    fn default() -> Self {
        Self {
            timeout_ms: d::RENDER_TIMEOUT_MS,
            concurrency: d::RENDER_CONCURRENCY,
            fonts_dirs: Vec::new(),
            fonts_dir: None,
            fonts_recursive: d::RENDER_FONTS_RECURSIVE,
            bundled_fonts: d::RENDER_BUNDLED_FONTS,
            font_fallback: Vec::new(),
            lang: None,
            queue: d::RENDER_QUEUE,
            overload: d::RENDER_OVERLOAD.into(),
            piece_cache_mib: d::RENDER_PIECE_CACHE_MIB,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RenderConfig {
    pub timeout: Duration,
    pub concurrency: usize,
    /// Font folders, in order (relative ones resolved against the config file's folder).
    pub fonts_dirs: Vec<PathBuf>,
    /// The key `fonts_dirs` came from (`render.fonts_dir` when the old spelling set it), so
    /// an error about a folder names the key the operator wrote.
    pub fonts_dirs_key: &'static str,
    /// Read sub-folders of `fonts_dirs` too.
    pub fonts_recursive: bool,
    /// Keep the bundled fallback pack loaded (after the folders' fonts).
    pub bundled_fonts: bool,
    /// Families the fallback walks first, in order; every other loaded family follows.
    pub font_fallback: Vec<String>,
    /// The language of every card whose route sets none (shaping, line breaks, CJK forms).
    pub lang: Option<Lang>,
    /// Renders that may wait for a slot; more are refused at once.
    pub queue: usize,
    pub overload: Overload,
    /// Bytes of encoded pieces kept for reuse (`0`: none).
    pub piece_cache_bytes: u64,
}

/// What a miss gets when the render queue is full (`render.overload`). Cache hits never
/// reach the queue, so they are served whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overload {
    /// `unavailable`: 503 with `Retry-After`.
    Unavailable,
    /// `default-image`: the route's default image with its short lifetime, reason `overloaded`.
    DefaultImage,
}

/// `base`: the config file's folder, for `fonts_dir`.
pub(super) fn load(value: Option<Value>, base: &Path, r: &mut Report) -> Option<RenderConfig> {
    let raw: RawRender = raw::section(value, r)?;
    let timeout_ms = r.check("timeout_ms", at_least(raw.timeout_ms, 1));
    let overload = match raw.overload.as_str() {
        "unavailable" => Some(Overload::Unavailable),
        "default-image" => Some(Overload::DefaultImage),
        _ => r.error("overload", "must be \"unavailable\" or \"default-image\""),
    };
    let concurrency = match raw.concurrency {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let (fonts_dirs, fonts_dirs_key) = match (raw.fonts_dir, raw.fonts_dirs.is_empty()) {
        (None, _) => (Some(raw.fonts_dirs), "render.fonts_dirs"),
        (Some(one), true) => (Some(vec![one]), "render.fonts_dir"),
        (Some(_), false) => (
            r.error_with(
                "fonts_dir",
                &["fonts_dirs"],
                "fonts_dir is the old one-folder spelling of fonts_dirs: set only fonts_dirs",
            ),
            "render.fonts_dirs",
        ),
    };
    let font_fallback = fallback_names(raw.font_fallback, r);
    let lang = match raw.lang.as_deref() {
        None => Some(None),
        Some(tag) => r.check("lang", parse_lang(tag).map(Some)),
    };
    let fonts_dirs = fonts_dirs.map(|dirs| dirs.iter().map(|d| base.join(d)).collect());
    let piece_cache_mib = if raw.piece_cache_mib > d::RENDER_PIECE_CACHE_MIB_MAX {
        r.error(
            "piece_cache_mib",
            format!(
                "{} is more than {} (MiB); 0 turns the piece cache off",
                raw.piece_cache_mib,
                d::RENDER_PIECE_CACHE_MIB_MAX
            ),
        )
    } else {
        Some(raw.piece_cache_mib)
    };
    Some(RenderConfig {
        timeout: Duration::from_millis(timeout_ms?),
        concurrency,
        fonts_dirs: fonts_dirs?,
        fonts_dirs_key,
        fonts_recursive: raw.fonts_recursive,
        bundled_fonts: raw.bundled_fonts,
        font_fallback: font_fallback?,
        lang: lang?,
        queue: raw.queue,
        overload: overload?,
        piece_cache_bytes: piece_cache_mib? << 20,
    })
}

/// `render.font_fallback`: family names, each once and none empty (whether each is loaded is
/// known only once the fonts are read: `fonts/`).
fn fallback_names(names: Vec<String>, r: &mut Report) -> Option<Vec<String>> {
    let mut seen: Vec<String> = Vec::new();
    for name in &names {
        let folded = name.trim().to_lowercase();
        if folded.is_empty() {
            return r.error("font_fallback", "a family name is empty");
        }
        if seen.contains(&folded) {
            return r.error("font_fallback", format!("{name:?} is listed twice"));
        }
        seen.push(folded);
    }
    Some(names.into_iter().map(|n| n.trim().to_owned()).collect())
}

/// A BCP 47 tag such as `ja`, `zh-Hans` or `ar-EG`, for `render.lang` and a route's `lang`.
pub(super) fn parse_lang(tag: &str) -> Result<Lang, String> {
    Lang::parse(tag).map_err(|_| {
        format!("{tag:?} is not a BCP 47 language tag (language[-Script][-REGION], e.g. ja, zh-Hans, ar-EG)")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Overload;
    use crate::config::load_str;

    #[test]
    fn font_keys() {
        let c = load_str(
            "[render]\nfonts_dirs = ['a', '/b']\nfont_fallback = ['Inter', 'Noto Sans CJK SC']\n\
             lang = 'zh_hans'\nbundled_fonts = false\n",
            &[],
        )
        .unwrap();
        let r = &c.render;
        assert!(r.fonts_dirs[0].ends_with("a") && r.fonts_dirs[0].is_absolute());
        assert_eq!(r.fonts_dirs[1], std::path::Path::new("/b"));
        assert_eq!(r.fonts_dirs_key, "render.fonts_dirs");
        assert_eq!(r.font_fallback, ["Inter", "Noto Sans CJK SC"]);
        assert_eq!(r.lang.unwrap().as_str(), "zh-Hans");
        assert!(!r.bundled_fonts && !r.fonts_recursive);
        let d = load_str("", &[]).unwrap().render;
        assert!(d.fonts_dirs.is_empty() && d.bundled_fonts && d.lang.is_none());
    }

    #[test]
    fn fonts_dir_is_the_one_folder_alias() {
        let c = load_str("[render]\nfonts_dir = 'f'\n", &[]).unwrap();
        assert_eq!(c.render.fonts_dirs.len(), 1);
        assert_eq!(c.render.fonts_dirs_key, "render.fonts_dir");
        let e = load_str("[render]\nfonts_dir = 'f'\nfonts_dirs = ['g']\n", &[]).unwrap_err();
        assert_eq!(e.first().key, "render.fonts_dir");
    }

    #[test]
    fn bad_font_keys_are_named() {
        let e = load_str(
            "[render]\nlang = 'not a tag'\nfont_fallback = ['Inter', 'inter']\n",
            &[],
        )
        .unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["render.font_fallback", "render.lang"]);
    }

    #[test]
    fn overload_and_timeout() {
        let c = load_str(
            "[render]\noverload = 'default-image'\nconcurrency = 3\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.render.overload, Overload::DefaultImage);
        assert_eq!(c.render.concurrency, 3);
        assert_eq!(c.render.piece_cache_bytes, 4 << 20);
        let e = load_str(
            "[render]\noverload = 'drop'\ntimeout_ms = 0\npiece_cache_mib = 5000\n",
            &[],
        )
        .unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "render.timeout_ms",
                "render.overload",
                "render.piece_cache_mib"
            ]
        );
        let off = load_str("[render]\npiece_cache_mib = 0\n", &[]).unwrap();
        assert_eq!(off.render.piece_cache_bytes, 0);
    }
}
