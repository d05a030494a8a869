//! THE request path, in order: a [`Resolution`] in -> memory tier -> single-flight { memory
//! again -> object store -> client's render budget -> render -> store write } -> [`Outcome`].
//!
//! `serve` (through [`Pipeline::serve`], with the request deadline and the policies for bad
//! signatures, overload and rate limits applied), `render`, `warm` and `check` (through
//! [`Pipeline::run`]) all go through here; none of them has a cache or render path of its own.
//! Failures leave as [`Outcome::Fallback`] with a [`Reason`]: the default image, never stored,
//! never cached in memory.

mod miss;
mod preview;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use tracing::warn;

use crate::{
    cache::{Memory, Store, Tier, flight::Flights, flight::Role, lease::Leases, writer::Writer},
    config::{ClusterConfig, Config, OverLimit, Overload},
    metrics as m,
    outcome::{Fallback, Outcome, Refusal, Refused, Served},
    ratelimit::RenderLimit,
    reason::Reason,
    render::{RenderError, Renderer},
    resolve::{Resolution, Resolved, Unresolved},
    route::{Route, RouteTable},
};
use miss::{Filled, Stages};
pub use preview::Preview;

/// What a caller wants from the tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Look in memory and the store before rendering.
    pub read_tiers: bool,
    /// Write a fresh render to the store.
    pub write_store: bool,
}

impl Options {
    /// What the HTTP service and `warm` do.
    pub const SERVE: Self = Self {
        read_tiers: true,
        write_store: true,
    };
}

/// What the HTTP service answers where a request cannot get its image, from the config.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// `server.request_timeout_ms`: past it, 503.
    pub(crate) deadline: Duration,
    /// `server.bad_signature = "default-image"`: the default image instead of 403.
    pub(crate) bad_signature_default_image: bool,
    /// `render.overload`: a miss refused by the full queue.
    pub(crate) overload: Overload,
    /// `rate_limit.over_limit`: a miss over its client's budget.
    pub(crate) over_limit: OverLimit,
    /// `Retry-After` of a 429: one render's worth of the client's rate.
    pub(crate) rate_limit_retry_after_secs: u64,
}

impl Policy {
    pub(crate) fn from_config(config: &Config) -> Self {
        Self {
            deadline: config.server.request_timeout,
            bad_signature_default_image: config.server.bad_signature_default_image,
            overload: config.render.overload,
            over_limit: config.rate_limit.over_limit,
            rate_limit_retry_after_secs: RenderLimit::retry_after_secs(&config.rate_limit),
        }
    }
}

/// The tiers, the renderer and the policies, built once by [`crate::app::App::build`].
#[derive(Debug)]
pub struct Pipeline {
    routes: Arc<RouteTable>,
    memory: Memory,
    store: Option<Store>,
    /// Store writes behind the response, and the writes kept during an outage.
    writer: Option<Writer>,
    /// Render leases in the store (`[cluster]`); `None` without a store.
    leases: Option<Arc<Leases>>,
    flights: Flights<Result<Filled, Reason>>,
    renderer: Arc<Renderer>,
    /// Renders per client (`[rate_limit]`); `None` when off.
    limit: Option<Arc<RenderLimit>>,
    policy: Policy,
}

impl Pipeline {
    pub(crate) fn new(
        routes: Arc<RouteTable>,
        memory: Memory,
        store: Option<Store>,
        renderer: Renderer,
        limit: Option<RenderLimit>,
        policy: Policy,
        cluster: &ClusterConfig,
    ) -> Self {
        Self {
            routes,
            memory,
            writer: store.clone().map(Writer::new),
            leases: store.clone().map(|s| Arc::new(Leases::new(s, cluster))),
            store,
            flights: Flights::default(),
            renderer: Arc::new(renderer),
            limit: limit.map(Arc::new),
            policy,
        }
    }

    /// Starts what the first render would otherwise wait for (Chromium, for browser routes).
    pub async fn warm_up(&self) -> Result<(), RenderError> {
        self.renderer.warm().await
    }

