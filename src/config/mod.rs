//! The one configuration surface: embedded defaults -> TOML file -> command-line flags ->
//! `OGFORGE__SECTION__KEY` environment variables, validated once into a typed [`Config`].
//!
//! Everything that can be checked without the renderer or the network is checked here, and
//! every error names the file, the key and the problem. Templates and default images are read
//! here too (relative to the config file), so later stages get text and bytes, not paths.
//! `ogforge.example.toml` documents every key; a test keeps the two in step.

mod browser;
mod env;
mod limits;
mod page_url;
mod raw;

use std::{
    collections::BTreeMap,
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use ogforge_tags::{IdRule, PathTemplate};

use crate::image::Format;

pub use limits::{OverLimit, RateLimitConfig, RenderRate};
pub(crate) use raw::RawConfig;

pub use browser::{BrowserConfig, Engine, PageConfig, Secret, WaitUntil};
pub use page_url::PageUrl;

/// Defaults, each a named constant so the docs and the code cannot drift apart.
pub mod defaults {
    /// Public listener: loopback until the operator decides otherwise.
    pub const LISTEN: &str = "127.0.0.1:8080";
    /// Admin listener (metrics, health): loopback, so metrics never leak to the internet.
    pub const ADMIN_LISTEN: &str = "127.0.0.1:9090";
    /// Longest request URI accepted (bytes); longer is refused with 414 before any work.
    pub const MAX_URI_LEN: usize = 2048;
    /// Query parameters ignored on image routes (cache busters); any other is refused with 400.
    pub const IGNORED_QUERY_PARAMS: &[&str] = &["v"];
    /// Environment variable holding the URL signing keys (comma-separated, newest first); keys
    /// never live in the config file, so it can be committed.
    pub const SIGNING_KEYS_ENV: &str = "OGFORGE_SIGNING_KEYS";
    /// An unsigned or tampered request on a signed route gets 403 (`forbidden`).
    pub const BAD_SIGNATURE: &str = "forbidden";
    /// After SIGTERM, requests (renders and store writes included) get this long to finish:
    /// under Kubernetes' default 30 s grace period, so ogforge exits before it is killed.
    pub const SHUTDOWN_TIMEOUT_MS: u64 = 25_000;
    /// Largest request header section (names + values, bytes); more gets 431. Real crawlers
    /// send well under 2 KiB; this stops header-stuffing before any work is done.
    pub const MAX_HEADER_BYTES: usize = 8 * 1024;
    /// Most request header fields; more gets 431 (hyper itself stops at 100).
    pub const MAX_HEADERS: usize = 64;
    /// Whole-request deadline: bounds anything stuck server-side (a hung store call), and sits
    /// above `render.timeout_ms`, so a render times out into the default image before this fires.
    pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
    /// Renders a client (one IP, one IPv6 /64) may start per minute once its burst is spent:
    /// one crawler or script cannot keep the render slots busy with distinct ids. Hits are free.
    pub const RENDERS_PER_MINUTE: u32 = 120;
    /// Renders a client may start at once before `RENDERS_PER_MINUTE` paces it.
    pub const RENDER_BURST: u32 = 60;
    /// What a client over its render limit gets: 429 with `Retry-After`.
    pub const OVER_LIMIT: &str = "too-many-requests";
    /// A folder next to where ogforge runs.
    pub const STORE_URL: &str = "./data";
    /// A store call that takes longer counts as an outage: the render is still served.
    pub const STORE_TIMEOUT_MS: u64 = 5_000;
    /// Memory tier budget: 256 MiB of encoded images.
    pub const MEMORY_BYTES: u64 = 256 * 1024 * 1024;
    /// A render that takes longer is abandoned for the default image (the original design's 3 s).
    pub const RENDER_TIMEOUT_MS: u64 = 3_000;
    /// Renders that may wait for a free render slot; past it a miss is refused at once
    /// (`render.overload`), so a burst of distinct ids cannot pile up unbounded work and memory.
    pub const RENDER_QUEUE: usize = 64;
    /// What a refused miss gets: 503 with `Retry-After`, which crawlers retry later.
    pub const RENDER_OVERLOAD: &str = "unavailable";
    /// Id length limit, checked before the pattern.
    pub const MAX_ID_LEN: usize = ogforge_tags::DEFAULT_MAX_ID_LEN;
    /// Largest width or height in CSS pixels; bounds the memory one render can take.
    pub const MAX_DIMENSION: u32 = 4096;
    /// The embedded default route.
    pub const ROUTE_NAME: &str = "default";
    pub const ROUTE_PATH: &str = "/{id}.jpg";
    pub const ROUTE_ID_PATTERN: &str =
        "^(?P<home>[0-9]{2})-(?P<away>[0-9]{2})-(?P<minute>[0-9]{2})$";
    pub const ROUTE_SAMPLE_ID: &str = "12-34-10";
    /// `ogforge proxy` listener: loopback, like the service's.
    pub const PROXY_LISTEN: &str = "127.0.0.1:8081";
    /// The main site's query parameter that names the share image's id (`?social=12-34-10`).
    pub const PROXY_PARAM: &str = "social";
    /// Debian's Chromium.
    pub const BROWSER_EXECUTABLE: &str = "/usr/bin/chromium";
    pub const BROWSER_LAUNCH_TIMEOUT_MS: u64 = 10_000;

    pub(crate) fn renderer() -> String {
        "html".into()
    }
    pub(crate) fn navigation_timeout_ms() -> u64 {
        3_000
    }
    pub(crate) fn page_wait_until() -> String {
        "load".into()
    }

    pub(crate) fn max_id_len() -> usize {
        MAX_ID_LEN
    }
    pub(crate) fn width() -> u32 {
        1200
    }
    pub(crate) fn height() -> u32 {
        630
    }
    pub(crate) fn device_scale() -> f32 {
        1.0
    }
    pub(crate) fn format() -> String {
        "jpeg".into()
    }
    pub(crate) fn quality() -> u8 {
        80
    }
    /// Browsers: one day.
    pub(crate) fn max_age() -> u32 {
        86_400
    }
    /// CDNs: one year; a template change changes the key, so old images are never served for it.
    pub(crate) fn s_maxage() -> u32 {
        31_536_000
    }
    /// The default image stands in for a failure: retry soon.
    /// `og:image:alt` of a route's images.
    pub(crate) fn alt() -> String {
        "Social card".into()
    }
    pub(crate) fn fallback_max_age() -> u32 {
        60
    }
}

/// A configuration problem: where it is, which key, and what is wrong.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The file (or `environment`, `flags`, `defaults`).
    pub origin: String,
    /// The key path, e.g. `routes[0].id_pattern`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.origin, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.origin, self.key, self.reason)
        }
    }
}

