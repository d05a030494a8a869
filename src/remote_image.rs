//! What a fetched image must be before takumi may draw it, and its decoding.
//!
//! An image from the network is hostile until shown otherwise: its type is sniffed from its
//! first bytes (JPEG, PNG, WebP, GIF, SVG; the name and `Content-Type` decide nothing), and a
//! bitmap's size is read from its header and refused past [`MAX_IMAGE_EDGE`] a side or
//! [`MAX_IMAGE_PIXELS`] in all *before* anything decodes it, so a 100-byte PNG that claims
//! 50,000 x 50,000 costs nothing. An SVG must be self-contained: no external reference, no
//! DTD, no `data:` inside it (an SVG is text that could carry an undecoded bomb past these
//! checks). A GIF draws its first frame.
//!
//! A leaf module: the data stage (image fields) and the renderer (images a template names)
//! both decode through [`decode`], so the rules are written once.

use std::sync::LazyLock;

use imagesize::ImageType;
use regex::Regex;
use takumi::prelude::ImageSource;

/// The largest width or height decoded: beyond any card, and a guard against decoding bombs.
pub const MAX_IMAGE_EDGE: usize = 4096;
/// The most pixels decoded for one image (16 MiP, 64 MiB as RGBA).
pub const MAX_IMAGE_PIXELS: usize = 4096 * 4096;

/// A checked, decoded image, ready for takumi, with what it weighs in memory.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub source: ImageSource,
    /// Bytes held: RGBA pixels for a bitmap, a multiple of the text for an SVG.
    pub weight: usize,
}

/// Why a fetched image is not drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// `bytes` checked and decoded: the whole image for a bitmap (the first frame of a GIF), the
/// parsed document for an SVG. CPU work: callers run it off the async threads.
pub fn decode(bytes: &[u8]) -> Result<Decoded, Refused> {
    let weight = check(bytes)?;
    let source =
        ImageSource::from_bytes(bytes).map_err(|e| Refused(format!("undecodable: {e}")))?;
    // An animated GIF stays one: takumi draws the frame at the render's time, 0, its first.
    Ok(Decoded { source, weight })
}

/// The weight `bytes` will have once decoded, if they are an image within bounds.
fn check(bytes: &[u8]) -> Result<usize, Refused> {
    if looks_like_svg(bytes) {
        svg_is_self_contained(bytes)?;
        return Ok(bytes.len() * 4);
    }
    match imagesize::image_type(bytes) {
        Ok(ImageType::Jpeg | ImageType::Png | ImageType::Webp | ImageType::Gif) => {}
        _ => return Err(Refused("not a JPEG, PNG, WebP, GIF or SVG image".into())),
    }
    let size =
        imagesize::blob_size(bytes).map_err(|e| Refused(format!("no size in header: {e}")))?;
    let (w, h) = (size.width, size.height);
    if w == 0 || h == 0 || w > MAX_IMAGE_EDGE || h > MAX_IMAGE_EDGE || w * h > MAX_IMAGE_PIXELS {
        return Err(Refused(format!(
            "{w}x{h} is over {MAX_IMAGE_EDGE} px a side or {MAX_IMAGE_PIXELS} px"
        )));
    }
    Ok(w * h * 4)
}

/// An SVG starts with its root element, maybe after an XML declaration, comments and space.
fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    (text.starts_with("<?xml") || text.starts_with("<!--") || text.starts_with("<svg"))
        && text.contains("<svg")
}

/// Refuses an SVG that names anything outside itself: an `href` or `url()` that is not a
/// `#fragment`, a DTD (entities), `@import`, or a `data:` URI.
fn svg_is_self_contained(bytes: &[u8]) -> Result<(), Refused> {
    static OUTSIDE: LazyLock<Result<Regex, regex::Error>> = LazyLock::new(|| {
        Regex::new(
            r#"(?i)<!doctype|<!entity|@import|data:|href\s*=\s*["']?\s*[^"'#\s]|url\(\s*["']?\s*[^"'#\s)]"#,
        )
    });
    let text =
        std::str::from_utf8(bytes).map_err(|_| Refused("an SVG that is not UTF-8".into()))?;
    match &*OUTSIDE {
        Ok(outside) => match outside.find(text) {
            Some(m) => Err(Refused(format!(
                "an SVG with an external reference ({:?})",
                m.as_str()
            ))),
            None => Ok(()),
        },
        Err(e) => Err(Refused(format!("SVG check unavailable: {e}"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A PNG signature and IHDR claiming `w` x `h`, and nothing else: enough for the header.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        v.extend(w.to_be_bytes());
        v.extend(h.to_be_bytes());
        v.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    #[test]
    fn a_huge_header_is_refused_before_any_decoding() {
        let e = check(&png_header(10_000, 10_000)).unwrap_err();
        assert!(e.0.contains("10000x10000"), "{e}");
        assert_eq!(check(&png_header(64, 64)).unwrap(), 64 * 64 * 4);
        assert!(check(&png_header(4096, 4097)).is_err());
        // A GIF's logical screen is its header too.
        let gif = b"GIF89a\x10\x27\x10\x27\0\0\0";
        assert!(check(gif).unwrap_err().0.contains("10000x10000"));
    }

    #[test]
    fn only_images_pass() {
        for bytes in [&b""[..], b"<html></html>", b"%PDF-1.7", b"\0\0\0\0"] {
            assert!(check(bytes).is_err(), "{bytes:?}");
        }
    }

    #[test]
    fn an_svg_must_be_self_contained() {
        let ok = br##"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="8" height="8"/><use href="#g"/></svg>"##;
        assert!(check(ok).is_ok());
        for bad in [
            &br#"<svg xmlns="http://www.w3.org/2000/svg"><image href="http://10.0.0.1/x.png"/></svg>"#[..],
            br#"<svg xmlns="http://www.w3.org/2000/svg"><image xlink:href='//evil/x'/></svg>"#,
            br#"<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(https://x/y#z)"/></svg>"#,
            br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>"#,
            br#"<svg xmlns="http://www.w3.org/2000/svg"><style>@import 'x.css';</style></svg>"#,
            br#"<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/png;base64,AAAA"/></svg>"#,
        ] {
            assert!(check(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_real_svg_and_a_real_gif_decode() {
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="2"><rect width="4" height="2" fill="red"/></svg>"#;
        assert!(decode(svg).is_ok());
        // A 1x1 GIF.
        let gif = b"GIF89a\x01\0\x01\0\x80\0\0\xff\0\0\0\0\0!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;";
        let d = decode(gif).unwrap();
        assert_eq!(d.weight, 4);
    }
}
