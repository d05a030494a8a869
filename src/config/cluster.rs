//! `[cluster]`: how replicas on one store keep from rendering the same image twice. Its raw
//! keys, defaults, validation and tests; the lease itself is `cache/lease.rs`, and store-once
//! (create-if-absent writes) needs no key: it is always on.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Value;

use super::{error::Report, raw, server::at_least};

pub(super) mod defaults {
    /// Browser renders (~120 ms and a Chromium tab each) take a lease; HTML renders (~6 ms)
    /// cost less than the lease's PUT and DELETE, so they rely on store-once alone.
    pub const CLUSTER_LEASE: &str = "browser";
    /// How long a lease holds before another replica may take it over, unless set: the render
    /// timeout plus this margin (a stalled or killed holder costs that much at most).
    pub const CLUSTER_LEASE_MARGIN_MS: u64 = 5_000;
    /// A waiting replica's first look at the image key; it doubles up to 500 ms.
    pub const CLUSTER_LEASE_POLL_MS: u64 = 50;
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawCluster {
    pub(crate) lease: String,
    pub(crate) lease_ttl_ms: Option<u64>,
    pub(crate) lease_poll_ms: u64,
}

impl Default for RawCluster {
    fn default() -> Self {
        Self {
            lease: defaults::CLUSTER_LEASE.into(),
            lease_ttl_ms: None,
            lease_poll_ms: defaults::CLUSTER_LEASE_POLL_MS,
        }
    }
}

/// Which renders take a lease in the store before they start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// None: store-once only (each image is written once; replicas may render it twice).
    Off,
    /// Routes with `renderer = "browser"`.
    Browser,
    /// Every render.
    All,
}

/// `[cluster]`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterConfig {
    pub lease: Lease,
    pub lease_ttl: Duration,
    pub lease_poll: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            lease: Lease::Browser,
            lease_ttl: Duration::from_millis(
                super::render::defaults::RENDER_TIMEOUT_MS + defaults::CLUSTER_LEASE_MARGIN_MS,
            ),
            lease_poll: Duration::from_millis(defaults::CLUSTER_LEASE_POLL_MS),
        }
    }
}

/// `render_timeout`: a lease must outlive the render it covers.
pub(super) fn load(
    value: Option<Value>,
    render_timeout: Option<Duration>,
    r: &mut Report,
) -> Option<ClusterConfig> {
    let raw: RawCluster = raw::section(value, r)?;
    let lease = match raw.lease.as_str() {
        "off" => Some(Lease::Off),
        "browser" => Some(Lease::Browser),
        "all" => Some(Lease::All),
        _ => r.error("lease", "must be \"off\", \"browser\" or \"all\""),
    };
    let render_ms = render_timeout.map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
    let ttl = match raw.lease_ttl_ms {
        None => Some(render_ms.saturating_add(defaults::CLUSTER_LEASE_MARGIN_MS)),
        Some(ttl) if ttl <= render_ms => r.error_with(
            "lease_ttl_ms",
            &["render.timeout_ms"],
            format!(
                "must be longer than render.timeout_ms ({render_ms} ms): a lease must outlive \
                 its render (leave it unset for render.timeout_ms + 5000)"
            ),
        ),
        Some(ttl) => Some(ttl),
    };
    let poll = r.check("lease_poll_ms", at_least(raw.lease_poll_ms, 1));
    Some(ClusterConfig {
        lease: lease?,
        lease_ttl: Duration::from_millis(ttl?),
        lease_poll: Duration::from_millis(poll?),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Lease;
    use crate::config::load_str;

    #[test]
    fn browser_renders_take_a_lease_by_default() {
        let c = load_str("", &[]).unwrap();
        assert_eq!(c.cluster.lease, Lease::Browser);
        // Unset, the TTL follows the render timeout, however long.
        assert_eq!(c.cluster.lease_ttl.as_millis(), 8_000);
        let c = load_str("[render]\ntimeout_ms = 600000\n", &[]).unwrap();
        assert_eq!(c.cluster.lease_ttl.as_millis(), 605_000);
        let c = load_str("[cluster]\nlease = \"all\"\nlease_ttl_ms = 4000\n", &[]).unwrap();
        assert_eq!(c.cluster.lease, Lease::All);
        assert_eq!(c.cluster.lease_ttl.as_millis(), 4_000);
    }

    #[test]
    fn a_lease_must_outlive_the_render() {
        let e = load_str(
            "[render]\ntimeout_ms = 5000\n[cluster]\nlease = \"sometimes\"\nlease_ttl_ms = 5000\n",
            &[],
        )
        .unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert!(keys.contains(&"cluster.lease"), "{keys:?}");
        assert!(keys.contains(&"cluster.lease_ttl_ms"), "{keys:?}");
    }
}
