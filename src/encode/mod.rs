//! Pixels to bytes: JPEG, PNG or WebP, chosen per route.
//!
//! A miss waits on its encode, and the encode was most of a miss, so both lossless and lossy
//! paths are built for time first, size second:
//!
//! - JPEG: `jpeg-encoder` (SIMD colour conversion and DCT), 4:2:0 chroma subsampling, standard
//!   Huffman tables, straight from the RGBA buffer without a copy. The image is cut into strips
//!   of [`JPEG_STRIP_ROWS`] rows that encode on all cores at once (rayon's pool) and are joined
//!   as the restart intervals of one baseline JPEG (a `DRI` marker and `RSTn` between strips):
//!   the bytes are exactly what one encoder with that restart interval writes, whatever the
//!   machine's cores.
//! - PNG: RGB when every pixel is opaque (a quarter less to compress), and the cheaper of two
//!   encodings on a sample of rows: unfiltered zlib level 1, which suits flat colour, text and
//!   gradients (the usual card) and deflates in bands of rows on all cores at once, or
//!   Paeth-filtered `fdeflate`, which suits photographs.
//! - WebP: takumi's libwebp encoder.
//!
//! Cards of one template share most of their pixels, and a JPEG strip or a flat PNG band is
//! encoded on its own: one whose pixels were encoded before comes from the piece cache
//! (`pieces.rs`, `render.piece_cache_mib`), byte for byte what encoding it again would write.

use takumi::prelude::{Bitmap, OutputFormat, Quality};

use crate::image::Format;

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
    #[error("jpeg: the encoder wrote strips that cannot be joined")]
    Splice,
    #[error("png: deflate: {0}")]
    Deflate(#[from] flate2::CompressError),
}

