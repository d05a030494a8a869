//! The object-store tier behind `object_store`: a folder, S3 (and S3-compatible servers), GCS
//! or Azure, chosen by the store URL.
//!
//! Writes are whole objects with `PutMode::Create` (S3 `If-None-Match: *`): a reader never sees
//! half an image, and two replicas rendering the same id never clobber each other: the loser
//! learns [`Put::Exists`] and serves the stored object instead of its own (so every replica
//! serves one set of bytes, and one ETag, per id); only an object found damaged is overwritten.
//! Leases (`lease.rs`) and `check-store` use the raw conditional calls below. Every call has a deadline, and a
//! circuit breaker (`cache/breaker.rs`) skips the store while it keeps failing, so a hung or
//! refusing store turns into a logged outage, never a hung request.
//!
//! Reads are checked: an object that is not a whole image of the route's format (a truncated
//! upload, a stray file) is reported as [`Got::Damaged`] and rendered again, never served. A
//! folder store fsyncs what it writes and sweeps the staging files of interrupted writes at
//! start-up.

use std::{path::PathBuf, sync::Arc, time::Duration};

use bytes::Bytes;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig, aws::AmazonS3Builder, azure::MicrosoftAzureBuilder,
    gcp::GoogleCloudStorageBuilder, local::LocalFileSystem, path::Path as StorePath,
    prefix::PrefixStore,
};

use super::{breaker::Breaker, key::Key};
use crate::{config::StoreConfig, image::is_whole_image};

/// Why a store could not be opened (a configuration problem).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreConfigError {
    #[error("{0:?} is not a valid URL: {1}")]
    Url(String, url::ParseError),
    #[error("unsupported scheme {0:?}: use a folder path, file://, s3://, gs:// or az://")]
    Scheme(String),
    #[error("{0:?} names no bucket")]
    NoBucket(String),
    #[error("cannot create the folder {0}: {1}")]
    Folder(PathBuf, std::io::Error),
    #[error("{0}")]
    Backend(#[from] object_store::Error),
}

/// Why a store call failed at run time (an outage, never the client's fault).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("store timed out after {0:?}")]
    Timeout(Duration),
    #[error("store skipped: it kept failing (circuit breaker open)")]
    Skipped,
    #[error("{0}")]
    Backend(#[from] object_store::Error),
}

/// What a read found.
#[derive(Debug)]
pub(crate) enum Got {
    Found(Bytes),
    Absent,
    /// An object that is not a whole image of the expected type: render and overwrite it.
    Damaged,
}

/// What a create-if-absent write came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Put {
    /// This write made the object.
    Created,
    /// The key was there already (another replica's write won): nothing was written.
    Exists,
}

/// What a compare-and-swap write came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swap {
    Swapped,
    /// The object changed (or vanished) since it was read.
    Lost,
    /// The store has no conditional update (a folder store): no takeover is possible.
    Unsupported,
}

/// A raw object with its version, for compare-and-swap.
#[derive(Debug, Clone)]
pub(crate) struct Versioned {
    pub(crate) bytes: Bytes,
    pub(crate) version: object_store::UpdateVersion,
}

/// How a write treats an existing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteMode {
    /// Create-if-absent: an existing object wins (another replica rendered it first).
    Create,
    /// Replace an object found damaged.
    Replace,
}

/// An object store plus what ogforge needs to know about it.
#[derive(Clone)]
pub(crate) struct Store {
    inner: Arc<dyn ObjectStore>,
    /// The local file store cannot keep Content-Type and Cache-Control; the others do.
    attributes: bool,
    timeout: Duration,
    breaker: Arc<Breaker>,
    /// The URL without credentials, for logs and `check`.
    pub(crate) display: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("display", &self.display)
            .finish()
    }
}

