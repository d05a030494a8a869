//! The fonts every template draws with, loaded once at start-up into takumi's font context: the
//! folders of `render.fonts_dirs` (every face of a `.ttc`/`.otc` too), then the bundled fallback
//! pack, in the fallback chain `chain.rs` orders, with a lint for colour fonts takumi cannot draw
//! and the coverage that finds characters no font has.
//!
//! | job | file |
//! | --- | --- |
//! | files in (bundled, folders), WOFF/WOFF2 to sfnt | `files.rs` |
//! | one face: family, style, characters, colour format | `face.rs` |
//! | registering with takumi: subsets by `unicode-range`, coverage, digest, lint | `register.rs` |
//! | the fallback chain | `chain.rs` |
//! | characters no font has, by script | `coverage.rs` |
//!
//! System fonts are never read: a card must look the same on every machine, and a font that
//! changes under the service would change images without changing their keys. The bytes of
//! every font and the chain go into the template digest for the same reason.

mod chain;
mod coverage;
mod face;
mod files;
mod register;

use std::path::PathBuf;

use sha2::Digest;
use takumi::prelude::{FontFamily, Fonts};

pub(crate) use coverage::{Coverage, describe as describe_chars};

use crate::config::RenderConfig;
use face::Face;
use register::{Registry, subsets};

#[derive(Debug, thiserror::Error)]
pub enum FontsError {
    #[error("cannot read the fonts folder {0}: {1}")]
    Dir(PathBuf, std::io::Error),
    #[error("cannot read {0}: {1}")]
    File(PathBuf, std::io::Error),
    #[error("{0} is not a usable font: {1}")]
    Font(String, String),
    #[error(
        "the fonts folder {} holds no .ttf, .otf, .ttc, .otc, .woff or .woff2 file{}",
        .0.display(),
        if *.1 { "" } else { " (sub-folders are read only with render.fonts_recursive = true)" }
    )]
    Empty(PathBuf, bool),
    #[error("no fonts: bundled_fonts = false and render.fonts_dirs is empty")]
    NoFonts,
    #[error("{name:?} is not a loaded font family; loaded: {}", loaded.join(", "))]
    UnknownFamily { name: String, loaded: Vec<String> },
}

impl FontsError {
    /// The config key the error is about.
    pub(crate) fn key(&self, render: &RenderConfig) -> &'static str {
        match self {
            Self::UnknownFamily { .. } => "render.font_fallback",
            Self::NoFonts => "render.bundled_fonts",
            _ => render.fonts_dirs_key,
        }
    }
}

/// The registered fonts, their fallback chain, what they cover and what is wrong with them.
pub(crate) struct FontSet {
    pub(crate) fonts: Fonts,
    /// The families fallback walks, in order, as takumi takes them.
    pub(crate) chain: FontFamily,
    /// The same, by name.
    pub(crate) chain_names: Vec<String>,
    /// Of every font's bytes and the chain: part of every HTML route's key.
    pub(crate) digest: [u8; 32],
    pub(crate) coverage: Coverage,
    /// Fonts takumi cannot draw, and a chain that starts with a colour font.
    pub(crate) warnings: Vec<String>,
}

impl std::fmt::Debug for FontSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontSet")
            .field("chain", &self.chain_names)
            .field("coverage", &self.coverage)
            .finish_non_exhaustive()
    }
}

