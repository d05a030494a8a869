//! What a miss does, in the flight's own task (`cache/flight.rs`), so a client that goes away
//! cannot cut it in half: memory again (a flight may have just ended) -> the object store
//! (checked; a damaged object is rendered again) -> the render lease, where `cluster.lease`
//! asks for one (`cache/lease.rs`: another replica's image may come back instead) -> the
//! client's render budget -> the render -> memory -> the store write, behind the response
//! (`cache/writer.rs`). A write that finds the key taken (another replica stored it first)
//! serves the stored object, so every replica serves one set of bytes and one ETag per id.

use std::{net::IpAddr, sync::Arc, time::Duration};

use ogforge_tags::Id;
use tracing::{debug, warn};

use super::Options;
use crate::{
    cache::{
        Key, Memory, Tier,
        lease::{Leases, Ticket},
        store::{Got, Store, WriteMode},
        writer::{Write, Writer, Written},
    },
    data::Data,
    image::Image,
    metrics::{self as m, Timer},
    ratelimit::RenderLimit,
    reason::Reason,
    render::{RenderError, Renderer},
    route::Route,
};

/// What a flight brings back: the image, where it came from and how long its render took, or
/// why there is none.
#[derive(Debug, Clone)]
pub(super) struct Filled {
    pub(super) image: Image,
    pub(super) tier: Tier,
    pub(super) render_time: Option<Duration>,
    /// For a render: whether the store confirmed the write before the response.
    pub(super) stored: bool,
}

/// What one flight works with (cheap clones of the pipeline's parts).
#[derive(Debug)]
pub(super) struct Stages {
    pub(super) memory: Memory,
    pub(super) store: Option<Store>,
    pub(super) writer: Option<Writer>,
    /// Where this route's renders take a lease first (`cluster.lease`).
    pub(super) leases: Option<Arc<Leases>>,
    pub(super) renderer: Arc<Renderer>,
    /// The client's render budget; `None` when off or for a caller with no client.
    pub(super) limit: Option<(Arc<RenderLimit>, IpAddr)>,
}

/// The work of one flight.
pub(super) async fn fill(
    stages: Stages,
    route: Arc<Route>,
    id: Id,
    data: Option<Arc<Data>>,
    key: Key,
    opts: Options,
) -> Result<Filled, Reason> {
    let content_type = route.config.format.content_type();
    let mut mode = WriteMode::Create;
    if opts.read_tiers {
        if let Some(image) = stages.memory.get(&key).await {
            return Ok(hit(image, Tier::Memory));
        }
        if let Some(store) = &stages.store {
            match read(store, &key, content_type).await {
                Some(Got::Found(bytes)) => {
                    let image = Image::new(bytes, content_type);
                    stages.memory.insert(&key, image.clone()).await;
                    return Ok(hit(image, Tier::Store));
                }
                Some(Got::Damaged) => mode = WriteMode::Replace,
                Some(Got::Absent) | None => {}
            }
        }
    }
    let mut lease = None;
    if let Some(leases) = &stages.leases {
        match leases.acquire(&key, content_type).await {
            Ticket::Served(bytes) => {
                let image = Image::new(bytes, content_type);
                stages.memory.insert(&key, image.clone()).await;
                return Ok(hit(image, Tier::Store));
            }
            Ticket::Held(held) => lease = Some(held),
            Ticket::Unguarded => {}
        }
    }
    // Only here is it certain that this request costs a render: hits never reach this line.
    if let Some((limit, client)) = &stages.limit
        && !limit.allow(*client).await
    {
        metrics::counter!(m::RATE_LIMITED, "route" => route.label.clone()).increment(1);
        debug!(%key, "client over its render rate limit");
        release(lease).await;
        return Err(Reason::RateLimited);
    }
    let rendered = render(&stages.renderer, &route, &id, data, &key).await;
    let (bytes, took) = match rendered {
        Ok(done) => done,
        Err(reason) => {
            // Nothing is stored: the lease goes, and a waiter tries for itself.
            release(lease).await;
            return Err(reason);
        }
    };
    let mut image = Image::new(bytes, content_type);
    stages.memory.insert(&key, image.clone()).await;
    let stored = match (&stages.writer, opts.write_store) {
        (Some(writer), true) => {
            let write = Write {
                key: key.clone(),
                bytes: image.bytes.clone(),
                content_type,
                cache_control: route.cache_control.to_str().unwrap_or_default().to_owned(),
                mode,
            };
            match writer.write(write).await {
                Written::Stored => true,
                Written::Pending => false,
                Written::Exists => match &stages.store {
                    Some(store) => match stored_instead(store, &key, content_type).await {
                        Some(theirs) => {
                            image = theirs;
                            stages.memory.insert(&key, image.clone()).await;
                            true
                        }
                        None => false,
                    },
                    None => false,
                },
            }
        }
        _ => false,
    };
    release(lease).await;
    Ok(Filled {
        image,
        tier: Tier::Render,
        render_time: Some(took),
        stored,
    })
}

