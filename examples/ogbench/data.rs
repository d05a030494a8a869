//! The data route series (issue 12): a miss that fetches its card's JSON and one remote image
//! from a loopback server before it renders, next to the plain HTML miss of the same card, on
//! one server in one run.
//!
//! `bench/ogforge.toml` has two data routes with the same data URL and the same template
//! (`bench/data-card.html.j2`: the standard card with its title, subtitle and logo from the
//! data): `/d/{id}.jpg` is measured first on fresh ids, so its JSON and its image (a URL of
//! its own per id) are fetched on every miss (caches cold); `/w/{id}.jpg` is then asked for
//! the same ids: a miss under its own storage key, with the JSON and the image in memory
//! (caches warm). The loopback server answers in microseconds, so the cold figures are the
//! data stage's own cost, not a network's.

use std::{
    fmt::Write as _,
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use bytes::Bytes;

use crate::{
    args::{Args, Plan},
    browser::no_chromium,
    loopback::{self, Answer},
    misses::misses,
    report::write_section,
    server::{Ogforge, free_port},
    stats::Series,
};

const BEGIN: &str = "<!-- BEGIN DATA ROUTES by bench/run.sh (--data-only for this part alone) -->";
const END: &str = "<!-- END DATA ROUTES -->";
/// The data routes' index in `bench/ogforge.toml`, for their URL overrides.
const DATA_ROUTES: [usize; 2] = [4, 5];
/// The text of the standard card, so the data card draws the same glyphs.
const TITLE: &str = "Northside Falcons edge past Harbor City in a tense late rally";
const SUBTITLE: &str = "Regional league, round 7 - Saturday 14 September";

/// The four series, in the order they ran.
#[derive(Debug)]
pub(crate) struct DataSeries {
    pub(crate) plain: Series,
    pub(crate) cold: Series,
    pub(crate) warm: Series,
    pub(crate) plain_after: Series,
    /// JSON documents and images the loopback server gave out.
    pub(crate) documents: usize,
    pub(crate) images: usize,
}

/// Starts the loopback API and a server of its own, and measures plain, cold, warm and plain
/// again on `plan.misses` ids each.
pub(crate) fn data_series(args: &Args, plan: &Plan, work: &Path) -> Result<DataSeries> {
    let logo = logo_png(&args.config)?;
    let counts = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let api = start_api(logo, Arc::clone(&counts))?;
    let env: Vec<(String, String)> = DATA_ROUTES
        .iter()
        .map(|i| {
            (
                format!("OGFORGE__ROUTES__{i}__DATA__URL"),
                format!("http://{api}/posts/{{id}}"),
            )
        })
        .chain(no_chromium())
        .collect();
    let admin = free_port()?;
    let store = work.join("store-data");
    let log = work.join("ogforge-data.log");
    let mut server = Ogforge::spawn(args, &store, Some(admin), &log, &env)?;
    let (addr, pid) = (server.addr, server.pid());
    warm_up(addr, plan)?;
    let n = plan.misses;
    let first = 7_000_000;
    let run = |prefix: &str, first: u64| -> Result<Series> {
        let s = misses(addr, prefix, "jpg", first, n, pid)?;
        println!(
            "[ogbench] data /{prefix}/: n={} p50={:.2} p99={:.2} ms, {:.1} img/s",
            s.stats.n, s.stats.p50, s.stats.p99, s.per_sec
        );
        Ok(s)
    };
    let plain = run("card", first)?;
    let cold = run("d", first)?;
    let warm = run("w", first)?;
    let plain_after = run("card", first + n as u64)?;
    server.stop();
    Ok(DataSeries {
        plain,
        cold,
        warm,
        plain_after,
        documents: counts.0.load(Ordering::Relaxed),
        images: counts.1.load(Ordering::Relaxed),
    })
}

/// A few misses of every route the series use, on ids the timed loops never ask for.
fn warm_up(addr: SocketAddr, plan: &Plan) -> Result<()> {
    let mut conn = crate::http::Conn::open(addr)?;
    for i in 0..plan.warmup as u64 {
        for prefix in ["card", "d", "w"] {
            let path = format!("/{prefix}/{}.jpg", 6_000_000 + i);
            crate::http::expect_image(&conn.get(&path)?, "render").context(path)?;
        }
    }
    Ok(())
}

/// `/posts/{id}`: the card's JSON, naming `/avatar/{id}.png`; `/avatar/{id}.png`: the logo.
fn start_api(logo: Bytes, counts: Arc<(AtomicUsize, AtomicUsize)>) -> Result<SocketAddr> {
    let base = Arc::new(std::sync::OnceLock::<SocketAddr>::new());
    let seen = Arc::clone(&base);
    let addr = loopback::start(Arc::new(move |target: &str| {
        if let Some(id) = target.strip_prefix("/posts/") {
            counts.0.fetch_add(1, Ordering::Relaxed);
            let Some(base) = seen.get() else {
                return Answer::not_found();
            };
            let doc = serde_json::json!({
                "title": TITLE,
                "author": {"name": SUBTITLE, "avatar": format!("http://{base}/avatar/{id}.png")},
            });
            return Answer::ok("application/json", "no-store", Bytes::from(doc.to_string()));
        }
        if target.starts_with("/avatar/") {
            counts.1.fetch_add(1, Ordering::Relaxed);
            return Answer::ok("image/png", "no-store", logo.clone());
        }
        Answer::not_found()
    }))?;
    base.set(addr).map_err(|_| anyhow!("address set twice"))?;
    Ok(addr)
}

/// The standard card's logo: the PNG embedded in `bench/card.html.j2` beside the config.
fn logo_png(config: &Path) -> Result<Bytes> {
    let card = config.with_file_name("card.html.j2");
    let text = std::fs::read_to_string(&card).with_context(|| card.display().to_string())?;
    let b64 = text
        .split("data:image/png;base64,")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow!("no embedded PNG in {}", card.display()))?;
    let png = base64::engine::general_purpose::STANDARD.decode(b64)?;
    Ok(Bytes::from(png))
}

