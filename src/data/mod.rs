//! The data stage of a `[routes.data]` route: the id's JSON, fetched through the guarded
//! client (`crate::fetch`), kept per URL in memory for `data.ttl_secs` (then revalidated with
//! its `ETag` / `Last-Modified`), and reduced to the declared fields (`fields.rs`) before the
//! pipeline builds the storage key and renders.
//!
//! Concurrent loads of one URL share one fetch (moka's per-key initialisation), and at most
//! [`FETCHES_PER_SOURCE`] fetches of a route run at once. A 404 or 410 is remembered for
//! [`NOT_FOUND_TTL`] (or the TTL, if shorter), so links to a post that does not exist yet do not
//! each cost the API a request; any other failure is not cached, and the next request tries
//! again, but a document that was good stands in for [`STALE_IF_ERROR`] past its TTL while the
//! API fails. Every failure has its own [`Reason`], so the pipeline serves the default image
//! with it and stores nothing.

mod fields;
mod images;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use http::{HeaderName, HeaderValue, StatusCode, header};
use moka::{Expiry, future::Cache};
use ogforge_tags::Id;
use serde_json::Value;
use tokio::sync::Semaphore;

pub use fields::Data;
pub use images::IMAGE_CACHE_BYTES;

use crate::{
    config::DataConfig,
    fetch::{self, FetchError, Kind},
    reason::Reason,
};

/// Documents kept per route: enough for every post a burst of shares touches, bounded so
/// a crawl of distinct ids cannot hold more than this many bodies (each at most `max_bytes`).
const CACHED_DOCUMENTS: u64 = 10_000;

/// Fetches of one route's API at once: a burst of distinct ids waits here instead of opening a
/// connection each, so ogforge cannot be used to flood the site's own API.
pub const FETCHES_PER_SOURCE: usize = 16;

/// How long "there is no such post" is believed: short, since the post may be published soon.
pub const NOT_FOUND_TTL: Duration = Duration::from_secs(30);

/// How long past its TTL a document still stands in while the API fails (times out, answers
/// 5xx or garbage): an outage of the site's API keeps the cards it already had, for a while.
/// A 404 or 410 is never answered with a stale document: the post is gone.
pub const STALE_IF_ERROR: Duration = Duration::from_secs(3600);

/// A cached answer: the document, or the API's word that there is none.
#[derive(Debug, Clone)]
enum Doc {
    Found(Arc<Kept>),
    Gone(StatusCode),
}

/// A good document with its validators, so a fetch past the TTL can ask "changed?" and take
/// a 304 instead of the whole body.
#[derive(Debug)]
struct Kept {
    doc: Value,
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
}

/// How long each kind of [`Doc`] is kept.
#[derive(Debug)]
struct Lifetimes {
    found: Duration,
    gone: Duration,
}

impl Expiry<String, Doc> for Lifetimes {
    fn expire_after_create(&self, _url: &String, doc: &Doc, _now: Instant) -> Option<Duration> {
        Some(match doc {
            Doc::Found(_) => self.found,
            Doc::Gone(_) => self.gone,
        })
    }
}

/// Why an id's data could not be had: the fallback reason and, for the log and `check`, what
/// happened (never a header value).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {detail}", reason.code())]
pub struct DataError {
    pub reason: Reason,
    pub detail: String,
}

impl DataError {
    fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }

    fn fetch(e: FetchError) -> Self {
        let reason = match e {
            FetchError::Timeout(_) => Reason::DataTimeout,
            FetchError::TooLarge(_) => Reason::DataTooLarge,
            FetchError::Blocked(_) => Reason::DataBlocked,
            _ => Reason::DataError,
        };
        Self::new(reason, e.to_string())
    }

    fn status(status: StatusCode) -> Self {
        let reason = match status {
            StatusCode::NOT_FOUND | StatusCode::GONE => Reason::DataNotFound,
            _ => Reason::DataStatus,
        };
        Self::new(reason, format!("the data URL answered {status}"))
    }
}

/// One route's data source, built once at start-up.
#[derive(Debug)]
pub struct Source {
    config: DataConfig,
    client: fetch::Client,
    /// Values marked sensitive, so no debug output shows them.
    headers: Vec<(HeaderName, HeaderValue)>,
    documents: Cache<String, Doc>,
    /// The last good document of each URL: revalidated past its TTL, and standing in for
    /// [`STALE_IF_ERROR`] past it while the API fails.
    stale: Cache<String, Arc<Kept>>,
    permits: Semaphore,
    images: images::Images,
}

