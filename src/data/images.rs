//! Remote images of a data route (`kind = "image"` fields): fetched through the guarded client,
//! only from `data.image_hosts`, capped in bytes, checked and decoded by [`remote_image`]
//! (sizes refused from the header, before decoding), and handed to the render decoded, keyed
//! by their URL, which is what the template sees.
//!
//! Only `http(s)` URLs are fetched: a `data:` URI or any other scheme in the JSON is refused,
//! so the API's content cannot smuggle an undecoded bomb past these checks. Images are kept per
//! URL for the data TTL, within [`IMAGE_CACHE_BYTES`] of decoded pixels.

use std::{sync::Arc, time::Duration};

use moka::future::Cache;
use url::Url;

use super::DataError;
use crate::{
    config::DataConfig,
    fetch::{self, Kind},
    reason::Reason,
    remote_image::{self, Decoded},
};

/// Decoded bytes of images kept per route.
pub const IMAGE_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// A route's image fetcher and cache.
#[derive(Debug)]
pub(super) struct Images {
    cache: Cache<String, Arc<Decoded>>,
}

impl Images {
    pub(super) fn new(ttl: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(IMAGE_CACHE_BYTES)
            .weigher(|url: &String, image: &Arc<Decoded>| {
                u32::try_from(url.len() + image.weight).unwrap_or(u32::MAX)
            })
            .time_to_live(ttl)
            .build();
        Self { cache }
    }

    /// The image at `url`, decoded, from the cache or fetched once for every asker.
    pub(super) async fn load(
        &self,
        client: &fetch::Client,
        config: &DataConfig,
        url: &str,
    ) -> Result<Arc<Decoded>, DataError> {
        let parsed = Url::parse(url).map_err(|_| bad(format!("{url:?} is not a URL")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad(format!("a {} URL is not fetched", parsed.scheme())));
        }
        let fetch = fetch_one(client, config, parsed);
        (self.cache.try_get_with(url.to_owned(), fetch).await).map_err(|e| (*e).clone())
    }
}

fn bad(detail: String) -> DataError {
    DataError::new(Reason::ImageError, detail)
}

async fn fetch_one(
    client: &fetch::Client,
    config: &DataConfig,
    url: Url,
) -> Result<Arc<Decoded>, DataError> {
    let req = fetch::Request {
        url,
        headers: &[],
        timeout: config.timeout,
        max_bytes: config.image_max_bytes,
        hosts: Some(&config.image_hosts),
    };
    let resp = (fetch::get(client, Kind::Image, &req).await).map_err(|e| bad(e.to_string()))?;
    if !resp.status.is_success() {
        return Err(bad(format!("the image URL answered {}", resp.status)));
    }
    let decoded = tokio::task::spawn_blocking(move || remote_image::decode(&resp.body))
        .await
        .map_err(|_| bad("the image decoder panicked".into()))?;
    Ok(Arc::new(decoded.map_err(|e| bad(e.0))?))
}
