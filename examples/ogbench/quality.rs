//! Does it look right: ogforge's PNG and JPEG of the reference card, and the browser
//! renderer's PNG, against Chromium's PNG from the peers' run (mean absolute difference,
//! PSNR, share of pixels off by more than 32), with the decoders that turn each into RGB.

use std::{fs, io, path::Path};

use anyhow::{Result, anyhow, bail, ensure};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Quality {
    pub(crate) mean_abs_diff: f64,
    pub(crate) psnr: f64,
    pub(crate) pct_over_32: f64,
}

/// The comparisons with Chromium's PNG; `None` where there is no reference (peers not run) or,
/// for the browser renderer, no PNG of its own.
#[derive(Debug)]
pub(crate) struct VsChromium {
    /// ogforge's PNG and JPEG against Chromium's PNG.
    pub(crate) html: Option<Result<(Quality, Quality)>>,
    /// The browser renderer's PNG against Chromium's PNG.
    pub(crate) browser: Option<Result<Quality>>,
}

/// Compares the cards with `peers/out/chromium-warm-png.png` and prints the outcome.
pub(crate) fn against_chromium(
    peers: &Path,
    png: &[u8],
    jpeg: &[u8],
    browser_png: Option<&[u8]>,
) -> VsChromium {
    let reference = peers.join("out/chromium-warm-png.png");
    let html = fs::read(&reference).ok().map(|r| {
        let reference = decode_png(&r)?;
        Ok::<_, anyhow::Error>((
            compare(&decode_png(png)?, &reference)?,
            compare(&decode_jpeg(jpeg)?, &reference)?,
        ))
    });
    let browser = fs::read(&reference).ok().and_then(|r| {
        let png = browser_png?;
        Some(decode_png(&r).and_then(|reference| compare(&decode_png(png)?, &reference)))
    });
    if let Some(Ok(q)) = &browser {
        println!(
            "[ogbench] browser renderer PNG vs Chromium: mean abs diff {:.2}, PSNR {:.1} dB",
            q.mean_abs_diff, q.psnr
        );
    }
    match &html {
        Some(Ok((png, jpeg))) => println!(
            "[ogbench] vs Chromium: PNG mean abs diff {:.2}, PSNR {:.1} dB; JPEG {:.2}, {:.1} dB",
            png.mean_abs_diff, png.psnr, jpeg.mean_abs_diff, jpeg.psnr
        ),
        Some(Err(e)) => println!("[ogbench] pixel comparison failed: {e:#}"),
        None => println!("[ogbench] no Chromium reference at {}", reference.display()),
    }
    VsChromium { html, browser }
}

/// Decoded 8-bit RGB: width, height, pixels.
type Rgb = (u32, u32, Vec<u8>);

fn compare(a: &Rgb, b: &Rgb) -> Result<Quality> {
    ensure!(
        (a.0, a.1) == (b.0, b.1),
        "sizes differ: {}x{} vs {}x{}",
        a.0,
        a.1,
        b.0,
        b.1
    );
    let (mut sad, mut sse, mut over) = (0f64, 0f64, 0usize);
    for (p, q) in a.2.chunks_exact(3).zip(b.2.chunks_exact(3)) {
        let mut worst = 0;
        for c in 0..3 {
            let d = p[c].abs_diff(q[c]);
            sad += f64::from(d);
            sse += f64::from(d) * f64::from(d);
            worst = worst.max(d);
        }
        over += usize::from(worst > 32);
    }
    let n = a.2.len() as f64;
    let mse = sse / n;
    Ok(Quality {
        mean_abs_diff: sad / n,
        psnr: if mse == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (255.0 * 255.0 / mse).log10()
        },
        pct_over_32: 100.0 * over as f64 / (n / 3.0),
    })
}

/// A JPEG as 8-bit RGB (zune-jpeg, the decoder takumi uses).
fn decode_jpeg(bytes: &[u8]) -> Result<Rgb> {
    use zune_jpeg::zune_core::{colorspace::ColorSpace, options::DecoderOptions};
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(io::Cursor::new(bytes), options);
    let pixels = decoder.decode().map_err(|e| anyhow!("jpeg: {e:?}"))?;
    let info = decoder.info().ok_or_else(|| anyhow!("jpeg: no header"))?;
    Ok((u32::from(info.width), u32::from(info.height), pixels))
}

/// A PNG as 8-bit RGB (alpha dropped, as the peers' comparison does).
fn decode_png(bytes: &[u8]) -> Result<Rgb> {
    let mut decoder = png::Decoder::new(io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info()?;
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or_else(|| anyhow!("image too large"))?
    ];
    let info = reader.next_frame(&mut buf)?;
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => bail!("indexed colour left unexpanded"),
    };
    let mut rgb = Vec::with_capacity(info.width as usize * info.height as usize * 3);
    for row in buf[..info.buffer_size()].chunks_exact(info.line_size) {
        for px in row[..info.width as usize * channels].chunks_exact(channels) {
            match channels {
                1 | 2 => rgb.extend([px[0]; 3]),
                _ => rgb.extend(&px[..3]),
            }
        }
    }
    Ok((info.width, info.height, rgb))
}