    /// Ends the renderers' processes (Chromium); call once no request is left.
    pub async fn shutdown(&self) {
        self.renderer.shutdown().await;
    }

    /// The memory tier, which a reload hands on to the next pipeline.
    pub(crate) fn memory(&self) -> &Memory {
        &self.memory
    }

    pub(crate) fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Sets the gauges that are read, not counted: the memory tier's size and the pending
    /// store writes. Called on each scrape.
    pub async fn observe(&self) {
        let (entries, bytes) = self.memory.stats().await;
        metrics::gauge!(m::MEMORY_ENTRIES).set(entries as f64);
        metrics::gauge!(m::MEMORY_BYTES).set(bytes as f64);
        let pending = self.writer.as_ref().map_or(0, Writer::pending);
        metrics::gauge!(m::STORE_PENDING).set(pending as f64);
    }

    /// An HTTP request: the tiers within the request deadline, then the policies for what
    /// could not be served (bad signature, overload, rate limit).
    pub async fn serve(&self, resolution: Resolution) -> Outcome {
        let resolved = match resolution {
            Ok(resolved) => resolved,
            // A page with a stale or forged link still shows a card, and nothing is rendered.
            Err(Unresolved::BadSignature { route }) if self.policy.bad_signature_default_image => {
                return fallback(route, Reason::BadSignature);
            }
            Err(Unresolved::BadSignature { route }) => {
                return refused(Some(route), Refusal::BadSignature);
            }
            Err(unresolved) => return self.unresolved(unresolved),
        };
        let route = Arc::clone(&resolved.route);
        let Ok(outcome) =
            tokio::time::timeout(self.policy.deadline, self.fetch(resolved, Options::SERVE)).await
        else {
            // Dropping the fetch never cuts a render or store write in half: those run in the
            // flight's own task (`cache/flight.rs`) and still land whole.
            metrics::counter!(m::REQUEST_TIMEOUTS, "route" => route.label.clone()).increment(1);
            warn!(timeout = ?self.policy.deadline, "request timed out (server.request_timeout_ms)");
            return refused(Some(route), Refusal::TimedOut);
        };
        match outcome {
            Outcome::Fallback(f)
                if f.reason == Reason::Overloaded
                    && self.policy.overload == Overload::Unavailable =>
            {
                refused(Some(f.route), Refusal::Overloaded)
            }
            Outcome::Fallback(f)
                if f.reason == Reason::RateLimited
                    && self.policy.over_limit == OverLimit::TooManyRequests =>
            {
                let retry_after_secs = self.policy.rate_limit_retry_after_secs;
                refused(Some(f.route), Refusal::RateLimited { retry_after_secs })
            }
            other => other,
        }
    }

    /// A memory hit, answered before any deadline, span or flight: the one lookup a hit needs.
    /// Everything else (a miss, a data route, whose key needs its data, a request that did not
    /// resolve) comes back for [`Self::serve`].
    pub async fn memory_hit(&self, resolution: Resolution) -> Result<Outcome, Resolution> {
        let resolved = match resolution {
            Ok(resolved) if resolved.route.data.is_none() => resolved,
            other => return Err(other),
        };
        let key = resolved.route.key(&resolved.id, None);
        match self.memory.get(&key).await {
            Some(image) => Ok(from_memory(resolved.route, resolved.id, image)),
            None => Err(Ok(resolved)),
        }
    }

    /// A local caller (`render`, `warm`): no deadline, and what cannot be served is the default
    /// image with its reason.
    pub async fn run(&self, resolution: Resolution, opts: Options) -> Outcome {
        match resolution {
            Ok(resolved) => self.fetch(resolved, opts).await,
            Err(unresolved) => self.unresolved(unresolved),
        }
    }

    /// A request that did not resolve: the default image (the matched route's, else the first
    /// route's), or a refusal of a query no route takes.
    fn unresolved(&self, unresolved: Unresolved) -> Outcome {
        match unresolved {
            Unresolved::UnknownRoute => {
                fallback(Arc::clone(self.routes.first()), Reason::UnknownRoute)
            }
            Unresolved::UnexpectedQuery { route } => refused(route, Refusal::UnexpectedQuery),
            Unresolved::BadSignature { route } => fallback(route, Reason::BadSignature),
            Unresolved::BadId { route, reason } => fallback(route, reason),
        }
    }

