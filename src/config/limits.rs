//! Validation of the edge limits: header limits, the request deadline, the trusted proxies and
//! the per-client render rate limit (`[rate_limit]`). Kept apart from `mod.rs` so each table's
//! rules read in one place; the defaults are the named constants in [`super::defaults`].

use std::{num::NonZeroU32, time::Duration};

use ipnet::IpNet;

use super::{
    ConfigError,
    raw::{RawRateLimit, RawServer},
};

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

/// The validated edge limits, spread into `ServerConfig` and `Config` by `load`.
#[derive(Debug)]
pub(super) struct Edge {
    pub(super) request_timeout: Duration,
    pub(super) trusted_proxies: Vec<IpNet>,
    pub(super) rate_limit: RateLimitConfig,
}

pub(super) fn validate(
    server: &RawServer,
    rate: &RawRateLimit,
    origin: &str,
) -> Result<Edge, ConfigError> {
    let err = |key: &str, reason: &dyn std::fmt::Display| ConfigError::new(origin, key, reason);
    // Below these, ordinary browsers and crawlers would be refused.
    if server.max_header_bytes < 1024 {
        return Err(err("server.max_header_bytes", &"must be at least 1024"));
    }
    if server.max_headers < 16 {
        return Err(err("server.max_headers", &"must be at least 16"));
    }
    if server.request_timeout_ms == 0 {
        return Err(err("server.request_timeout_ms", &"must be at least 1"));
    }
    let mut trusted_proxies = Vec::with_capacity(server.trusted_proxies.len());
    for (i, text) in server.trusted_proxies.iter().enumerate() {
        trusted_proxies.push(parse_cidr(text).map_err(|reason| {
            err(
                &format!("server.trusted_proxies[{i}]"),
                &format!("{text:?}: {reason}"),
            )
        })?);
    }
    let over_limit = match rate.over_limit.as_str() {
        "too-many-requests" => OverLimit::TooManyRequests,
        "default-image" => OverLimit::DefaultImage,
        _ => {
            return Err(err(
                "rate_limit.over_limit",
                &"must be \"too-many-requests\" or \"default-image\"",
            ));
        }
    };
    let per_client = match NonZeroU32::new(rate.renders_per_minute) {
        None => None,
        Some(per_minute) => Some(RenderRate {
            per_minute,
            burst: NonZeroU32::new(rate.burst).ok_or_else(|| {
                err(
                    "rate_limit.burst",
                    &"must be at least 1 while renders_per_minute is on",
                )
            })?,
        }),
    };
    Ok(Edge {
        request_timeout: Duration::from_millis(server.request_timeout_ms),
        trusted_proxies,
        rate_limit: RateLimitConfig {
            per_client,
            over_limit,
        },
    })
}

/// `10.0.0.0/8`, `::1/128`, or a bare address (a single host).
fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        // `10.1.2.3/8` is almost certainly a typo for a network: refuse, do not guess.
        if net.trunc() != net {
            return Err(format!("host bits are set; did you mean {}?", net.trunc()));
        }
        return Ok(net);
    }
    text.parse::<std::net::IpAddr>()
        .map(IpNet::from)
        .map_err(|_| "not an IP address or CIDR (e.g. 10.0.0.0/8)".into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::parse_cidr;

    #[test]
    fn cidrs_and_bare_addresses() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("127.0.0.1").unwrap().to_string(), "127.0.0.1/32");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        assert!(parse_cidr("10.0.0.1/8").is_err());
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("proxy.local").is_err());
    }
}
