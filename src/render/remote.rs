//! Remote images a template names: `<img src="https://...">` and CSS `url(https://...)`, found
//! in the parsed card before it is laid out, fetched in parallel through the guarded client
//! (only from `images.allowed_hosts`), checked and decoded by [`remote_image`], and handed to
//! takumi decoded, keyed by the URL as the template wrote it.
//!
//! Kept by URL for `images.ttl_secs` within `images.cache_bytes` of decoded pixels; a broken
//! image is remembered for [`BROKEN_TTL`], so a dead link costs one fetch per half-minute, not
//! one per card. A URL that is not allowed (another host, another scheme, a relative path) is
//! never fetched, and is logged once. Concurrent renders that need one URL share one fetch.

use std::{collections::HashMap, sync::Arc, time::Duration};

use moka::sync::Cache;
use takumi::prelude::ImageSource;
use url::Url;

use crate::{
    cache::flight::Flights,
    config::ImagesConfig,
    fetch::{self, FetchError, Kind},
    remote_image::{self, Decoded},
};

/// How long a broken image is believed broken.
pub const BROKEN_TTL: Duration = Duration::from_secs(30);
/// Refused URLs remembered so each is logged once, not once per card.
const REFUSED_REMEMBERED: u64 = 10_000;

/// What became of one URL.
#[derive(Debug, Clone)]
pub(crate) enum Got {
    Image(Arc<Decoded>),
    /// Why it is not drawn (refused, unreachable, not an image, too big).
    Broken(Arc<str>),
}

/// The images of one render: those to draw, and the broken ones with why.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) images: HashMap<Arc<str>, ImageSource>,
    pub(crate) broken: Vec<(String, Arc<str>)>,
    /// Allowed URLs not fetched yet.
    pub(crate) missing: Vec<String>,
}

/// The fetcher and cache of template images.
pub(crate) struct RemoteImages {
    config: ImagesConfig,
    client: fetch::Client,
    cache: Cache<String, Got>,
    flights: Flights<Got>,
    refused: Cache<String, ()>,
}

impl std::fmt::Debug for RemoteImages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteImages")
            .field("hosts", &self.config.allowed_hosts)
            .finish_non_exhaustive()
    }
}

/// Good images live for the TTL, broken ones for [`BROKEN_TTL`].
struct Lifetimes {
    good: Duration,
}

impl moka::Expiry<String, Got> for Lifetimes {
    fn expire_after_create(
        &self,
        _: &String,
        got: &Got,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(match got {
            Got::Image(_) => self.good,
            Got::Broken(_) => BROKEN_TTL.min(self.good),
        })
    }
}

impl RemoteImages {
    pub(crate) fn new(config: &ImagesConfig) -> Result<Self, FetchError> {
        let connect = config.timeout.min(Duration::from_secs(5));
        let client = fetch::Client::new(config.allow_cidrs.clone(), connect)?;
        let cache = Cache::builder()
            .max_capacity(config.cache_bytes)
            .weigher(|url: &String, got: &Got| {
                let weight = match got {
                    Got::Image(image) => image.weight,
                    Got::Broken(why) => why.len(),
                };
                u32::try_from(url.len() + weight).unwrap_or(u32::MAX)
            })
            .expire_after(Lifetimes { good: config.ttl })
            .build();
        Ok(Self {
            config: config.clone(),
            client,
            cache,
            flights: Flights::default(),
            refused: Cache::new(REFUSED_REMEMBERED),
        })
    }

    /// What the cache has for `urls` (the card's remote references): decoded images, broken
    /// ones, and allowed ones still to fetch. Never waits.
    pub(crate) fn lookup<'a>(&self, urls: impl Iterator<Item = &'a str>) -> Found {
        let mut found = Found::default();
        for url in urls {
            if let Err(why) = self.allowed(url) {
                if !self.refused.contains_key(url) {
                    self.refused.insert(url.to_owned(), ());
                    tracing::warn!(url, "template image not fetched: {why}");
                }
                found.broken.push((url.to_owned(), Arc::from(why)));
                continue;
            }
            match self.cache.get(url) {
                Some(Got::Image(image)) => {
                    found.images.insert(Arc::from(url), image.source.clone());
                }
                Some(Got::Broken(why)) => found.broken.push((url.to_owned(), why)),
                None => found.missing.push(url.to_owned()),
            }
        }
        found
    }

    /// Fetches `urls` in parallel (each once, however many renders ask) into the cache.
    pub(crate) async fn fetch_all(self: &Arc<Self>, urls: Vec<String>) {
        let fetches = urls.into_iter().map(|url| {
            let this = Arc::clone(self);
            async move {
                let key = url.clone();
                let (got, _) = (this.flights)
                    .run(&key, || {
                        let this = Arc::clone(&this);
                        async move {
                            let got = match this.fetch_one(&url).await {
                                Ok(image) => Got::Image(Arc::new(image)),
                                Err(why) => {
                                    tracing::warn!(url, "template image broken: {why}");
                                    Got::Broken(Arc::from(why))
                                }
                            };
                            this.cache.insert(url, got.clone());
                            got
                        }
                    })
                    .await;
                got
            }
        });
        futures::future::join_all(fetches).await;
    }

    /// Only `http(s)` URLs whose host is allowed are fetched.
    fn allowed(&self, url: &str) -> Result<(), String> {
        let parsed = Url::parse(url).map_err(|_| "not an absolute URL".to_owned())?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("a {} URL is not fetched", parsed.scheme()));
        }
        let host = parsed.host_str().unwrap_or_default();
        if !self.config.allowed_hosts.iter().any(|h| h == host) {
            return Err(format!("{host} is not in images.allowed_hosts"));
        }
        Ok(())
    }

    async fn fetch_one(&self, url: &str) -> Result<Decoded, String> {
        let url = Url::parse(url).map_err(|e| e.to_string())?;
        let req = fetch::Request {
            url,
            headers: &[],
            timeout: self.config.timeout,
            max_bytes: self.config.max_bytes,
            hosts: Some(&self.config.allowed_hosts),
        };
        let resp = fetch::get(&self.client, Kind::Image, &req)
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status.is_success() {
            return Err(format!("answered {}", resp.status));
        }
        tokio::task::spawn_blocking(move || remote_image::decode(&resp.body))
            .await
            .map_err(|_| "the image decoder panicked".to_owned())?
            .map_err(|e| e.0)
    }
}
