//! Stage timings on the standard card (issue 3): where a miss spends its time, without HTTP.
//!
//! `cargo bench --bench stages` prints, for the card of `bench/ogforge.toml` (1200x630):
//! - takumi alone: HTML -> node tree + stylesheet, and layout + raster to an RGBA bitmap;
//! - encoders on that bitmap: ogforge's choices and the alternatives they were picked over;
//! - the whole render through ogforge's public pipeline (template -> HTML -> pixels -> bytes,
//!   on the blocking pool, no store), JPEG and PNG.
//!
//! It reports; it asserts nothing. A plain `harness = false` loop keeps the dev-dependencies
//! light; each figure is the median (and p90) of `RUNS` timed runs after `WARMUP` untimed ones.

use std::{path::Path, time::Instant};

use ogforge::{
    app::{App, Needs},
    config,
    outcome::Outcome,
    pipeline::Options,
};
use takumi::{
    prelude::{
        Bitmap, FontResource, Fonts, FromHtmlOptions, OutputFormat, Quality, StyleSheet, Viewport,
    },
    unstable::{base::resources::image::ResourceCache, html::parse_html},
};

const WARMUP: usize = 10;
const RUNS: usize = 100;

fn time<T>(label: &str, mut f: impl FnMut(usize) -> T) -> T {
    for i in 0..WARMUP {
        std::hint::black_box(f(i));
    }
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for i in 0..RUNS {
        let t = Instant::now();
        let out = std::hint::black_box(f(WARMUP + i));
        times.push(t.elapsed().as_secs_f64() * 1e3);
        last = Some(out);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{label:<58} p50 {:>7.3} ms   p90 {:>7.3} ms",
        times[RUNS / 2],
        times[RUNS * 9 / 10]
    );
    match last {
        Some(out) => out,
        None => f(0),
    }
}

