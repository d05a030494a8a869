//! Expands the bundled WOFF2 fonts (`assets/fonts/`) to sfnt once, at build time, into
//! `OUT_DIR`, where `src/assets.rs` embeds them, each with the SHA-256 of its sfnt bytes.
//! Decoding them (Brotli and the WOFF2 glyph transform) at every start-up was about 40 % of a
//! cold start's CPU, and hashing their 2.7 MiB for the font digest another 1.8 ms
//! (docs/BENCHMARKS.md, issue 17). The bytes are the ones run-time decoding gave (the same
//! `wuff`).

use std::{error::Error, fs, path::Path};

use sha2::{Digest, Sha256};

fn main() -> Result<(), Box<dyn Error>> {
    let src = Path::new("assets/fonts");
    println!("cargo::rerun-if-changed={}", src.display());
    let out = std::env::var("OUT_DIR")?;
    let mut paths: Vec<_> = fs::read_dir(src)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "woff2"))
        .collect();
    paths.sort();
    for path in paths {
        let sfnt = wuff::decompress_woff2(&fs::read(&path)?)
            .map_err(|e| format!("{} is not a valid WOFF2 font: {e:?}", path.display()))?;
        let name = path.file_name().ok_or("a font without a file name")?;
        let name = name.to_string_lossy();
        fs::write(
            Path::new(&out).join(format!("{name}.sha256")),
            Sha256::digest(&sfnt),
        )?;
        fs::write(Path::new(&out).join(format!("{name}.sfnt")), sfnt)?;
    }
    Ok(())
}