impl ConfigError {
    pub(crate) fn new(
        origin: impl Into<String>,
        key: impl Into<String>,
        reason: impl fmt::Display,
    ) -> Self {
        Self {
            origin: origin.into(),
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

/// Command-line values that sit between the file and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub store: Option<String>,
    /// `ogforge proxy --upstream` (`proxy.upstream`).
    pub proxy_upstream: Option<String>,
    /// `ogforge proxy --listen` (`proxy.listen`).
    pub proxy_listen: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the file was, for messages (`embedded defaults` without one).
    pub origin: String,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub memory_bytes: u64,
    pub render: RenderConfig,
    pub rate_limit: RateLimitConfig,
    pub routes: Vec<RouteConfig>,
    pub proxy: ProxyConfig,
    pub browser: BrowserConfig,
}

/// `[proxy]`: the tag-rewriting proxy in front of the main site.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The main site's base URL; `None` until set (file, env or `--upstream`).
    pub upstream: Option<String>,
    pub listen: SocketAddr,
    /// The query parameter holding the untrusted id.
    pub param: String,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub admin_listen: Option<SocketAddr>,
    pub max_uri_len: usize,
    pub ignored_query_params: Vec<String>,
    /// The absolute http(s) URL crawlers reach the images under, for the tags; `None`: `http://`
    /// + the bound listen address. Never taken from a request's `Host` header.
    pub public_url: Option<String>,
    /// Name of the environment variable with the signing keys (`server.signing_keys_env`).
    pub signing_keys_env: String,
    /// `server.bad_signature`: `false` is 403, `true` the default image (reason `bad-signature`).
    pub bad_signature_default_image: bool,
    /// How long in-flight requests may run after SIGTERM or Ctrl-C.
    pub shutdown_timeout: Duration,
    /// Header section limits (`server.max_header_bytes`, `server.max_headers`): 431 past them.
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// Whole-request deadline (`server.request_timeout_ms`).
    pub request_timeout: Duration,
    /// Peers whose `X-Forwarded-For` is believed (`server.trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
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
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct RenderConfig {
    pub timeout: Duration,
    pub concurrency: usize,
    /// `None`: the bundled Inter.
    pub fonts_dir: Option<PathBuf>,
    /// Renders that may wait for a slot; more are refused at once.
    pub queue: usize,
    pub overload: Overload,
}

/// What a miss gets when the render queue is full (`render.overload`). Cache hits never
/// reach the queue, so they are served whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overload {
    /// `unavailable`: 503 with `Retry-After`.
    Unavailable,
    /// `default-image`: the route's default image with its short lifetime, reason `overloaded`.
    DefaultImage,
}

/// Text (a template) or bytes (an image) with where they came from.
#[derive(Debug, Clone)]
pub struct Source<T> {
    pub origin: String,
    pub data: T,
}

#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// `routes[i]`, for messages.
    pub key: String,
    pub name: String,
    pub path: PathTemplate,
    pub ids: IdRule,
    pub template: Source<String>,
    pub width: u32,
    pub height: u32,
    pub device_scale: f32,
    pub format: Format,
    pub quality: u8,
    pub max_age: u32,
    pub s_maxage: u32,
    pub fallback_max_age: u32,
    pub default_image: Source<Vec<u8>>,
    pub sample_id: Option<String>,
    /// `og:image:alt` in the tags built for this route.
    pub alt: String,
    pub vars: BTreeMap<String, String>,
    /// Requests must carry a valid `sig` (see `signing`); for routes whose ids are free text.
    pub signed: bool,
    /// `renderer`: the template through takumi, or a page in Chromium.
    pub engine: Engine,
}

