//! The browser renderer: a screenshot of a route's page in a warm Chromium, for cards that need
//! a real browser (a site's own React page, canvas, charts, web fonts).
//!
//! - [`chromium`]: the one Chromium process, started once, relaunched when it crashes or stops
//!   answering, killed with every helper process when ogforge ends.
//! - [`page`]: one render on one tab: request policy, navigation, status and readiness checks,
//!   the screenshot.
//! - This file: the pool of tabs between renders, and the decision to relaunch and retry.
//!
//! The route's own render permit (`render.concurrency`) bounds how many tabs render at once;
//! up to that many stay open between renders, reset to `about:blank`.

mod chromium;
mod page;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use ogforge_tags::Id;
use tracing::warn;

use crate::{
    config::{BrowserConfig, PageConfig, RouteConfig},
    reason::Reason,
};
use chromium::Chromium;
use page::Tab;

/// How long an idle browser gets to answer before it is taken for hung.
const PROBE: Duration = Duration::from_secs(2);

/// After a failed launch, renders fail at once with its error for this long instead of each
/// starting (and waiting on) another launch that is likely to fail the same way.
const LAUNCH_BACKOFF: Duration = Duration::from_secs(1);

/// Why a browser render produced no image.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("browser: {0}")]
    Launch(String),
    #[error("browser: {0}")]
    Cdp(String),
    #[error("page answered HTTP {0}")]
    Status(u16),
    #[error("page: {0}")]
    Page(String),
    #[error("page not ready within {0:?} (navigation_timeout_ms)")]
    NotReady(Duration),
}

impl BrowserError {
    pub fn reason(&self) -> Reason {
        match self {
            Self::Launch(_) | Self::Cdp(_) => Reason::BrowserError,
            Self::Status(_) => Reason::PageStatus,
            Self::Page(_) => Reason::PageError,
            Self::NotReady(_) => Reason::PageTimeout,
        }
    }
}

impl From<chromiumoxide::error::CdpError> for BrowserError {
    fn from(e: chromiumoxide::error::CdpError) -> Self {
        Self::Cdp(e.to_string())
    }
}

/// Chromium and its idle tabs.
#[derive(Debug)]
pub(crate) struct BrowserRenderer {
    config: BrowserConfig,
    /// The running browser; replaced when it dies. A tokio mutex: a launch is awaited under it,
    /// so concurrent renders after a crash start one Chromium, not several.
    current: tokio::sync::Mutex<Option<Arc<Chromium>>>,
    idle: Arc<Mutex<Vec<Tab>>>,
    max_idle: usize,
    launches: AtomicU64,
    /// When the last launch failed, and why.
    failed: Mutex<Option<(Instant, String)>>,
}

impl BrowserRenderer {
    pub(crate) fn new(config: BrowserConfig, max_idle: usize) -> Self {
        Self {
            config,
            current: tokio::sync::Mutex::new(None),
            idle: Arc::new(Mutex::new(Vec::new())),
            max_idle: max_idle.max(1),
            launches: AtomicU64::new(0),
            failed: Mutex::new(None),
        }
    }

    /// Starts Chromium and opens one tab ahead of the first request.
    pub(crate) async fn warm(&self) -> Result<(), BrowserError> {
        let chromium = self.chromium().await?;
        let tab = Tab::open(&chromium).await?;
        self.park(tab);
        Ok(())
    }

    /// Screenshots `page` for `id` at the route's size, scale and format.
    pub(crate) async fn render(
        &self,
        page: &PageConfig,
        route: &RouteConfig,
        id: &Id,
    ) -> Result<Bytes, BrowserError> {
        let url = page.url.build(id).map_err(BrowserError::Page)?;
        let mut retried = false;
        loop {
            let chromium = self.chromium().await?;
            let tab = match self.take_tab(&chromium) {
                Some(tab) => Ok(tab),
                None => Tab::open(&chromium).await,
            };
            let e = match tab {
                Ok(mut tab) => match tab.capture(&url, page, route).await {
                    Ok(bytes) => {
                        tab.reset_and_park(Arc::clone(&self.idle), self.max_idle);
                        return Ok(bytes);
                    }
                    // The tab drops here: in an unknown state, it is closed, never reused.
                    Err(e) => e,
                },
                Err(e) => e,
            };
            match e {
                // A broken connection, not a broken page: relaunch and try once more, so a
                // crash between requests costs a launch, not a default image.
                BrowserError::Cdp(_) if !chromium.answers(PROBE).await => {
                    chromium.kill();
                    if !retried {
                        warn!(error = %e, "Chromium stopped answering; relaunching");
                        retried = true;
                        continue;
                    }
                }
                // A slow page, or a hung browser: find out without making this request wait
                // for the answer.
                BrowserError::NotReady(_) => probe(chromium),
                _ => {}
            }
            return Err(e);
        }
    }

    /// After a render timed out: kills Chromium if it no longer answers, in the background.
    pub(crate) fn suspect_hang(self: &Arc<Self>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let current = this.current.lock().await.clone();
            if let Some(chromium) = current {
                kill_if_hung(chromium).await;
            }
        });
    }

    /// Kills Chromium and drops every tab; the next render would launch anew.
    pub(crate) async fn shutdown(&self) {
        self.idle.lock().map(|mut v| v.clear()).ok();
        if let Some(chromium) = self.current.lock().await.take() {
            chromium.kill();
        }
    }

    /// The running browser, launched if there is none or it died.
    async fn chromium(&self) -> Result<Arc<Chromium>, BrowserError> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref()
            && c.is_alive()
        {
            return Ok(Arc::clone(c));
        }
        // Dropping the dead one kills what is left of its process group.
        *current = None;
        if let Ok(failed) = self.failed.lock()
            && let Some((at, why)) = failed.as_ref()
            && at.elapsed() < LAUNCH_BACKOFF
        {
            return Err(BrowserError::Launch(why.clone()));
        }
        let generation = self.launches.fetch_add(1, Ordering::Relaxed) + 1;
        match Chromium::launch(&self.config, generation).await {
            Ok(chromium) => {
                let chromium = Arc::new(chromium);
                *current = Some(Arc::clone(&chromium));
                Ok(chromium)
            }
            Err(e) => {
                warn!(error = %e, "Chromium did not start");
                if let Ok(mut failed) = self.failed.lock() {
                    let why = match &e {
                        BrowserError::Launch(why) => why.clone(),
                        other => other.to_string(),
                    };
                    *failed = Some((Instant::now(), why));
                }
                Err(e)
            }
        }
    }

    /// An idle tab of this browser; tabs of an earlier one are dropped (closed).
    fn take_tab(&self, chromium: &Chromium) -> Option<Tab> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(tab) = idle.pop() {
            if tab.generation() == chromium.generation {
                return Some(tab);
            }
        }
        None
    }

    fn park(&self, tab: Tab) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(tab);
        }
    }
}

/// [`kill_if_hung`] in the background.
fn probe(chromium: Arc<Chromium>) {
    tokio::spawn(kill_if_hung(chromium));
}

/// Kills `chromium` if it does not answer within [`PROBE`]: the next render then relaunches
/// it instead of timing out against a hung browser.
async fn kill_if_hung(chromium: Arc<Chromium>) {
    if !chromium.answers(PROBE).await {
        warn!("Chromium did not answer after a render timeout; killing it");
        chromium.kill();
    }
}
