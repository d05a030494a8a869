//! THE request path, in order: resolve the route and validate the id -> memory tier ->
//! single-flight { memory again -> object store -> client's render budget -> render -> store
//! write } -> outcome.
//!
//! `serve`, `render`, `warm` and `check` all go through [`Pipeline`]; none of them has a
//! cache or render path of its own. Failures leave as [`Outcome::Fallback`] with a
//! [`Reason`]: the default image, never stored, never cached in memory.

use std::{net::IpAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use ogforge_tags::Id;
use tracing::{debug, warn};

use crate::{
    cache::{Image, Key, Memory, Store, Tier, flight::Flights, flight::Role},
    config::{Config, ConfigError, Engine},
    encode::sniff_content_type,
    fallback::{Fallback, Reason},
    fonts,
    metrics::{self as m, Timer},
    ratelimit::RenderLimit,
    render::{RenderError, Renderer},
    route::{Route, RouteTable},
    template::{self, Templates},
};

/// What a caller wants from the tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Look in memory and the store before rendering.
    pub read_tiers: bool,
    /// Write a fresh render to the store.
    pub write_store: bool,
    /// The client a render is charged to (`[rate_limit]`); `None` (the CLI) is never limited.
    pub client: Option<IpAddr>,
}

impl Options {
    /// What `warm` does, and the HTTP service with its client set.
    pub const SERVE: Self = Self {
        read_tiers: true,
        write_store: true,
        client: None,
    };
}

/// The result of one request through the pipeline.
#[derive(Debug, Clone)]
pub enum Outcome {
    Served {
        route: Arc<Route>,
        id: Id,
        image: Image,
        tier: Tier,
        /// This request waited on a render another request started.
        joined: bool,
        /// How long the render took, when this image was rendered for this request (or the
        /// flight it joined).
        render_time: Option<Duration>,
    },
    Fallback(Fallback),
}

/// The flight result: an image, where it came from and how long its render took, or why
/// there is none.
type Filled = Result<(Image, Tier, Option<Duration>), Reason>;

/// Everything a request needs, built once at start-up.
#[derive(Debug)]
pub struct Pipeline {
    routes: RouteTable,
    memory: Memory,
    store: Option<Store>,
    flights: Flights<Filled>,
    renderer: Arc<Renderer>,
    /// Renders per client (`[rate_limit]`); `None` when off.
    limit: Option<Arc<RenderLimit>>,
}