fn rgb_of(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

/// RGB pixels of a PNG (`png`) or JPEG (zune-jpeg).
fn decode(bytes: &[u8], png: bool) -> anyhow::Result<Vec<u8>> {
    if png {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
        let info = reader.next_frame(&mut buf)?;
        buf.truncate(info.buffer_size());
        return Ok(match info.color_type {
            png::ColorType::Rgba => rgb_of(&buf),
            _ => buf,
        });
    }
    use zune_jpeg::zune_core::{colorspace::ColorSpace, options::DecoderOptions};
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    zune_jpeg::JpegDecoder::new_with_options(std::io::Cursor::new(bytes), options)
        .decode()
        .map_err(|e| anyhow::anyhow!("jpeg: {e:?}"))
}

/// Mean absolute difference per channel and PSNR.
fn diff(a: &[u8], b: &[u8]) -> (f64, f64) {
    let (mut sad, mut sse) = (0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let d = f64::from(x.abs_diff(*y));
        sad += d;
        sse += d * d;
    }
    let n = a.len().min(b.len()).max(1) as f64;
    (
        sad / n,
        10.0 * (255.0 * 255.0 / (sse / n).max(1e-9)).log10(),
    )
}

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config_path = root.join("bench/ogforge.toml");
    let template = std::fs::read_to_string(root.join("bench/card.html.j2"))?;
    // The card as the template draws it for id 123410 (the reference card).
    let html = template
        .split_once("-#}\n")
        .map_or(template.as_str(), |(_, body)| body)
        .replace(
            "{% if id|length == 6 %}{{ id[0:2] }} - {{ id[2:4] }} - {{ id[4:6] }}{% else %}{{ id }}{% endif %}",
            "12 - 34 - 10",
        );
    let mut fonts = Fonts::default();
    fonts
        .register(FontResource::new(std::fs::read(
            root.join("../shared/card/inter-latin-700-normal.woff"),
        )?))
        .map_err(|e| anyhow::anyhow!("font: {e}"))?;
    let images = ResourceCache::default();

    println!("stages of one 1200x630 card (median of {RUNS} runs)\n");
    let _ = time("takumi: parse HTML + stylesheet", |_| {
        parse_html(&html, FromHtmlOptions::default()).map(|p| StyleSheet::parse_list_loosy(&p.css))
    });
    let bitmap: Bitmap = time("takumi: parse + layout + raster (RGBA bitmap)", |_| {
        let parsed = parse_html(&html, FromHtmlOptions::default()).ok()?;
        let options = takumi::prelude::RenderOptions::builder()
            .viewport(Viewport::new((1200, 630)))
            .node(parsed.node)
            .fonts(&fonts)
            .stylesheet(StyleSheet::parse_list_loosy(&parsed.css).into())
            .resource_cache(images.clone())
            .build();
        takumi::render(options).ok()
    })
    .ok_or_else(|| anyhow::anyhow!("takumi failed to render the card"))?;
    let (w, h) = (bitmap.width() as u16, bitmap.height() as u16);

    let jpeg_with = |sampling, optimized, method| {
        let mut out = Vec::with_capacity(128 * 1024);
        let mut e = jpeg_encoder::Encoder::new(&mut out, 80);
        e.set_sampling_factor(sampling);
        e.set_optimized_huffman_tables(optimized);
        e.set_chroma_subsampling_method(method);
        e.encode(bitmap.as_raw(), w, h, jpeg_encoder::ColorType::Rgba)
            .map(|()| out)
    };
    let jpeg = |sampling, optimized| {
        jpeg_with(
            sampling,
            optimized,
            jpeg_encoder::ChromaSubsamplingMethod::Nearest,
        )
        .map(|o| o.len())
    };
    let _ = time("jpeg-encoder q80 4:2:0, one thread", |_| {
        jpeg(jpeg_encoder::SamplingFactor::R_4_2_0, false)
    });
    let _ = time(
        "jpeg-encoder q80 4:2:0 box-averaged chroma, one thread",
        |_| {
            jpeg_with(
                jpeg_encoder::SamplingFactor::R_4_2_0,
                false,
                jpeg_encoder::ChromaSubsamplingMethod::Average,
            )
            .map(|o| o.len())
        },
    );
    // How each JPEG choice looks next to Chromium's PNG of the same card, when the peers have run.
    if let Ok(reference) = std::fs::read(root.join("../shared/peers/out/chromium-warm-png.png")) {
        let reference = decode(&reference, true)?;
        for (label, sampling, method) in [
            (
                "4:2:0 nearest",
                jpeg_encoder::SamplingFactor::R_4_2_0,
                jpeg_encoder::ChromaSubsamplingMethod::Nearest,
            ),
            (
                "4:2:0 averaged",
                jpeg_encoder::SamplingFactor::R_4_2_0,
                jpeg_encoder::ChromaSubsamplingMethod::Average,
            ),
            (
                "4:4:4",
                jpeg_encoder::SamplingFactor::R_4_4_4,
                jpeg_encoder::ChromaSubsamplingMethod::Nearest,
            ),
        ] {
            let ours = decode(&jpeg_with(sampling, false, method)?, false)?;
            let (mad, psnr) = diff(&ours, &reference);
            println!(
                "    quality vs Chromium, JPEG q80 {label}: mean abs diff {mad:.2}, PSNR {psnr:.1} dB"
            );
        }
        let (mad, psnr) = diff(&rgb_of(bitmap.as_raw()), &reference);
        println!(
            "    quality vs Chromium, takumi's pixels (lossless): mean abs diff {mad:.2}, PSNR {psnr:.1} dB"
        );
    }
    // The parallel speed-up this machine gives: the image's two halves on two threads at once.
    let half = bitmap.as_raw().len() / 2 / (usize::from(w) * 4 * 16) * (usize::from(w) * 4 * 16);
    let _ = time("jpeg-encoder q80 4:2:0, two halves on two threads", |_| {
        let (top, bottom) = bitmap.as_raw().split_at(half);
        let one = |rgba: &[u8]| {
            let rows = (rgba.len() / (usize::from(w) * 4)) as u16;
            let mut out = Vec::with_capacity(64 * 1024);
            let mut e = jpeg_encoder::Encoder::new(&mut out, 80);
            e.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
            e.encode(rgba, w, rows, jpeg_encoder::ColorType::Rgba)
                .map(|()| out.len())
        };
        std::thread::scope(|scope| {
            let helper = scope.spawn(|| one(bottom));
            let a = one(top);
            (a, helper.join().ok())
        })
    });
    let _ = time(
        "jpeg-encoder q80 4:4:4 optimised Huffman (takumi's)",
        |_| jpeg(jpeg_encoder::SamplingFactor::R_4_4_4, true),
    );
    let rgb: Vec<u8> = bitmap
        .as_raw()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let png = |color, data: &[u8], compression, filter| {
        let mut out = Vec::with_capacity(512 * 1024);
        let mut e = png::Encoder::new(&mut out, bitmap.width(), bitmap.height());
        e.set_color(color);
        e.set_depth(png::BitDepth::Eight);
        e.set_deflate_compression(compression);
        e.set_filter(filter);
        let mut writer = e.write_header()?;
        writer.write_image_data(data)?;
        writer.finish()?;
        Ok::<_, png::EncodingError>(out.len())
    };
    time("RGBA -> RGB copy", |_| {
        bitmap
            .as_raw()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect::<Vec<u8>>()
    });
    for (label, color, data) in [
        ("RGBA", png::ColorType::Rgba, bitmap.as_raw()),
        ("RGB", png::ColorType::Rgb, rgb.as_slice()),
    ] {
        for (fname, filter) in [
            ("none", png::Filter::NoFilter),
            ("adaptive", png::Filter::Adaptive),
        ] {
            for level in 1..=6u8 {
                let n = time(&format!("png zlib {level} {label} filter {fname}"), |_| {
                    png(color, data, png::DeflateCompression::Level(level), filter)
                });
                println!("    -> {} KiB", n.unwrap_or(0) / 1024);
            }
        }
    }
    for (label, format) in [
        ("takumi::write_image PNG", OutputFormat::Png),
        (
            "takumi::write_image JPEG q80",
            OutputFormat::Jpeg {
                quality: Quality::new(80),
            },
        ),
    ] {
        let n = time(label, |_| {
            let mut out = Vec::with_capacity(512 * 1024);
            takumi::write_image(&bitmap, &mut out, format).map(|()| out.len())
        });
        println!("    -> {} KiB", n.unwrap_or(0) / 1024);
    }

    // The whole render through ogforge's pipeline: template, takumi, ogforge's encoder.
    let config = config::load(Some(&config_path), &config::Overrides::default())?;
    let app = App::build(&config, Needs::NOTHING)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let opts = Options {
        read_tiers: false,
        write_store: false,
    };
    for ext in ["jpg", "png"] {
        let n = time(
            &format!("ogforge pipeline render, {ext} (no HTTP, no store)"),
            |i| {
                let resolution = app.resolver.path(&format!("/card/{}.{ext}", 100_000 + i));
                match rt.block_on(app.pipeline.run(resolution, opts)) {
                    Outcome::Served(served) => served.image.bytes.len(),
                    Outcome::Fallback(_) | Outcome::Refused(_) => 0,
                }
            },
        );
        println!("    -> {} KiB", n / 1024);
    }
    Ok(())
}