impl Source {
    pub fn new(config: &DataConfig) -> Result<Self, FetchError> {
        // The connect timeout never outlasts the whole fetch's.
        let connect = config.timeout.min(Duration::from_secs(5));
        let client = fetch::Client::new(config.allow_cidrs.clone(), connect)?;
        let headers = (config.headers.iter())
            .filter_map(|(name, secret)| {
                let mut value = HeaderValue::from_str(secret.expose()).ok()?;
                value.set_sensitive(true);
                Some((name.clone(), value))
            })
            .collect();
        let documents = Cache::builder()
            .max_capacity(CACHED_DOCUMENTS)
            .expire_after(Lifetimes {
                found: config.ttl,
                gone: config.ttl.min(NOT_FOUND_TTL),
            })
            .build();
        let stale = Cache::builder()
            .max_capacity(CACHED_DOCUMENTS)
            .time_to_live(config.ttl + STALE_IF_ERROR)
            .build();
        Ok(Self {
            config: config.clone(),
            client,
            headers,
            documents,
            stale,
            permits: Semaphore::new(FETCHES_PER_SOURCE),
            images: images::Images::new(config.ttl),
        })
    }

    /// The declared fields of `id`'s document: from memory within the TTL, else fetched (one
    /// fetch per URL however many ask at once).
    pub async fn load(&self, id: &Id) -> Result<Data, DataError> {
        let url = (self.config.url.build(id)).map_err(|e| DataError::new(Reason::DataError, e))?;
        let key = url.to_string();
        let prior = self.stale.get(&key).await;
        let got = (self.documents)
            .try_get_with(key.clone(), self.fetch(url, prior))
            .await;
        let kept = match got {
            Ok(Doc::Found(kept)) => {
                self.stale.insert(key, Arc::clone(&kept)).await;
                kept
            }
            Ok(Doc::Gone(status)) => return Err(DataError::status(status)),
            Err(e) => match self.stale.get(&key).await {
                Some(kept) if e.reason != Reason::DataBlocked => {
                    tracing::warn!(error = %e, "data URL failing; using its last good document");
                    kept
                }
                _ => return Err((*e).clone()),
            },
        };
        let mut data = fields::extract(&self.config.fields, &kept.doc)?;
        self.draw_images(&mut data).await?;
        Ok(data)
    }

    /// Forgets `id`'s document, so the next request fetches it again; returns the data it
    /// had (from the cache when there), whose key the caller drops from memory.
    pub async fn purge(&self, id: &Id) -> Option<Data> {
        let current = self.load(id).await.ok();
        if let Ok(url) = self.config.url.build(id) {
            self.documents.invalidate(url.as_str()).await;
            self.stale.invalidate(url.as_str()).await;
        }
        current
    }

    /// Fetches and decodes each image field's image, all at once. A broken image
    /// empties its field, or fails the card with `image_error = "fallback"`.
    async fn draw_images(&self, data: &mut Data) -> Result<(), DataError> {
        let wanted: Vec<(usize, String)> = (self.config.fields.iter().zip(data.values()))
            .enumerate()
            .filter(|(_, (f, (_, url)))| f.image && !url.is_empty())
            .map(|(i, (_, (_, url)))| (i, url.to_string()))
            .collect();
        let loads =
            (wanted.iter()).map(|(_, url)| self.images.load(&self.client, &self.config, url));
        let loaded = futures::future::join_all(loads).await;
        for ((i, _), got) in wanted.into_iter().zip(loaded) {
            match got {
                Ok(image) => data.draw(i, image),
                Err(e) if self.config.image_fallback => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "image field left empty");
                    data.skip(i);
                }
            }
        }
        Ok(())
    }

    /// One fetch of `url`; with `prior` (the last good document), a conditional one.
    async fn fetch(&self, url: url::Url, prior: Option<Arc<Kept>>) -> Result<Doc, DataError> {
        // Never closed: the semaphore lives as long as the source.
        let _permit = (self.permits.acquire().await)
            .map_err(|_| DataError::new(Reason::DataError, "shutting down"))?;
        let mut headers = self.headers.clone();
        if let Some(prior) = &prior {
            let validators = [
                (header::IF_NONE_MATCH, &prior.etag),
                (header::IF_MODIFIED_SINCE, &prior.last_modified),
            ];
            for (name, value) in validators {
                headers.extend(value.clone().map(|v| (name, v)));
            }
        }
        let req = fetch::Request {
            url,
            headers: &headers,
            timeout: self.config.timeout,
            max_bytes: self.config.max_bytes,
            hosts: None,
        };
        let resp = fetch::get(&self.client, Kind::Data, &req)
            .await
            .map_err(DataError::fetch)?;
        match (resp.status, prior) {
            (StatusCode::NOT_MODIFIED, Some(prior)) => return Ok(Doc::Found(prior)),
            (StatusCode::NOT_FOUND | StatusCode::GONE, _) => return Ok(Doc::Gone(resp.status)),
            (status, _) if !status.is_success() => return Err(DataError::status(status)),
            _ => {}
        }
        let doc: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| DataError::new(Reason::DataInvalid, format!("not JSON: {e}")))?;
        Ok(Doc::Found(Arc::new(Kept {
            doc,
            etag: resp.headers.get(header::ETAG).cloned(),
            last_modified: resp.headers.get(header::LAST_MODIFIED).cloned(),
        })))
    }
}
