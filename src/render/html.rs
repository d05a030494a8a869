//! HTML/CSS to pixels with takumi: parse the markup (keeping its `<style>` blocks as a
//! stylesheet), check its text against the fonts (`glyphs.rs`), lay it out with the fallback
//! chain and the card's language, and rasterise it at the route's size and device scale.

use std::{collections::HashMap, sync::Arc};

use takumi::{
    prelude::{Bitmap, FromHtmlOptions, ImageSource, Lang, Node, StyleSheet, Viewport},
    unstable::{base::resources::image::ResourceCache, html::parse_html},
};

use super::glyphs::{MissingGlyphs, card_text};
use crate::{fonts::FontSet, route::Route};

/// Why takumi could not draw a template's HTML.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("html: {0}")]
    Parse(String),
    #[error("raster: {0}")]
    Raster(String),
}

/// The HTML renderer: fonts and decoded `data:` images shared across renders.
pub(crate) struct HtmlRenderer {
    fonts: FontSet,
    /// `render.lang`: the language of cards whose route sets none.
    lang: Option<Lang>,
    missing: MissingGlyphs,
    /// Decoded images by content, so a logo embedded in a template is decoded once, not per card.
    images: ResourceCache,
}

impl std::fmt::Debug for HtmlRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HtmlRenderer")
            .field("fonts", &self.fonts)
            .finish_non_exhaustive()
    }
}

impl HtmlRenderer {
    pub(crate) fn new(fonts: FontSet, lang: Option<Lang>) -> Self {
        Self {
            fonts,
            lang,
            missing: MissingGlyphs::default(),
            images: ResourceCache::default(),
        }
    }

    /// Parses `html` (markup and its `<style>` blocks), counting the characters no font has
    /// under the route's label.
    pub(crate) fn parse(&self, html: &str, route: &Route) -> Result<Card, HtmlError> {
        let parsed = parse_html(html, FromHtmlOptions::default())
            .map_err(|e| HtmlError::Parse(e.to_string()))?;
        self.missing
            .check(&self.fonts.coverage, &route.label, &card_text(&parsed.node));
        // Like a browser, skip CSS rules that do not parse instead of failing the card.
        let stylesheet = StyleSheet::parse_list_loosy(&parsed.css);
        Ok(Card {
            node: parsed.node,
            stylesheet,
        })
    }

    /// Draws `card` into the route's viewport (CSS pixels, at its device scale), with `images`
    /// for the URLs it names.
    pub(crate) fn render(
        &self,
        card: Card,
        route: &Route,
        images: HashMap<Arc<str>, ImageSource>,
    ) -> Result<Bitmap, HtmlError> {
        let c = &route.config;
        let options = takumi::prelude::RenderOptions::builder()
            .viewport(Viewport::new((c.width, c.height)).with_device_pixel_ratio(c.device_scale))
            .node(card.node)
            .fonts(&self.fonts.fonts)
            .font_families(Some(self.fonts.chain.clone()))
            .lang(c.lang.or(self.lang))
            .stylesheet(card.stylesheet.into())
            .images(images)
            .resource_cache(self.images.clone())
            .build();
        takumi::render(options).map_err(|e| HtmlError::Raster(e.to_string()))
    }
}

/// A parsed card: its node tree and stylesheet.
pub(crate) struct Card {
    node: Node,
    stylesheet: StyleSheet,
}

impl Card {
    /// The absolute URLs the card names (`<img src>`, `url()` in its styles): what it
    /// needs fetched before it is drawn. `data:` URIs and inline SVG are not references.
    pub(crate) fn remote_urls(&self) -> Vec<&str> {
        let mut urls: Vec<&str> = (self.node.image_urls())
            .chain(self.stylesheet.image_urls())
            .filter(|u| !u.starts_with("data:") && !u.trim_start().starts_with('<'))
            .collect();
        urls.sort_unstable();
        urls.dedup();
        urls
    }
}

impl HtmlRenderer {
    /// The text `html` would draw and the characters of it, and of `extra`, no font has.
    pub(crate) fn uncovered(&self, html: &str, extra: &str) -> Result<Vec<char>, HtmlError> {
        let parsed = parse_html(html, FromHtmlOptions::default())
            .map_err(|e| HtmlError::Parse(e.to_string()))?;
        let text = format!("{extra}\n{}", card_text(&parsed.node));
        Ok(self.fonts.coverage.missing(&text))
    }
}
