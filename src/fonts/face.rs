//! What one face of a font file holds, read with skrifa before takumi registers it: its family
//! and style (to find subsets of one family, such as `inter-latin` and `inter-cyrillic`), the
//! characters its `cmap` maps, and which colour glyph formats it carries, since takumi draws
//! bitmaps (CBDT, sbix) and COLRv0 but leaves SVG-in-OpenType and COLRv1 glyphs blank.

use skrifa::{
    FontRef, MetadataProvider,
    attribute::Style,
    raw::{FileRef, TableProvider, types::Tag},
    string::StringId,
};

/// What colour glyphs a face has, as takumi sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Colour {
    /// Outlines only: a text font.
    None,
    /// Colour glyphs takumi draws, in this format (`CBDT`, `sbix`, `COLRv0`).
    Drawn(&'static str),
    /// Colour glyphs only in a format takumi leaves blank (`SVG`, `COLRv1`).
    Blank(&'static str),
}

impl Colour {
    pub(crate) fn is_colour(self) -> bool {
        self != Self::None
    }
}

/// One face of a font file.
#[derive(Debug, Clone)]
pub(super) struct Face {
    /// Index in its collection (0 for a single font).
    pub(super) index: u32,
    /// The typographic family, else the family: the name takumi registers it under.
    pub(super) family: String,
    /// Weight, slope and width, rounded: faces of one family that agree on these are subsets of
    /// one style, told apart by their characters.
    pub(super) style: (u32, bool, u32),
    /// The characters it maps, as inclusive ranges, ascending.
    pub(super) ranges: Vec<(u32, u32)>,
    pub(super) colour: Colour,
}

/// The faces of an sfnt file (one, or each of a collection).
pub(super) fn faces(sfnt: &[u8]) -> Result<Vec<Face>, String> {
    let file = FileRef::new(sfnt).map_err(|e| e.to_string())?;
    let faces: Vec<Face> = (file.fonts().enumerate())
        .filter_map(|(i, font)| Some(face(u32::try_from(i).ok()?, &font.ok()?)))
        .collect();
    if faces.is_empty() {
        return Err("holds no readable face".into());
    }
    Ok(faces)
}

fn face(index: u32, font: &FontRef<'_>) -> Face {
    let family = [StringId::TYPOGRAPHIC_FAMILY_NAME, StringId::FAMILY_NAME]
        .into_iter()
        .find_map(|id| font.localized_strings(id).english_or_first())
        .map(|name| name.chars().collect())
        .unwrap_or_default();
    let attributes = font.attributes();
    let style = (
        attributes.weight.value().round() as u32,
        attributes.style != Style::Normal,
        (attributes.stretch.ratio() * 100.0).round() as u32,
    );
    Face {
        index,
        family,
        style,
        ranges: ranges(font),
        colour: colour(font),
    }
}

/// The characters `font` maps to a glyph other than `.notdef`, as ranges.
fn ranges(font: &FontRef<'_>) -> Vec<(u32, u32)> {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for (c, glyph) in font.charmap().mappings() {
        if glyph.to_u32() == 0 {
            continue;
        }
        match ranges.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(c) => *end = c,
            _ => ranges.push((c, c)),
        }
    }
    ranges
}

/// Which colour formats `font` has, in the pairs takumi needs (`COLR` with `CPAL`, `CBDT` with
/// `CBLC`), the drawn ones first.
fn colour(font: &FontRef<'_>) -> Colour {
    let has = |tag: &[u8; 4]| font.table_data(Tag::new(tag)).is_some();
    let colr = font.colr().ok().filter(|_| has(b"CPAL"));
    if has(b"CBDT") && has(b"CBLC") {
        Colour::Drawn("CBDT")
    } else if has(b"sbix") {
        Colour::Drawn("sbix")
    } else if colr
        .as_ref()
        .is_some_and(|c| c.num_base_glyph_records() > 0)
    {
        Colour::Drawn("COLRv0")
    } else if colr.is_some_and(|c| c.version() >= 1) {
        Colour::Blank("COLRv1")
    } else if has(b"SVG ") {
        Colour::Blank("SVG")
    } else {
        Colour::None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::assets;

    fn bundled(file: &str) -> &'static [u8] {
        assets::FONTS.iter().find(|f| f.file == file).unwrap().bytes
    }

    #[test]
    fn a_text_subset_and_the_emoji_font() {
        let inter = &faces(bundled("inter-cyrillic-700-normal.woff2")).unwrap()[0];
        assert_eq!(inter.family, "Inter");
        assert_eq!(inter.style, (700, false, 100));
        assert_eq!(inter.colour, Colour::None);
        let covers = |f: &Face, c: char| {
            f.ranges
                .iter()
                .any(|(a, b)| (*a..=*b).contains(&(c as u32)))
        };
        assert!(covers(inter, 'Ж') && !covers(inter, 'Ω'));
        let emoji = &faces(bundled("twemoji-colrv0.woff2")).unwrap()[0];
        assert_eq!(emoji.colour, Colour::Drawn("COLRv0"));
        assert!(covers(emoji, '😀'));
    }

    #[test]
    fn blank_colour_formats_are_told_apart() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fonts/");
        let read = |name: &str| std::fs::read(format!("{dir}{name}")).unwrap();
        let svg = faces(&read("svg-only-emoji.ttf")).unwrap();
        assert_eq!(svg[0].colour, Colour::Blank("SVG"));
        let colr1 = faces(&read("colrv1-only-emoji.ttf")).unwrap();
        assert_eq!(colr1[0].colour, Colour::Blank("COLRv1"));
    }
}
