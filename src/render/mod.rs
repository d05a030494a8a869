//! Rendering: a route's template and a validated id in, encoded image bytes out, within the
//! render timeout and the render concurrency cap.
//!
//! Two engines: the route's template through takumi ([`html`]), or a screenshot of the
//! route's page in Chromium ([`browser`]). Both share the permits, the queue and the fallback.
//!
//! The HTML engine is CPU work, so it runs on the blocking pool and holds a concurrency permit
//! for as long as it actually runs, even past a timeout, which keeps a slow template from
//! piling up more work than the machine has cores.
//!
//! At most `render.queue` renders wait for a permit; a render that finds the queue full is
//! refused at once ([`RenderError::Overloaded`]) instead of waiting out the timeout, so a burst
//! of distinct ids costs the machine nothing and the client learns at once to come back later.

mod browser;
mod glyphs;
mod html;
mod remote;

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use ogforge_tags::Id;
use tokio::sync::Semaphore;

use crate::{
    config::{BrowserConfig, Engine, ImagesConfig, PageConfig, RenderConfig},
    data::{Data, DataError},
    encode::{self, EncodeError, Pieces},
    fetch::FetchError,
    fonts::FontSet,
    metrics as m,
    reason::Reason,
    route::Route,
    template::{TemplateError, Templates},
};
pub use browser::BrowserError;
use browser::BrowserRenderer;
pub(crate) use html::HtmlError;
use html::HtmlRenderer;
pub use remote::BROKEN_TTL;
use remote::RemoteImages;

