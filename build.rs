//! Expands the bundled WOFF2 fonts (`assets/fonts/`) to sfnt once, at build time, into
//! `OUT_DIR`, where `src/assets.rs` embeds them. Decoding them (Brotli and the WOFF2 glyph
//! transform) at every start-up was about 40 % of a cold start's CPU (docs/BENCHMARKS.md, issue
//! 17). The bytes are the ones run-time decoding gave (the same `wuff`), so the font digest and
//! every storage key stay as they were.

use std::{fs, path::Path};

fn main() {
    let src = Path::new("assets/fonts");
    println!("cargo::rerun-if-changed={}", src.display());
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let mut names: Vec<_> = fs::read_dir(src)
        .expect("assets/fonts is part of the source tree")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "woff2"))
        .collect();
    names.sort();
    for path in names {
        let bytes = fs::read(&path).expect("a bundled font is readable");
        let sfnt = wuff::decompress_woff2(&bytes)
            .unwrap_or_else(|e| panic!("{} is not a valid WOFF2 font: {e:?}", path.display()));
        let name = path.file_name().expect("a file name").to_string_lossy();
        fs::write(Path::new(&out).join(format!("{name}.sfnt")), sfnt).expect("OUT_DIR is writable");
    }
}
