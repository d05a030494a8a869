//! One assembly: [`App::build`] turns a validated [`Config`] into everything a request needs:
//! the route table (with each route's digest, default image and tags), the resolver (with the
//! signing keys), and the pipeline (fonts, templates, tiers, renderer, limits, policies).
//!
//! `serve`, `render`, `warm`, `check` and `proxy` all build their [`App`] here, so none of them
//! wires a part of its own, and fonts and templates load once, at start-up (and again, whole,
//! on a reload: [`App::rebuild`]). [`Live`] is the handle `serve` answers from: each request
//! takes the App in place when it starts and keeps it to its end, so a reload swaps the whole
//! App between requests, never under one.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::{
    cache::{Memory, Store},
    config::{Config, ConfigError, Engine},
    fonts,
    pipeline::{Pipeline, Policy},
    ratelimit::RenderLimit,
    render::Renderer,
    resolve::Resolver,
    route::{Route, RouteTable},
    signing,
    template::{self, Templates},
};

/// What a command needs beyond the routes and the renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Open the object store (`render --no-store` and `proxy` do without).
    pub store: bool,
    /// Read the signing keys when a route is signed: to check requests from outside, and to
    /// put `?sig=` in the URLs the tags endpoint and the proxy give.
    pub signing_keys: bool,
}

impl Needs {
    /// `serve`: everything.
    pub const SERVE: Self = Self {
        store: true,
        signing_keys: true,
    };
    /// `render`, `warm` and `check`: the store, and no signatures to check.
    pub const LOCAL: Self = Self {
        store: true,
        signing_keys: false,
    };
    /// `proxy`: the keys for its tags, no store.
    pub const PROXY: Self = Self {
        store: false,
        signing_keys: true,
    };
    /// `render --no-store` and `sign`: neither.
    pub const NOTHING: Self = Self {
        store: false,
        signing_keys: false,
    };
}

/// Everything built from the config, shared by every request.
#[derive(Debug)]
pub struct App {
    pub routes: Arc<RouteTable>,
    pub resolver: Resolver,
    pub pipeline: Pipeline,
    /// The font lint: fonts takumi cannot draw (`serve` logs these, `check` lists them).
    pub font_warnings: Vec<String>,
}

impl App {
    /// Loads fonts, compiles templates, reads the signing keys, derives the routes (signed ones
    /// sign their tags with the keys) and opens the store, as `needs` asks. Errors name the
    /// config key.
    pub fn build(config: &Config, needs: Needs) -> Result<Self, ConfigError> {
        Self::build_after(config, needs, None)
    }

    /// [`App::build`] for a reload: everything is built anew from `config`, except the memory
    /// tier, which `previous` hands on when `cache.memory_bytes` is unchanged. Its entries stay
    /// right: a key holds the route's digest, so an edited template or font reads other keys.
    pub fn rebuild(config: &Config, needs: Needs, previous: &App) -> Result<Self, ConfigError> {
        Self::build_after(config, needs, Some(previous))
    }

    fn build_after(
        config: &Config,
        needs: Needs,
        previous: Option<&App>,
    ) -> Result<Self, ConfigError> {
        let fonts =
            fonts::load(&config.render).map_err(|e| config.error(e.key(&config.render), e))?;
        let font_warnings = fonts.warnings.clone();
        let templates =
            Templates::compile(&config.routes).map_err(|(key, e)| config.error(&key, e))?;
        let public_url = config
            .server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.server.listen));
        let keys = (needs.signing_keys && config.routes.iter().any(|r| r.signed))
            .then(|| signing::from_process_env(&config.server.signing_keys_env))
            .transpose()
            .map_err(|e| {
                config.error(
                    "server.signing_keys_env",
                    format!("a route has signed = true: {e}"),
                )
            })?;
        let routes = config
            .routes
            .iter()
            .map(|rc| {
                let lang = rc.lang.or(config.render.lang);
                let digest = template::digest(rc, &fonts.digest, lang);
                Route::build(rc.clone(), digest, &public_url, keys.as_ref(), config)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let routes = Arc::new(RouteTable::new(routes));
        let store = needs
            .store
            .then(|| Store::open(&config.store))
            .transpose()
            .map_err(|e| config.error("store.url", e))?;
        // A route with `preview_compare` needs Chromium too, for the gallery's side-by-side.
        let browser = config
            .routes
            .iter()
            .any(|r| matches!(r.engine, Engine::Browser(_)) || r.preview_compare)
            .then(|| config.browser.clone());
        let renderer = Renderer::new(fonts, templates, browser, &config.render, &config.images)
            .map_err(|e| config.error("images", e))?;
        let memory = previous
            .map(|p| p.pipeline.memory())
            .filter(|m| m.budget() == config.memory_bytes)
            .cloned()
            .unwrap_or_else(|| Memory::new(config.memory_bytes));
        let pipeline = Pipeline::new(
            Arc::clone(&routes),
            memory,
            store,
            renderer,
            RenderLimit::new(&config.rate_limit),
            Policy::from_config(config),
            &config.cluster,
        );
        let resolver = Resolver::new(
            Arc::clone(&routes),
            config.server.ignored_query_params.clone(),
            keys,
            config.server.trusted_proxies.clone(),
        );
        Ok(Self {
            routes,
            resolver,
            pipeline,
            font_warnings,
        })
    }
}

/// The App serving now, replaced whole by a reload ([`Live::swap`]).
#[derive(Debug, Clone)]
pub struct Live {
    current: Arc<ArcSwap<App>>,
}

impl Live {
    pub fn new(app: Arc<App>) -> Self {
        Self {
            current: Arc::new(ArcSwap::new(app)),
        }
    }

    /// The App in place: one atomic load (and a reference count), taken once per request and
    /// held to its end, so a request sees one config from start to finish.
    pub fn load(&self) -> Arc<App> {
        self.current.load_full()
    }

    /// Puts `app` in place for the requests that start from now on; returns the one it
    /// replaces, which requests under way keep until they finish.
    pub fn swap(&self, app: Arc<App>) -> Arc<App> {
        self.current.swap(app)
    }
}

impl From<Arc<App>> for Live {
    fn from(app: Arc<App>) -> Self {
        Self::new(app)
    }
}
