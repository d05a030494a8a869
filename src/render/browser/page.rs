//! One tab, and one render on it: request policy -> navigation -> status -> readiness ->
//! screenshot.
//!
//! Every request the tab makes is paused (CDP `Fetch`) and decided here:
//! - the page's own origin: continued, with the route's headers and credentials added;
//! - an origin in `page_allowed_origins`: continued as it is, without them;
//! - anything else (another origin, `file:`, a redirect elsewhere): failed.
//!
//! So a token can only ever reach the origin the route's `page_url` names, and a page cannot
//! be steered to a local file or another host.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use chromiumoxide::{
    Page,
    cdp::{
        browser_protocol::{
            emulation::SetDeviceMetricsOverrideParams,
            fetch::{
                self, ContinueRequestParams, EventRequestPaused, FailRequestParams, HeaderEntry,
                RequestPattern,
            },
            network::{ErrorReason, EventResponseReceived, ResourceType},
            page::{
                CaptureScreenshotFormat, CaptureScreenshotParams, EventLifecycleEvent,
                NavigateParams,
            },
            target::CreateTargetParams,
        },
        js_protocol::runtime::EvaluateParams,
    },
    error::CdpError,
};
use futures::{FutureExt, StreamExt};
use tokio::task::JoinHandle;
use tracing::debug;
use url::{Origin, Url};

use super::{BrowserError, PROBE, chromium::Chromium};
use crate::{
    config::{PageConfig, RouteConfig, WaitUntil},
    image::Format,
};

/// What the tab's requests may do during one render.
#[derive(Debug)]
struct Policy {
    origin: Origin,
    /// Added to requests to `origin` only.
    headers: Vec<(String, String)>,
    allowed: Vec<Origin>,
}

impl Policy {
    fn for_page(page: &PageConfig) -> Self {
        let mut headers: Vec<(String, String)> = page
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.expose().to_owned()))
            .collect();
        if let Some(auth) = &page.basic_auth {
            headers.push(("Authorization".into(), auth.expose().to_owned()));
        }
        Self {
            origin: page.url.origin().clone(),
            headers,
            allowed: page.allowed_origins.clone(),
        }
    }
}

type SharedPolicy = Arc<Mutex<Option<Arc<Policy>>>>;

/// A browser tab with its request interceptor.
#[derive(Debug)]
pub(super) struct Tab {
    /// `None` only once handed to the idle pool's reset task.
    page: Option<Page>,
    generation: u64,
    /// The device metrics last set: width, height, scale bits.
    viewport: Option<(u32, u32, u32)>,
    policy: SharedPolicy,
    interceptor: JoinHandle<()>,
}

