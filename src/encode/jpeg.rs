//! Baseline JPEG in parallel strips joined by restart markers.

use rayon::prelude::*;

use super::{
    EncodeError, JPEG_STRIP_ROWS,
    pieces::{Kind, Piece, Pieces},
};

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

pub(super) fn encode(
    rgba: &[u8],
    w: u16,
    h: u16,
    quality: u8,
    pieces: &Pieces,
) -> Result<Vec<u8>, EncodeError> {
    encode_on(rgba, w, h, quality, rayon::current_num_threads(), pieces)
}

/// [`encode`] for a pool of `cores` threads (one: no strips, a plain JPEG).
pub(super) fn encode_on(
    rgba: &[u8],
    w: u16,
    h: u16,
    quality: u8,
    cores: usize,
    pieces: &Pieces,
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
    // process: a thread spawned per encode cost more in kernel work than it saved. A strip is a
    // standalone JPEG whose bytes depend only on its pixels, so one encoded before (the
    // template's background, its fixed text) comes from the piece cache.
    let encoded = strips
        .par_iter()
        .map(|strip| {
            let rows = strip.len() / (usize::from(w) * 4);
            #[allow(clippy::cast_possible_truncation)] // at most JPEG_STRIP_ROWS
            let rows = rows as u16;
            let kind = Kind::Jpeg { quality };
            pieces.get_or_encode(kind, w.into(), rows.into(), strip, || {
                let bytes = encode_one(strip, w, rows, quality)?;
                Ok::<_, EncodeError>(Piece {
                    bytes: bytes.into(),
                    adler: 0,
                })
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let strips: Vec<&[u8]> = encoded.iter().map(|p| &*p.bytes).collect();
    join(&strips, h, interval).ok_or(EncodeError::Splice)
}

/// Joins standalone strip JPEGs into one: the first strip's headers with the full height
/// and a restart interval, then each strip's entropy-coded data, `RSTn` between them.
pub(super) fn join(strips: &[&[u8]], height: u16, interval: u16) -> Option<Vec<u8>> {
    let first = *strips.first()?;
    let (sof, sos, data_start) = headers(first)?;
    let mut out = Vec::with_capacity(strips.iter().map(|s| s.len()).sum::<usize>() + 64);
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
