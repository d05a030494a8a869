//! `[store]`: where images are kept (a folder, `s3://`, `gs://`, `az://`) and how to reach it.
//! Its raw keys, defaults, validation and tests; opening the store is `cache/store.rs`'s job,
//! so a URL with an unsupported scheme is found there (by `ogforge check`), not here.

use std::{fmt, path::Path, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use toml::Value;

use super::{error::Report, raw};

pub(super) mod defaults {
    /// A folder next to where ogforge runs.
    pub const STORE_URL: &str = "./data";
    /// A store call that takes longer counts as an outage: the render is still served.
    pub const STORE_TIMEOUT_MS: u64 = 5_000;
    /// Folder stores fsync each write, so a confirmed (`stored`) image survives a power cut.
    pub const STORE_FSYNC: bool = true;
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawStore {
    pub(crate) url: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) access_key_id: Option<String>,
    pub(crate) secret_access_key: Option<String>,
    pub(crate) allow_http: bool,
    pub(crate) timeout_ms: u64,
    pub(crate) fsync: bool,
}

impl Default for RawStore {
    fn default() -> Self {
        Self {
            url: defaults::STORE_URL.into(),
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            timeout_ms: defaults::STORE_TIMEOUT_MS,
            fsync: defaults::STORE_FSYNC,
        }
    }
}

#[derive(Clone)]
pub struct StoreConfig {
    pub url: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub allow_http: bool,
    pub timeout: Duration,
    /// Folder stores: fsync each written file and its folder before a write counts as done.
    pub fsync: bool,
    /// Relative `file` stores resolve against this folder (the config file's).
    pub base_dir: PathBuf,
}

impl fmt::Debug for StoreConfig {
    // Secrets never reach a log line, even a debug one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id.as_ref().map(|_| "***"))
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("allow_http", &self.allow_http)
            .field("timeout", &self.timeout)
            .field("fsync", &self.fsync)
            .finish()
    }
}

/// `base`: the config file's folder.
pub(super) fn load(value: Option<Value>, base: &Path, r: &mut Report) -> Option<StoreConfig> {
    let raw: RawStore = raw::section(value, r)?;
    if raw.url.trim().is_empty() {
        return r.error("url", "must not be empty");
    }
    if let Some(reason) = malformed_url(raw.url.trim()) {
        return r.error("url", reason);
    }
    Some(StoreConfig {
        url: raw.url,
        endpoint: raw.endpoint,
        region: raw.region,
        access_key_id: raw.access_key_id,
        secret_access_key: raw.secret_access_key,
        allow_http: raw.allow_http,
        timeout: Duration::from_millis(raw.timeout_ms.max(1)),
        fsync: raw.fsync,
        base_dir: base.to_path_buf(),
    })
}

/// A URL that lost its `//` (`s3:/bucket`, `s3:bucket`) would otherwise be taken for a folder
/// of that name and fill the local disk instead of the bucket.
fn malformed_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once(':')?;
    let scheme_like = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (scheme_like && !rest.starts_with("//")).then(|| {
        let bucket = rest.trim_start_matches('/');
        format!("{url:?} is not a URL (no \"//\" after \"{scheme}:\"); write {scheme}://{bucket}, or ./{url} for a folder")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::{Overrides, load_with_env};

    #[test]
    fn secrets_never_print_and_an_empty_url_is_refused() {
        let env = vec![
            ("OGFORGE__STORE__SECRET_ACCESS_KEY".into(), "hunter2".into()),
            ("OGFORGE__STORE__URL".into(), "s3://bucket".into()),
        ];
        let c = load_with_env(None, &Overrides::default(), &env).unwrap();
        assert!(!format!("{:?}", c.store).contains("hunter2"));
        let flags = Overrides {
            store: Some(" ".into()),
            ..Overrides::default()
        };
        let e = load_with_env(None, &flags, &[]).unwrap_err();
        assert_eq!(e.to_string(), "flag --store: must not be empty");
    }

    #[test]
    fn a_url_without_its_slashes_is_not_taken_for_a_folder() {
        for bad in ["s3:/bucket", "s3:bucket", "gs:/b/prefix", "file:/tmp/x"] {
            let flags = Overrides {
                store: Some(bad.into()),
                ..Overrides::default()
            };
            let e = load_with_env(None, &flags, &[]).unwrap_err().to_string();
            assert!(e.contains("is not a URL"), "{bad}: {e}");
        }
        for good in [
            "s3://bucket",
            "./data",
            "data",
            "/var/lib/ogforge",
            "file:///tmp/x",
        ] {
            let flags = Overrides {
                store: Some(good.into()),
                ..Overrides::default()
            };
            assert!(load_with_env(None, &flags, &[]).is_ok(), "{good}");
        }
    }
}