impl Store {
    /// Opens the store a config names. Local folders are created if missing.
    pub(crate) fn open(cfg: &StoreConfig) -> Result<Self, StoreConfigError> {
        let raw = cfg.url.trim();
        let (inner, attributes): (Arc<dyn ObjectStore>, bool) = if !raw.contains("://")
            || raw.starts_with("file://")
        {
            let path = raw.strip_prefix("file://").unwrap_or(raw);
            let dir = cfg.base_dir.join(path);
            std::fs::create_dir_all(&dir).map_err(|e| StoreConfigError::Folder(dir.clone(), e))?;
            sweep_staging_files(&dir);
            // Renames are atomic; fsync makes a confirmed write survive a power cut too.
            let fs = LocalFileSystem::new_with_prefix(&dir)?.with_fsync(cfg.fsync);
            (Arc::new(fs), false)
        } else {
            let url = url::Url::parse(raw).map_err(|e| StoreConfigError::Url(raw.to_owned(), e))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(StoreConfigError::NoBucket(raw.to_owned()));
            }
            // object_store retries for minutes by default; ogforge would rather serve the
            // render and log the outage, so retries stay within the store deadline.
            let retry = RetryConfig {
                max_retries: 2,
                retry_timeout: cfg.timeout,
                backoff: BackoffConfig::default(),
            };
            let client = ClientOptions::new()
                .with_timeout(cfg.timeout)
                .with_connect_timeout(cfg.timeout.min(Duration::from_secs(2)));
            let store: Arc<dyn ObjectStore> = match url.scheme() {
                "s3" | "s3a" => {
                    let mut b = AmazonS3Builder::from_env()
                        .with_url(raw)
                        .with_retry(retry)
                        .with_client_options(client);
                    if let Some(v) = &cfg.endpoint {
                        b = b.with_endpoint(v);
                    }
                    if let Some(v) = &cfg.region {
                        b = b.with_region(v);
                    }
                    if let Some(v) = &cfg.access_key_id {
                        b = b.with_access_key_id(v);
                    }
                    if let Some(v) = &cfg.secret_access_key {
                        b = b.with_secret_access_key(v);
                    }
                    if cfg.allow_http {
                        b = b.with_allow_http(true);
                    }
                    Arc::new(b.build()?)
                }
                "gs" => Arc::new(
                    GoogleCloudStorageBuilder::from_env()
                        .with_url(raw)
                        .with_retry(retry)
                        .with_client_options(client)
                        .build()?,
                ),
                "az" | "azure" | "abfs" | "abfss" => Arc::new(
                    MicrosoftAzureBuilder::from_env()
                        .with_url(raw)
                        .with_retry(retry)
                        .with_client_options(client)
                        .build()?,
                ),
                other => return Err(StoreConfigError::Scheme(other.to_owned())),
            };
            // A path after the bucket is a prefix inside it.
            let prefix = url.path().trim_matches('/');
            let store = if prefix.is_empty() {
                store
            } else {
                Arc::new(PrefixStore::new(store, prefix)) as Arc<dyn ObjectStore>
            };
            (store, true)
        };
        let mut display = raw.to_owned();
        if let Ok(mut u) = url::Url::parse(raw) {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            display = u.to_string();
        }
        // An S3-compatible server is named by its endpoint too: "s3://bucket" alone says little.
        if let Some(endpoint) = cfg.endpoint.as_deref().filter(|_| raw.contains("://")) {
            display = format!("{display} at {endpoint}");
        }
        Ok(Self {
            inner,
            attributes,
            timeout: cfg.timeout,
            breaker: Arc::default(),
            display,
        })
    }

    /// The deadline of one store call (`store.timeout_ms`).
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether the circuit breaker is skipping the store.
    pub(crate) fn is_skipped(&self) -> bool {
        self.breaker.is_open()
    }

    pub(super) async fn deadline<T>(
        &self,
        f: impl Future<Output = object_store::Result<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
    }

    /// A call through the circuit breaker: skipped while it is open (unless `probe`: the
    /// pending-write drain tries the store whatever the breaker says), its result counted.
    async fn guarded<T>(
        &self,
        probe: bool,
        f: impl Future<Output = object_store::Result<T>>,
    ) -> Result<T, StoreError> {
        if !probe && !self.breaker.allow() {
            return Err(StoreError::Skipped);
        }
        let r = self.deadline(f).await;
        match &r {
            Ok(_) => self.breaker.success(),
            Err(_) => self.breaker.failure(),
        }
        r
    }

    /// The stored image of `content_type` under `key`, checked to be whole.
    pub(crate) async fn get(&self, key: &Key, content_type: &str) -> Result<Got, StoreError> {
        let path = StorePath::from(key.as_str());
        let found = self
            .guarded(false, async {
                match self.inner.get(&path).await {
                    Ok(r) => r.bytes().await.map(Some),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(match found {
            None => Got::Absent,
            Some(bytes) if is_whole_image(&bytes, content_type) => Got::Found(bytes),
            Some(_) => Got::Damaged,
        })
    }

    /// Writes an image: create-if-absent (an existing object is [`Put::Exists`]), or replacing
    /// a damaged one. A `probe` goes to the store even while the breaker skips it.
    pub(crate) async fn put(
        &self,
        key: &Key,
        bytes: Bytes,
        content_type: &'static str,
        cache_control: &str,
        mode: WriteMode,
        probe: bool,
    ) -> Result<Put, StoreError> {
        let mut attributes = Attributes::new();
        if self.attributes {
            attributes.insert(Attribute::ContentType, content_type.into());
            attributes.insert(Attribute::CacheControl, cache_control.to_owned().into());
        }
        let opts = PutOptions {
            mode: match mode {
                WriteMode::Create => PutMode::Create,
                WriteMode::Replace => PutMode::Overwrite,
            },
            attributes,
            ..Default::default()
        };
        let path = StorePath::from(key.as_str());
        let put = self
            .guarded(probe, async {
                match self
                    .inner
                    .put_opts(&path, PutPayload::from_bytes(bytes), opts)
                    .await
                {
                    // Another writer got there first: its object stands, and the store answered.
                    Err(object_store::Error::AlreadyExists { .. }) => Ok(Put::Exists),
                    other => other.map(|_| Put::Created),
                }
            })
            .await;
        if let Ok(p) = put {
            let outcome = match p {
                Put::Created => "created",
                Put::Exists => "conflict",
            };
            metrics::counter!(crate::metrics::STORE_WRITES, "outcome" => outcome).increment(1);
        }
        put
    }

    /// Creates `path` with `bytes` unless it exists (leases, `check-store`), within the
    /// deadline but outside the breaker: these are coordination, not image traffic.
    pub(crate) async fn create_raw(&self, path: &str, bytes: Bytes) -> Result<Put, StoreError> {
        let opts = PutOptions::from(PutMode::Create);
        let path = StorePath::from(path);
        self.deadline(async {
            match self.inner.put_opts(&path, bytes.into(), opts).await {
                Err(object_store::Error::AlreadyExists { .. }) => Ok(Put::Exists),
                other => other.map(|_| Put::Created),
            }
        })
        .await
    }

    /// `path` and its version, or `None` when absent.
    pub(crate) async fn get_raw(&self, path: &str) -> Result<Option<Versioned>, StoreError> {
        let path = StorePath::from(path);
        self.deadline(async {
            match self.inner.get(&path).await {
                Ok(r) => {
                    let version = object_store::UpdateVersion {
                        e_tag: r.meta.e_tag.clone(),
                        version: r.meta.version.clone(),
                    };
                    let bytes = r.bytes().await?;
                    Ok(Some(Versioned { bytes, version }))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Replaces `path` with `bytes` only if it is still at `version`.
    pub(crate) async fn swap_raw(
        &self,
        path: &str,
        bytes: Bytes,
        version: object_store::UpdateVersion,
    ) -> Result<Swap, StoreError> {
        let opts = PutOptions::from(PutMode::Update(version));
        let path = StorePath::from(path);
        self.deadline(async {
            match self.inner.put_opts(&path, bytes.into(), opts).await {
                Ok(_) => Ok(Swap::Swapped),
                Err(
                    object_store::Error::Precondition { .. }
                    | object_store::Error::NotFound { .. }
                    | object_store::Error::AlreadyExists { .. },
                ) => Ok(Swap::Lost),
                Err(object_store::Error::NotImplemented { .. }) => Ok(Swap::Unsupported),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Deletes `path` (absent is fine).
    pub(crate) async fn delete_raw(&self, path: &str) -> Result<(), StoreError> {
        let path = StorePath::from(path);
        self.deadline(async {
            match self.inner.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// The store behind the deadlines and the breaker, for the probe.
    pub(super) fn inner(&self) -> &dyn ObjectStore {
        self.inner.as_ref()
    }

    /// Whether the store answers, for readiness (whatever the breaker says).
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        let path = StorePath::from("_ogforge/ping");
        self.deadline(async {
            match self.inner.head(&path).await {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
    }
}

/// Staging files older than this are taken for leftovers of interrupted writes (a process
/// killed mid-write); younger ones may belong to another process writing into the same folder.
const STALE_STAGING: Duration = Duration::from_secs(60);

/// Removes `NAME#N` staging files that an interrupted write left in a folder store.
fn sweep_staging_files(dir: &std::path::Path) {
    fn walk(dir: &std::path::Path, swept: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                walk(&path, swept);
                continue;
            }
            let staging = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.rsplit_once('#'))
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let stale = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age >= STALE_STAGING);
            if staging && stale && std::fs::remove_file(&path).is_ok() {
                *swept += 1;
            }
        }
    }
    let mut swept = 0;
    walk(dir, &mut swept);
    if swept > 0 {
        tracing::info!(swept, dir = %dir.display(), "removed staging files of interrupted writes");
    }
}
