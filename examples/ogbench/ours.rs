//! ogforge's HTML renderer on one server, start to stop: the series run on it in order
//! (warm-up, misses, throughput, single-flight, the reference card, memory hits next to
//! nginx) with memory read between them, and [`Ours`], the figures they leave for the report.
//! Cold starts (`cold.rs`) and the browser renderer (`browser.rs`) have servers of their own.

use std::{
    collections::BTreeMap,
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::Result;

use crate::{
    CARD_ID,
    args::{Args, Plan},
    browser::no_chromium,
    cold::ColdRep,
    flight::{Flight, single_flight},
    hits::{Wrk, against_nginx},
    http::{Conn, expect_image},
    machine::Noise,
    metrics::{metric_value, render_mean_ms, scrape},
    misses::{Throughput, html_misses, throughput_series},
    procfs::rss_mib,
    server::{Ogforge, free_port},
    stats::{Series, Stats, median},
};

/// ogforge's figures (the HTML renderer's).
#[derive(Debug, Default)]
pub(crate) struct Ours {
    pub(crate) miss: BTreeMap<&'static str, Series>,
    /// The same misses on a server with the piece cache off (`render.piece_cache_mib = 0`):
    /// every strip and band encoded.
    pub(crate) miss_whole: BTreeMap<&'static str, Series>,
    /// Pieces during the miss series: (from the piece cache, from the encoder).
    pub(crate) pieces: Option<(f64, f64)>,
    pub(crate) render_mean_ms: BTreeMap<&'static str, Option<f64>>,
    pub(crate) store_put_p50_ms: Option<f64>,
    pub(crate) throughput: BTreeMap<(&'static str, usize), Throughput>,
    pub(crate) hits: Option<Wrk>,
    pub(crate) hits_tier: String,
    pub(crate) hit_bytes: usize,
    pub(crate) flight: Option<Flight>,
    pub(crate) peak_rss_mib: Option<f64>,
    pub(crate) end_rss_mib: Option<f64>,
    pub(crate) warm_rss_mib: Option<f64>,
    /// Peak RSS (VmHWM) after each phase, MiB.
    pub(crate) phase_rss: Vec<(&'static str, Option<f64>)>,
    pub(crate) cold: BTreeMap<&'static str, Vec<ColdRep>>,
    pub(crate) cli_render_ms: Option<Stats>,
}

impl Ours {
    pub(crate) fn p50(&self, ext: &str) -> Option<f64> {
        self.miss.get(ext).map(|s| s.stats.p50)
    }

    pub(crate) fn cold_median(&self, ext: &str) -> Option<f64> {
        let reps = self.cold.get(ext)?;
        let v: Vec<f64> = reps.iter().map(|r| r.first_image_ms).collect();
        (!v.is_empty()).then(|| median(&v))
    }
}

/// The reference card as ogforge served it: the docs copy and the pixel comparison use these
/// bytes, and the hit series asks for the JPEG again.
#[derive(Debug)]
pub(crate) struct Cards {
    pub(crate) png: Vec<u8>,
    /// The PNG, written in the work folder (copied to `docs/card.png` at the end).
    pub(crate) png_path: PathBuf,
    jpeg_path: String,
    pub(crate) jpeg: Vec<u8>,
}

/// What the HTML renderer's server leaves besides [`Ours`].
#[derive(Debug)]
pub(crate) struct Served {
    pub(crate) cards: Cards,
    /// nginx's memory-hit figures (mean of the rounds).
    pub(crate) nginx: Option<Wrk>,
}

/// One `ogforge serve` on a fresh store with the HTML routes only, every series of the HTML
/// renderer in order, a noise checkpoint and a peak-RSS reading between phases; the server is
/// stopped on return.
pub(crate) fn html_series(
    args: &Args,
    plan: &Plan,
    work: &Path,
    noise: &mut Noise,
    ours: &mut Ours,
) -> Result<Served> {
    let admin = free_port()?;
    let store = work.join("store");
    let log = work.join("ogforge.log");
    let mut server = Ogforge::spawn(args, &store, Some(admin), &log, &no_chromium())?;
    println!("[ogbench] ogforge pid {} on {}", server.pid(), server.addr);
    let (addr, pid) = (server.addr, server.pid());
    warm_up(addr, plan)?;
    ours.warm_rss_mib = rss_mib(pid, "VmRSS");
    noise.sample();
    let pieces_before = pieces(admin)?;
    ours.miss = html_misses(addr, plan, pid)?;
    ours.read_metrics(admin)?;
    ours.pieces = pieces(admin)?
        .zip(pieces_before)
        .map(|((c, e), (c0, e0))| (c - c0, e - e0));
    ours.phase_rss
        .push(("after the miss series", rss_mib(pid, "VmHWM")));
    noise.sample();
    ours.throughput = throughput_series(addr, plan)?;
    ours.phase_rss
        .push(("after the throughput series", rss_mib(pid, "VmHWM")));
    noise.sample();
    let f = single_flight(addr, admin, plan.flight)?;
    println!(
        "[ogbench] single-flight: {} requests -> {} render(s), {} collapsed, {} memory, identical bytes: {}",
        f.requests, f.renders, f.collapsed, f.late, f.identical
    );
    ours.flight = Some(f);
    let cards = Cards::fetch(addr, work)?;
    ours.phase_rss
        .push(("after single-flight", rss_mib(pid, "VmHWM")));
    noise.sample();
    let nginx = ours.hit_series(addr, pid, work, plan, &cards)?;
    ours.peak_rss_mib = rss_mib(pid, "VmHWM");
    ours.end_rss_mib = rss_mib(pid, "VmRSS");
    server.stop();
    Ok(Served { cards, nginx })
}

/// `ogforge_encode_pieces_total` now: (from the piece cache, from the encoder).
fn pieces(admin: u16) -> Result<Option<(f64, f64)>> {
    let metrics = scrape(admin)?;
    let from = |f| metric_value(&metrics, "ogforge_encode_pieces_total", &[("from", f)]);
    Ok(from("cache").zip(from("encoder")))
}

/// The miss series again on a server of its own with the piece cache off, so the report shows
/// what a card whose every strip is new costs (the encoder's whole work).
pub(crate) fn whole_encode_misses(
    args: &Args,
    plan: &Plan,
    work: &Path,
) -> Result<BTreeMap<&'static str, Series>> {
    let mut env = no_chromium();
    env.push(("OGFORGE__RENDER__PIECE_CACHE_MIB".into(), "0".into()));
    let store = work.join("store-whole");
    let log = work.join("ogforge-whole.log");
    let mut server = Ogforge::spawn(args, &store, None, &log, &env)?;
    println!("[ogbench] piece cache off: ogforge pid {}", server.pid());
    warm_up(server.addr, plan)?;
    let miss = html_misses(server.addr, plan, server.pid())?;
    server.stop();
    Ok(miss)
}

/// Warm-up on ids the timed loops never use, as the peers warm up before timing.
fn warm_up(addr: SocketAddr, plan: &Plan) -> Result<()> {
    let mut conn = Conn::open(addr)?;
    for i in 0..plan.warmup {
        for ext in ["jpg", "png"] {
            expect_image(&conn.get(&format!("/card/{}.{ext}", 10 + i))?, "render")?;
        }
    }
    Ok(())
}

impl Ours {
    /// Render means per route and the store write p50, from `/metrics` after the misses.
    fn read_metrics(&mut self, admin: u16) -> Result<()> {
        let metrics = scrape(admin)?;
        for (ext, route) in [("jpg", "card-jpeg"), ("png", "card-png")] {
            self.render_mean_ms
                .insert(ext, render_mean_ms(&metrics, route, "html"));
        }
        self.store_put_p50_ms = metric_value(
            &metrics,
            "ogforge_store_seconds",
            &[("op", "put"), ("quantile", "0.5")],
        )
        .map(|s| s * 1e3);
        Ok(())
    }

    /// wrk on the stored JPEG, ogforge next to nginx, then which tier served it; nginx's
    /// figures are returned.
    fn hit_series(
        &mut self,
        addr: SocketAddr,
        pid: u32,
        work: &Path,
        plan: &Plan,
        cards: &Cards,
    ) -> Result<Option<Wrk>> {
        self.hit_bytes = cards.jpeg.len();
        let (hits, nginx) = against_nginx(addr, work, &cards.jpeg_path, &cards.jpeg, plan)?;
        self.phase_rss.push(("after wrk", rss_mib(pid, "VmHWM")));
        self.hits = hits;
        let tier = Conn::open(addr)?.get(&cards.jpeg_path)?;
        self.hits_tier = tier.header("x-ogforge-tier").unwrap_or("?").to_owned();
        Ok(nginx)
    }
}

impl Cards {
    /// The PNG (a render, kept in `work`) and the JPEG (a render, then a memory hit).
    fn fetch(addr: SocketAddr, work: &Path) -> Result<Self> {
        let mut conn = Conn::open(addr)?;
        let card_png = conn.get(&format!("/card/{CARD_ID}.png"))?;
        expect_image(&card_png, "render")?;
        let png_path = work.join("card.png");
        fs::write(&png_path, &card_png.body)?;
        let jpeg_path = format!("/card/{CARD_ID}.jpg");
        let first = conn.get(&jpeg_path)?;
        expect_image(&first, "render")?;
        expect_image(&conn.get(&jpeg_path)?, "memory")?;
        Ok(Self {
            png: card_png.body,
            png_path,
            jpeg_path,
            jpeg: first.body,
        })
    }
}
