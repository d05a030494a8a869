//! Rendering: a route's template and a validated id in, encoded image bytes out, within the
//! render timeout and the render concurrency cap.
//!
//! The HTML engine is CPU work, so it runs on the blocking pool and holds a concurrency permit
//! for as long as it actually runs, even past a timeout, which keeps a slow template from
//! piling up more work than the machine has cores.

mod html;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use ogforge_tags::Id;
use tokio::sync::Semaphore;

use crate::{
    encode::{self, EncodeError},
    fallback::Reason,
    fonts::FontSet,
    route::Route,
    template::{TemplateError, Templates},
};
pub(crate) use html::HtmlError;
use html::HtmlRenderer;

/// Why a render produced no image. Never the client's fault; never stored.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template: {0}")]
    Template(#[from] TemplateError),
    #[error("{0}")]
    Html(#[from] HtmlError),
    #[error("encode: {0}")]
    Encode(#[from] EncodeError),
    #[error("render took longer than {0:?}")]
    Timeout(Duration),
    #[error("the render task panicked")]
    Panicked,
}

impl RenderError {
    pub fn reason(&self) -> Reason {
        match self {
            Self::Template(_) => Reason::TemplateError,
            Self::Timeout(_) => Reason::RenderTimeout,
            Self::Html(_) | Self::Encode(_) | Self::Panicked => Reason::RenderError,
        }
    }
}

/// The engines a route can render with.
#[derive(Debug)]
enum Engine {
    Html(HtmlRenderer),
}

/// Renders routes' templates.
#[derive(Debug)]
pub(crate) struct Renderer {
    engine: Engine,
    templates: Templates,
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl Renderer {
    pub(crate) fn new(
        fonts: FontSet,
        templates: Templates,
        concurrency: usize,
        timeout: Duration,
    ) -> Self {
        Self {
            engine: Engine::Html(HtmlRenderer::new(fonts)),
            templates,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            timeout,
        }
    }

    /// Renders one image, waiting for a permit first; the timeout covers the wait too.
    pub(crate) async fn render(
        self: &Arc<Self>,
        route: &Arc<Route>,
        id: &Id,
    ) -> Result<Bytes, RenderError> {
        let this = Arc::clone(self);
        let route = Arc::clone(route);
        let id = id.clone();
        let work = async move {
            let Ok(permit) = Arc::clone(&this.permits).acquire_owned().await else {
                return Err(RenderError::Panicked);
            };
            let job = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                this.render_blocking(&route, &id)
            });
            job.await.map_err(|_| RenderError::Panicked)?
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(RenderError::Timeout(self.timeout)),
        }
    }

    /// Template -> HTML -> pixels -> bytes, on the calling thread.
    fn render_blocking(&self, route: &Route, id: &Id) -> Result<Bytes, RenderError> {
        let c = &route.config;
        let html = self.templates.render(c, id)?;
        let Engine::Html(engine) = &self.engine;
        let bitmap = engine.render(&html, c.width, c.height, c.device_scale)?;
        let bytes = encode::encode(&bitmap, c.format, c.quality)?;
        Ok(Bytes::from(bytes))
    }
}
