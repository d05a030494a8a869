//! HTML/CSS to pixels with takumi: parse the markup (keeping its `<style>` blocks as a
//! stylesheet), lay it out and rasterise it at the route's size and device scale.

use takumi::{
    prelude::{Bitmap, FromHtmlOptions, StyleSheet, Viewport},
    unstable::{base::resources::image::ResourceCache, html::parse_html},
};

use crate::fonts::FontSet;

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
    pub(crate) fn new(fonts: FontSet) -> Self {
        Self {
            fonts,
            images: ResourceCache::default(),
        }
    }

    /// Draws `html` into a `width` x `height` CSS-pixel viewport at `scale` device pixels per
    /// CSS pixel.
    pub(crate) fn render(
        &self,
        html: &str,
        width: u32,
        height: u32,
        scale: f32,
    ) -> Result<Bitmap, HtmlError> {
        let parsed = parse_html(html, FromHtmlOptions::default())
            .map_err(|e| HtmlError::Parse(e.to_string()))?;
        // Like a browser, skip CSS rules that do not parse instead of failing the card.
        let stylesheet = StyleSheet::parse_list_loosy(&parsed.css);
        let options = takumi::prelude::RenderOptions::builder()
            .viewport(Viewport::new((width, height)).with_device_pixel_ratio(scale))
            .node(parsed.node)
            .fonts(&self.fonts.fonts)
            .stylesheet(stylesheet.into())
            .resource_cache(self.images.clone())
            .build();
        takumi::render(options).map_err(|e| HtmlError::Raster(e.to_string()))
    }
}