async fn release(lease: Option<crate::cache::lease::Lease>) {
    if let Some(lease) = lease {
        lease.release().await;
    }
}

/// After a create found the key taken: the stored object, read again once if it is not
/// visible yet (S3 may answer "already exists" to a racing write before the winner's object
/// can be read). `None`: this replica serves its own render.
async fn stored_instead(store: &Store, key: &Key, content_type: &'static str) -> Option<Image> {
    for attempt in 0..2 {
        if attempt > 0 {
            tokio::time::sleep(REREAD_AFTER).await;
        }
        if let Ok(Got::Found(bytes)) = store.get(key, content_type).await {
            return Some(Image::new(bytes, content_type));
        }
    }
    warn!(%key, "the key exists but its object cannot be read; serving this render");
    None
}

/// How long before the one re-read of a key another replica is writing.
const REREAD_AFTER: Duration = Duration::from_millis(100);

fn hit(image: Image, tier: Tier) -> Filled {
    Filled {
        image,
        tier,
        render_time: None,
        stored: true,
    }
}

/// The store read; `None` when the store failed or was skipped (the miss renders instead).
async fn read(store: &Store, key: &Key, content_type: &str) -> Option<Got> {
    let skipped = store.is_skipped();
    let _t = (!skipped).then(|| Timer::new(metrics::histogram!(m::STORE_SECONDS, "op" => "get")));
    match store.get(key, content_type).await {
        Ok(Got::Damaged) => {
            metrics::counter!(m::STORE_DAMAGED).increment(1);
            warn!(%key, "stored object is not a whole image; rendering it again");
            Some(Got::Damaged)
        }
        Ok(got) => Some(got),
        Err(e) => {
            if !skipped {
                metrics::counter!(m::STORE_ERRORS, "op" => "get").increment(1);
                warn!(%key, error = %e, "store read failed; rendering instead");
            }
            None
        }
    }
}

/// One render, timed and counted.
async fn render(
    renderer: &Arc<Renderer>,
    route: &Arc<Route>,
    id: &Id,
    data: Option<Arc<Data>>,
    key: &Key,
) -> Result<(bytes::Bytes, Duration), Reason> {
    let route_name = route.label.clone();
    let in_flight = metrics::gauge!(m::RENDERS_IN_FLIGHT);
    in_flight.increment(1.0);
    let started = std::time::Instant::now();
    let rendered = renderer.render(route, id, data).await;
    let took = started.elapsed();
    in_flight.decrement(1.0);
    // A refusal is not a render: its zero time would drag the render quantiles down.
    if !matches!(rendered, Err(RenderError::Overloaded)) {
        metrics::histogram!(m::RENDER_SECONDS, "route" => route_name.clone(), "renderer" => route.config.engine.name())
            .record(took.as_secs_f64());
    }
    match rendered {
        Ok(bytes) => {
            metrics::counter!(m::RENDERS, "route" => route_name, "outcome" => "ok").increment(1);
            debug!(%key, ms = took.as_millis() as u64, bytes = bytes.len(), "rendered");
            Ok((bytes, took))
        }
        Err(e) => {
            let reason = e.reason();
            metrics::counter!(m::RENDERS, "route" => route_name, "outcome" => reason.code())
                .increment(1);
            warn!(%key, reason = reason.code(), error = %e, "render failed; serving the default image");
            Err(reason)
        }
    }
}