impl Pipeline {
    /// Loads fonts, compiles templates, opens the store. Errors name the config key.
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        Self::build_with_store(config, true)
    }

    /// [`Self::build`] without opening a store (for `render --no-store` and `check`).
    pub fn build_with_store(config: &Config, open_store: bool) -> Result<Self, ConfigError> {
        let origin = config.origin.as_str();
        let fonts = fonts::load(config.render.fonts_dir.as_deref())
            .map_err(|e| ConfigError::new(origin, "render.fonts_dir", e))?;
        let templates = Templates::compile(&config.routes)
            .map_err(|(key, e)| ConfigError::new(origin, key, e))?;
        let mut routes = Vec::with_capacity(config.routes.len());
        for rc in &config.routes {
            let digest = template::digest(rc, &fonts.digest);
            let data = Bytes::from(rc.default_image.data.clone());
            let content_type = sniff_content_type(&data).ok_or_else(|| {
                ConfigError::new(
                    origin,
                    format!("{}.default_image", rc.key),
                    "not a JPEG, PNG or WebP image",
                )
            })?;
            routes.push(Route {
                config: rc.clone(),
                digest,
                default_image: Image::new(data, content_type),
                label: metrics::SharedString::from_shared(Arc::from(rc.name.as_str())),
            });
        }
        let store = if open_store {
            Some(Store::open(&config.store).map_err(|e| ConfigError::new(origin, "store.url", e))?)
        } else {
            None
        };
        Ok(Self {
            routes: RouteTable::new(routes),
            memory: Memory::new(config.memory_bytes),
            store,
            flights: Flights::default(),
            renderer: Arc::new(Renderer::new(
                fonts,
                templates,
                config
                    .routes
                    .iter()
                    .any(|r| matches!(r.engine, Engine::Browser(_)))
                    .then(|| config.browser.clone()),
                config.render.concurrency,
                config.render.timeout,
                config.render.queue,
            )),
            limit: RenderLimit::new(&config.rate_limit).map(Arc::new),
        })
    }

    /// Starts what the first render would otherwise wait for (Chromium, for browser routes).
    pub async fn warm_up(&self) -> Result<(), RenderError> {
        self.renderer.warm().await
    }

    /// Ends the renderers' processes (Chromium); call once no request is left.
    pub async fn shutdown(&self) {
        self.renderer.shutdown().await;
    }

    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    pub(crate) fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Serves a request path.
    pub async fn handle(&self, path: &str) -> Outcome {
        self.handle_with(path, Options::SERVE).await
    }

    /// Resolves a path, then runs [`Self::fetch`].
    pub async fn handle_with(&self, path: &str, opts: Options) -> Outcome {
        match self.routes.resolve(path) {
            Ok((route, id)) => self.fetch(route, id, opts).await,
            Err(unresolved) => fallback(unresolved.route, unresolved.reason),
        }
    }

    /// The tiers and the render for an already validated id.
    pub async fn fetch(&self, route: Arc<Route>, id: Id, opts: Options) -> Outcome {
        let key = Key::new(&route, &id);
        if opts.read_tiers
            && let Some(image) = self.memory.get(&key).await
        {
            return served(route, id, image, Tier::Memory, false, None);
        }
        let work = || {
            let stages = Stages {
                memory: self.memory.clone(),
                store: self
                    .store
                    .clone()
                    .filter(|_| opts.read_tiers || opts.write_store),
                renderer: Arc::clone(&self.renderer),
                limit: self.limit.clone(),
            };
            let (route, id, key) = (Arc::clone(&route), id.clone(), key.clone());
            move || fill(stages, route, id, key, opts)
        };
        let (mut filled, mut role) = self.flights.run(key.as_str(), work()).await;
        // The flight's leader was over its budget; that says nothing about this client, so
        // it tries once on its own account.
        if role == Role::Joined && matches!(filled, Some(Err(Reason::RateLimited))) {
            (filled, role) = self.flights.run(key.as_str(), work()).await;
        }
        if role == Role::Joined {
            metrics::counter!(m::FLIGHT_WAITERS).increment(1);
        }
        match filled {
            Some(Ok((image, tier, took))) => {
                served(route, id, image, tier, role == Role::Joined, took)
            }
            Some(Err(reason)) => fallback(route, reason),
            None => fallback(route, Reason::RenderError),
        }
    }

    /// The default image for a request refused before the tiers (a bad signature).
    pub fn refuse(&self, path: &str, reason: Reason) -> Outcome {
        let route = self.routes.matching(path).unwrap_or(self.routes.first());
        fallback(Arc::clone(route), reason)
    }

    /// Renders a route's sample id without touching any tier (for `check`).
    pub async fn render_sample(&self, route: &Arc<Route>) -> Option<Result<Bytes, RenderError>> {
        let sample = route.config.sample_id.as_deref()?;
        let id = match self.routes.resolve_id(route, sample) {
            Ok(id) => id,
            // `config` already checked the sample against the pattern.
            Err(_) => return None,
        };
        Some(self.renderer.render(route, &id).await)
    }
}

fn served(
    route: Arc<Route>,
    id: Id,
    image: Image,
    tier: Tier,
    joined: bool,
    render_time: Option<Duration>,
) -> Outcome {
    Outcome::Served {
        route,
        id,
        image,
        tier,
        joined,
        render_time,
    }
}

fn fallback(route: Arc<Route>, reason: Reason) -> Outcome {
    metrics::counter!(m::FALLBACKS, "route" => route.label.clone(), "reason" => reason.code())
        .increment(1);
    Outcome::Fallback(Fallback {
        reason,
        image: route.default_image.clone(),
        max_age: route.config.fallback_max_age,
        route,
    })
}

/// What one flight works with (cheap clones of the pipeline's parts).
struct Stages {
    memory: Memory,
    store: Option<Store>,
    renderer: Arc<Renderer>,
    limit: Option<Arc<RenderLimit>>,
}

