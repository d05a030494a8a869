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
    #[error("jpeg: the encoder wrote strips that cannot be joined")]
    Splice,
    #[error("png: deflate: {0}")]
    Deflate(#[from] flate2::CompressError),
}

/// Encodes a rendered bitmap.
pub(crate) fn encode(bitmap: &Bitmap, format: Format, quality: u8) -> Result<Vec<u8>, EncodeError> {
    let (w, h) = (bitmap.width(), bitmap.height());
    match format {
        Format::Jpeg => {
            let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
                return Err(EncodeError::TooLarge(w, h));
            };
            jpeg::encode(bitmap.as_raw(), w16, h16, quality)
        }
        Format::Png => png_fast::encode(bitmap.as_raw(), w, h),
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

/// Baseline JPEG in parallel strips joined by restart markers.
mod jpeg {
    use rayon::prelude::*;

    use super::{EncodeError, JPEG_STRIP_ROWS};

    /// JPEG markers this module reads or writes.
    const SOF0: u8 = 0xC0;
    const SOS: u8 = 0xDA;
    const DRI: u8 = 0xDD;
    const RST0: u8 = 0xD0;
    const EOI: u8 = 0xD9;

    /// One strip (or the whole image) as a standalone JPEG.
    fn encode_one(rgba: &[u8], w: u16, h: u16, quality: u8) -> Result<Vec<u8>, EncodeError> {
        // About 0.6 bits per pixel at q80 for a card; the Vec grows if a photo needs more.
        let mut out = Vec::with_capacity(usize::from(w) * usize::from(h) / 10 + 1024);
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        encoder.encode(rgba, w, h, jpeg_encoder::ColorType::Rgba)?;
        Ok(out)
    }

    pub(super) fn encode(rgba: &[u8], w: u16, h: u16, quality: u8) -> Result<Vec<u8>, EncodeError> {
        encode_on(rgba, w, h, quality, rayon::current_num_threads())
    }

    /// [`encode`] for a pool of `cores` threads (one: no strips, a plain JPEG).
    pub(super) fn encode_on(
        rgba: &[u8],
        w: u16,
        h: u16,
        quality: u8,
        cores: usize,
    ) -> Result<Vec<u8>, EncodeError> {
        let strip_bytes = usize::from(w) * 4 * JPEG_STRIP_ROWS;
        let strips: Vec<&[u8]> = rgba.chunks(strip_bytes.max(1)).collect();
        let mcus = usize::from(w).div_ceil(16) * (JPEG_STRIP_ROWS / 16);
        let workers = cores.min(strips.len());
        let Ok(interval) = u16::try_from(mcus) else {
            return encode_one(rgba, w, h, quality);
        };
        if strips.len() < 2 || workers < 2 {
            return encode_one(rgba, w, h, quality);
        }

        // Strips go to rayon's pool (the one takumi uses), whose threads live as long as the
        // process: a thread spawned per encode cost more in kernel work than it saved.
        let encoded = strips
            .par_iter()
            .map(|strip| {
                let rows = strip.len() / (usize::from(w) * 4);
                #[allow(clippy::cast_possible_truncation)] // at most JPEG_STRIP_ROWS
                encode_one(strip, w, rows as u16, quality)
            })
            .collect::<Result<Vec<_>, _>>()?;
        join(&encoded, h, interval).ok_or(EncodeError::Splice)
    }

    /// Joins standalone strip JPEGs into one: the first strip's headers with the full height
    /// and a restart interval, then each strip's entropy-coded data, `RSTn` between them.
    pub(super) fn join(strips: &[Vec<u8>], height: u16, interval: u16) -> Option<Vec<u8>> {
        let first = strips.first()?;
        let (sof, sos, data_start) = headers(first)?;
        let mut out = Vec::with_capacity(strips.iter().map(Vec::len).sum::<usize>() + 64);
        out.extend_from_slice(&first[..sos]);
        // SOF0: marker (2), length (2), precision (1), then the height.
        out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&[0xFF, DRI, 0x00, 0x04]);
        out.extend_from_slice(&interval.to_be_bytes());
        out.extend_from_slice(&first[sos..data_start]);
        for (i, strip) in strips.iter().enumerate() {
            let start = if i == 0 {
                data_start
            } else {
                headers(strip)?.2
            };
            let end = strip.len().checked_sub(2)?;
            if start > end || strip[end..] != [0xFF, EOI] {
                return None;
            }
            if i > 0 {
                #[allow(clippy::cast_possible_truncation)] // i % 8 < 8
                out.extend_from_slice(&[0xFF, RST0 + (i - 1) as u8 % 8]);
            }
            out.extend_from_slice(&strip[start..end]);
        }
        out.extend_from_slice(&[0xFF, EOI]);
        Some(out)
    }

    /// Offsets of the SOF0 marker, the SOS marker and the first byte of entropy-coded data.
    fn headers(jpeg: &[u8]) -> Option<(usize, usize, usize)> {
        if jpeg.get(..2)? != [0xFF, 0xD8] {
            return None;
        }
        let (mut at, mut sof) = (2, None);
        loop {
            if *jpeg.get(at)? != 0xFF {
                return None;
            }
            let marker = *jpeg.get(at + 1)?;
            let len = usize::from(u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]));
            match marker {
                SOF0 => sof = Some(at),
                SOS => return Some((sof?, at, at + 2 + len)),
                _ => {}
            }
            at += 2 + len;
        }
    }
}

