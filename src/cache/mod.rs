//! The tiers an image can come from (memory, then the object store) and the single-flight
//! gate in front of rendering. [`crate::pipeline`] decides the order; this module holds the
//! parts.

pub(crate) mod flight;
pub(crate) mod key;
pub(crate) mod memory;
pub(crate) mod store;

use bytes::Bytes;
use sha2::{Digest, Sha256};

pub(crate) use key::Key;
pub(crate) use memory::Memory;
pub(crate) use store::Store;

/// Where a served image came from; names the tier in `Cache-Status` and in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Memory,
    Store,
    Render,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Store => "store",
            Self::Render => "render",
        }
    }
}

/// An encoded image with what a response needs. Cloning shares the bytes.
#[derive(Debug, Clone)]
pub struct Image {
    pub bytes: Bytes,
    /// A strong validator: a digest of the bytes, so equal bytes give equal ETags on every
    /// replica and after every restart.
    pub etag: String,
    pub content_type: &'static str,
}

impl Image {
    pub(crate) fn new(bytes: Bytes, content_type: &'static str) -> Self {
        let digest = Sha256::digest(&bytes);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        Self {
            bytes,
            etag,
            content_type,
        }
    }
}