/// The work of one flight: memory again (a flight may have just ended), the store, the
/// client's render budget, then a render and the store write. Runs as its own task (see
/// `cache::flight`).
async fn fill(stages: Stages, route: Arc<Route>, id: Id, key: Key, opts: Options) -> Filled {
    let Stages {
        memory,
        store,
        renderer,
        limit,
    } = stages;
    let content_type = route.config.format.content_type();
    if opts.read_tiers {
        if let Some(image) = memory.get(&key).await {
            return Ok((image, Tier::Memory, None));
        }
        if let Some(store) = &store {
            let _t = Timer::new(metrics::histogram!(m::STORE_SECONDS, "op" => "get"));
            match store.get(&key).await {
                Ok(Some(bytes)) => {
                    let image = Image::new(bytes, content_type);
                    memory.insert(&key, image.clone()).await;
                    return Ok((image, Tier::Store, None));
                }
                Ok(None) => {}
                Err(e) => {
                    metrics::counter!(m::STORE_ERRORS, "op" => "get").increment(1);
                    warn!(%key, error = %e, "store read failed; rendering instead");
                }
            }
        }
    }

    let route_name = route.label.clone();
    // Only here is it certain that this request costs a render: hits never reach this line.
    if let (Some(limit), Some(client)) = (&limit, opts.client)
        && !limit.allow(client).await
    {
        metrics::counter!(m::RATE_LIMITED, "route" => route_name).increment(1);
        debug!(%key, "client over its render rate limit");
        return Err(Reason::RateLimited);
    }
    let in_flight = metrics::gauge!(m::RENDERS_IN_FLIGHT);
    in_flight.increment(1.0);
    let started = std::time::Instant::now();
    let rendered = renderer.render(&route, &id).await;
    let took = started.elapsed();
    in_flight.decrement(1.0);
    // A refusal is not a render: its zero time would drag the render quantiles down.
    if !matches!(rendered, Err(RenderError::Overloaded)) {
        metrics::histogram!(m::RENDER_SECONDS, "route" => route_name.clone(), "renderer" => route.config.engine.name())
            .record(took.as_secs_f64());
    }
    let bytes = match rendered {
        Ok(bytes) => {
            metrics::counter!(m::RENDERS, "route" => route_name, "outcome" => "ok").increment(1);
            bytes
        }
        Err(e) => {
            let reason = e.reason();
            metrics::counter!(m::RENDERS, "route" => route_name, "outcome" => reason.code())
                .increment(1);
            warn!(%key, reason = reason.code(), error = %e, "render failed; serving the default image");
            return Err(reason);
        }
    };
    debug!(%key, ms = took.as_millis() as u64, bytes = bytes.len(), "rendered");

    let image = Image::new(bytes, content_type);
    if opts.write_store
        && let Some(store) = &store
    {
        let _t = Timer::new(metrics::histogram!(m::STORE_SECONDS, "op" => "put"));
        if let Err(e) = store
            .put(
                &key,
                image.bytes.clone(),
                content_type,
                &route.cache_control(),
            )
            .await
        {
            // The image is still good: serve it, and the next miss tries the write again.
            metrics::counter!(m::STORE_ERRORS, "op" => "put").increment(1);
            warn!(%key, error = %e, "store write failed; serving the render anyway");
        }
    }
    memory.insert(&key, image.clone()).await;
    Ok((image, Tier::Render, Some(took)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load_with_env};

    fn limited_pipeline() -> Pipeline {
        let env = [
            ("OGFORGE__RATE_LIMIT__RENDERS_PER_MINUTE", "1"),
            ("OGFORGE__RATE_LIMIT__BURST", "1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let config = load_with_env(None, &Overrides::default(), &env).unwrap();
        Pipeline::build_with_store(&config, false).unwrap()
    }

    fn from(ip: &str) -> Options {
        Options {
            client: Some(ip.parse().unwrap()),
            ..Options::SERVE
        }
    }

    fn tier(o: &Outcome) -> Result<Tier, Reason> {
        match o {
            Outcome::Served { tier, .. } => Ok(*tier),
            Outcome::Fallback(f) => Err(f.reason),
        }
    }

    /// A client that joins a flight whose leader is over its budget is not refused for the
    /// leader's sake: it renders on its own account. (Current-thread runtime: `a` starts the
    /// flight, `b` joins it before its task runs.)
    #[tokio::test(flavor = "current_thread")]
    async fn a_joiner_is_not_refused_for_its_leaders_budget() {
        let p = limited_pipeline();
        let (a, b) = (from("192.0.2.1"), from("192.0.2.2"));
        assert_eq!(
            tier(&p.handle_with("/11-11-11.jpg", a).await),
            Ok(Tier::Render)
        );
        assert_eq!(
            tier(&p.handle_with("/22-22-22.jpg", a).await),
            Err(Reason::RateLimited)
        );
        let (ra, rb) = tokio::join!(
            p.handle_with("/33-33-33.jpg", a),
            p.handle_with("/33-33-33.jpg", b)
        );
        assert_eq!(tier(&ra), Err(Reason::RateLimited));
        assert_eq!(tier(&rb), Ok(Tier::Render));
        // Hits are never charged: `a` is over its budget and still gets the cached image.
        assert_eq!(
            tier(&p.handle_with("/33-33-33.jpg", a).await),
            Ok(Tier::Memory)
        );
        // The CLI has no client and is never limited.
        assert_eq!(
            tier(&p.handle_with("/44-44-44.jpg", Options::SERVE).await),
            Ok(Tier::Render)
        );
    }
}
