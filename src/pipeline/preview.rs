//! What the preview gallery (`http/preview/`) asks of the pipeline: a route's card for an id
//! drawn by the same data stage and renderer as a served one (the same permits, timeout and
//! remote images), but never read from or written to a tier, and never counted as a served
//! request or a render in the metrics, so an operator's page cannot skew them or fill the store
//! with cards of a template being edited.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use ogforge_tags::Id;

use super::Pipeline;
use crate::{
    config::PageConfig,
    data::{Data, DataError},
    render::RenderError,
    route::Route,
};

/// One card as the gallery shows it.
#[derive(Debug)]
pub struct Preview {
    /// A data route's fields (or why there are none); `None` for other routes.
    pub data: Option<Result<Data, DataError>>,
    /// How long the data took (from the route's document cache when fresh).
    pub data_time: Option<Duration>,
    /// The encoded card, or why there is none (the reason a served request would fall back).
    pub image: Result<Bytes, RenderError>,
    /// The render alone: template, layout, raster and encoding (or the browser's screenshot).
    pub render_time: Duration,
}

impl Pipeline {
    /// `id`'s card on `route`, with its data; nothing read from or written to a tier.
    pub async fn preview(&self, route: &Arc<Route>, id: &Id) -> Preview {
        let started = Instant::now();
        let (data, data_time) = match &route.data {
            None => (None, None),
            Some(source) => (Some(source.load(id).await), Some(started.elapsed())),
        };
        let started = Instant::now();
        let image = match &data {
            None => self.renderer.render(route, id, None).await,
            Some(Ok(data)) => {
                (self.renderer)
                    .render(route, id, Some(Arc::new(data.clone())))
                    .await
            }
            // A served request would fall back with the data's reason before any render.
            Some(Err(e)) => Err(RenderError::Data(e.clone())),
        };
        Preview {
            data,
            data_time,
            image,
            render_time: started.elapsed(),
        }
    }

    /// The HTML `route`'s template makes for `id`, with its data: what takumi draws, for
    /// Chromium to draw too.
    pub async fn preview_html(&self, route: &Arc<Route>, id: &Id) -> Result<String, RenderError> {
        let data = match &route.data {
            None => None,
            Some(source) => Some(source.load(id).await?),
        };
        self.renderer.html_of(route, id, data.as_ref())
    }

    /// Chromium's screenshot of `page` (the gallery's own address for [`Self::preview_html`])
    /// at `route`'s size and format.
    pub async fn preview_browser(
        &self,
        route: &Arc<Route>,
        page: &PageConfig,
        id: &Id,
    ) -> Result<Bytes, RenderError> {
        self.renderer.capture(route, page, id).await
    }
}
