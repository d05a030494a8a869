//! Golden images: a render compared with its committed reference PNG under
//! `tests/fixtures/golden/` by mean absolute difference (MAD, 0-255 per channel) and PSNR, so
//! anti-aliasing noise passes and a wrong glyph does not. `OGFORGE_REGENERATE_GOLDEN=1`
//! rewrites the references instead; a failure leaves the render and a difference image under
//! `target/golden-diff/` and names them.

use std::path::PathBuf;

/// Set to `1` to rewrite the references from this run's renders.
pub const REGENERATE: &str = "OGFORGE_REGENERATE_GOLDEN";

/// An RGB image: width, height, 3 bytes a pixel.
pub type Rgb = (u32, u32, Vec<u8>);

pub fn decode_png(bytes: &[u8]) -> Rgb {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.line_size / info.width as usize;
    let mut rgb = Vec::new();
    for row in buf[..info.buffer_size()].chunks_exact(info.line_size) {
        for px in row.chunks_exact(channels) {
            rgb.extend(&px[..3]);
        }
    }
    (info.width, info.height, rgb)
}

pub fn encode_png(img: &Rgb) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, img.0, img.1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&img.2).unwrap();
    writer.finish().unwrap();
    out
}

/// How far apart two images of one size are.
#[derive(Debug, Clone, Copy)]
pub struct Diff {
    /// Mean absolute difference per channel, 0 (same) to 255.
    pub mad: f64,
    /// Peak signal-to-noise ratio in dB (infinite when the images are the same).
    pub psnr: f64,
}

pub fn diff(a: &Rgb, b: &Rgb) -> Diff {
    assert_eq!((a.0, a.1), (b.0, b.1), "the images differ in size");
    let (mut abs, mut sq) = (0u64, 0u64);
    for (x, y) in a.2.iter().zip(&b.2) {
        let d = u64::from(x.abs_diff(*y));
        abs += d;
        sq += d * d;
    }
    let n = a.2.len() as f64;
    let mse = sq as f64 / n;
    Diff {
        mad: abs as f64 / n,
        psnr: if mse == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (255.0 * 255.0 / mse).log10()
        },
    }
}

/// Differences in red on a grey copy of `a`, for a person to look at.
fn diff_image(a: &Rgb, b: &Rgb) -> Rgb {
    let mut out = Vec::with_capacity(a.2.len());
    for (pa, pb) in a.2.chunks_exact(3).zip(b.2.chunks_exact(3)) {
        let d = pa
            .iter()
            .zip(pb)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        let grey = (u16::from(pa[0]) + u16::from(pa[1]) + u16::from(pa[2])) / 6 + 128;
        if d > 16 {
            out.extend([255, 0, 0]);
        } else {
            out.extend([grey as u8; 3]);
        }
    }
    (a.0, a.1, out)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed reference `name`.png.
pub fn reference(name: &str) -> Rgb {
    decode_png(&std::fs::read(root().join(format!("tests/fixtures/golden/{name}.png"))).unwrap())
}

/// Compares the PNG `actual` with the reference `name`.png: its MAD must be at most `max_mad`
/// and its PSNR at least `min_psnr`. With [`REGENERATE`] set, writes the reference instead.
pub fn check(name: &str, actual: &[u8], max_mad: f64, min_psnr: f64) -> Diff {
    let reference = root().join(format!("tests/fixtures/golden/{name}.png"));
    if std::env::var(REGENERATE).as_deref() == Ok("1") {
        std::fs::write(&reference, actual).unwrap();
        return Diff {
            mad: 0.0,
            psnr: f64::INFINITY,
        };
    }
    let Ok(expected) = std::fs::read(&reference) else {
        panic!(
            "no reference {}: create it with {REGENERATE}=1 cargo test --test it scripts",
            reference.display()
        );
    };
    let (a, e) = (decode_png(actual), decode_png(&expected));
    let d = diff(&a, &e);
    if d.mad > max_mad || d.psnr < min_psnr {
        let dir = root().join("target/golden-diff");
        std::fs::create_dir_all(&dir).unwrap();
        let got = dir.join(format!("{name}.actual.png"));
        let marked = dir.join(format!("{name}.diff.png"));
        std::fs::write(&got, actual).unwrap();
        std::fs::write(&marked, encode_png(&diff_image(&a, &e))).unwrap();
        panic!(
            "{name}: MAD {:.3} (at most {max_mad}), PSNR {:.2} dB (at least {min_psnr}) against {}; \
             this render: {}, differences in red: {}; if the change is intended, regenerate with \
             {REGENERATE}=1 cargo test --test it scripts",
            d.mad,
            d.psnr,
            reference.display(),
            got.display(),
            marked.display()
        );
    }
    d
}
