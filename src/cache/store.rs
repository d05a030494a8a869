//! The object-store tier behind `object_store`: a folder, S3 (and S3-compatible servers), GCS
//! or Azure, chosen by the store URL.
//!
//! Writes are whole objects with `PutMode::Create`: a reader never sees half an image, and two
//! replicas rendering the same id never clobber each other (the loser's `AlreadyExists` is a
//! success). Every call has a deadline, so a hung store turns into a logged outage, never a
//! hung request.

use std::{path::PathBuf, sync::Arc, time::Duration};

use bytes::Bytes;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig, aws::AmazonS3Builder, azure::MicrosoftAzureBuilder,
    gcp::GoogleCloudStorageBuilder, local::LocalFileSystem, path::Path as StorePath,
    prefix::PrefixStore,
};

use super::key::Key;
use crate::config::StoreConfig;

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
    #[error("{0}")]
    Backend(#[from] object_store::Error),
}

/// An object store plus what ogforge needs to know about it.
#[derive(Clone)]
pub(crate) struct Store {
    inner: Arc<dyn ObjectStore>,
    /// The local file store cannot keep Content-Type and Cache-Control; the others do.
    attributes: bool,
    timeout: Duration,
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
            let fs = LocalFileSystem::new_with_prefix(&dir)?;
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
        Ok(Self {
            inner,
            attributes,
            timeout: cfg.timeout,
            display,
        })
    }

    async fn deadline<T>(
        &self,
        f: impl Future<Output = object_store::Result<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
    }

    /// The stored image, `None` when the key is absent.
    pub(crate) async fn get(&self, key: &Key) -> Result<Option<Bytes>, StoreError> {
        let path = StorePath::from(key.as_str());
        let result = self
            .deadline(async {
                match self.inner.get(&path).await {
                    Ok(r) => r.bytes().await.map(Some),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(result)
    }

    /// Writes an image if the key is absent; an existing object counts as success.
    pub(crate) async fn put(
        &self,
        key: &Key,
        bytes: Bytes,
        content_type: &'static str,
        cache_control: &str,
    ) -> Result<(), StoreError> {
        let mut attributes = Attributes::new();
        if self.attributes {
            attributes.insert(Attribute::ContentType, content_type.into());
            attributes.insert(Attribute::CacheControl, cache_control.to_owned().into());
        }
        let opts = PutOptions {
            mode: PutMode::Create,
            attributes,
            ..Default::default()
        };
        let path = StorePath::from(key.as_str());
        let r = self
            .deadline(
                self.inner
                    .put_opts(&path, PutPayload::from_bytes(bytes), opts),
            )
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(StoreError::Backend(object_store::Error::AlreadyExists { .. })) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether the store answers, for readiness.
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
