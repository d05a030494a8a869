//! What a miss does, in the flight's own task (`cache/flight.rs`), so a client that goes away
//! cannot cut it in half: memory again (a flight may have just ended) -> the object store
//! (checked; a damaged object is rendered again) -> the client's render budget -> the render ->
//! memory -> the store write, behind the response (`cache/writer.rs`).

use std::{net::IpAddr, sync::Arc, time::Duration};

use ogforge_tags::Id;
use tracing::{debug, warn};

use super::Options;
use crate::{
    cache::{
        Key, Memory, Tier,
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
    // Only here is it certain that this request costs a render: hits never reach this line.
    if let Some((limit, client)) = &stages.limit
        && !limit.allow(*client).await
    {
        metrics::counter!(m::RATE_LIMITED, "route" => route.label.clone()).increment(1);
        debug!(%key, "client over its render rate limit");
        return Err(Reason::RateLimited);
    }
    let (bytes, took) = render(&stages.renderer, &route, &id, data, &key).await?;
    let image = Image::new(bytes, content_type);
    stages.memory.insert(&key, image.clone()).await;
    let stored = match (&stages.writer, opts.write_store) {
        (Some(writer), true) => {
            let write = Write {
                key,
                bytes: image.bytes.clone(),
                content_type,
                cache_control: route.cache_control.to_str().unwrap_or_default().to_owned(),
                mode,
            };
            writer.write(write).await == Written::Stored
        }
        _ => false,
    };
    Ok(Filled {
        image,
        tier: Tier::Render,
        render_time: Some(took),
        stored,
    })
}

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
