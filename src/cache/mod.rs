//! The tiers an image can come from (memory, then the object store), the single-flight gate in
//! front of rendering, the store's writer (write-behind, pending writes, circuit breaker), and
//! the render leases that keep replicas on one store from rendering an image twice.
//! [`crate::pipeline`] decides the order; this module holds the parts.

mod breaker;
pub(crate) mod flight;
pub(crate) mod key;
pub(crate) mod lease;
pub(crate) mod memory;
mod probe;
pub(crate) mod store;
pub(crate) mod writer;

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