/// Loads the configuration: `file` (or the embedded defaults), then `flags`, then the
/// process environment.
pub fn load(file: Option<&Path>, flags: &Overrides) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    load_with_env(file, flags, &env)
}

/// [`load`] with an explicit environment, for tests.
pub fn load_with_env(
    file: Option<&Path>,
    flags: &Overrides,
    env_vars: &[(String, String)],
) -> Result<Config, ConfigError> {
    let (origin, base_dir, mut table) = match file {
        Some(path) => {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::new(&origin, "", format!("cannot read: {e}")))?;
            let table: toml::Table =
                toml::from_str(&text).map_err(|e| ConfigError::new(&origin, "", one_line(&e)))?;
            let dir = path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            (origin, dir, table)
        }
        None => (
            "embedded defaults".to_owned(),
            PathBuf::from("."),
            toml::Table::new(),
        ),
    };
    env::apply_flags(&mut table, flags);
    env::apply_env(&mut table, env_vars)?;
    let raw: RawConfig = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new(&origin, "", one_line(&e)))?;
    validate(raw, origin, &base_dir, env_vars)
}

fn one_line(e: &toml::de::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn validate(
    raw: RawConfig,
    origin: String,
    base: &Path,
    env_vars: &[(String, String)],
) -> Result<Config, ConfigError> {
    let err = |key: &str, reason: &dyn fmt::Display| ConfigError::new(&origin, key, reason);

    let listen = raw
        .server
        .listen
        .parse()
        .map_err(|e| err("server.listen", &format!("not a socket address: {e}")))?;
    let admin_listen = if raw.server.admin_listen.is_empty() {
        None
    } else {
        Some(
            raw.server
                .admin_listen
                .parse()
                .map_err(|e| err("server.admin_listen", &format!("not a socket address: {e}")))?,
        )
    };
    let public_url = match raw.server.public_url.trim() {
        "" => None,
        url => Some(check_public_url(url).map_err(|reason| err("server.public_url", &reason))?),
    };
    if raw.server.max_uri_len < 64 {
        return Err(err("server.max_uri_len", &"must be at least 64"));
    }
    if raw.store.url.trim().is_empty() {
        return Err(err("store.url", &"must not be empty"));
    }
    if raw.cache.memory_bytes > 0 && raw.cache.memory_bytes < 1024 * 1024 {
        return Err(err(
            "cache.memory_bytes",
            &"must be 0 (off) or at least 1 MiB",
        ));
    }
    if raw.render.timeout_ms == 0 {
        return Err(err("render.timeout_ms", &"must be at least 1"));
    }
    let proxy = ProxyConfig {
        upstream: match raw.proxy.upstream.trim() {
            "" => None,
            url => Some(check_public_url(url).map_err(|reason| err("proxy.upstream", &reason))?),
        },
        listen: raw
            .proxy
            .listen
            .parse()
            .map_err(|e| err("proxy.listen", &format!("not a socket address: {e}")))?,
        param: check_param(&raw.proxy.param).map_err(|reason| err("proxy.param", &reason))?,
    };
    let concurrency = match raw.render.concurrency {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let bad_signature_default_image = match raw.server.bad_signature.as_str() {
        "forbidden" => false,
        "default-image" => true,
        _ => {
            return Err(err(
                "server.bad_signature",
                &"must be \"forbidden\" or \"default-image\"",
            ));
        }
    };
    let edge = limits::validate(&raw.server, &raw.rate_limit, &origin)?;
    let overload = match raw.render.overload.as_str() {
        "unavailable" => Overload::Unavailable,
        "default-image" => Overload::DefaultImage,
        _ => {
            return Err(err(
                "render.overload",
                &"must be \"unavailable\" or \"default-image\"",
            ));
        }
    };

    let browser = browser::browser(&raw.browser).map_err(|(key, reason)| err(&key, &reason))?;
    let routes = if raw.routes.is_empty() {
        vec![default_route()]
    } else {
        raw.routes
    };
    let mut out: Vec<RouteConfig> = Vec::with_capacity(routes.len());
    for (i, r) in routes.into_iter().enumerate() {
        let route = validate_route(r, &format!("routes[{i}]"), &origin, base, env_vars)?;
        if let Some(other) = out.iter().find(|o| o.name == route.name) {
            return Err(err(
                &format!("{}.name", route.key),
                &format!("duplicate route name (also {})", other.key),
            ));
        }
        if let Some(other) = out.iter().find(|o| o.path == route.path) {
            return Err(err(
                &format!("{}.path", route.key),
                &format!("duplicate route path (also {})", other.key),
            ));
        }
        out.push(route);
    }
    let mut browser = browser;
    if out.iter().any(|r| matches!(r.engine, Engine::Browser(_))) {
        browser.executable =
            browser::find_executable(&browser).map_err(|(key, reason)| err(&key, &reason))?;
    }

    Ok(Config {
        server: ServerConfig {
            listen,
            admin_listen,
            max_uri_len: raw.server.max_uri_len,
            ignored_query_params: raw.server.ignored_query_params,
            public_url,
            signing_keys_env: raw.server.signing_keys_env,
            bad_signature_default_image,
            shutdown_timeout: Duration::from_millis(raw.server.shutdown_timeout_ms),
            max_header_bytes: raw.server.max_header_bytes,
            max_headers: raw.server.max_headers,
            request_timeout: edge.request_timeout,
            trusted_proxies: edge.trusted_proxies,
        },
        store: StoreConfig {
            url: raw.store.url,
            endpoint: raw.store.endpoint,
            region: raw.store.region,
            access_key_id: raw.store.access_key_id,
            secret_access_key: raw.store.secret_access_key,
            allow_http: raw.store.allow_http,
            timeout: Duration::from_millis(raw.store.timeout_ms.max(1)),
            base_dir: base.to_path_buf(),
        },
        memory_bytes: raw.cache.memory_bytes,
        render: RenderConfig {
            timeout: Duration::from_millis(raw.render.timeout_ms),
            concurrency,
            fonts_dir: raw.render.fonts_dir.map(|d| base.join(d)),
            queue: raw.render.queue,
            overload,
        },
        rate_limit: edge.rate_limit,
        routes: out,
        proxy,
        browser,
        origin,
    })
}

/// An absolute `http`/`https` URL with a host and nothing a base URL has no use for
/// (credentials, query, fragment); returned without a trailing `/`.
pub(crate) fn check_public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the scheme must be http or https".into());
    }
    if url.host().is_none() {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not hold credentials".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL must not have a query or fragment".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A query parameter name: letters, digits, `-`, `_`.
fn check_param(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name.to_owned())
    } else {
        Err("must be non-empty: letters, digits, '-', '_'".into())
    }
}