    /// The tiers and the render for a resolved request; a data route's data first, since its
    /// values are part of the key.
    async fn fetch(&self, resolved: Resolved, opts: Options) -> Outcome {
        let Resolved { route, id, client } = resolved;
        let data = match &route.data {
            None => None,
            Some(source) => match source.load(&id).await {
                Ok(data) => Some(Arc::new(data)),
                Err(e) => {
                    warn!(route = %route.config.name, reason = e.reason.code(), error = %e.detail, "no data; serving the default image");
                    return fallback(route, e.reason);
                }
            },
        };
        let key = route.key(&id, data.as_deref());
        if opts.read_tiers
            && let Some(image) = self.memory.get(&key).await
        {
            return from_memory(route, id, image);
        }
        let work = || {
            let stages = Stages {
                memory: self.memory.clone(),
                store: self.store.clone().filter(|_| opts.read_tiers),
                writer: self.writer.clone().filter(|_| opts.write_store),
                leases: (self.leases.clone()).filter(|l| {
                    opts.read_tiers && opts.write_store && l.covers(&route.config.engine)
                }),
                renderer: Arc::clone(&self.renderer),
                limit: self.limit.clone().zip(client),
            };
            let (route, id, key) = (Arc::clone(&route), id.clone(), key.clone());
            let data = data.clone();
            move || miss::fill(stages, route, id, data, key, opts)
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
            Some(Ok(f)) => Outcome::Served(Served {
                route,
                id,
                image: f.image,
                tier: f.tier,
                joined: role == Role::Joined,
                render_time: f.render_time,
                stored: f.stored,
            }),
            Some(Err(reason)) => fallback(route, reason),
            None => fallback(route, Reason::RenderError),
        }
    }

    /// Forgets what this instance holds for `id` on `route`: its data (refetched on the next
    /// request, so edited data gets its new key at once) and its image in memory. The store
    /// keeps its copy: a key holds one image forever, and edited data is a new key. Returns
    /// whether a memory entry was dropped.
    pub async fn purge(&self, route: &Arc<Route>, id: &ogforge_tags::Id) -> bool {
        let data = match &route.data {
            Some(source) => source.purge(id).await,
            None => None,
        };
        let key = route.key(id, data.as_ref());
        self.memory.remove(&key).await
    }

    /// Renders a route's sample id without touching any tier (for `check`), with its data
    /// fetched for a data route.
    pub async fn render_sample(&self, route: &Arc<Route>) -> Option<Result<Bytes, RenderError>> {
        let sample = route.config.sample_id.as_deref()?;
        // `config` already checked the sample against the pattern.
        let id = route.config.ids.check(sample).ok()?;
        let data = match &route.data {
            None => None,
            Some(source) => match source.load(&id).await {
                Ok(data) => Some(Arc::new(data)),
                Err(e) => return Some(Err(e.into())),
            },
        };
        Some(self.renderer.render(route, &id, data).await)
    }

    /// For `check`: the characters no loaded font has in the route's `sample_text`, and in the
    /// text of its sample id's card.
    pub fn uncovered_sample(&self, route: &Route) -> Result<Uncovered, RenderError> {
        let c = &route.config;
        let id = (c.sample_id.as_deref()).and_then(|s| c.ids.check(s).ok());
        Ok(Uncovered {
            sample_text: (self.renderer).uncovered(
                route,
                None,
                c.sample_text.as_deref().unwrap_or(""),
            )?,
            sample_card: match &id {
                Some(id) => self.renderer.uncovered(route, Some(id), "")?,
                None => Vec::new(),
            },
        })
    }
}

/// Characters of a route's samples that no loaded font has.
#[derive(Debug, Default)]
pub struct Uncovered {
    /// In its `sample_text`.
    pub sample_text: Vec<char>,
    /// In the card its `sample_id` renders.
    pub sample_card: Vec<char>,
}