/// The series as a markdown section between its markers.
pub(crate) fn markdown(d: &DataSeries, date: &str, machine: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{BEGIN}\n");
    let _ = writeln!(
        s,
        "Data routes (issue 12), {date}, {machine}: {} misses per series, one at a time over one \
         keep-alive connection, the same card drawn from the same text and logo.\n",
        d.plain.stats.n
    );
    let _ = writeln!(
        s,
        "| series | p50 ms | p99 ms | img/s | p50 vs plain miss |\n| --- | ---: | ---: | ---: | ---: |"
    );
    let rows = [
        ("plain HTML miss (`/card/`, standard card)", &d.plain),
        (
            "data miss, caches cold: JSON + image fetched (`/d/`)",
            &d.cold,
        ),
        (
            "data miss, caches warm: JSON + image in memory (`/w/`)",
            &d.warm,
        ),
        ("plain HTML miss again, after", &d.plain_after),
    ];
    for (name, x) in rows {
        let _ = writeln!(
            s,
            "| {name} | {:.2} | {:.2} | {:.1} | {:.2}x |",
            x.stats.p50,
            x.stats.p99,
            x.per_sec,
            x.stats.p50 / d.plain.stats.p50
        );
    }
    let _ = writeln!(
        s,
        "\nThe loopback API gave out {} JSON documents and {} images: one each per cold miss and \
         per warm-up, none for the warm series. Goal: warm data miss within 1.5x of the plain \
         miss.\n\n{END}",
        d.documents, d.images
    );
    s
}

/// Writes the section into `report`, appending it the first time.
pub(crate) fn write(report: &Path, section: &str) -> Result<()> {
    write_section(report, BEGIN, END, section, |generated| {
        let old = std::fs::read_to_string(report).unwrap_or_default();
        format!("{}\n\n{generated}\n", old.trim_end())
    })
}