fn default_route() -> raw::RawRoute {
    raw::RawRoute {
        name: defaults::ROUTE_NAME.into(),
        path: defaults::ROUTE_PATH.into(),
        id_pattern: defaults::ROUTE_ID_PATTERN.into(),
        max_id_len: defaults::max_id_len(),
        template: None,
        width: defaults::width(),
        height: defaults::height(),
        device_scale: defaults::device_scale(),
        format: defaults::format(),
        quality: defaults::quality(),
        max_age: defaults::max_age(),
        s_maxage: defaults::s_maxage(),
        fallback_max_age: defaults::fallback_max_age(),
        default_image: None,
        sample_id: Some(defaults::ROUTE_SAMPLE_ID.into()),
        alt: defaults::alt(),
        vars: BTreeMap::new(),
        signed: false,
        renderer: defaults::renderer(),
        page_url: String::new(),
        navigation_timeout_ms: defaults::navigation_timeout_ms(),
        page_wait_until: defaults::page_wait_until(),
        page_ready_js: String::new(),
        page_ready_selector: String::new(),
        page_headers_env: BTreeMap::new(),
        page_basic_auth_env: String::new(),
        page_allowed_origins: Vec::new(),
    }
}

fn validate_route(
    r: raw::RawRoute,
    key: &str,
    origin: &str,
    base: &Path,
    env_vars: &[(String, String)],
) -> Result<RouteConfig, ConfigError> {
    let err = |field: &str, reason: &dyn fmt::Display| {
        ConfigError::new(origin, format!("{key}.{field}"), reason)
    };
    if r.name.is_empty()
        || !r
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(err("name", &"must be non-empty: letters, digits, '-', '_'"));
    }
    let path = PathTemplate::new(&r.path).map_err(|e| err("path", &e))?;
    let ids = IdRule::new(&r.id_pattern, r.max_id_len).map_err(|e| {
        let msg = e.to_string();
        err(
            "id_pattern",
            &msg.split_whitespace().collect::<Vec<_>>().join(" "),
        )
    })?;
    for (field, v) in [("width", r.width), ("height", r.height)] {
        if v == 0 || v > defaults::MAX_DIMENSION {
            return Err(err(
                field,
                &format!("must be 1..={}", defaults::MAX_DIMENSION),
            ));
        }
    }
    if !(0.5..=4.0).contains(&r.device_scale) {
        return Err(err("device_scale", &"must be between 0.5 and 4"));
    }
    let format: Format = r.format.parse().map_err(|e| err("format", &e))?;
    let engine =
        browser::engine(&r, &ids, env_vars).map_err(|(field, reason)| err(&field, &reason))?;
    if !path.suffix().is_empty() && !format.matches_extension(path.suffix()) {
        return Err(err(
            "path",
            &format!(
                "ends in {:?} but the format is {}",
                path.suffix(),
                format.extension()
            ),
        ));
    }
    if !(1..=100).contains(&r.quality) {
        return Err(err("quality", &"must be 1..=100"));
    }
    let template = match r.template {
        None => Source {
            origin: "embedded:default.html".into(),
            data: crate::assets::TEMPLATE.to_owned(),
        },
        Some(p) => {
            let file = base.join(&p);
            let data = std::fs::read_to_string(&file)
                .map_err(|e| err("template", &format!("cannot read {}: {e}", file.display())))?;
            Source {
                origin: file.display().to_string(),
                data,
            }
        }
    };
    let default_image = match r.default_image {
        None => Source {
            origin: "embedded:default.jpg".into(),
            data: crate::assets::DEFAULT_IMAGE.to_vec(),
        },
        Some(p) => {
            let file = base.join(&p);
            let data = std::fs::read(&file).map_err(|e| {
                err(
                    "default_image",
                    &format!("cannot read {}: {e}", file.display()),
                )
            })?;
            if crate::image::sniff_content_type(&data).is_none() {
                return Err(err(
                    "default_image",
                    &format!("{} is not a JPEG, PNG or WebP image", file.display()),
                ));
            }
            Source {
                origin: file.display().to_string(),
                data,
            }
        }
    };
    if ids.accepts_free_text() && !r.signed {
        return Err(err(
            "signed",
            &"id_pattern accepts free text (spaces, punctuation or symbols), so anyone could \
              put words of their choosing on a card: set signed = true, or narrow the pattern \
              to letters, digits and - . _ ~",
        ));
    }
    if let Some(sample) = &r.sample_id {
        ids.check(sample)
            .map_err(|e| err("sample_id", &format!("{sample:?}: {e}")))?;
    }
    Ok(RouteConfig {
        key: key.to_owned(),
        name: r.name,
        path,
        ids,
        template,
        width: r.width,
        height: r.height,
        device_scale: r.device_scale,
        format,
        quality: r.quality,
        max_age: r.max_age,
        s_maxage: r.s_maxage,
        fallback_max_age: r.fallback_max_age,
        default_image,
        sample_id: r.sample_id,
        alt: r.alt,
        vars: r.vars,
        signed: r.signed,
        engine,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn load_str(toml_text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ogforge.toml");
        std::fs::write(&file, toml_text).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        load_with_env(Some(&file), &Overrides::default(), &env)
    }

    #[test]
    fn embedded_defaults_give_one_route() {
        let c = load_with_env(None, &Overrides::default(), &[]).unwrap();
        assert_eq!(c.routes.len(), 1);
        assert_eq!(c.routes[0].path.to_string(), "/{id}.jpg");
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.store.url, "./data");
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = load_str("[server]\nlisten_addr = \"x\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("listen_addr"), "{e}");
    }

    #[test]
    fn bad_regex_names_the_key() {
        let e = load_str(
            "[[routes]]\nname='a'\npath='/{id}.jpg'\nid_pattern='('\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "routes[0].id_pattern");
    }

    #[test]
    fn flags_then_env_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[server]\nlisten = '127.0.0.1:1'\n").unwrap();
        let flags = Overrides {
            listen: Some("127.0.0.1:2".into()),
            ..Overrides::default()
        };
        let c = load_with_env(Some(&file), &flags, &[]).unwrap();
        assert_eq!(c.server.listen.port(), 2);
        let env = vec![("OGFORGE__SERVER__LISTEN".into(), "127.0.0.1:3".into())];
        let c = load_with_env(Some(&file), &flags, &env).unwrap();
        assert_eq!(c.server.listen.port(), 3);
    }

    #[test]
    fn proxy_flags_layer_like_every_flag() {
        let flags = Overrides {
            proxy_upstream: Some("http://flag.test".into()),
            proxy_listen: Some("127.0.0.1:4".into()),
            ..Overrides::default()
        };
        let c = load_with_env(None, &flags, &[]).unwrap();
        assert_eq!(c.proxy.upstream.as_deref(), Some("http://flag.test"));
        assert_eq!(c.proxy.listen.port(), 4);
        let env = vec![("OGFORGE__PROXY__UPSTREAM".into(), "http://env.test".into())];
        let c = load_with_env(None, &flags, &env).unwrap();
        assert_eq!(c.proxy.upstream.as_deref(), Some("http://env.test"));
        let bad = Overrides {
            proxy_upstream: Some("ftp://x".into()),
            ..Overrides::default()
        };
        assert_eq!(
            load_with_env(None, &bad, &[]).unwrap_err().key,
            "proxy.upstream"
        );
    }

    #[test]
    fn env_reaches_numbers_and_route_entries() {
        let c = load_str(
            "[[routes]]\nname='a'\npath='/{id}.png'\nid_pattern='[0-9]+'\nformat='png'\n",
            &[
                ("OGFORGE__CACHE__MEMORY_BYTES", "0"),
                ("OGFORGE__ROUTES__0__QUALITY", "55"),
            ],
        )
        .unwrap();
        assert_eq!(c.memory_bytes, 0);
        assert_eq!(c.routes[0].quality, 55);
    }

    #[test]
    fn unknown_env_keys_are_errors() {
        let e = load_str("", &[("OGFORGE__SERVER__NOPE", "1")]).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }

    /// `ogforge.example.toml` with its commented-out `# key = value` lines switched on.
    fn example_with_every_key() -> String {
        let text = include_str!("../../ogforge.example.toml");
        text.lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(k, _)| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
                {
                    rest.to_owned()
                }
                _ => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn key_paths(prefix: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    if browser::MAP_KEYS.contains(&k.as_str()) {
                        out.push((path, k.clone()));
                    } else {
                        key_paths(&path, v, out);
                    }
                }
            }
            toml::Value::Array(items) if prefix == "routes" => {
                if let Some(first) = items.first() {
                    key_paths("routes.0", first, out);
                }
            }
            _ => {
                let leaf = prefix.rsplit('.').next().unwrap_or(prefix).to_owned();
                out.push((prefix.to_owned(), leaf));
            }
        }
    }

    #[test]
    fn the_example_config_documents_every_key_and_its_env_name() {
        let text = example_with_every_key();
        // Every documented key exists (deny_unknown_fields) ...
        let raw: RawConfig = toml::from_str(&text).unwrap();
        // ... and every key that exists is documented, with its environment variable.
        let value = toml::Value::try_from(&raw).unwrap();
        let mut keys = Vec::new();
        key_paths("", &value, &mut keys);
        assert!(keys.len() > 25, "{keys:?}");
        let original = include_str!("../../ogforge.example.toml");
        for (path, leaf) in keys {
            let env = format!("OGFORGE__{}", path.replace('.', "__").to_ascii_uppercase());
            assert!(
                original.contains(&env),
                "ogforge.example.toml does not name {env} for {path}"
            );
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{leaf} = "))
                    || l.starts_with(&format!("[routes.{leaf}]"))),
                "ogforge.example.toml does not show {path}"
            );
        }
    }

    #[test]
    fn the_example_config_loads_and_equals_the_embedded_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ogforge.toml");
        std::fs::write(&file, include_str!("../../ogforge.example.toml")).unwrap();
        let c = load_with_env(Some(&file), &Overrides::default(), &[]).unwrap();
        let d = load_with_env(None, &Overrides::default(), &[]).unwrap();
        assert_eq!(c.server.listen, d.server.listen);
        assert_eq!(c.memory_bytes, d.memory_bytes);
        assert_eq!(c.routes[0].path, d.routes[0].path);
        assert_eq!(c.routes[0].ids.pattern(), d.routes[0].ids.pattern());
        assert_eq!(c.routes[0].sample_id, d.routes[0].sample_id);
    }

    #[test]
    fn bad_edge_limits_name_their_key() {
        let e = load_str("[server]\ntrusted_proxies = ['10.0.0.0/8', 'nope']\n", &[]).unwrap_err();
        assert_eq!(e.key, "server.trusted_proxies[1]");
        let e = load_str("[rate_limit]\nover_limit = 'drop'\n", &[]).unwrap_err();
        assert_eq!(e.key, "rate_limit.over_limit");
        let e = load_str("[rate_limit]\nburst = 0\n", &[]).unwrap_err();
        assert_eq!(e.key, "rate_limit.burst");
        let c = load_str("[rate_limit]\nrenders_per_minute = 0\nburst = 0\n", &[]).unwrap();
        assert!(c.rate_limit.per_client.is_none());
        let e = load_str("[server]\nmax_headers = 2\n", &[]).unwrap_err();
        assert_eq!(e.key, "server.max_headers");
    }

    #[test]
    fn extension_must_match_format() {
        let e = load_str(
            "[[routes]]\nname='a'\npath='/{id}.png'\nid_pattern='[0-9]+'\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "routes[0].path");
    }
}
