//! The serde mirror of `ogforge.toml`: every key, its type and its default, nothing checked
//! beyond types. `deny_unknown_fields` everywhere so a misspelt key is an error, not a silent
//! default. `Serialize` is only for the test that keeps `ogforge.example.toml` complete.
//! [`super::load`] turns this into the validated [`super::Config`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::defaults as d;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawConfig {
    pub(crate) server: RawServer,
    pub(crate) store: RawStore,
    pub(crate) cache: RawCache,
    pub(crate) render: RawRender,
    pub(crate) rate_limit: RawRateLimit,
    pub(crate) routes: Vec<RawRoute>,
    pub(crate) proxy: RawProxy,
    pub(crate) browser: RawBrowser,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawServer {
    pub(crate) listen: String,
    pub(crate) admin_listen: String,
    pub(crate) max_uri_len: usize,
    pub(crate) ignored_query_params: Vec<String>,
    /// Empty: `http://` + the bound listen address.
    pub(crate) public_url: String,
    pub(crate) signing_keys_env: String,
    pub(crate) bad_signature: String,
    pub(crate) shutdown_timeout_ms: u64,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_headers: usize,
    pub(crate) request_timeout_ms: u64,
    pub(crate) trusted_proxies: Vec<String>,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: d::LISTEN.into(),
            admin_listen: d::ADMIN_LISTEN.into(),
            max_uri_len: d::MAX_URI_LEN,
            ignored_query_params: d::IGNORED_QUERY_PARAMS
                .iter()
                .map(|s| (*s).into())
                .collect(),
            public_url: String::new(),
            signing_keys_env: d::SIGNING_KEYS_ENV.into(),
            bad_signature: d::BAD_SIGNATURE.into(),
            shutdown_timeout_ms: d::SHUTDOWN_TIMEOUT_MS,
            max_header_bytes: d::MAX_HEADER_BYTES,
            max_headers: d::MAX_HEADERS,
            request_timeout_ms: d::REQUEST_TIMEOUT_MS,
            trusted_proxies: Vec::new(),
        }
    }
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
}

impl Default for RawStore {
    fn default() -> Self {
        Self {
            url: d::STORE_URL.into(),
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            timeout_ms: d::STORE_TIMEOUT_MS,
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawCache {
    pub(crate) memory_bytes: u64,
}

impl Default for RawCache {
    fn default() -> Self {
        Self {
            memory_bytes: d::MEMORY_BYTES,
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawRender {
    pub(crate) timeout_ms: u64,
    pub(crate) concurrency: usize,
    pub(crate) fonts_dir: Option<String>,
    pub(crate) queue: usize,
    pub(crate) overload: String,
}

impl Default for RawRender {
    fn default() -> Self {
        Self {
            timeout_ms: d::RENDER_TIMEOUT_MS,
            concurrency: 0,
            fonts_dir: None,
            queue: d::RENDER_QUEUE,
            overload: d::RENDER_OVERLOAD.into(),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawRateLimit {
    pub(crate) renders_per_minute: u32,
    pub(crate) burst: u32,
    pub(crate) over_limit: String,
}

impl Default for RawRateLimit {
    fn default() -> Self {
        Self {
            renders_per_minute: d::RENDERS_PER_MINUTE,
            burst: d::RENDER_BURST,
            over_limit: d::OVER_LIMIT.into(),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) id_pattern: String,
    #[serde(default = "d::max_id_len")]
    pub(crate) max_id_len: usize,
    pub(crate) template: Option<String>,
    #[serde(default = "d::width")]
    pub(crate) width: u32,
    #[serde(default = "d::height")]
    pub(crate) height: u32,
    #[serde(default = "d::device_scale")]
    pub(crate) device_scale: f32,
    #[serde(default = "d::format")]
    pub(crate) format: String,
    #[serde(default = "d::quality")]
    pub(crate) quality: u8,
    #[serde(default = "d::max_age")]
    pub(crate) max_age: u32,
    #[serde(default = "d::s_maxage")]
    pub(crate) s_maxage: u32,
    #[serde(default = "d::fallback_max_age")]
    pub(crate) fallback_max_age: u32,
    pub(crate) default_image: Option<String>,
    pub(crate) sample_id: Option<String>,
    #[serde(default = "d::alt")]
    pub(crate) alt: String,
    #[serde(default)]
    pub(crate) signed: bool,
    #[serde(default)]
    pub(crate) vars: BTreeMap<String, String>,
    #[serde(default = "d::renderer")]
    pub(crate) renderer: String,
    #[serde(default)]
    pub(crate) page_url: String,
    #[serde(default = "d::navigation_timeout_ms")]
    pub(crate) navigation_timeout_ms: u64,
    #[serde(default = "d::page_wait_until")]
    pub(crate) page_wait_until: String,
    #[serde(default)]
    pub(crate) page_ready_js: String,
    #[serde(default)]
    pub(crate) page_ready_selector: String,
    /// Header name -> name of the environment variable holding its value.
    #[serde(default)]
    pub(crate) page_headers_env: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) page_basic_auth_env: String,
    #[serde(default)]
    pub(crate) page_allowed_origins: Vec<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawProxy {
    /// Empty: `ogforge proxy` needs `--upstream`.
    pub(crate) upstream: String,
    pub(crate) listen: String,
    pub(crate) param: String,
}

impl Default for RawProxy {
    fn default() -> Self {
        Self {
            upstream: String::new(),
            listen: d::PROXY_LISTEN.into(),
            param: d::PROXY_PARAM.into(),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawBrowser {
    pub(crate) executable: String,
    pub(crate) launch_timeout_ms: u64,
    pub(crate) args: Vec<String>,
}

impl Default for RawBrowser {
    fn default() -> Self {
        Self {
            executable: d::BROWSER_EXECUTABLE.into(),
            launch_timeout_ms: d::BROWSER_LAUNCH_TIMEOUT_MS,
            args: Vec::new(),
        }
    }
}
