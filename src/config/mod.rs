//! The one configuration surface: embedded defaults -> TOML file -> command-line flags ->
//! `OGFORGE__SECTION__KEY` environment variables, validated once into a typed [`Config`].
//!
//! Everything that can be checked without the renderer or the network is checked here. Loading
//! reports every error of every part together ([`ConfigErrors`]), each naming where the bad
//! value came from: `FILE: key: reason`, `environment variable NAME: reason`,
//! `flag --name: reason`, or `embedded defaults`. `ogforge.example.toml` documents every key; a
//! test keeps the two in step.
//!
//! Each part owns its configuration, in one file: its serde struct (`deny_unknown_fields`), its
//! defaults (named constants whose doc says what they stop), its validation into the typed
//! value, and its tests.
//!
//! | part | file |
//! | --- | --- |
//! | `[server]`: listeners, request limits, signing, trusted proxies | `server.rs` |
//! | `[store]` | `store.rs` |
//! | `[cache]` | `cache.rs` |
//! | `[render]` | `render.rs` |
//! | `[rate_limit]` | `rate_limit.rs` |
//! | `[[routes]]`: path, ids, template, size, format, lifetimes | `route.rs` (the list: `routes.rs`) |
//! | `[[routes]]`: `renderer` and the browser page's `page_*` keys | `page.rs` (URLs: `page_url.rs`) |
//! | `[routes.data]`: per-id JSON, its URL, headers, limits and declared fields | `data.rs` |
//! | `[proxy]` | `proxy.rs` |
//! | `[browser]` | `browser.rs` |
//! | `[images]`: remote images a template names | `images.rs` |
//! | `[cluster]`: render leases across replicas | `cluster.rs` |
//!
//! Around them: `layer.rs` lays the layers onto one table and `source.rs` remembers which
//! layer set each key; `raw.rs` turns a part's table into its serde struct, reporting unknown keys (with the
//! nearest known one), wrong types and missing keys; `error.rs` holds the errors and the
//! `Report` the parts write to; `snippet.rs` shows a file's line under a wrong
//! type. This file only gathers the parts.
//!
//! ## Adding a key
//!
//! One file: the part's. Add the field to its raw struct (the environment variable and unknown-
//! key suggestions follow from it), a named default if it has one, its check in the part's
//! `load`/`validate`, and the field of the validated type. Then document it where users read:
//! a line in `ogforge.example.toml` (a test fails until it is there) and in the README's table.

mod browser;
mod cache;
mod cluster;
mod data;
mod error;
mod images;
mod layer;
mod page;
mod page_url;
mod proxy;
mod rate_limit;
mod raw;
mod render;
mod route;
mod routes;
mod server;
mod snippet;
mod source;
mod store;

use std::{
    fmt,
    path::{Path, PathBuf},
};

pub use browser::BrowserConfig;
pub use cluster::{ClusterConfig, Lease};
pub use data::{DataConfig, Field};
pub use error::{ConfigError, ConfigErrors};
pub use images::ImagesConfig;
pub use layer::Overrides;
pub use page::{Engine, PageConfig, Secret, WaitUntil};
pub use page_url::PageUrl;
pub use proxy::ProxyConfig;
pub use rate_limit::{OverLimit, RateLimitConfig, RenderRate};
pub(crate) use raw::RawConfig;
pub use render::{Overload, RenderConfig};
pub use route::{RouteConfig, Source};
pub use server::{ConnectionLimits, ServerConfig, check_public_url};
pub use store::StoreConfig;

use error::Report;
use source::Sources;

/// Defaults, each a named constant so the docs and the code cannot drift apart; each part
/// declares its own.
pub mod defaults {
    pub use super::browser::defaults::*;
    pub use super::cache::defaults::*;
    pub use super::cluster::defaults::*;
    pub use super::data::defaults::*;
    pub use super::images::defaults::*;
    pub use super::page::defaults::*;
    pub use super::proxy::defaults::*;
    pub use super::rate_limit::defaults::*;
    pub use super::render::defaults::*;
    pub use super::route::defaults::*;
    pub use super::routes::defaults::*;
    pub use super::server::defaults::*;
    pub use super::store::defaults::*;
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
    /// `[images]`: remote images named by templates.
    pub images: ImagesConfig,
    /// `[cluster]`: render leases across replicas.
    pub cluster: ClusterConfig,
    /// Which layer set which key, for [`Config::error`].
    sources: Sources,
}

impl Config {
    /// An error about `key` found after loading (a store that does not open, a template that
    /// does not compile), naming the layer its value came from, as loading's own errors do.
    pub fn error(&self, key: &str, reason: impl fmt::Display) -> ConfigError {
        ConfigError::new(self.sources.origin(key, &[]), key, reason)
    }
}

