//! The tiers an image can come from (memory, then the object store) and the single-flight
//! gate in front of rendering. [`crate::pipeline`] decides the order; this module holds the
//! parts.

pub(crate) mod flight;
pub(crate) mod key;
pub(crate) mod memory;
pub(crate) mod store;

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
