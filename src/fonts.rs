//! The fonts every template draws with, loaded once at start-up into takumi's font context.
//!
//! System fonts are never read: a card must look the same on every machine, and a font that
//! changes under the service would change images without changing their keys. The bytes of
//! every font go into the template digest for the same reason.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use takumi::prelude::{FontResource, Fonts};

use crate::assets;

/// Font files ogforge loads from a fonts folder.
const FONT_EXTENSIONS: &[&str] = &["ttf", "otf", "woff", "woff2"];

#[derive(Debug, thiserror::Error)]
pub enum FontsError {
    #[error("cannot read the fonts folder {0}: {1}")]
    Dir(PathBuf, std::io::Error),
    #[error("cannot read {0}: {1}")]
    File(PathBuf, std::io::Error),
    #[error("{0} is not a usable font: {1}")]
    Font(String, String),
    #[error("the fonts folder {0} holds no .ttf, .otf, .woff or .woff2 file")]
    Empty(PathBuf),
}

/// The registered fonts and a digest of their bytes.
pub(crate) struct FontSet {
    pub(crate) fonts: Fonts,
    pub(crate) digest: [u8; 32],
    pub(crate) families: Vec<String>,
}

impl std::fmt::Debug for FontSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontSet")
            .field("families", &self.families)
            .finish_non_exhaustive()
    }
}

/// Loads the fonts in `dir` (sorted by file name, so the digest is stable), or the bundled
/// Inter when `dir` is `None`.
pub(crate) fn load(dir: Option<&Path>) -> Result<FontSet, FontsError> {
    let files: Vec<(String, Vec<u8>)> = match dir {
        None => assets::FONTS
            .iter()
            .map(|(name, bytes)| ((*name).to_owned(), bytes.to_vec()))
            .collect(),
        Some(dir) => read_dir(dir)?,
    };
    let mut fonts = Fonts::default();
    let mut hasher = Sha256::new();
    let mut families = Vec::new();
    for (name, bytes) in files {
        // Bytes only, not paths: moving the fonts folder must not change every key.
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
        let registered = fonts
            .register(FontResource::new(bytes))
            .map_err(|e| FontsError::Font(name.clone(), e.to_string()))?;
        families.extend(registered.iter().map(|f| format!("{f:?}")));
    }
    Ok(FontSet {
        fonts,
        digest: hasher.finalize().into(),
        families,
    })
}

fn read_dir(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, FontsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FontsError::Dir(dir.to_path_buf(), e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| FONT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(FontsError::Empty(dir.to_path_buf()));
    }
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).map_err(|e| FontsError::File(p.clone(), e))?;
            Ok((p.display().to_string(), bytes))
        })
        .collect()
}