impl Tab {
    pub(super) async fn open(chromium: &Chromium) -> Result<Self, BrowserError> {
        // Its own window: a tab is visible only while it is its window's active one, and a
        // hidden tab produces no frames, so its screenshot would wait forever.
        let target = CreateTargetParams::builder()
            .url("about:blank")
            .new_window(true)
            .build()
            .map_err(BrowserError::Cdp)?;
        let page = chromium.browser.new_page(target).await?;
        let mut paused = page.event_listener::<EventRequestPaused>().await?;
        page.execute(
            fetch::EnableParams::builder()
                .pattern(RequestPattern::builder().url_pattern("*").build())
                .build(),
        )
        .await?;
        let policy: SharedPolicy = Arc::new(Mutex::new(None));
        let interceptor = {
            let (page, policy) = (page.clone(), Arc::clone(&policy));
            tokio::spawn(async move {
                while let Some(event) = paused.next().await {
                    let current = policy.lock().ok().and_then(|p| p.clone());
                    decide(&page, current.as_deref(), &event).await;
                }
            })
        };
        Ok(Self {
            page: Some(page),
            generation: chromium.generation,
            viewport: None,
            policy,
            interceptor,
        })
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// Loads `url`, waits until it is ready and screenshots it at the route's size.
    pub(super) async fn capture(
        &mut self,
        url: &Url,
        page_config: &PageConfig,
        route: &RouteConfig,
    ) -> Result<Bytes, BrowserError> {
        let page = self
            .page
            .clone()
            .ok_or_else(|| BrowserError::Cdp("tab already closed".into()))?;
        let want = (route.width, route.height, route.device_scale.to_bits());
        if self.viewport != Some(want) {
            page.execute(SetDeviceMetricsOverrideParams::new(
                route.width,
                route.height,
                f64::from(route.device_scale),
                false,
            ))
            .await?;
            self.viewport = Some(want);
        }
        self.set_policy(Some(Policy::for_page(page_config)));
        let limit = page_config.navigation_timeout;
        let started = std::time::Instant::now();
        tokio::time::timeout(limit, navigate(&page, url, page_config))
            .await
            .map_err(|_| BrowserError::NotReady(limit))??;
        let ready_ms = started.elapsed().as_millis() as u64;

        let (format, quality) = match route.format {
            Format::Jpeg => (
                CaptureScreenshotFormat::Jpeg,
                Some(i64::from(route.quality)),
            ),
            Format::Png => (CaptureScreenshotFormat::Png, None),
            Format::Webp => (
                CaptureScreenshotFormat::Webp,
                Some(i64::from(route.quality)),
            ),
        };
        let shot = page
            .execute(CaptureScreenshotParams {
                format: Some(format),
                quality,
                clip: None,
                from_surface: Some(true),
                capture_beyond_viewport: Some(false),
                optimize_for_speed: None,
            })
            .await?;
        debug!(
            ready_ms,
            shot_ms = started.elapsed().as_millis() as u64 - ready_ms,
            "page captured"
        );
        let data: &str = shot.result.data.as_ref();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| BrowserError::Cdp(format!("screenshot: {e}")))?;
        Ok(Bytes::from(bytes))
    }

    /// Back to `about:blank` (no script, timer or request of the last page survives), then into
    /// the idle pool if it has room; in the background, off the response's path.
    pub(super) fn reset_and_park(self, idle: Arc<Mutex<Vec<Tab>>>, max_idle: usize) {
        self.set_policy(None);
        tokio::spawn(async move {
            let Some(page) = self.page.clone() else {
                return;
            };
            let blank =
                tokio::time::timeout(PROBE, page.execute(NavigateParams::new("about:blank")));
            if matches!(blank.await, Ok(Ok(_)))
                && let Ok(mut idle) = idle.lock()
                && idle.len() < max_idle
            {
                idle.push(self);
            }
            // Otherwise `self` drops here and the tab is closed.
        });
    }

    fn set_policy(&self, policy: Option<Policy>) {
        if let Ok(mut p) = self.policy.lock() {
            *p = policy.map(Arc::new);
        }
    }
}

impl Drop for Tab {
    fn drop(&mut self) {
        self.interceptor.abort();
        if let Some(page) = self.page.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            // A tab in an unknown state (a timeout, an error) is closed, never reused.
            rt.spawn(async move {
                let _ = tokio::time::timeout(PROBE, page.close()).await;
            });
        }
    }
}

/// Navigates and waits for: the load event, a status below 400, then `page_wait_until`,
/// `page_ready_js`, `page_ready_selector` and the page's web fonts.
async fn navigate(page: &Page, url: &Url, config: &PageConfig) -> Result<(), BrowserError> {
    // Subscribed before navigating, so no event of this navigation is missed.
    let mut responses = page.event_listener::<EventResponseReceived>().await?;
    let mut lifecycle = match config.wait_until {
        WaitUntil::NetworkIdle => Some(page.event_listener::<EventLifecycleEvent>().await?),
        WaitUntil::Load => None,
    };
    // chromiumoxide answers a navigation once the page fired `load`.
    let nav = page
        .execute(NavigateParams::new(url.as_str()))
        .await
        .map_err(page_error)?;
    if let Some(text) = nav.result.error_text {
        return Err(BrowserError::Page(text));
    }
    let loader = nav.result.loader_id.map(|l| l.inner().clone());
    // The main document's response has the loader's id as its request id; its events were
    // delivered before the navigation finished.
    while let Some(Some(event)) = responses.next().now_or_never() {
        let is_document = event.r#type == ResourceType::Document
            && loader.as_deref() == Some(event.request_id.inner().as_str());
        if is_document && event.response.status >= 400 {
            let status = u16::try_from(event.response.status).unwrap_or(u16::MAX);
            return Err(BrowserError::Status(status));
        }
    }
    if let Some(events) = lifecycle.as_mut() {
        while let Some(event) = events.next().await {
            if event.name == "networkIdle"
                && loader.as_deref() == Some(event.loader_id.inner().as_str())
            {
                break;
            }
        }
    }
    let script = readiness_script(config);
    let params = EvaluateParams::builder()
        .expression(script)
        .await_promise(true)
        .return_by_value(true)
        .build()
        .map_err(BrowserError::Cdp)?;
    let ready = page.execute(params).await.map_err(page_error)?;
    if let Some(ex) = &ready.result.exception_details {
        return Err(BrowserError::Page(format!(
            "readiness check threw: {}",
            ex.text
        )));
    }
    Ok(())
}

