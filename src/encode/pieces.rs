//! Encoded pieces of earlier images, found again by their pixels (and the PNG encoder's choice
//! for a sample of rows, which depends on nothing else either).
//!
//! Cards of one template share most of their pixels: the background, the logo, every line of
//! text that does not come from the id. Both encoders already cut an image into pieces that
//! are encoded on their own (a JPEG strip is one restart interval, a flat PNG band one raw
//! DEFLATE run), and a piece's bytes depend only on its pixels and the encoder's settings. So
//! a piece whose pixels were encoded before is taken from here instead of encoded again, and
//! the image's bytes are exactly those of a full encode.
//!
//! A piece is found by a 128-bit XXH3 of its pixels (about 30 GB/s, so hashing a strip costs a
//! hundredth of encoding it), seeded per process so that nobody outside can make two pieces
//! with different pixels collide. A piece is kept only the second time its pixels are encoded
//! (the first time only its key is noted, in a bounded set), so the strips that change with each
//! id never take memory; the cache is bounded in bytes and keeps the pieces asked for most
//! often (moka's TinyLFU).

use std::hash::{BuildHasher, Hasher, RandomState};

use bytes::Bytes;
use moka::sync::Cache;

/// Which encoder wrote a piece, with every setting its bytes depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    /// A standalone baseline JPEG of one strip (4:2:0, standard tables).
    Jpeg { quality: u8 },
    /// A raw DEFLATE run of unfiltered scanlines: RGB when `opaque`; a sync flush at its end,
    /// or the end of the stream when `last`.
    FlatPng { opaque: bool, last: bool },
    /// Not encoded bytes but the PNG encoder's choice for a sample of rows (`png_fast::pick`):
    /// one byte, 1 for the photo encoding.
    PngPick { opaque: bool },
}

/// Keys of pieces encoded once remembered at most: far more than one card has pieces, so a
/// template's fixed strips are still there when its next card comes.
const SEEN_KEYS: u64 = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    kind: Kind,
    width: u32,
    rows: u32,
    digest: u128,
}

/// One encoded piece: its bytes (the encoder's own buffer, not copied; a clone shares it), and
/// for a PNG band the Adler-32 of its scanlines (the zlib trailer combines them).
#[derive(Debug, Clone)]
pub(super) struct Piece {
    pub(super) bytes: Bytes,
    pub(super) adler: u32,
}

/// The cache of encoded pieces (see the module doc); cheap to clone, shared by every render.
#[derive(Clone)]
pub(crate) struct Pieces {
    /// `None`: off, every piece is encoded.
    tables: Option<Tables>,
    seed: u64,
}

#[derive(Clone)]
struct Tables {
    kept: Cache<Key, Piece>,
    /// Keys encoded once and not kept yet.
    seen: Cache<Key, ()>,
    /// `ogforge_encode_pieces_total` by `from`, looked up once rather than per piece.
    from_cache: metrics::Counter,
    from_encoder: metrics::Counter,
}

impl std::fmt::Debug for Pieces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pieces")
            .field("on", &self.tables.is_some())
            .finish_non_exhaustive()
    }
}

impl Pieces {
    /// A cache of at most `max_bytes` of encoded pieces; `0`: none, every piece is encoded.
    /// Make it after the metrics recorder is installed, or its counts go nowhere.
    pub(crate) fn new(max_bytes: u64) -> Self {
        let tables = (max_bytes > 0).then(|| Tables {
            kept: Cache::builder()
                .max_capacity(max_bytes)
                // The key, moka's entry and the buffer's header beside the bytes.
                .weigher(|_: &Key, p: &Piece| {
                    u32::try_from(p.bytes.len() + 128).unwrap_or(u32::MAX)
                })
                .build(),
            seen: Cache::new(SEEN_KEYS),
            from_cache: metrics::counter!(crate::metrics::ENCODE_PIECES, "from" => "cache"),
            from_encoder: metrics::counter!(crate::metrics::ENCODE_PIECES, "from" => "encoder"),
        });
        Self {
            tables,
            // std's hasher keys are random per process (read once from the OS).
            seed: RandomState::new().build_hasher().finish(),
        }
    }