/// Why a render produced no image. Never the client's fault; never stored.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template: {0}")]
    Template(#[from] TemplateError),
    #[error("{0}")]
    Html(#[from] HtmlError),
    #[error("encode: {0}")]
    Encode(#[from] EncodeError),
    #[error("{0}")]
    Browser(#[from] BrowserError),
    #[error("render took longer than {0:?}")]
    Timeout(Duration),
    #[error("the render task panicked")]
    Panicked,
    #[error("the render queue is full")]
    Overloaded,
    /// The route's data, loaded for `check`'s sample (the pipeline falls back before a render).
    #[error("data: {0}")]
    Data(#[from] DataError),
    /// A remote image the template names could not be had, on a route with
    /// `image_error = "fallback"`.
    #[error("image {0}")]
    Image(String),
}

impl RenderError {
    pub fn reason(&self) -> Reason {
        match self {
            Self::Template(_) => Reason::TemplateError,
            Self::Timeout(_) => Reason::RenderTimeout,
            Self::Html(_) | Self::Encode(_) | Self::Panicked => Reason::RenderError,
            Self::Overloaded => Reason::Overloaded,
            Self::Browser(e) => e.reason(),
            Self::Data(e) => e.reason,
            Self::Image(_) => Reason::ImageError,
        }
    }
}

/// Renders routes' templates.
#[derive(Debug)]
pub(crate) struct Renderer {
    html: HtmlRenderer,
    /// Only when a route has `renderer = "browser"`.
    browser: Option<Arc<BrowserRenderer>>,
    templates: Templates,
    /// Remote images templates name (`[images]`).
    remote: Arc<RemoteImages>,
    permits: Arc<Semaphore>,
    timeout: Duration,
    /// Renders waiting for a permit now, and how many may.
    queued: Arc<AtomicUsize>,
    queue: usize,
    /// Encoded strips and bands of earlier cards (`render.piece_cache_mib`).
    pieces: Pieces,
}

impl Renderer {
    pub(crate) fn new(
        fonts: FontSet,
        templates: Templates,
        browser: Option<BrowserConfig>,
        render: &RenderConfig,
        images: &ImagesConfig,
    ) -> Result<Self, FetchError> {
        let concurrency = render.concurrency;
        Ok(Self {
            html: HtmlRenderer::new(fonts, render.lang),
            // As many idle tabs as renders may run at once.
            browser: browser.map(|b| Arc::new(BrowserRenderer::new(b, concurrency))),
            templates,
            remote: Arc::new(RemoteImages::new(images)?),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            timeout: render.timeout,
            queued: Arc::new(AtomicUsize::new(0)),
            queue: render.queue,
            pieces: Pieces::new(render.piece_cache_bytes),
        })
    }

    /// Renders one image. A card that names remote images not fetched yet is drawn in two
    /// passes: the first finds them (no layout), they are fetched with no render permit
    /// held, and the second draws with them.
    pub(crate) async fn render(
        self: &Arc<Self>,
        route: &Arc<Route>,
        id: &Id,
        data: Option<Arc<Data>>,
    ) -> Result<Bytes, RenderError> {
        match self.pass(route, id, data.clone(), false).await? {
            Pass::Drawn(bytes) => Ok(bytes),
            Pass::Needs(urls) => {
                self.remote.fetch_all(urls).await;
                match self.pass(route, id, data, true).await? {
                    Pass::Drawn(bytes) => Ok(bytes),
                    Pass::Needs(_) => Err(RenderError::Image("not fetched".into())),
                }
            }
        }
    }

    /// One pass: a free permit at once, else a place in the queue (or
    /// [`RenderError::Overloaded`] when it is full); the timeout covers the wait too. `last`:
    /// remote images not in the cache by now are broken.
    async fn pass(
        self: &Arc<Self>,
        route: &Arc<Route>,
        id: &Id,
        data: Option<Arc<Data>>,
        last: bool,
    ) -> Result<Pass, RenderError> {
        // Admission is decided before any await, so a refusal costs nothing.
        let admitted = match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => Admitted::Now(permit),
            Err(_) => Admitted::Queued(
                QueueSlot::take(&self.queued, self.queue).ok_or(RenderError::Overloaded)?,
            ),
        };
        // A browser route's page gets its navigation timeout on top of the render timeout.
        let (limit, browser_route) = match &route.config.engine {
            Engine::Browser(page) => (self.timeout + page.navigation_timeout, true),
            Engine::Html => (self.timeout, false),
        };
        let this = Arc::clone(self);
        let route = Arc::clone(route);
        let id = id.clone();
        let work = async move {
            let permit = match admitted {
                Admitted::Now(permit) => permit,
                Admitted::Queued(slot) => {
                    let Ok(permit) = Arc::clone(&this.permits).acquire_owned().await else {
                        return Err(RenderError::Panicked);
                    };
                    drop(slot);
                    permit
                }
            };
            if let Engine::Browser(page) = &route.config.engine {
                let _permit = permit;
                let Some(browser) = &this.browser else {
                    return Err(BrowserError::Launch("no browser configured".into()).into());
                };
                return Ok(Pass::Drawn(browser.render(page, &route.config, &id).await?));
            }
            let job = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                this.render_blocking(&route, &id, data.as_deref(), last)
            });
            job.await.map_err(|_| RenderError::Panicked)?
        };
        match tokio::time::timeout(limit, work).await {
            Ok(result) => result,
            Err(_) => {
                if browser_route && let Some(browser) = &self.browser {
                    browser.suspect_hang();
                }
                Err(RenderError::Timeout(limit))
            }
        }
    }

    /// Starts Chromium ahead of the first browser render (no-op without browser routes).
    pub(crate) async fn warm(&self) -> Result<(), RenderError> {
        match &self.browser {
            Some(browser) => Ok(browser.warm().await?),
            None => Ok(()),
        }
    }

    /// Ends Chromium and its helper processes, if it runs.
    pub(crate) async fn shutdown(&self) {
        if let Some(browser) = &self.browser {
            browser.shutdown().await;
        }
    }

    /// Template -> HTML -> (remote images) -> pixels -> bytes, on the calling thread.
    fn render_blocking(
        &self,
        route: &Route,
        id: &Id,
        data: Option<&Data>,
        last: bool,
    ) -> Result<Pass, RenderError> {
        let c = &route.config;
        let html = self.templates.render(c, id, data)?;
        let card = self.html.parse(&html, route)?;
        let mut images = HashMap::new();
        let urls = card.remote_urls();
        if !urls.is_empty() {
            let given = data.map(Data::images).unwrap_or_default();
            let wanted = urls.into_iter().filter(|url| {
                let decoded = given.iter().find(|(u, _)| &**u == *url);
                if let Some((u, image)) = decoded {
                    images.insert(Arc::clone(u), image.source.clone());
                }
                decoded.is_none()
            });
            let found = self.remote.lookup(wanted);
            if !found.missing.is_empty() && !last {
                return Ok(Pass::Needs(found.missing));
            }
            let broken = (found.broken.into_iter()).chain(
                found
                    .missing
                    .into_iter()
                    .map(|u| (u, Arc::from("not fetched"))),
            );
            if let Some((url, why)) = broken.take(1).next().filter(|_| c.image_fallback) {
                return Err(RenderError::Image(format!("{url}: {why}")));
            }
            images.extend(found.images);
        }
        let bitmap = self.html.render(card, route, images)?;
        let bytes = encode::encode(&bitmap, c.format, c.quality, &self.pieces)?;
        Ok(Pass::Drawn(Bytes::from(bytes)))
    }
}

/// What one pass came to: the image, or the remote images it needs first.
#[derive(Debug)]
enum Pass {
    Drawn(Bytes),
    Needs(Vec<String>),
}

impl Renderer {
    /// The characters no loaded font has in `sample_text` and in the text of the card for
    /// `id` (an HTML route's; a browser route draws with Chromium's fonts, so none).
    pub(crate) fn uncovered(
        &self,
        route: &Route,
        id: Option<&Id>,
        sample_text: &str,
    ) -> Result<Vec<char>, RenderError> {
        if !matches!(route.config.engine, Engine::Html) {
            return Ok(Vec::new());
        }
        // A data route's card needs its fetched fields: its sample text alone is checked here.
        let html = match id.filter(|_| route.data.is_none()) {
            Some(id) => self.templates.render(&route.config, id, None)?,
            None => String::new(),
        };
        Ok(self.html.uncovered(&html, sample_text)?)
    }
}

/// For the preview gallery (`crate::pipeline::preview`): the HTML a template makes, and
/// Chromium's screenshot of it, to set beside takumi's card.
impl Renderer {
    /// The HTML `route`'s template makes for `id` (with its data), as takumi would get it.
    pub(crate) fn html_of(
        &self,
        route: &Route,
        id: &Id,
        data: Option<&Data>,
    ) -> Result<String, RenderError> {
        Ok(self.templates.render(&route.config, id, data)?)
    }

    /// A screenshot of `page` at `route`'s size, scale and format, under the same permits and
    /// timeout as a browser route's render (no queue: the gallery is one operator's page).
    pub(crate) async fn capture(
        &self,
        route: &Route,
        page: &PageConfig,
        id: &Id,
    ) -> Result<Bytes, RenderError> {
        let Some(browser) = &self.browser else {
            return Err(BrowserError::Launch("no browser configured".into()).into());
        };
        let limit = self.timeout + page.navigation_timeout;
        let work = async {
            let _permit = (Arc::clone(&self.permits).acquire_owned().await)
                .map_err(|_| RenderError::Panicked)?;
            Ok::<_, RenderError>(browser.render(page, &route.config, id).await?)
        };
        match tokio::time::timeout(limit, work).await {
            Ok(result) => result,
            Err(_) => {
                browser.suspect_hang();
                Err(RenderError::Timeout(limit))
            }
        }
    }
}

/// How a render got in: with a permit at once, or with a place in the queue.
#[derive(Debug)]
enum Admitted {
    Now(tokio::sync::OwnedSemaphorePermit),
    Queued(QueueSlot),
}

/// A place in the render queue, given back on drop (a permit granted, a timeout, a client gone).
#[derive(Debug)]
struct QueueSlot {
    queued: Arc<AtomicUsize>,
}

impl QueueSlot {
    /// A place if fewer than `limit` renders wait, `None` when the queue is full.
    fn take(queued: &Arc<AtomicUsize>, limit: usize) -> Option<Self> {
        queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()?;
        metrics::gauge!(m::RENDERS_QUEUED).increment(1.0);
        Some(Self {
            queued: Arc::clone(queued),
        })
    }
}

impl Drop for QueueSlot {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!(m::RENDERS_QUEUED).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, atomic::AtomicUsize};

    use super::QueueSlot;

    #[test]
    fn the_queue_refuses_past_its_limit_and_frees_on_drop() {
        let queued = Arc::new(AtomicUsize::new(0));
        assert!(QueueSlot::take(&queued, 0).is_none());
        let a = QueueSlot::take(&queued, 2);
        let b = QueueSlot::take(&queued, 2);
        assert!(a.is_some() && b.is_some());
        assert!(QueueSlot::take(&queued, 2).is_none());
        drop(a);
        assert!(QueueSlot::take(&queued, 2).is_some());
    }
}