/// An image the memory tier held: stored already, neither rendered nor waited for.
fn from_memory(route: Arc<Route>, id: ogforge_tags::Id, image: crate::image::Image) -> Outcome {
    Outcome::Served(Served {
        route,
        id,
        image,
        tier: Tier::Memory,
        joined: false,
        render_time: None,
        stored: true,
    })
}

fn fallback(route: Arc<Route>, reason: Reason) -> Outcome {
    metrics::counter!(m::FALLBACKS, "route" => route.label.clone(), "reason" => reason.code())
        .increment(1);
    Outcome::Fallback(Fallback { route, reason })
}

fn refused(route: Option<Arc<Route>>, refusal: Refusal) -> Outcome {
    Outcome::Refused(Refused { route, refusal })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::{
        app::{App, Needs},
        config::{Overrides, load_with_env},
    };

    fn limited_app() -> App {
        let env = [
            ("OGFORGE__RATE_LIMIT__RENDERS_PER_MINUTE", "1"),
            ("OGFORGE__RATE_LIMIT__BURST", "1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let config = load_with_env(None, &Overrides::default(), &env).unwrap();
        App::build(&config, Needs::NOTHING).unwrap()
    }

    /// `path` resolved for a client at `ip` (the CLI's resolution, with a client set).
    fn from(app: &App, path: &str, ip: Option<&str>) -> Resolution {
        app.resolver.path(path).map(|r| Resolved {
            client: ip.map(|ip| ip.parse().unwrap()),
            ..r
        })
    }

    fn tier(o: &Outcome) -> Result<Tier, Reason> {
        match o {
            Outcome::Served(s) => Ok(s.tier),
            Outcome::Fallback(f) => Err(f.reason),
            Outcome::Refused(r) => panic!("refused: {:?}", r.refusal),
        }
    }

    /// A client that joins a flight whose leader is over its budget is not refused for the
    /// leader's sake: it renders on its own account. (Current-thread runtime: `a` starts the
    /// flight, `b` joins it before its task runs.)
    #[tokio::test(flavor = "current_thread")]
    async fn a_joiner_is_not_refused_for_its_leaders_budget() {
        let app = limited_app();
        let p = &app.pipeline;
        let (a, b) = (Some("192.0.2.1"), Some("192.0.2.2"));
        let run = |path, ip| p.run(from(&app, path, ip), Options::SERVE);
        assert_eq!(tier(&run("/11-11-11.jpg", a).await), Ok(Tier::Render));
        assert_eq!(
            tier(&run("/22-22-22.jpg", a).await),
            Err(Reason::RateLimited)
        );
        let (ra, rb) = tokio::join!(run("/33-33-33.jpg", a), run("/33-33-33.jpg", b));
        assert_eq!(tier(&ra), Err(Reason::RateLimited));
        assert_eq!(tier(&rb), Ok(Tier::Render));
        // Hits are never charged: `a` is over its budget and still gets the cached image.
        assert_eq!(tier(&run("/33-33-33.jpg", a).await), Ok(Tier::Memory));
        // The CLI has no client and is never limited.
        assert_eq!(tier(&run("/44-44-44.jpg", None).await), Ok(Tier::Render));
    }

    /// Over HTTP the policy turns the same refusal into a 429 with the rate's retry hint.
    #[tokio::test(flavor = "current_thread")]
    async fn serve_applies_the_rate_limit_policy() {
        let app = limited_app();
        let p = &app.pipeline;
        let a = Some("192.0.2.1");
        assert!(matches!(
            p.serve(from(&app, "/11-11-11.jpg", a)).await,
            Outcome::Served(_)
        ));
        match p.serve(from(&app, "/22-22-22.jpg", a)).await {
            Outcome::Refused(r) => {
                assert!(matches!(r.refusal, Refusal::RateLimited { .. }));
                assert_eq!(r.route.unwrap().config.name, "default");
            }
            other => panic!("{other:?}"),
        }
    }
}
