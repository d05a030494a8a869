//! `[rate_limit]`: the renders one client may start, and what a miss over that limit gets. Its
//! raw keys, defaults, validation and tests; the limiter itself is `ratelimit.rs`, and which
//! peer is the client is `server.trusted_proxies` ([`super::server`]).

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};
use toml::Value;

use super::{error::Report, raw};

pub(super) mod defaults {
    /// Renders a client (one IP, one IPv6 /64) may start per minute once its burst is spent:
    /// one crawler or script cannot keep the render slots busy with distinct ids. Hits are free.
    pub const RENDERS_PER_MINUTE: u32 = 120;
    /// Renders a client may start at once before `RENDERS_PER_MINUTE` paces it.
    pub const RENDER_BURST: u32 = 60;
    /// What a client over its render limit gets: 429 with `Retry-After`.
    pub const OVER_LIMIT: &str = "too-many-requests";
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawRateLimit {
    pub(crate) renders_per_minute: u32,
    pub(crate) burst: u32,
    pub(crate) over_limit: String,
}

impl Default for RawRateLimit {
    fn default() -> Self {
        Self {
            renders_per_minute: defaults::RENDERS_PER_MINUTE,
            burst: defaults::RENDER_BURST,
            over_limit: defaults::OVER_LIMIT.into(),
        }
    }
}

/// `[rate_limit]`: renders a client may start. `None` when `renders_per_minute = 0` (off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub per_client: Option<RenderRate>,
    pub over_limit: OverLimit,
}

/// A client's sustained render rate and its burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderRate {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

/// What a miss gets when its client is over the render rate limit (`rate_limit.over_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// `too-many-requests`: 429 with `Retry-After`, `Cache-Control: no-store`.
    TooManyRequests,
    /// `default-image`: the route's default image with its short lifetime, reason `rate-limited`.
    DefaultImage,
}

pub(super) fn load(value: Option<Value>, r: &mut Report) -> Option<RateLimitConfig> {
    let raw: RawRateLimit = raw::section(value, r)?;
    let over_limit = match raw.over_limit.as_str() {
        "too-many-requests" => Some(OverLimit::TooManyRequests),
        "default-image" => Some(OverLimit::DefaultImage),
        _ => r.error(
            "over_limit",
            "must be \"too-many-requests\" or \"default-image\"",
        ),
    };
    let per_client = match NonZeroU32::new(raw.renders_per_minute) {
        None => Some(None),
        Some(per_minute) => match NonZeroU32::new(raw.burst) {
            Some(burst) => Some(Some(RenderRate { per_minute, burst })),
            None => r.error_with(
                "burst",
                &["renders_per_minute"],
                "must be at least 1 while renders_per_minute is on",
            ),
        },
    };
    Some(RateLimitConfig {
        per_client: per_client?,
        over_limit: over_limit?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::load_str;

    #[test]
    fn bad_limits_name_their_key() {
        let e = load_str("[rate_limit]\nover_limit = 'drop'\n", &[]).unwrap_err();
        assert_eq!(e.first().key, "rate_limit.over_limit");
        let e = load_str("[rate_limit]\nburst = 0\n", &[]).unwrap_err();
        assert_eq!(e.first().key, "rate_limit.burst");
        let c = load_str("[rate_limit]\nrenders_per_minute = 0\nburst = 0\n", &[]).unwrap();
        assert!(c.rate_limit.per_client.is_none());
    }

    #[test]
    fn a_limit_turned_on_by_env_over_a_zero_burst_blames_the_variable() {
        let env = [("OGFORGE__RATE_LIMIT__RENDERS_PER_MINUTE", "5")];
        let e = load_str("[rate_limit]\nrenders_per_minute = 0\nburst = 0\n", &env).unwrap_err();
        assert_eq!(e.first().key, "rate_limit.burst");
        assert_eq!(
            e.first().origin,
            "environment variable OGFORGE__RATE_LIMIT__RENDERS_PER_MINUTE"
        );
    }
}
