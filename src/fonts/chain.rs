//! The fallback chain: the families takumi walks, in order, for a character the template's own
//! `font-family` lacks. Without it takumi walks every family in registration order, and the
//! first of them also supplies spaces and digits when a template names a family not loaded, so
//! an emoji font whose file name sorts first drew a card's digits.
//!
//! The default: the folders' text families (as listed, files by path), then the bundled pack's,
//! then every colour font, wherever it came from. `render.font_fallback` puts the families it
//! names first, in its order; every other loaded family follows in the default order, so no
//! loaded font is left unreachable.

use super::{FontsError, face::Colour};

/// A loaded family, in registration order.
#[derive(Debug, Clone)]
pub(super) struct Family {
    pub(super) name: String,
    pub(super) colour: Colour,
    pub(super) bundled: bool,
}

/// The chain's family names, and a warning when a colour font leads it.
pub(super) fn order(
    loaded: &[Family],
    explicit: &[String],
) -> Result<(Vec<String>, Option<String>), FontsError> {
    let mut chain: Vec<&Family> = Vec::new();
    for name in explicit {
        let family = loaded
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| FontsError::UnknownFamily {
                name: name.clone(),
                loaded: names(loaded.iter()),
            })?;
        chain.push(family);
    }
    let rank = |f: &Family| match (f.colour.is_colour(), f.bundled) {
        (false, false) => 0,
        (false, true) => 1,
        (true, _) => 2,
    };
    let mut rest: Vec<&Family> = (loaded.iter())
        .filter(|f| !chain.iter().any(|c| c.name == f.name))
        .collect();
    // Stable: registration order within each rank.
    rest.sort_by_key(|f| rank(f));
    chain.extend(rest);
    let warning = chain.first().filter(|f| f.colour.is_colour()).map(|f| {
        format!(
            "render.font_fallback starts with {:?}, a colour font: it would draw spaces and digits \
             of cards whose font-family is not loaded; list a text family first",
            f.name
        )
    });
    Ok((names(chain.into_iter()), warning))
}

fn names<'a>(families: impl Iterator<Item = &'a Family>) -> Vec<String> {
    families.map(|f| f.name.clone()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn family(name: &str, colour: bool, bundled: bool) -> Family {
        Family {
            name: name.into(),
            colour: if colour {
                Colour::Drawn("CBDT")
            } else {
                Colour::None
            },
            bundled,
        }
    }

    #[test]
    fn colour_fonts_go_last_whatever_their_order() {
        // As a folder sorts them: the emoji font's file name comes first.
        let loaded = [
            family("Noto Color Emoji", true, false),
            family("Brand", false, false),
            family("Inter", false, true),
            family("Twemoji Mozilla", true, true),
        ];
        let (chain, warning) = order(&loaded, &[]).unwrap();
        assert_eq!(
            chain,
            ["Brand", "Inter", "Noto Color Emoji", "Twemoji Mozilla"]
        );
        assert!(warning.is_none());
    }

    #[test]
    fn an_explicit_chain_leads_and_must_name_loaded_families() {
        let loaded = [
            family("Brand", false, false),
            family("Inter", false, true),
            family("Twemoji Mozilla", true, true),
        ];
        let (chain, _) = order(&loaded, &["inter".into()]).unwrap();
        assert_eq!(chain, ["Inter", "Brand", "Twemoji Mozilla"]);
        let (_, warning) = order(&loaded, &["Twemoji Mozilla".into()]).unwrap();
        assert!(warning.unwrap().contains("colour font"));
        let e = order(&loaded, &["Noto Sans CJK SC".into()]).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("\"Noto Sans CJK SC\"") && e.contains("Brand, Inter"),
            "{e}"
        );
    }
}
