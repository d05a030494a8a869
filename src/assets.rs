//! The bundled template, fonts and default image, compiled into the binary: what ogforge serves
//! when the configuration names none of its own. A leaf module: it reads nothing at run time and
//! depends on nothing; [`crate::config`] and [`crate::fonts`] decide when these are used.

/// The card template of the embedded default route.
pub(crate) const TEMPLATE: &str = include_str!("../assets/default.html");
/// The default image served when no card can be (invalid id, failed render).
pub(crate) const DEFAULT_IMAGE: &[u8] = include_bytes!("../assets/default.jpg");
/// Inter 400 and 700 (OFL), for templates when `render.fonts_dir` is unset.
pub(crate) const FONTS: &[(&str, &[u8])] = &[
    (
        "inter-latin-400-normal.woff2",
        include_bytes!("../assets/inter-latin-400-normal.woff2"),
    ),
    (
        "inter-latin-700-normal.woff2",
        include_bytes!("../assets/inter-latin-700-normal.woff2"),
    ),
];