/// Loads the configuration: `file` (or the embedded defaults), then `flags`, then the
/// process environment.
pub fn load(file: Option<&Path>, flags: &Overrides) -> Result<Config, ConfigErrors> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    load_with_env(file, flags, &env)
}

/// [`load`] with an explicit environment, for tests.
pub fn load_with_env(
    file: Option<&Path>,
    flags: &Overrides,
    env_vars: &[(String, String)],
) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let embedded_routes = routes::embedded_routes();
    let (sources, table) = layer::layer(file, flags, env_vars, embedded_routes, &mut errors)?;
    // Relative paths (templates, images, fonts, a `file` store) are the file's folder's.
    let base = match file {
        Some(path) => path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        None => PathBuf::from("."),
    };
    let config = gather(
        table,
        &base,
        env_vars,
        &mut Report::new(&sources, &mut errors),
    );
    match (ConfigErrors::new(errors), config) {
        (Some(errors), _) => Err(errors),
        (None, Some(parts)) => Ok(parts.into_config(sources)),
        (None, None) => Err(ConfigError::new(sources.name(), "", "invalid configuration").into()),
    }
}

/// The validated parts, before [`Config`] takes them with the sources.
struct Parts {
    server: ServerConfig,
    store: StoreConfig,
    memory_bytes: u64,
    render: RenderConfig,
    rate_limit: RateLimitConfig,
    routes: Vec<RouteConfig>,
    proxy: ProxyConfig,
    browser: BrowserConfig,
    images: ImagesConfig,
    cluster: ClusterConfig,
}

impl Parts {
    fn into_config(self, sources: Sources) -> Config {
        Config {
            origin: sources.name().to_owned(),
            server: self.server,
            store: self.store,
            memory_bytes: self.memory_bytes,
            render: self.render,
            rate_limit: self.rate_limit,
            routes: self.routes,
            proxy: self.proxy,
            browser: self.browser,
            images: self.images,
            cluster: self.cluster,
            sources,
        }
    }
}

/// Each part from its key of the layered table, every part checked even when an earlier one
/// failed; `None` once any error is reported.
fn gather(
    mut table: toml::Table,
    base: &Path,
    env: &[(String, String)],
    r: &mut Report,
) -> Option<Parts> {
    raw::drop_unknown(&mut table, raw::keys::<RawConfig>(), r);
    let mut take = |key: &str| table.remove(key);
    let server = server::load(take("server"), &mut r.at("server"));
    let store = store::load(take("store"), base, &mut r.at("store"));
    let memory_bytes = cache::load(take("cache"), &mut r.at("cache"));
    let render = render::load(take("render"), base, &mut r.at("render"));
    let rate_limit = rate_limit::load(take("rate_limit"), &mut r.at("rate_limit"));
    let routes = routes::load(take("routes"), base, env, &mut r.at("routes"));
    let proxy = proxy::load(take("proxy"), &mut r.at("proxy"));
    let images = images::load(take("images"), &mut r.at("images"));
    let render_timeout = render.as_ref().map(|r| r.timeout);
    let cluster = cluster::load(take("cluster"), render_timeout, &mut r.at("cluster"));
    let mut browser = browser::load(take("browser"), &mut r.at("browser"));
    // Chromium is looked for only when a route needs it.
    let needs_browser = (routes.iter().flatten()).any(|r| matches!(r.engine, Engine::Browser(_)));
    if let Some(browser) = browser.as_mut().filter(|_| needs_browser) {
        browser::locate(browser, &mut r.at("browser"))?;
    }
    Some(Parts {
        server: server?,
        store: store?,
        memory_bytes: memory_bytes?,
        render: render?,
        rate_limit: rate_limit?,
        routes: routes?,
        proxy: proxy?,
        browser: browser?,
        images: images?,
        cluster: cluster?,
    })
}

/// Loads `toml_text` as `ogforge.toml` in a fresh folder, with `env` as the environment.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
fn load_str(toml_text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ogforge.toml");
    std::fs::write(&file, toml_text).unwrap();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    load_with_env(Some(&file), &Overrides::default(), &env)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_give_one_route() {
        let c = load_with_env(None, &Overrides::default(), &[]).unwrap();
        assert_eq!(c.routes.len(), 1);
        assert_eq!(c.routes[0].path.to_string(), "/{id}.jpg");
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.store.url, "./data");
        assert_eq!(c.origin, "embedded defaults");
    }

    #[test]
    fn later_errors_name_the_layer_of_their_key() {
        let flags = Overrides {
            store: Some("ftp://x".into()),
            ..Overrides::default()
        };
        let c = load_with_env(None, &flags, &[]).unwrap();
        assert_eq!(c.error("store.url", "no").to_string(), "flag --store: no");
        assert_eq!(
            c.error("render.fonts_dir", "no").to_string(),
            "embedded defaults: render.fonts_dir: no"
        );
    }
}
