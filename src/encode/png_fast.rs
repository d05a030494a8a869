//! PNG tuned for time: RGB when opaque, and a sampled choice between two fast encodings.

use std::io::Write;

use bytes::Bytes;

use super::{
    EncodeError,
    pieces::{Kind, Piece, Pieces},
};

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

pub(super) fn encode(rgba: &[u8], w: u32, h: u32, pieces: &Pieces) -> Result<Vec<u8>, EncodeError> {
    let opaque = is_opaque(rgba);
    match pick(rgba, w, h, opaque, pieces)? {
        Encoding::Flat => write_flat(rgba, w, h, opaque, pieces),
        Encoding::Photo => write(rgba, w, h, opaque, Encoding::Photo, rgba.len() / 8),
    }
}

/// Row bands the flat encoding deflates at once, on rayon's pool. Fixed, so the bytes do not
/// depend on the machine's cores; each band costs a sync flush (a few bytes) and starts
/// without the previous band's history (a little ratio).
const FLAT_SEGMENTS: usize = 4;

/// [`Encoding::Flat`] with the deflate split over [`FLAT_SEGMENTS`] bands of rows: each band
/// is a raw DEFLATE run ending in a sync flush (the last one final), and the zlib stream is
/// their concatenation with one header and the bands' Adler-32s combined. A band's run depends
/// only on its pixels, so one deflated before comes from the piece cache.
pub(super) fn write_flat(
    rgba: &[u8],
    w: u32,
    h: u32,
    opaque: bool,
    pieces: &Pieces,
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
            let pixels = &rgba[first * src_row..end * src_row];
            let kind = Kind::FlatPng {
                opaque,
                last: i == last,
            };
            #[allow(clippy::cast_possible_truncation)] // at most h rows
            let rows = (end - first) as u32;
            let piece = pieces.get_or_encode(kind, w, rows, pixels, || {
                // Scanlines: filter type 0 (none), then the row's bytes.
                let mut lines = vec![0; (end - first) * row];
                for (line, src) in lines
                    .chunks_exact_mut(row)
                    .zip(pixels.chunks_exact(src_row))
                {
                    if opaque {
                        drop_alpha(src, &mut line[1..]);
                    } else {
                        line[1..].copy_from_slice(src);
                    }
                }
                Ok::<_, EncodeError>(Piece {
                    adler: zlib_rs::adler32::adler32(1, &lines),
                    bytes: deflate_raw(&lines, i == last)?.into(),
                })
            })?;
            Ok((piece.bytes, piece.adler, ((end - first) * row) as u64))
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
        let status = compress.compress_vec(&data[consumed.min(data.len())..], &mut out, flush)?;
        let all_in = compress.total_in() == data.len() as u64;
        // A flush is complete when the compressor stops with output space to spare.
        if (last && status == Status::StreamEnd) || (!last && all_in && out.len() < out.capacity())
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

/// The encoding whose output is smaller on a sample of bands of rows. A sample seen before
/// (a template's rows there do not change with the id) finds its choice in the piece cache.
pub(super) fn pick(
    rgba: &[u8],
    w: u32,
    h: u32,
    opaque: bool,
    pieces: &Pieces,
) -> Result<Encoding, EncodeError> {
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
    let choice = pieces.get_or_encode(Kind::PngPick { opaque }, w, sample_h, &sample, || {
        let flat = write(&sample, w, sample_h, opaque, Encoding::Flat, 0)?.len();
        let photo = write(&sample, w, sample_h, opaque, Encoding::Photo, 0)?.len();
        Ok::<_, EncodeError>(Piece {
            bytes: Bytes::from_static(if photo < flat { &[1] } else { &[0] }),
            adler: 0,
        })
    })?;
    Ok(if choice.bytes.first() == Some(&1) {
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