/// Encodes a rendered bitmap; JPEG strips and PNG bands encoded before come from `pieces`.
pub(crate) fn encode(
    bitmap: &Bitmap,
    format: Format,
    quality: u8,
    pieces: &Pieces,
) -> Result<Vec<u8>, EncodeError> {
    let (w, h) = (bitmap.width(), bitmap.height());
    match format {
        Format::Jpeg => {
            let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
                return Err(EncodeError::TooLarge(w, h));
            };
            jpeg::encode(bitmap.as_raw(), w16, h16, quality, pieces)
        }
        Format::Png => png_fast::encode(bitmap.as_raw(), w, h, pieces),
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

/// Rows in one JPEG strip (a restart interval): four rows of 16x16 MCUs at 4:2:0. Small enough
/// that a 630-row card splits evenly over two or more cores, large enough that the marker and
/// padding each strip adds (a few bytes) do not matter.
const JPEG_STRIP_ROWS: usize = 64;

mod jpeg;
mod pieces;
mod png_fast;

pub(crate) use pieces::Pieces;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::image::sniff_content_type;

    fn bitmap() -> Bitmap {
        let data = (0..64 * 32)
            .flat_map(|i| [(i % 256) as u8, 80, 160, 255])
            .collect();
        Bitmap::from_raw(64, 32, data).unwrap()
    }

    #[test]
    fn every_format_encodes_and_sniffs_back() {
        for format in [Format::Jpeg, Format::Png, Format::Webp] {
            let bytes = encode(&bitmap(), format, 80, &Pieces::off()).unwrap();
            assert_eq!(sniff_content_type(&bytes), Some(format.content_type()));
        }
    }

    /// A card-like test image: a diagonal gradient with a hard-edged block of "text".
    fn card(w: u32, h: u32, alpha: u8) -> Bitmap {
        let data = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .flat_map(|(x, y)| {
                let ink = (x / 7 + y / 5) % 3 == 0 && y > h / 3 && y < h / 2;
                let g = ((x + y) * 255 / (w + h)) as u8;
                if ink {
                    [250, 250, 250, alpha]
                } else {
                    [g / 4, g / 3, g, alpha]
                }
            })
            .collect();
        Bitmap::from_raw(w, h, data).unwrap()
    }

    #[test]
    fn jpeg_strips_are_one_encoder_with_restart_markers() {
        // 150 rows: strips of 64, 64 and 22 rows; 200 px: 13 MCUs a row.
        let image = card(200, 150, 255);
        let joined = jpeg::encode_on(image.as_raw(), 200, 150, 80, 2, &Pieces::off()).unwrap();
        let mut reference = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut reference, 80);
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        encoder.set_restart_interval(13 * 4);
        encoder
            .encode(image.as_raw(), 200, 150, jpeg_encoder::ColorType::Rgba)
            .unwrap();
        assert!(
            joined == reference,
            "strip-joined JPEG differs from the reference"
        );
        // One core: a plain JPEG, no restart markers.
        let plain = jpeg::encode_on(image.as_raw(), 200, 150, 80, 1, &Pieces::off()).unwrap();
        assert!(!plain.windows(2).any(|m| m == [0xFF, 0xDD]));
        assert_eq!(sniff_content_type(&plain), Some("image/jpeg"));
    }

    fn decode_png(bytes: &[u8]) -> (png::ColorType, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.color_type, buf)
    }

    /// A photograph stand-in: smooth shading with a little grain.
    fn photo(w: u32, h: u32) -> Bitmap {
        let data = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .flat_map(|(x, y)| {
                let (fx, fy) = (x as f32, y as f32);
                let base = 128.0 + 60.0 * (fx * 0.031).sin() + 50.0 * (fy * 0.047).cos();
                let grain = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) % 7;
                let v = base as u8 + grain as u8;
                [v, v / 2 + 40, 255 - v, 255]
            })
            .collect();
        Bitmap::from_raw(w, h, data).unwrap()
    }

    #[test]
    fn png_picks_flat_for_cards_and_filtered_for_photos() {
        let card = card(300, 200, 255);
        let picked = png_fast::pick(card.as_raw(), 300, 200, true, &Pieces::off()).unwrap();
        assert_eq!(picked, png_fast::Encoding::Flat);
        let photo = photo(300, 200);
        let picked = png_fast::pick(photo.as_raw(), 300, 200, true, &Pieces::off()).unwrap();
        assert_eq!(picked, png_fast::Encoding::Photo);
    }

    #[test]
    fn png_is_lossless_rgb_when_opaque_and_rgba_otherwise() {
        let (_, pixels) =
            decode_png(&encode(&photo(300, 200), Format::Png, 80, &Pieces::off()).unwrap());
        let expected: Vec<u8> = photo(300, 200)
            .as_raw()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        assert!(pixels == expected, "PNG pixels differ (photo)");
        for (alpha, color) in [(255, png::ColorType::Rgb), (128, png::ColorType::Rgba)] {
            let image = card(300, 200, alpha);
            let (got_color, pixels) =
                decode_png(&encode(&image, Format::Png, 80, &Pieces::off()).unwrap());
            assert_eq!(got_color, color);
            let expected: Vec<u8> = if alpha == 255 {
                image
                    .as_raw()
                    .chunks_exact(4)
                    .flat_map(|p| [p[0], p[1], p[2]])
                    .collect()
            } else {
                image.as_raw().to_vec()
            };
            assert!(pixels == expected, "PNG pixels differ (alpha {alpha})");
        }
    }

    #[test]
    fn flat_png_bands_make_one_valid_zlib_stream() {
        use std::io::Read;
        for alpha in [255, 128] {
            let image = card(300, 203, alpha);
            let png = png_fast::write_flat(image.as_raw(), 300, 203, alpha == 255, &Pieces::off())
                .unwrap();
            // The IDAT payload: after the signature (8) and IHDR (8 + 13 + 4), its length and type.
            let idat = &png[33..];
            let len = u32::from_be_bytes([idat[0], idat[1], idat[2], idat[3]]) as usize;
            assert_eq!(&idat[4..8], b"IDAT");
            // flate2's zlib decoder checks the Adler-32 trailer.
            let mut raw = Vec::new();
            flate2::read::ZlibDecoder::new(&idat[8..8 + len])
                .read_to_end(&mut raw)
                .unwrap();
            let bpp = if alpha == 255 { 3 } else { 4 };
            let expected: Vec<u8> = image
                .as_raw()
                .chunks_exact(300 * 4)
                .flat_map(|row| {
                    std::iter::once(0).chain(
                        row.chunks_exact(4)
                            .flat_map(move |p| p[..bpp].to_vec())
                            .collect::<Vec<u8>>(),
                    )
                })
                .collect();
            assert!(raw == expected, "scanlines differ (alpha {alpha})");
        }
    }

    /// The piece cache changes where a strip's or band's bytes come from, never the bytes: a
    /// card encoded twice with it, then the same card with a few rows changed (an id in its
    /// footer) twice, match full encodes byte for byte, and the pieces seen twice were kept.
    #[test]
    fn pieces_from_the_cache_make_the_same_bytes() {
        let pieces = Pieces::new(16 << 20);
        let first = card(400, 300, 255);
        let mut raw = first.as_raw().to_vec();
        for px in raw[400 * 4 * 280..400 * 4 * 290].chunks_exact_mut(4) {
            px[0] = 255 - px[0];
        }
        let second = Bitmap::from_raw(400, 300, raw).unwrap();
        // JPEG in strips whatever this machine's cores.
        let encode = |image: &Bitmap, format, pieces: &Pieces| match format {
            Format::Jpeg => jpeg::encode_on(image.as_raw(), 400, 300, 80, 2, pieces).unwrap(),
            _ => encode(image, format, 80, pieces).unwrap(),
        };
        for format in [Format::Jpeg, Format::Png] {
            for image in [&first, &first, &second, &second] {
                let cached = encode(image, format, &pieces);
                let full = encode(image, format, &Pieces::off());
                assert!(cached == full, "{format:?}: bytes differ with the cache");
            }
        }
        // Kept once seen twice: JPEG's 5 strips of 64 rows, then the one with rows 280-289;
        // PNG's 4 bands, then the last one, and one choice of encoding (rows 280-289 are
        // outside the sampled rows).
        assert_eq!(pieces.len(), 5 + 1 + 4 + 1 + 1);
    }

    #[test]
    fn opacity_and_alpha_dropping_cover_every_pixel() {
        // 1025 pixels: whole blocks, a partial block and a remainder after groups of four.
        let mut rgba: Vec<u8> = (0..1025u32 * 4)
            .map(|i| if i % 4 == 3 { 255 } else { i as u8 })
            .collect();
        assert!(png_fast::is_opaque(&rgba));
        let mut rgb = vec![0; 1025 * 3];
        png_fast::drop_alpha(&rgba, &mut rgb);
        let expected: Vec<u8> = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        assert_eq!(rgb, expected);
        rgba[1024 * 4 + 3] = 254;
        assert!(!png_fast::is_opaque(&rgba));
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