/// PNG tuned for time: RGB when opaque, and a sampled choice between two fast encodings.
mod png_fast {
    use std::io::Write;

    use super::EncodeError;

    /// A pair of row filter and deflate setting.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Encoding {
        /// Unfiltered zlib level 1: long runs of flat colour and repeated rows deflate well.
        Flat,
        /// Paeth filter with `fdeflate`: smooth photographic content.
        Photo,
    }

    impl Encoding {
        fn apply<W: Write>(self, encoder: &mut png::Encoder<'_, W>) {
            match self {
                Self::Flat => {
                    encoder.set_filter(png::Filter::NoFilter);
                    encoder.set_deflate_compression(png::DeflateCompression::Level(1));
                }
                Self::Photo => {
                    encoder.set_filter(png::Filter::Paeth);
                    encoder.set_deflate_compression(png::DeflateCompression::FdeflateUltraFast);
                }
            }
        }
    }

    /// Sampled bands: this many, of [`BAND_ROWS`] consecutive rows each, spread over the image.
    const BANDS: usize = 4;
    const BAND_ROWS: usize = 8;

    pub(super) fn encode(rgba: &[u8], w: u32, h: u32) -> Result<Vec<u8>, EncodeError> {
        let opaque = is_opaque(rgba);
        match pick(rgba, w, h, opaque)? {
            Encoding::Flat => write_flat(rgba, w, h, opaque),
            Encoding::Photo => write(rgba, w, h, opaque, Encoding::Photo, rgba.len() / 8),
        }
    }

    /// Row bands the flat encoding deflates at once, on rayon's pool. Fixed, so the bytes do not
    /// depend on the machine's cores; each band costs a sync flush (a few bytes) and starts
    /// without the previous band's history (a little ratio).
    const FLAT_SEGMENTS: usize = 4;

    /// [`Encoding::Flat`] with the deflate split over [`FLAT_SEGMENTS`] bands of rows: each band
    /// is a raw DEFLATE run ending in a sync flush (the last one final), and the zlib stream is
    /// their concatenation with one header and the bands' Adler-32s combined.
    pub(super) fn write_flat(
        rgba: &[u8],
        w: u32,
        h: u32,
        opaque: bool,
    ) -> Result<Vec<u8>, EncodeError> {
        use rayon::prelude::*;

        let src_row = w as usize * 4;
        let row = 1 + w as usize * if opaque { 3 } else { 4 };
        let rows = h as usize;
        let per = rows.div_ceil(FLAT_SEGMENTS).max(1);
        let bands: Vec<(usize, usize)> = (0..rows)
            .step_by(per)
            .map(|first| (first, (first + per).min(rows)))
            .collect();
        let last = bands.len().saturating_sub(1);
        let parts = bands
            .par_iter()
            .enumerate()
            .map(|(i, &(first, end))| {
                // Scanlines: filter type 0 (none), then the row's bytes.
                let mut lines = vec![0; (end - first) * row];
                for (line, src) in lines
                    .chunks_exact_mut(row)
                    .zip(rgba[first * src_row..end * src_row].chunks_exact(src_row))
                {
                    if opaque {
                        drop_alpha(src, &mut line[1..]);
                    } else {
                        line[1..].copy_from_slice(src);
                    }
                }
                let adler = zlib_rs::adler32::adler32(1, &lines);
                Ok((deflate_raw(&lines, i == last)?, adler, lines.len() as u64))
            })
            .collect::<Result<Vec<_>, EncodeError>>()?;

        // zlib header: deflate, 32 KiB window, fastest level, no dictionary (CMF, FLG % 31 == 0).
        let mut stream = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum::<usize>() + 6);
        stream.extend_from_slice(&[0x78, 0x01]);
        let mut adler = 1;
        for (i, (body, part_adler, len)) in parts.iter().enumerate() {
            stream.extend_from_slice(body);
            adler = if i == 0 {
                *part_adler
            } else {
                zlib_rs::adler32::adler32_combine(adler, *part_adler, *len)
            };
        }
        stream.extend_from_slice(&adler.to_be_bytes());

        let mut out = Vec::with_capacity(stream.len() + 128);
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_color(if opaque {
            png::ColorType::Rgb
        } else {
            png::ColorType::Rgba
        });
        let mut writer = encoder.write_header()?;
        writer.write_chunk(png::chunk::IDAT, &stream)?;
        writer.finish()?;
        Ok(out)
    }

    /// `data` as raw DEFLATE at level 1: a sync flush at the end (byte-aligned, not final)
    /// unless `last`, which ends the stream.
    fn deflate_raw(data: &[u8], last: bool) -> Result<Vec<u8>, EncodeError> {
        use flate2::{Compress, Compression, FlushCompress, Status};

        let mut compress = Compress::new(Compression::fast(), false);
        let mut out = Vec::with_capacity(data.len() / 8 + 1024);
        let flush = if last {
            FlushCompress::Finish
        } else {
            FlushCompress::Sync
        };
        loop {
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity().max(4096));
            }
            let consumed = usize::try_from(compress.total_in()).unwrap_or(data.len());
            let status =
                compress.compress_vec(&data[consumed.min(data.len())..], &mut out, flush)?;
            let all_in = compress.total_in() == data.len() as u64;
            // A flush is complete when the compressor stops with output space to spare.
            if (last && status == Status::StreamEnd)
                || (!last && all_in && out.len() < out.capacity())
            {
                return Ok(out);
            }
        }
    }

    /// Whether every pixel's alpha is 255. Blocks of whole words ANDed together, so the compiler
    /// vectorises it; a block stops the scan at the first translucent pixel it holds.
    pub(super) fn is_opaque(rgba: &[u8]) -> bool {
        rgba.chunks(4096).all(|block| {
            let all = block
                .chunks_exact(4)
                .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
                .fold(u32::MAX, |acc, px| acc & px);
            all >> 24 == 0xFF
        })
    }

    /// RGBA row to RGB row, four pixels (16 bytes in, 12 out) at a time as whole words.
    pub(super) fn drop_alpha(rgba: &[u8], rgb: &mut [u8]) {
        let (src, src_rest) = rgba.as_chunks::<16>();
        let (dst, dst_rest) = rgb.as_chunks_mut::<12>();
        for (d, s) in dst.iter_mut().zip(src) {
            let px = |i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
            let (p0, p1, p2, p3) = (px(0), px(4), px(8), px(12));
            d[0..4].copy_from_slice(&((p0 & 0x00FF_FFFF) | (p1 << 24)).to_le_bytes());
            d[4..8].copy_from_slice(&(((p1 >> 8) & 0xFFFF) | (p2 << 16)).to_le_bytes());
            d[8..12].copy_from_slice(&(((p2 >> 16) & 0xFF) | (p3 << 8)).to_le_bytes());
        }
        for (d, s) in dst_rest.chunks_exact_mut(3).zip(src_rest.chunks_exact(4)) {
            d.copy_from_slice(&s[..3]);
        }
    }

    /// The encoding whose output is smaller on a sample of bands of rows.
    pub(super) fn pick(rgba: &[u8], w: u32, h: u32, opaque: bool) -> Result<Encoding, EncodeError> {
        let row = w as usize * 4;
        let rows = h as usize;
        if rows < BANDS * BAND_ROWS * 2 {
            return Ok(Encoding::Flat);
        }
        let mut sample = Vec::with_capacity(BANDS * BAND_ROWS * row);
        for band in 0..BANDS {
            let first = (rows - BAND_ROWS) * band / (BANDS - 1);
            sample.extend_from_slice(&rgba[first * row..(first + BAND_ROWS) * row]);
        }
        #[allow(clippy::cast_possible_truncation)] // BANDS * BAND_ROWS rows
        let sample_h = (BANDS * BAND_ROWS) as u32;
        let flat = write(&sample, w, sample_h, opaque, Encoding::Flat, 0)?.len();
        let photo = write(&sample, w, sample_h, opaque, Encoding::Photo, 0)?.len();
        Ok(if photo < flat {
            Encoding::Photo
        } else {
            Encoding::Flat
        })
    }

    fn write(
        rgba: &[u8],
        w: u32,
        h: u32,
        opaque: bool,
        encoding: Encoding,
        capacity: usize,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(capacity);
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_depth(png::BitDepth::Eight);
        encoding.apply(&mut encoder);
        if opaque {
            encoder.set_color(png::ColorType::Rgb);
            let mut writer = encoder.write_header()?;
            // Rows are converted to RGB one at a time, so no second image-sized buffer exists.
            let mut stream = writer.stream_writer_with_size(256 * 1024)?;
            let mut rgb = vec![0; w as usize * 3];
            for src in rgba.chunks_exact(w as usize * 4) {
                drop_alpha(src, &mut rgb);
                stream.write_all(&rgb).map_err(png::EncodingError::from)?;
            }
            stream.finish()?;
        } else {
            encoder.set_color(png::ColorType::Rgba);
            let mut writer = encoder.write_header()?;
            writer.write_image_data(rgba)?;
            writer.finish()?;
        }
        Ok(out)
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
        let joined = jpeg::encode_on(image.as_raw(), 200, 150, 80, 2).unwrap();
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
        let plain = jpeg::encode_on(image.as_raw(), 200, 150, 80, 1).unwrap();
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
        let picked = png_fast::pick(card.as_raw(), 300, 200, true).unwrap();
        assert_eq!(picked, png_fast::Encoding::Flat);
        let photo = photo(300, 200);
        let picked = png_fast::pick(photo.as_raw(), 300, 200, true).unwrap();
        assert_eq!(picked, png_fast::Encoding::Photo);
    }

    #[test]
    fn png_is_lossless_rgb_when_opaque_and_rgba_otherwise() {
        let (_, pixels) = decode_png(&encode(&photo(300, 200), Format::Png, 80).unwrap());
        let expected: Vec<u8> = photo(300, 200)
            .as_raw()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        assert!(pixels == expected, "PNG pixels differ (photo)");
        for (alpha, color) in [(255, png::ColorType::Rgb), (128, png::ColorType::Rgba)] {
            let image = card(300, 200, alpha);
            let (got_color, pixels) = decode_png(&encode(&image, Format::Png, 80).unwrap());
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
            let png = png_fast::write_flat(image.as_raw(), 300, 203, alpha == 255).unwrap();
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
