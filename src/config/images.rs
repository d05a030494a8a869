//! `[images]`: the remote images a template names (`<img src="https://...">`, a CSS
//! `background-image: url(https://...)`), which hosts they may come from and what they may
//! weigh. Its raw keys, defaults, validation and tests; the fetching is `render/remote.rs`,
//! the checks on the bytes `remote_image.rs`. Off until `allowed_hosts` names a host: a
//! template cannot make the service fetch from anywhere by default.

use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use toml::Value;

use super::{error::Report, raw, server::at_least};

pub(super) mod defaults {
    /// A card's picture or logo, not a photo archive.
    pub const IMAGES_MAX_BYTES: u64 = 2 * 1024 * 1024;
    /// Past this a remote image is broken (skipped, or the card falls back): a slow image host
    /// must not hold a render slot's worth of latency.
    pub const IMAGES_TIMEOUT_MS: u64 = 3_000;
    /// How long a fetched image is reused before it is fetched again.
    pub const IMAGES_TTL_SECS: u64 = 3_600;
    /// Decoded images kept across renders (RGBA bytes).
    pub const IMAGES_CACHE_BYTES: u64 = 64 * 1024 * 1024;
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawImages {
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) allow_cidrs: Vec<String>,
    pub(crate) max_bytes: u64,
    pub(crate) timeout_ms: u64,
    pub(crate) ttl_secs: u64,
    pub(crate) cache_bytes: u64,
}

impl Default for RawImages {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            allow_cidrs: Vec::new(),
            max_bytes: defaults::IMAGES_MAX_BYTES,
            timeout_ms: defaults::IMAGES_TIMEOUT_MS,
            ttl_secs: defaults::IMAGES_TTL_SECS,
            cache_bytes: defaults::IMAGES_CACHE_BYTES,
        }
    }
}

/// `[images]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagesConfig {
    /// Hosts (lower case, no trailing dot) an image URL, and each redirect, may name.
    pub allowed_hosts: Vec<String>,
    /// Addresses the fetch guard would refuse but this operator allows (an internal CDN).
    pub allow_cidrs: Vec<IpNet>,
    pub max_bytes: u64,
    pub timeout: Duration,
    pub ttl: Duration,
    pub cache_bytes: u64,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            allow_cidrs: Vec::new(),
            max_bytes: defaults::IMAGES_MAX_BYTES,
            timeout: Duration::from_millis(defaults::IMAGES_TIMEOUT_MS),
            ttl: Duration::from_secs(defaults::IMAGES_TTL_SECS),
            cache_bytes: defaults::IMAGES_CACHE_BYTES,
        }
    }
}

pub(super) fn load(value: Option<Value>, r: &mut Report) -> Option<ImagesConfig> {
    let raw: RawImages = raw::section(value, r)?;
    let allow_cidrs = cidrs("allow_cidrs", &raw.allow_cidrs, r);
    let max_bytes = r.check("max_bytes", at_least(raw.max_bytes, 1));
    let timeout = r.check("timeout_ms", at_least(raw.timeout_ms, 1));
    let ttl = r.check("ttl_secs", at_least(raw.ttl_secs, 1));
    let cache_bytes = r.check("cache_bytes", at_least(raw.cache_bytes, 1024 * 1024));
    Some(ImagesConfig {
        allowed_hosts: hosts(&raw.allowed_hosts),
        allow_cidrs: allow_cidrs?,
        max_bytes: max_bytes?,
        timeout: Duration::from_millis(timeout?),
        ttl: Duration::from_secs(ttl?),
        cache_bytes: cache_bytes?,
    })
}

/// Host names as `url` writes them, so a configured `CDN.example.com.` still matches.
pub(super) fn hosts(list: &[String]) -> Vec<String> {
    (list.iter())
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .collect()
}

/// `skip` (false) or `fallback` (true): what a broken image does to its card.
pub(super) fn image_error(key: &str, value: &str, r: &mut Report) -> Option<bool> {
    match value {
        "skip" => Some(false),
        "fallback" => Some(true),
        _ => r.error(key, "must be \"skip\" or \"fallback\""),
    }
}

/// `key`'s CIDRs, each bad one reported as `key[i]`.
pub(super) fn cidrs(key: &str, list: &[String], r: &mut Report) -> Option<Vec<IpNet>> {
    let nets: Vec<Option<IpNet>> = (list.iter().enumerate())
        .map(|(i, text)| {
            let net = text
                .parse::<IpNet>()
                .map_err(|_| "not a CIDR such as 10.0.0.0/8 or 127.0.0.1/32".to_owned());
            r.check(&format!("{key}[{i}]"), net)
        })
        .collect();
    nets.into_iter().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::load_str;

    #[test]
    fn images_are_off_until_a_host_is_allowed() {
        let c = load_str("", &[]).unwrap();
        assert!(c.images.allowed_hosts.is_empty());
        let c = load_str(
            "[images]\nallowed_hosts = ['CDN.example.com.']\nallow_cidrs = ['127.0.0.1/32']\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.images.allowed_hosts, ["cdn.example.com"]);
        assert_eq!(c.images.allow_cidrs[0].to_string(), "127.0.0.1/32");
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = load_str(
            "[images]\nallow_cidrs = ['x']\ncache_bytes = 1\ntimeout_ms = 0\n",
            &[],
        )
        .unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        for key in [
            "images.allow_cidrs[0]",
            "images.cache_bytes",
            "images.timeout_ms",
        ] {
            assert!(keys.contains(&key), "{key} not in {keys:?}");
        }
    }
}