/// Loads the folders' fonts, then (unless turned off) the bundled pack.
pub(crate) fn load(render: &RenderConfig) -> Result<FontSet, FontsError> {
    let mut files = Vec::new();
    for dir in &render.fonts_dirs {
        files.extend(files::folder(dir, render.fonts_recursive)?);
    }
    if render.bundled_fonts {
        files.extend(files::bundled());
    }
    if files.is_empty() {
        return Err(FontsError::NoFonts);
    }
    let faces: Vec<Vec<Face>> = files
        .iter()
        .map(|f| face::faces(&f.sfnt).map_err(|e| FontsError::Font(f.origin.clone(), e)))
        .collect::<Result<_, _>>()?;
    let mut set = Registry::default();
    for ((file, faces), ranged) in files.iter().zip(&faces).zip(subsets(&files, &faces)) {
        set.register(file, faces, ranged)?;
    }
    let (chain_names, lead_warning) = chain::order(&set.families, &render.font_fallback)?;
    set.warnings.extend(lead_warning);
    set.digest.update(b"chain");
    for name in &chain_names {
        set.digest.update([0]);
        set.digest.update(name.as_bytes());
    }
    Ok(FontSet {
        fonts: set.fonts,
        chain: FontFamily::from_names(chain_names.iter().cloned()),
        chain_names,
        digest: set.digest.finalize().into(),
        coverage: set.coverage,
        warnings: set.warnings,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load_with_env};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fonts");

    /// `[render]` from `toml`, whose relative folders are this crate's.
    fn render(toml: &str) -> RenderConfig {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ogforge.toml");
        std::fs::write(&file, format!("[render]\n{toml}")).unwrap();
        load_with_env(Some(&file), &Overrides::default(), &[])
            .unwrap()
            .render
    }

    /// A folder holding copies of these fixture files.
    fn folder(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            std::fs::copy(format!("{FIXTURES}/{f}"), dir.path().join(f)).unwrap();
        }
        dir
    }

    #[test]
    fn the_bundled_pack_covers_its_scripts_with_emoji_last() {
        let set = load(&render("")).unwrap();
        assert_eq!(
            set.chain_names,
            [
                "Inter",
                "Noto Sans Arabic",
                "Noto Sans Hebrew",
                "Noto Sans Devanagari",
                "Noto Sans Thai",
                "Twemoji Mozilla"
            ]
        );
        let missing = set
            .coverage
            .missing("Ab Жж Ωω Ệ مرحبا שלום नमस्ते สวัสดี 😀👍🏽🇯🇵 東京");
        assert_eq!(missing, ['東', '京']);
        assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    }

    #[test]
    fn every_face_of_a_collection_loads() {
        let dir = folder(&["two-faces.ttc"]);
        let toml = format!("fonts_dirs = [{:?}]\nbundled_fonts = false\n", dir.path());
        let set = load(&render(&toml)).unwrap();
        // The Hebrew subset names itself "Thin" (the bundled pack overrides that; a folder does not).
        assert_eq!(set.chain_names, ["Inter", "Noto Sans Hebrew Thin"]);
        assert!(set.coverage.missing("Ωמ").is_empty());
    }

    #[test]
    fn folder_fonts_come_before_the_bundled_pack_and_colour_fonts_last() {
        // The COLRv1 font's file name sorts first; it still goes after every text font.
        let dir = folder(&["colrv1-only-emoji.ttf", "two-faces.ttc"]);
        let set = load(&render(&format!("fonts_dirs = [{:?}]\n", dir.path()))).unwrap();
        assert_eq!(set.chain_names.first().map(String::as_str), Some("Inter"));
        assert_eq!(
            &set.chain_names[set.chain_names.len() - 2..],
            ["Ogforge COLRv1 Fixture", "Twemoji Mozilla"]
        );
    }

    #[test]
    fn colour_fonts_takumi_draws_blank_are_linted() {
        let dir = folder(&["colrv1-only-emoji.ttf", "svg-only-emoji.ttf"]);
        let set = load(&render(&format!("fonts_dirs = [{:?}]\n", dir.path()))).unwrap();
        assert_eq!(set.warnings.len(), 2, "{:?}", set.warnings);
        assert!(
            set.warnings[0].contains("colrv1-only-emoji.ttf") && set.warnings[0].contains("COLRv1")
        );
        assert!(set.warnings[1].contains("svg-only-emoji.ttf") && set.warnings[1].contains("SVG"));
        assert!(set.warnings.iter().all(|w| w.contains("COLRv0")));
    }

    #[test]
    fn the_chain_enters_the_digest_and_must_name_loaded_families() {
        let plain = load(&render("")).unwrap();
        let led = load(&render("font_fallback = ['Noto Sans Thai']\n")).unwrap();
        assert_eq!(led.chain_names[0], "Noto Sans Thai");
        assert_ne!(plain.digest, led.digest);
        let r = render("font_fallback = ['Noto Sans CJK SC']\n");
        let e = load(&r).unwrap_err();
        assert_eq!(e.key(&r), "render.font_fallback");
        let r = render("bundled_fonts = false\n");
        assert_eq!(load(&r).unwrap_err().key(&r), "render.bundled_fonts");
    }
}
