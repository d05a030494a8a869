//! Registering font files with takumi, in order: every face of a file, a bundled file under its
//! declared family, and the subsets of one style (`inter-latin-400`, `inter-cyrillic-400`) each
//! for the characters it maps. Registering also gathers what the set is made of: each family
//! once with its colour format (for the chain), the characters covered, the digest of the bytes
//! and the lint's warnings.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use takumi::prelude::{
    FontOverride, FontResource, FontSource, Fonts, UnicodeRange, UnicodeRangeSet,
};

use super::{
    FontsError,
    chain::Family,
    coverage::Coverage,
    face::{Colour, Face},
    files::FontFile,
};

/// For each file, whether its one face shares its family and style with another face: then
/// each such face is a subset of that style (`inter-latin`, `inter-cyrillic`) and is registered
/// for the characters it maps, as a stylesheet's `unicode-range` would, since takumi otherwise
/// takes one face per style and drops the rest.
pub(super) fn subsets(files: &[FontFile], faces: &[Vec<Face>]) -> Vec<bool> {
    let key = |file: &FontFile, face: &Face| {
        let family = file.family().unwrap_or(&face.family).to_lowercase();
        (family, face.style)
    };
    let keys: Vec<_> = (files.iter().zip(faces))
        .flat_map(|(file, faces)| faces.iter().map(move |face| key(file, face)))
        .collect();
    (files.iter().zip(faces))
        .map(|(file, faces)| match faces.as_slice() {
            [face] => {
                let own = key(file, face);
                keys.iter().filter(|k| **k == own).count() > 1
            }
            _ => false,
        })
        .collect()
}

/// What registering the files builds.
pub(super) struct Registry {
    pub(super) fonts: Fonts,
    /// Each family once, in registration order.
    pub(super) families: Vec<Family>,
    pub(super) coverage: Coverage,
    /// Of every file's bytes (their SHA-256s), in order.
    pub(super) digest: Sha256,
    /// The lint's findings.
    pub(super) warnings: Vec<String>,
}

impl Default for Registry {
    fn default() -> Self {
        Self {
            fonts: Fonts::default(),
            families: Vec::new(),
            coverage: Coverage::default(),
            digest: Sha256::new(),
            warnings: Vec::new(),
        }
    }
}

impl Registry {
    /// Registers every face of `file`; `ranged`: for the characters it maps only.
    pub(super) fn register(
        &mut self,
        file: &FontFile,
        faces: &[Face],
        ranged: bool,
    ) -> Result<(), FontsError> {
        // Bytes only, not paths: moving the fonts folder must not change every key.
        self.digest.update((file.sfnt.len() as u64).to_le_bytes());
        self.digest.update(file.sha256);
        let source = match file.bundled {
            Some(font) => FontSource::from_static(font.bytes),
            None => {
                let shared: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(file.sfnt.clone());
                FontSource::from_shared(shared)
            }
        };
        let mut resource = FontResource::new(source);
        if let Some(family) = file.family() {
            resource = resource.override_info(FontOverride {
                family_name: Some(family.into()),
                ..FontOverride::default()
            });
        }
        if let (true, [face]) = (ranged, faces) {
            let ranges = (face.ranges.iter()).map(|&(a, b)| UnicodeRange::new(a, b));
            resource = resource.unicode_range(UnicodeRangeSet::from_iter(ranges));
        }
        let registered = self
            .fonts
            .register(resource)
            .map_err(|e| FontsError::Font(file.origin.clone(), e.to_string()))?;
        for face in faces {
            for &(a, b) in &face.ranges {
                self.coverage.add(a, b);
            }
            if let Colour::Blank(format) = face.colour {
                self.warnings
                    .push(blank_colour(&file.origin, &face.family, format));
            }
        }
        for family in registered {
            if self.families.iter().any(|f| f.name == family.name) {
                continue;
            }
            let colour = (family.faces.iter())
                .filter_map(|rf| faces.iter().find(|f| f.index == rf.index))
                .map(|f| f.colour)
                .find(|c| c.is_colour())
                .unwrap_or(Colour::None);
            self.families.push(Family {
                name: family.name,
                colour,
                bundled: file.bundled.is_some(),
            });
        }
        Ok(())
    }
}

/// The lint for a colour font takumi draws blank.
fn blank_colour(origin: &str, family: &str, format: &str) -> String {
    format!(
        "{origin}: {family:?} has its colour glyphs only as {format}, which takumi does not draw: \
         its emoji would render blank. Use a CBDT or COLRv0 font instead: the bundled Twemoji \
         (COLRv0), or Debian's fonts-noto-color-emoji (NotoColorEmoji.ttf, CBDT)"
    )
}
