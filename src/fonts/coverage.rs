//! Which characters the loaded fonts can draw: one bit per code point over every face, so a
//! card's text is checked in a few nanoseconds a character, at render time (the
//! `ogforge_missing_glyphs_total` counter) and by `check` (uncovered characters, by script).
//!
//! Characters that draw nothing whatever the font (controls, white space, joiners, variation
//! selectors and the other default-ignorable code points) are never reported missing.

use std::{collections::BTreeMap, fmt::Write as _};

use icu_properties::{
    CodePointMapData, CodePointSetData, PropertyNamesLong,
    props::{DefaultIgnorableCodePoint, Script, WhiteSpace},
};

/// One bit per Unicode code point.
const WORDS: usize = 0x11_0000 / 64;

/// The code points some loaded face maps.
#[derive(Clone)]
pub(crate) struct Coverage {
    bits: Vec<u64>,
}

impl std::fmt::Debug for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count: u32 = self.bits.iter().map(|w| w.count_ones()).sum();
        f.debug_struct("Coverage")
            .field("code_points", &count)
            .finish()
    }
}

impl Default for Coverage {
    fn default() -> Self {
        Self {
            bits: vec![0; WORDS],
        }
    }
}

impl Coverage {
    /// Adds `from..=to`.
    pub(super) fn add(&mut self, from: u32, to: u32) {
        for c in from..=to.min(0x10_FFFF) {
            self.bits[(c / 64) as usize] |= 1 << (c % 64);
        }
    }

    pub(crate) fn covers(&self, c: char) -> bool {
        let c = c as u32;
        self.bits[(c / 64) as usize] & (1 << (c % 64)) != 0
    }

    /// The characters of `text` no face has, each once, in order of appearance.
    pub(crate) fn missing(&self, text: &str) -> Vec<char> {
        let mut missing: Vec<char> = Vec::new();
        for c in text.chars() {
            if !self.covers(c) && !draws_nothing(c) && !missing.contains(&c) {
                missing.push(c);
            }
        }
        missing
    }
}

/// Whether `c` draws nothing in any font, so no font needs it.
fn draws_nothing(c: char) -> bool {
    c.is_control()
        || CodePointSetData::new::<WhiteSpace>().contains(c)
        || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// `chars` grouped by Unicode script (`Han`, `Arabic`, ...; `Common` for symbols and emoji), in
/// order of each script's first character.
pub(crate) fn by_script(chars: &[char]) -> Vec<(&'static str, Vec<char>)> {
    let scripts = CodePointMapData::<Script>::new();
    let names = PropertyNamesLong::<Script>::new();
    let mut order: Vec<&'static str> = Vec::new();
    let mut groups: BTreeMap<&'static str, Vec<char>> = BTreeMap::new();
    for &c in chars {
        let name = names.get(scripts.get(c)).unwrap_or("Unknown");
        if !order.contains(&name) {
            order.push(name);
        }
        groups.entry(name).or_default().push(c);
    }
    order
        .into_iter()
        .map(|name| (name, groups.remove(name).unwrap_or_default()))
        .collect()
}

/// `chars` by script for a message, at most `limit` characters each:
/// `Han: 東京 (U+6771 U+4EAC); Arabic: ...`.
pub(crate) fn describe(chars: &[char], limit: usize) -> String {
    let mut out = String::new();
    for (script, chars) in by_script(chars) {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let shown: String = chars.iter().take(limit).collect();
        let _ = write!(out, "{script}: {shown} (");
        for (i, c) in chars.iter().take(limit).enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(out, "{sep}U+{:04X}", *c as u32);
        }
        if chars.len() > limit {
            let _ = write!(out, " and {} more", chars.len() - limit);
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_characters_by_script() {
        let mut cov = Coverage::default();
        cov.add('A' as u32, 'z' as u32);
        // Spaces, a joiner and a variation selector draw nothing; `東` twice is one.
        let missing = cov.missing("Tokyo 東京 東 \u{200d}\u{fe0f}\nمرحبا");
        assert_eq!(missing, ['東', '京', 'م', 'ر', 'ح', 'ب', 'ا']);
        assert_eq!(
            describe(&missing, 3),
            "Han: 東京 (U+6771 U+4EAC); Arabic: مرح (U+0645 U+0631 U+062D and 2 more)"
        );
        assert!(cov.covers('Q') && !cov.covers('😀'));
    }
}
