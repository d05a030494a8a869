//! Pixels to bytes: JPEG, PNG or WebP, chosen per route.
//!
//! JPEG goes through `jpeg-encoder` (SIMD, 4:2:0 chroma subsampling, straight from the RGBA
//! buffer, no copy), PNG through `png` with its fast deflate, since a share card is encoded once
//! and served many times but its first request waits on the encode. WebP uses takumi's libwebp
//! encoder.

use std::str::FromStr;

use takumi::prelude::{Bitmap, OutputFormat, Quality};

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

/// Why an image could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("the image is too large to encode ({0}x{1})")]
    TooLarge(u32, u32),
    #[error("jpeg: {0}")]
    Jpeg(#[from] jpeg_encoder::EncodingError),
    #[error("png: {0}")]
    Png(#[from] png::EncodingError),
    #[error("webp: {0}")]
    Webp(String),
}

/// Encodes a rendered bitmap.
pub(crate) fn encode(bitmap: &Bitmap, format: Format, quality: u8) -> Result<Vec<u8>, EncodeError> {
    let (w, h) = (bitmap.width(), bitmap.height());
    match format {
        Format::Jpeg => {
            let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
                return Err(EncodeError::TooLarge(w, h));
            };
            let mut out = Vec::with_capacity(bitmap.as_raw().len() / 12);
            let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
            encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
            encoder.encode(bitmap.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgba)?;
            Ok(out)
        }
        Format::Png => {
            let mut out = Vec::with_capacity(bitmap.as_raw().len() / 4);
            let mut encoder = png::Encoder::new(&mut out, w, h);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.set_compression(png::Compression::Fast);
            let mut writer = encoder.write_header()?;
            writer.write_image_data(bitmap.as_raw())?;
            writer.finish()?;
            Ok(out)
        }
        Format::Webp => {
            let mut out = Vec::new();
            takumi::write_image(
                bitmap,
                &mut out,
                OutputFormat::WebP {
                    quality: Quality::new(quality),
                },
            )
            .map_err(|e| EncodeError::Webp(e.to_string()))?;
            Ok(out)
        }
    }
}

/// The content type of an encoded image, from its magic bytes.
pub(crate) fn sniff_content_type(bytes: &[u8]) -> Option<&'static str> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bitmap() -> Bitmap {
        let data = (0..64 * 32)
            .flat_map(|i| [(i % 256) as u8, 80, 160, 255])
            .collect();
        Bitmap::from_raw(64, 32, data).unwrap()
    }

    #[test]
    fn every_format_encodes_and_sniffs_back() {
        for format in [Format::Jpeg, Format::Png, Format::Webp] {
            let bytes = encode(&bitmap(), format, 80).unwrap();
            assert_eq!(sniff_content_type(&bytes), Some(format.content_type()));
        }
    }

    #[test]
    fn extensions_match_formats() {
        assert!(Format::Jpeg.matches_extension(".jpeg"));
        assert!(Format::Jpeg.matches_extension(".JPG"));
        assert!(!Format::Png.matches_extension(".jpg"));
        assert!(Format::Png.matches_extension(""));
        assert_eq!("webp".parse::<Format>(), Ok(Format::Webp));
        assert!("gif".parse::<Format>().is_err());
    }
}
