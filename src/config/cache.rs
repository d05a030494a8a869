//! `[cache]`: the memory tier in front of the store. Its raw key, default, validation and test;
//! the tier itself is `cache/memory.rs`.

use serde::{Deserialize, Serialize};
use toml::Value;

use super::{error::Report, raw};

pub(super) mod defaults {
    /// Memory tier budget: 256 MiB of encoded images, so a burst of distinct ids cannot grow
    /// the process without bound.
    pub const MEMORY_BYTES: u64 = 256 * 1024 * 1024;
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawCache {
    pub(crate) memory_bytes: u64,
}

impl Default for RawCache {
    fn default() -> Self {
        Self {
            memory_bytes: defaults::MEMORY_BYTES,
        }
    }
}

/// `cache.memory_bytes` (`Config::memory_bytes`).
pub(super) fn load(value: Option<Value>, r: &mut Report) -> Option<u64> {
    let raw: RawCache = raw::section(value, r)?;
    if raw.memory_bytes > 0 && raw.memory_bytes < 1024 * 1024 {
        return r.error("memory_bytes", "must be 0 (off) or at least 1 MiB");
    }
    Some(raw.memory_bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::load_str;

    #[test]
    fn the_tier_is_off_or_at_least_a_mebibyte() {
        assert_eq!(
            load_str("[cache]\nmemory_bytes = 0\n", &[])
                .unwrap()
                .memory_bytes,
            0
        );
        let e = load_str("[cache]\nmemory_bytes = 10\n", &[]).unwrap_err();
        assert_eq!(e.first().key, "cache.memory_bytes");
    }
}
