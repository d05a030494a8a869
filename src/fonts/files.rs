//! Font files in: the bundled pack from the binary and every font in each folder of
//! `render.fonts_dirs` (sorted by path, so loading and the digest do not depend on the order a
//! file system lists them), with WOFF and WOFF2 expanded to sfnt here, once, so every later step
//! reads plain OpenType (`.ttc`/`.otc` collections included). What a face holds is `face.rs`'s.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::FontsError;
use crate::assets::{self, BundledFont};

/// The extensions read from a fonts folder (any case).
const FONT_EXTENSIONS: &[&str] = &["ttf", "otf", "ttc", "otc", "woff", "woff2"];

/// How deep `fonts_recursive` goes, so a symbolic link that loops cannot hold start-up forever.
const MAX_DEPTH: usize = 16;

/// One font file, as sfnt bytes (a bundled one borrowed from the binary, not copied).
#[derive(Debug)]
pub(super) struct FontFile {
    /// The path, or `bundled:NAME`, for messages.
    pub(super) origin: String,
    pub(super) sfnt: Bytes,
    /// SHA-256 of `sfnt`, for the font digest (a bundled file's taken at build time).
    pub(super) sha256: [u8; 32],
    /// The pack's entry for a bundled file: the family it registers as (a folder's font says
    /// its own) and its bytes in the binary, which takumi can key by address instead of
    /// hashing them.
    pub(super) bundled: Option<&'static BundledFont>,
}

impl FontFile {
    pub(super) fn family(&self) -> Option<&'static str> {
        self.bundled.map(|b| b.family)
    }
}

/// The bundled fallback pack, already sfnt (`build.rs`).
pub(super) fn bundled() -> Vec<FontFile> {
    assets::FONTS
        .iter()
        .map(|font| FontFile {
            sfnt: Bytes::from_static(font.bytes),
            sha256: *font.sha256,
            origin: format!("bundled:{}", font.file),
            bundled: Some(font),
        })
        .collect()
}

/// Every font in `dir` (and below it, if `recursive`), by path; a folder without one is an
/// error, since a mistyped or empty folder would otherwise leave its scripts as boxes.
pub(super) fn folder(dir: &Path, recursive: bool) -> Result<Vec<FontFile>, FontsError> {
    let mut paths = Vec::new();
    list(dir, if recursive { MAX_DEPTH } else { 0 }, &mut paths)?;
    paths.sort();
    if paths.is_empty() {
        return Err(FontsError::Empty(dir.to_path_buf(), recursive));
    }
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).map_err(|e| FontsError::File(path.clone(), e))?;
            let origin = path.display().to_string();
            let sfnt = sfnt(bytes, &origin)?;
            Ok(FontFile {
                sha256: Sha256::digest(&sfnt).into(),
                sfnt: Bytes::from(sfnt),
                origin,
                bundled: None,
            })
        })
        .collect()
}

/// Font files in `dir`, and in its sub-folders down to `depth` more levels.
fn list(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), FontsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FontsError::Dir(dir.to_path_buf(), e))?;
    for entry in entries {
        let path = entry
            .map_err(|e| FontsError::Dir(dir.to_path_buf(), e))?
            .path();
        // `metadata` follows symbolic links, as Debian's font folders use them.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if depth > 0 {
                list(&path, depth - 1, out)?;
            }
        } else if is_font_name(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_font_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| FONT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The file's bytes as sfnt (TrueType, OpenType or a collection of either), from whichever of
/// those, WOFF or WOFF2 they are.
fn sfnt(bytes: Vec<u8>, origin: &str) -> Result<Vec<u8>, FontsError> {
    let bad = |reason: String| FontsError::Font(origin.to_owned(), reason);
    match bytes.get(..4) {
        Some([0, 1, 0, 0] | b"OTTO" | b"true" | b"ttcf") => Ok(bytes),
        Some(b"wOF2") => wuff::decompress_woff2(&bytes).map_err(|e| bad(format!("WOFF2: {e:?}"))),
        Some(b"wOFF") => wuff::decompress_woff1(&bytes).map_err(|e| bad(format!("WOFF: {e:?}"))),
        _ => Err(bad(
            "not a TrueType, OpenType, collection, WOFF or WOFF2 font".into(),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_read_by_path_and_recursion_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let inter = include_bytes!("../../assets/fonts/inter-latin-400-normal.woff2");
        std::fs::write(dir.path().join("b.WOFF2"), inter).unwrap();
        std::fs::write(dir.path().join("a.woff2"), inter).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a font").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c.woff2"), inter).unwrap();
        let names = |files: Vec<FontFile>| -> Vec<String> {
            (files.iter())
                .map(|f| f.origin.rsplit('/').next().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            names(folder(dir.path(), false).unwrap()),
            ["a.woff2", "b.WOFF2"]
        );
        assert_eq!(
            names(folder(dir.path(), true).unwrap()),
            ["a.woff2", "b.WOFF2", "c.woff2"]
        );
        let one = &folder(dir.path(), false).unwrap()[0];
        assert_eq!(&one.sfnt[..4], &[0, 1, 0, 0], "WOFF2 is expanded to sfnt");
    }

    #[test]
    fn a_folder_without_a_font_and_a_broken_font_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("readme.txt"), "x").unwrap();
        let e = folder(dir.path(), false).unwrap_err();
        assert!(matches!(e, FontsError::Empty(..)), "{e}");
        std::fs::write(dir.path().join("broken.ttf"), "not a font at all").unwrap();
        let e = folder(dir.path(), false).unwrap_err().to_string();
        assert!(
            e.contains("broken.ttf") && e.contains("not a TrueType"),
            "{e}"
        );
        let e = folder(&dir.path().join("missing"), false).unwrap_err();
        assert!(matches!(e, FontsError::Dir(..)), "{e}");
    }
}
