//! The browser renderer (issue 4) on an ogforge of its own: its routes pointed at the page
//! server of `pages.rs`, the first image after spawn, a warm-up (Chromium launched, a warm tab
//! parked), then the same miss series as the HTML routes, with CPU counted over ogforge and its
//! Chromium processes. Also [`no_chromium`], which keeps Chromium away from every other
//! server of the run.

use std::{
    collections::BTreeMap, fs, net::SocketAddr, path::Path, sync::atomic::Ordering, time::Instant,
};

use anyhow::{Context, Result};

use crate::{
    CARD_ID,
    args::{Args, Plan},
    http::{Conn, Response, expect_image},
    metrics::{metric_sum, render_mean_ms, scrape},
    misses::misses,
    pages::{PageHits, PageServer},
    procfs::rss_mib,
    server::{Ogforge, free_port},
    stats::Series,
};

/// The browser routes of bench/ogforge.toml (`[[routes]]` indices 2 and 3), by extension.
const BROWSER_ROUTES: [(&str, &str, usize); 2] =
    [("jpg", "browser-jpeg", 2), ("png", "browser-png", 3)];

/// The config override that keeps Chromium out of the HTML figures: the servers of the HTML
/// series get the browser routes as (never requested) HTML routes, so no route needs Chromium
/// and it never starts there to take CPU or memory from them. The browser series has a server
/// of its own.
pub(crate) fn no_chromium() -> Vec<(String, String)> {
    BROWSER_ROUTES
        .iter()
        .flat_map(|(_, _, i)| {
            [
                (format!("OGFORGE__ROUTES__{i}__RENDERER"), "html".to_owned()),
                (format!("OGFORGE__ROUTES__{i}__PAGE_URL"), String::new()),
            ]
        })
        .collect()
}

/// The browser renderer's figures.
#[derive(Debug, Default)]
pub(crate) struct Browser {
    pub(crate) miss: BTreeMap<&'static str, Series>,
    /// Mean of `ogforge_render_seconds{renderer="browser"}` per route, ms.
    pub(crate) render_mean_ms: BTreeMap<&'static str, Option<f64>>,
    /// Spawn -> first browser image (Chromium starts in the background at `serve`).
    pub(crate) first_image_ms: Option<f64>,
    pub(crate) launches: Option<f64>,
    pub(crate) fallbacks: Option<f64>,
    pub(crate) page_requests: (usize, usize, usize),
    pub(crate) peak_rss_mib: Option<f64>,
    pub(crate) card_png: Option<Vec<u8>>,
    pub(crate) error: Option<String>,
}

impl Browser {
    pub(crate) fn p50(&self, ext: &str) -> Option<f64> {
        self.miss.get(ext).map(|s| s.stats.p50)
    }

    pub(crate) fn p99(&self, ext: &str) -> Option<f64> {
        self.miss.get(ext).map(|s| s.stats.p99)
    }
}

/// [`browser_series`], or a [`Browser`] that only says why it failed: the run goes on
/// without these figures.
pub(crate) fn browser_series_or_error(args: &Args, plan: &Plan, work: &Path) -> Browser {
    browser_series(args, plan, work).unwrap_or_else(|e| {
        println!("[ogbench] browser renderer series failed: {e:#}");
        Browser {
            error: Some(format!("{e:#}")),
            ..Browser::default()
        }
    })
}

