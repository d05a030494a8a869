//! The bundled template, fonts and default image, compiled into the binary: what ogforge serves
//! when the configuration names none of its own. A leaf module: it reads nothing at run time and
//! depends on nothing; [`crate::config`] and [`crate::fonts`] decide when these are used.
//!
//! The fonts are the fallback pack (`assets/fonts/`, licences and sources in its README): Inter
//! for Latin, Greek and Cyrillic, Noto Sans for Arabic, Hebrew, Devanagari and Thai, and
//! Twemoji (COLRv0) for colour emoji; CJK is too large to bundle (docs/fonts.md). They are
//! embedded as sfnt, expanded from the WOFF2 files by `build.rs`, so start-up decodes nothing
//! and hashes nothing of them.

/// The card template of the embedded default route.
pub(crate) const TEMPLATE: &str = include_str!("../assets/default.html");
/// The preview gallery's page (`http/preview/page.rs`), a minijinja template.
pub(crate) const PREVIEW_PAGE: &str = include_str!("../assets/preview.html");
/// The default image served when no card can be (invalid id, failed render).
pub(crate) const DEFAULT_IMAGE: &[u8] = include_bytes!("../assets/default.jpg");

/// One file of the bundled font pack.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BundledFont {
    /// Its file name under `assets/fonts/` (WOFF2), for messages.
    pub(crate) file: &'static str,
    /// The family it registers as, whatever its name table says (one subset names itself
    /// "Noto Sans Hebrew Thin" at weight 400).
    pub(crate) family: &'static str,
    /// The font as sfnt (TrueType), expanded from that file at build time.
    pub(crate) bytes: &'static [u8],
    /// SHA-256 of `bytes`, taken at build time: the font digest needs it and start-up never
    /// reads the pack's 2.7 MiB for it.
    pub(crate) sha256: &'static [u8; 32],
}

macro_rules! bundled {
    ($($file:literal => $family:literal,)*) => {
        &[$(BundledFont {
            file: $file,
            family: $family,
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/", $file, ".sfnt")),
            sha256: include_bytes!(concat!(env!("OUT_DIR"), "/", $file, ".sha256")),
        },)*]
    };
}

/// The fallback pack, in the order it is registered: text fonts (400 and 700), then emoji.
pub(crate) const FONTS: &[BundledFont] = bundled! {
    "inter-latin-400-normal.woff2" => "Inter",
    "inter-latin-700-normal.woff2" => "Inter",
    "inter-latin-ext-400-normal.woff2" => "Inter",
    "inter-latin-ext-700-normal.woff2" => "Inter",
    "inter-cyrillic-400-normal.woff2" => "Inter",
    "inter-cyrillic-700-normal.woff2" => "Inter",
    "inter-cyrillic-ext-400-normal.woff2" => "Inter",
    "inter-cyrillic-ext-700-normal.woff2" => "Inter",
    "inter-greek-400-normal.woff2" => "Inter",
    "inter-greek-700-normal.woff2" => "Inter",
    "inter-greek-ext-400-normal.woff2" => "Inter",
    "inter-greek-ext-700-normal.woff2" => "Inter",
    "inter-vietnamese-400-normal.woff2" => "Inter",
    "inter-vietnamese-700-normal.woff2" => "Inter",
    "noto-sans-arabic-arabic-400-normal.woff2" => "Noto Sans Arabic",
    "noto-sans-arabic-arabic-700-normal.woff2" => "Noto Sans Arabic",
    "noto-sans-hebrew-hebrew-400-normal.woff2" => "Noto Sans Hebrew",
    "noto-sans-hebrew-hebrew-700-normal.woff2" => "Noto Sans Hebrew",
    "noto-sans-devanagari-devanagari-400-normal.woff2" => "Noto Sans Devanagari",
    "noto-sans-devanagari-devanagari-700-normal.woff2" => "Noto Sans Devanagari",
    "noto-sans-thai-thai-400-normal.woff2" => "Noto Sans Thai",
    "noto-sans-thai-thai-700-normal.woff2" => "Noto Sans Thai",
    "twemoji-colrv0.woff2" => "Twemoji Mozilla",
};