    /// No cache: every piece is encoded.
    #[cfg(test)]
    pub(crate) fn off() -> Self {
        Self::new(0)
    }

    /// The piece of `pixels` (`rows` rows of `width` pixels) as `kind` encodes it: from the
    /// cache, or from `encode`, whose piece is kept the second time these pixels come by.
    pub(super) fn get_or_encode<E>(
        &self,
        kind: Kind,
        width: u32,
        rows: u32,
        pixels: &[u8],
        encode: impl FnOnce() -> Result<Piece, E>,
    ) -> Result<Piece, E> {
        let Some(t) = &self.tables else {
            return encode();
        };
        let key = Key {
            kind,
            width,
            rows,
            digest: xxhash_rust::xxh3::xxh3_128_with_seed(pixels, self.seed),
        };
        if let Some(piece) = t.kept.get(&key) {
            t.from_cache.increment(1);
            return Ok(piece);
        }
        let piece = encode()?;
        t.from_encoder.increment(1);
        if t.seen.remove(&key).is_some() {
            t.kept.insert(key, piece.clone());
        } else {
            t.seen.insert(key, ());
        }
        Ok(piece)
    }
}

#[cfg(test)]
impl Pieces {
    /// Pieces kept (after moka's pending inserts are applied).
    pub(super) fn len(&self) -> u64 {
        self.tables.as_ref().map_or(0, |t| {
            t.kept.run_pending_tasks();
            t.kept.entry_count()
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn piece(bytes: &[u8]) -> Result<Piece, ()> {
        Ok(Piece {
            bytes: Bytes::copy_from_slice(bytes),
            adler: 7,
        })
    }

    #[test]
    fn same_pixels_and_settings_come_from_the_cache() {
        let pieces = Pieces::new(1 << 20);
        let kind = Kind::Jpeg { quality: 80 };
        let first = pieces.get_or_encode(kind, 4, 1, &[1; 16], || piece(b"a"));
        assert_eq!(&*first.unwrap().bytes, b"a");
        assert_eq!(pieces.len(), 0, "a piece seen once is not kept");
        let second = pieces.get_or_encode(kind, 4, 1, &[1; 16], || piece(b"a"));
        assert_eq!(&*second.unwrap().bytes, b"a");
        let again = pieces.get_or_encode(kind, 4, 1, &[1; 16], || piece(b"b"));
        assert_eq!(&*again.unwrap().bytes, b"a", "the second encode is reused");
        // Other pixels, another setting, another shape: encoded.
        let cases: [(Kind, u32, u32, [u8; 16]); 3] = [
            (kind, 4, 1, [2; 16]),
            (Kind::Jpeg { quality: 81 }, 4, 1, [1; 16]),
            (kind, 2, 2, [1; 16]),
        ];
        for (kind, width, rows, pixels) in cases {
            let got = pieces.get_or_encode(kind, width, rows, &pixels, || piece(b"c"));
            assert_eq!(&*got.unwrap().bytes, b"c");
        }
    }

    #[test]
    fn off_always_encodes_and_errors_are_not_kept() {
        let off = Pieces::off();
        let kind = Kind::FlatPng {
            opaque: true,
            last: false,
        };
        for name in [b"a", b"b"] {
            let got = off.get_or_encode(kind, 4, 1, &[0; 16], || piece(name));
            assert_eq!(&*got.unwrap().bytes, name);
        }
        let on = Pieces::new(1 << 20);
        for _ in 0..2 {
            assert!(on.get_or_encode(kind, 4, 1, &[0; 16], || Err(())).is_err());
        }
        for _ in 0..2 {
            let got = on.get_or_encode(kind, 4, 1, &[0; 16], || piece(b"d"));
            assert_eq!(&*got.unwrap().bytes, b"d", "a failed encode is not cached");
        }
    }
}
