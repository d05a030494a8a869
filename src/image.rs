//! What every stage passes around: an encoded [`Image`] and the [`Format`] it is in.
//!
//! A leaf module: it imports nothing of ogforge, so the tiers, the renderers, the routes and
//! the responses can all use it without importing each other.

use std::str::FromStr;

use bytes::Bytes;
use http::HeaderValue;
use sha2::{Digest, Sha256};

/// An encoded image with what a response needs. Cloning shares the bytes.
#[derive(Debug, Clone)]
pub struct Image {
    pub bytes: Bytes,
    /// A strong validator: a digest of the bytes, so equal bytes give equal ETags on every
    /// replica and after every restart. Kept as a header value, built once per image.
    pub etag: HeaderValue,
    pub content_type: &'static str,
}

impl Image {
    pub(crate) fn new(bytes: Bytes, content_type: &'static str) -> Self {
        let digest = Sha256::digest(&bytes);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        Self {
            bytes,
            // Quotes and hex digits: always a valid header value.
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
            content_type,
        }
    }
}

/// Output formats a route can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }

    /// Whether a path suffix such as `.jpeg` suits this format.
    pub(crate) fn matches_extension(self, suffix: &str) -> bool {
        let Some((_, ext)) = suffix.rsplit_once('.') else {
            // A suffix without a dot (e.g. `/{id}` or `/{id}/card`) names no format.
            return true;
        };
        let ext = ext.to_ascii_lowercase();
        match self {
            Self::Jpeg => ext == "jpg" || ext == "jpeg",
            Self::Png => ext == "png",
            Self::Webp => ext == "webp",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => Ok(Self::Jpeg),
            "png" => Ok(Self::Png),
            "webp" => Ok(Self::Webp),
            other => Err(format!("{other:?} is not one of jpeg, png, webp")),
        }
    }
}

/// The content type of an encoded image, from its magic bytes.
pub fn sniff_content_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Whether `bytes` is a whole image of `content_type` by a cheap structural check: JPEG from
/// SOI to EOI, PNG up to its IEND chunk, WebP with a RIFF length that matches. It catches a
/// truncated upload or a stray file, not every corruption; that needs a decode.
pub fn is_whole_image(bytes: &[u8], content_type: &str) -> bool {
    if sniff_content_type(bytes) != Some(content_type) {
        return false;
    }
    match content_type {
        "image/jpeg" => bytes.ends_with(&[0xFF, 0xD9]),
        "image/png" => {
            bytes.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82])
        }
        "image/webp" => bytes
            .get(4..8)
            .and_then(|l| l.try_into().ok())
            .map(u32::from_le_bytes)
            .is_some_and(|riff| riff as usize + 8 == bytes.len()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_images_pass_and_cut_ones_do_not() {
        let jpeg = include_bytes!("../assets/default.jpg");
        assert!(is_whole_image(jpeg, "image/jpeg"));
        assert!(!is_whole_image(&jpeg[..jpeg.len() - 100], "image/jpeg"));
        assert!(
            !is_whole_image(jpeg, "image/png"),
            "the route's type, not any"
        );
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]);
        assert!(is_whole_image(&png, "image/png"));
        assert!(!is_whole_image(&png[..png.len() - 1], "image/png"));
        let mut webp = b"RIFF\x08\x00\x00\x00WEBPVP8 ".to_vec();
        webp.truncate(16);
        assert!(is_whole_image(&webp, "image/webp"));
        assert!(!is_whole_image(&webp[..15], "image/webp"));
        assert!(!is_whole_image(b"", "image/jpeg"));
    }
}
