//! The per-client render rate limit (`[rate_limit]`): renders a client may start, not requests.
//!
//! Cache hits cost microseconds and are never counted; a miss that is about to render costs
//! milliseconds of a render slot, and a client asking for distinct ids (a scraper, a scanner)
//! could otherwise keep every slot busy. [`crate::pipeline`] asks [`RenderLimit::allow`] only
//! at that point, inside the flight, after the memory and store tiers missed.
//!
//! Each client has a GCRA bucket from `governor` (`renders_per_minute`, `burst`). The clients
//! live in a moka cache bounded by [`MAX_CLIENTS`] and forgotten once idle long enough to be
//! full again (forgetting them then changes nothing), so a spray of addresses cannot grow
//! memory without bound. IPv6 clients are keyed by their /64: one host usually holds a whole
//! /64 and could otherwise take a fresh bucket per address. Who the client is (peer address or
//! `X-Forwarded-For` from a trusted proxy) is the HTTP layer's business (`http/client.rs`).

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
    sync::Arc,
    time::Duration,
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::RateLimitConfig;

/// Most clients tracked at once (~100 bytes each): past it the least recently seen are
/// forgotten, which can only make the limit more lenient for them, never stuck.
pub const MAX_CLIENTS: u64 = 100_000;

/// The render budget of every client.
pub struct RenderLimit {
    quota: Quota,
    clients: moka::future::Cache<IpAddr, Arc<DefaultDirectRateLimiter>>,
}

impl fmt::Debug for RenderLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderLimit")
            .field("quota", &self.quota)
            .field("clients", &self.clients.entry_count())
            .finish()
    }
}

impl RenderLimit {
    /// `None` when the limit is off (`renders_per_minute = 0`).
    pub fn new(config: &RateLimitConfig) -> Option<Self> {
        let rate = config.per_client?;
        let quota = Quota::per_minute(rate.per_minute).allow_burst(rate.burst);
        // Idle this long, a bucket is full again: dropping it is the same as keeping it.
        let refill = quota
            .burst_size_replenished_in()
            .max(Duration::from_secs(1));
        Some(Self {
            quota,
            clients: moka::future::Cache::builder()
                .max_capacity(MAX_CLIENTS)
                .time_to_idle(refill)
                .build(),
        })
    }

    /// Takes one render from `client`'s budget; `false` when it is spent.
    pub async fn allow(&self, client: IpAddr) -> bool {
        let quota = self.quota;
        let bucket = self
            .clients
            .get_with(bucket_key(client), async move {
                Arc::new(RateLimiter::direct(quota))
            })
            .await;
        bucket.check().is_ok()
    }

    /// Whole seconds until one more render is allowed after a refusal (`Retry-After`).
    pub fn retry_after_secs(config: &RateLimitConfig) -> u64 {
        config.per_client.map_or(1, |r| {
            let per_render = 60.0 / f64::from(r.per_minute.get());
            (per_render.ceil() as u64).max(1)
        })
    }
}

/// IPv4 addresses as they are (IPv4-mapped IPv6 too); other IPv6 addresses by their /64.
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::config::{OverLimit, RenderRate};

    fn config(per_minute: u32, burst: u32) -> RateLimitConfig {
        RateLimitConfig {
            per_client: Some(RenderRate {
                per_minute: NonZeroU32::new(per_minute).unwrap(),
                burst: NonZeroU32::new(burst).unwrap(),
            }),
            over_limit: OverLimit::TooManyRequests,
        }
    }

    #[tokio::test]
    async fn each_client_has_its_own_burst() {
        let limit = RenderLimit::new(&config(1, 3)).unwrap();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limit.allow(a).await);
        }
        assert!(!limit.allow(a).await);
        assert!(limit.allow(b).await);
    }

    #[tokio::test]
    async fn one_ipv6_64_is_one_client() {
        let limit = RenderLimit::new(&config(1, 1)).unwrap();
        assert!(limit.allow("2001:db8::1".parse().unwrap()).await);
        assert!(!limit.allow("2001:db8::2".parse().unwrap()).await);
        assert!(limit.allow("2001:db8:0:1::1".parse().unwrap()).await);
    }

    #[test]
    fn off_is_none_and_retry_after_is_one_interval() {
        let off = RateLimitConfig {
            per_client: None,
            over_limit: OverLimit::TooManyRequests,
        };
        assert!(RenderLimit::new(&off).is_none());
        assert_eq!(RenderLimit::retry_after_secs(&config(120, 1)), 1);
        assert_eq!(RenderLimit::retry_after_secs(&config(4, 1)), 15);
    }
}
