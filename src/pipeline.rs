//! THE request path, in order: a [`Resolution`] in -> memory tier -> single-flight { memory
//! again -> object store -> client's render budget -> render -> store write } -> [`Outcome`].
//!
//! `serve` (through [`Pipeline::serve`], with the request deadline and the policies for bad
//! signatures, overload and rate limits applied), `render`, `warm` and `check` (through
//! [`Pipeline::run`]) all go through here; none of them has a cache or render path of its own.
//! Failures leave as [`Outcome::Fallback`] with a [`Reason`]: the default image, never stored,
//! never cached in memory.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use ogforge_tags::Id;
use tracing::{debug, warn};

use crate::{
    cache::{Key, Memory, Store, Tier, flight::Flights, flight::Role},
    config::{Config, OverLimit, Overload},
    image::Image,
    metrics::{self as m, Timer},
    outcome::{Fallback, Outcome, Refusal, Refused, Served},
    ratelimit::RenderLimit,
    reason::Reason,
    render::{RenderError, Renderer},
    resolve::{Resolution, Resolved, Unresolved},
    route::{Route, RouteTable},
};

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

/// The flight result: an image, where it came from and how long its render took, or why
/// there is none.
type Filled = Result<(Image, Tier, Option<Duration>), Reason>;

/// The tiers, the renderer and the policies, built once by [`crate::app::App::build`].
#[derive(Debug)]
pub struct Pipeline {
    routes: Arc<RouteTable>,
    memory: Memory,
    store: Option<Store>,
    flights: Flights<Filled>,
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
    ) -> Self {
        Self {
            routes,
            memory,
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

    pub(crate) fn store(&self) -> Option<&Store> {
        self.store.as_ref()
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

    /// The tiers and the render for a resolved request.
    async fn fetch(&self, resolved: Resolved, opts: Options) -> Outcome {
        let Resolved { route, id, client } = resolved;
        let key = route.key(&id);
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
                limit: self.limit.clone().filter(|_| client.is_some()),
            };
            let (route, id, key) = (Arc::clone(&route), id.clone(), key.clone());
            move || fill(stages, route, id, key, client, opts)
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

    /// Renders a route's sample id without touching any tier (for `check`).
    pub async fn render_sample(&self, route: &Arc<Route>) -> Option<Result<Bytes, RenderError>> {
        let sample = route.config.sample_id.as_deref()?;
        // `config` already checked the sample against the pattern.
        let id = route.config.ids.check(sample).ok()?;
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
    Outcome::Served(Served {
        route,
        id,
        image,
        tier,
        joined,
        render_time,
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
async fn fill(
    stages: Stages,
    route: Arc<Route>,
    id: Id,
    key: Key,
    client: Option<std::net::IpAddr>,
    opts: Options,
) -> Filled {
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
    if let (Some(limit), Some(client)) = (&limit, client)
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
                route.cache_control.to_str().unwrap_or_default(),
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