/// A promise that settles once the configured conditions hold and the fonts are loaded.
/// The selector goes in as a JSON string literal, never spliced in as code.
fn readiness_script(config: &PageConfig) -> String {
    let mut conditions = Vec::new();
    if let Some(js) = &config.ready_js {
        conditions.push(format!("({js})"));
    }
    if let Some(selector) = &config.ready_selector {
        let literal = serde_json::to_string(selector).unwrap_or_else(|_| "\"\"".into());
        conditions.push(format!("document.querySelector({literal}) !== null"));
    }
    let condition = if conditions.is_empty() {
        "true".to_owned()
    } else {
        conditions.join(" && ")
    };
    format!(
        "new Promise((resolve) => {{ const check = () => {{ let ok = false; \
         try {{ ok = !!({condition}); }} catch (_) {{}} \
         if (ok) {{ resolve(true); }} else {{ setTimeout(check, 10); }} }}; check(); }})\
         .then(() => document.fonts ? document.fonts.ready.then(() => true) : true)"
    )
}

/// Errors the page caused (a script error, a context destroyed by its own navigation) are the
/// page's; a broken connection is the browser's.
fn page_error(e: CdpError) -> BrowserError {
    match e {
        CdpError::Chrome(_) | CdpError::ChromeMessage(_) | CdpError::JavascriptException(_) => {
            BrowserError::Page(e.to_string())
        }
        other => BrowserError::from(other),
    }
}

/// Continues or fails one paused request under `policy` (no policy: between renders, fail).
async fn decide(page: &Page, policy: Option<&Policy>, event: &EventRequestPaused) {
    let id = event.request_id.clone();
    let url = Url::parse(&event.request.url).ok();
    let origin = url.as_ref().map(Url::origin);
    let verdict = match (policy, &origin) {
        (Some(p), Some(o)) if *o == p.origin => Some(Some(with_headers(event, &p.headers))),
        (Some(p), Some(o)) if p.allowed.contains(o) => Some(None),
        _ => None,
    };
    let sent = match verdict {
        Some(headers) => {
            let mut params = ContinueRequestParams::new(id);
            params.headers = headers;
            page.execute(params).await.map(drop)
        }
        None => {
            debug!(
                origin = origin.map(|o| o.ascii_serialization()).unwrap_or_default(),
                "blocked a request outside the page's origin"
            );
            page.execute(FailRequestParams::new(id, ErrorReason::BlockedByClient))
                .await
                .map(drop)
        }
    };
    if let Err(e) = sent {
        debug!(error = %e, "could not answer a paused request");
    }
}

/// The request's headers with the route's added (replacing any of the same name).
fn with_headers(event: &EventRequestPaused, extra: &[(String, String)]) -> Vec<HeaderEntry> {
    let mut out: Vec<HeaderEntry> = Vec::new();
    if let Some(map) = event.request.headers.inner().as_object() {
        for (name, value) in map {
            if extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                continue;
            }
            if let Some(v) = value.as_str() {
                out.push(HeaderEntry::new(name.clone(), v.to_owned()));
            }
        }
    }
    out.extend(
        extra
            .iter()
            .map(|(n, v)| HeaderEntry::new(n.clone(), v.clone())),
    );
    out
}