/// ogforge with the browser routes pointed at a page server of ours, on a fresh store: the
/// first image, a warm-up (so the pool has its Chromium and a warm tab), then the same miss
/// series as the HTML routes (new ids, one at a time, one keep-alive connection).
fn browser_series(args: &Args, plan: &Plan, work: &Path) -> Result<Browser> {
    let pages = PageServer::start(&args.card_dir)?;
    println!("[ogbench] card page server on http://{}", pages.addr);
    let env: Vec<(String, String)> = BROWSER_ROUTES
        .iter()
        .map(|(_, _, i)| (format!("OGFORGE__ROUTES__{i}__PAGE_URL"), pages.page_url()))
        .collect();
    let admin = free_port()?;
    let log = work.join("ogforge-browser.log");
    let t0 = Instant::now();
    let mut server = Ogforge::spawn(args, &work.join("browser-store"), Some(admin), &log, &env)?;
    let addr = server.addr;
    println!(
        "[ogbench] ogforge (browser routes) pid {} on {addr}",
        server.pid()
    );
    let first_image_ms = Some(warm_up(addr, plan, &log, t0)?);
    let miss = browser_misses(addr, plan, server.pid(), &log)?;
    let mut out = Browser {
        first_image_ms,
        miss,
        ..Browser::default()
    };
    read_metrics(admin, &mut out)?;
    let path = format!("/browser/{CARD_ID}.png");
    let card = Conn::open(addr)?.get(&path)?;
    check(&card, &path, &log)?;
    out.card_png = Some(card.body);
    out.peak_rss_mib = rss_mib(server.pid(), "VmHWM");
    server.stop();
    out.page_requests = page_requests(&pages.hits);
    let warnings = fs::read_to_string(&log).unwrap_or_default();
    if !warnings.trim().is_empty() {
        println!(
            "[ogbench] ogforge (browser routes) logged:\n{}",
            warnings.trim_end()
        );
    }
    Ok(out)
}

/// Fails unless `r` is a rendered image; the error carries ogforge's log.
fn check(r: &Response, path: &str, log: &Path) -> Result<()> {
    expect_image(r, "render").with_context(|| {
        format!(
            "{path}; ogforge's log ({}):\n{}",
            log.display(),
            fs::read_to_string(log).unwrap_or_default()
        )
    })
}

/// The first browser image (its time since `t0`, the spawn, in ms is returned), then
/// `plan.warmup` renders per format on ids the timed series never use.
fn warm_up(addr: SocketAddr, plan: &Plan, log: &Path, t0: Instant) -> Result<f64> {
    let mut conn = Conn::open(addr)?;
    let r = conn.get("/browser/10.jpg")?;
    let first_image_ms = t0.elapsed().as_secs_f64() * 1e3;
    check(&r, "/browser/10.jpg", log)?;
    for i in 0..plan.warmup {
        for (ext, _, _) in BROWSER_ROUTES {
            let path = format!("/browser/{}.{ext}", 11 + i);
            check(&conn.get(&path)?, &path, log)?;
        }
    }
    Ok(first_image_ms)
}

/// The browser routes' miss series, JPEG then PNG, on ids of their own.
fn browser_misses(
    addr: SocketAddr,
    plan: &Plan,
    pid: u32,
    log: &Path,
) -> Result<BTreeMap<&'static str, Series>> {
    let mut out = BTreeMap::new();
    for (ext, base) in [("jpg", 5_000_000u64), ("png", 6_000_000)] {
        let s = misses(addr, "browser", ext, base, plan.misses, pid)
            .with_context(|| format!("ogforge's log: {}", log.display()))?;
        println!(
            "[ogbench] browser miss {ext}: n={} p50={:.2} p90={:.2} p99={:.2} ms, {:.1} img/s, \
             cpu (ogforge + Chromium) {:.1} ms/img",
            s.stats.n, s.stats.p50, s.stats.p90, s.stats.p99, s.per_sec, s.tree_cpu_ms_per_image
        );
        out.insert(ext, s);
    }
    Ok(out)
}

/// Render means per route, Chromium launches and fallbacks, from `/metrics`.
fn read_metrics(admin: u16, out: &mut Browser) -> Result<()> {
    let metrics = scrape(admin)?;
    for (ext, route, _) in BROWSER_ROUTES {
        out.render_mean_ms
            .insert(ext, render_mean_ms(&metrics, route, "browser"));
    }
    out.launches = Some(metric_sum(&metrics, "ogforge_browser_launches_total"));
    out.fallbacks = Some(metric_sum(&metrics, "ogforge_fallbacks_total"));
    Ok(())
}

/// Pages, fonts and other requests the page server answered.
fn page_requests(hits: &PageHits) -> (usize, usize, usize) {
    (
        hits.pages.load(Ordering::Relaxed),
        hits.fonts.load(Ordering::Relaxed),
        hits.other.load(Ordering::Relaxed),
    )
}
