//! The memory tier: recently served images, bounded by their encoded size.

use moka::future::Cache;

use super::key::Key;
use crate::image::Image;

#[derive(Debug, Clone)]
pub(crate) struct Memory {
    cache: Option<Cache<String, Image>>,
}

impl Memory {
    /// A tier holding at most `budget` bytes of images; `0` turns it off.
    pub(crate) fn new(budget: u64) -> Self {
        let cache = (budget > 0).then(|| {
            Cache::builder()
                .max_capacity(budget)
                // Weight by bytes so one budget bounds memory whatever the image sizes.
                .weigher(|k: &String, v: &Image| {
                    u32::try_from(v.bytes.len() + k.len()).unwrap_or(u32::MAX)
                })
                .eviction_listener(|_, _, cause| {
                    if cause == moka::notification::RemovalCause::Size {
                        metrics::counter!(crate::metrics::MEMORY_EVICTIONS).increment(1);
                    }
                })
                .build()
        });
        Self { cache }
    }

    /// The budget it was made with (`0`: off), so a reload can tell whether to keep it.
    pub(crate) fn budget(&self) -> u64 {
        (self.cache.as_ref()).map_or(0, |c| c.policy().max_capacity().unwrap_or(0))
    }

    pub(crate) async fn get(&self, key: &Key) -> Option<Image> {
        self.cache.as_ref()?.get(key.as_str()).await
    }

    /// Entries and weighted bytes held now (after moka's pending upkeep, so they are exact).
    pub(crate) async fn stats(&self) -> (u64, u64) {
        let Some(cache) = &self.cache else {
            return (0, 0);
        };
        cache.run_pending_tasks().await;
        (cache.entry_count(), cache.weighted_size())
    }

    /// Drops `key`'s image (`purge`); whether there was one.
    pub(crate) async fn remove(&self, key: &Key) -> bool {
        match &self.cache {
            Some(cache) => cache.remove(key.as_str()).await.is_some(),
            None => false,
        }
    }

    pub(crate) async fn insert(&self, key: &Key, image: Image) {
        if let Some(cache) = &self.cache {
            cache.insert(key.as_str().to_owned(), image).await;
        }
    }
}
