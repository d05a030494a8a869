//! The summary table at the top of the report (and printed at the end of a run): each of
//! ogforge's figures next to each peer's, the ratio, and the target where there is one.
//! One function per group of rows, in the table's order.

use std::fmt::Write as _;

use super::{Report, f1};
use crate::{browser::Browser, ours::Ours, peers::Peers};

/// The table being written, one row at a time.
struct Table(String);

impl Table {
    fn row(
        &mut self,
        measure: &str,
        ours: Option<f64>,
        who: &str,
        theirs: Option<f64>,
        r: Option<f64>,
        target: String,
    ) {
        let _ = writeln!(
            self.0,
            "| {measure} | {} | {who} | {} | {} | {target} |",
            f1(ours),
            f1(theirs),
            r.map_or_else(|| "n/a".into(), |r| format!("{r:.2}x"))
        );
    }
}

fn ratio(num: Option<f64>, den: Option<f64>) -> Option<f64> {
    let (n, d) = (num?, den?);
    (d > 0.0).then_some(n / d)
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "n/a",
    }
}

impl Report<'_> {
    /// The one table: ogforge's figure, each peer's, and the ratio.
    pub(crate) fn summary_table(&self) -> String {
        let (o, p) = (self.ours, self.peers);
        let mut t = Table(String::new());
        t.0.push_str("| measure | ogforge | compared with | their figure | ratio | target |\n");
        t.0.push_str("| --- | ---: | --- | ---: | ---: | --- |\n");
        // Latency and memory: ratio = theirs / ours, so > 1 means ogforge is faster or smaller.
        jpeg_p50_rows(&mut t, o, p);
        png_p50_rows(&mut t, o, p);
        p99_rows(&mut t, o, p);
        // Throughput: ratio = ours / theirs.
        rate_rows(&mut t, o, p);
        cold_rows(&mut t, o, p);
        rss_rows(&mut t, o, p);
        // The browser renderer (issue 4), warm pool, next to the peers' Chromium and to
        // ogforge's own HTML renderer; ratio = theirs / ours as for every latency.
        for (ext, format, label) in [("jpg", "jpeg", "JPEG q80"), ("png", "png", "PNG")] {
            browser_rows(&mut t, self.browser, o, p, (ext, format, label));
        }
        self.hit_and_flight_rows(&mut t);
        t.0
    }

    /// Memory hits next to nginx, and single-flight's render count.
    fn hit_and_flight_rows(&self, t: &mut Table) {
        let o = self.ours;
        let ours_rps = o.hits.map(|w| w.rps);
        let nginx_rps = self.nginx.map(|w| w.rps);
        let r = ratio(ours_rps, nginx_rps);
        t.row(
            "memory hits, wrk (req/s)",
            ours_rps,
            "nginx, same JPEG file from disk",
            nginx_rps,
            r,
            format!(">= 1.1x: {}", verdict(r.map(|r| r >= 1.1))),
        );
        let renders = o.flight.map(|f| f.renders);
        t.row(
            &format!(
                "single-flight: {} concurrent first requests -> renders",
                self.plan.flight
            ),
            renders,
            "-",
            None,
            None,
            format!("exactly 1: {}", verdict(renders.map(|r| r == 1.0))),
        );
    }
}

/// JPEG miss p50 against takumi-node (target >= 4x, issue 17), satori, warm Chromium, and a new
/// Chromium per image (target >= 150x).
fn jpeg_p50_rows(t: &mut Table, o: &Ours, p: &Peers) {
    let jpeg = o.p50("jpg");
    let tk_jpeg = p.figure("takumi", "jpeg", "p50");
    let r = ratio(tk_jpeg, jpeg);
    t.row(
        "JPEG q80 miss p50 (ms)",
        jpeg,
        "B. takumi-node",
        tk_jpeg,
        r,
        format!(">= 4x: {}", verdict(r.map(|r| r >= 4.0))),
    );
    whole_row(t, o, "jpg", "JPEG q80", tk_jpeg);
    for (who, peer, format) in [
        ("A. satori + resvg-js (+ sharp)", "satori-resvg", "jpeg"),
        (
            "A. satori + resvg-js (+ jpeg-js)",
            "satori-resvg",
            "jpeg-js",
        ),
        ("C2. Chromium, warm page", "chromium-warm", "jpeg"),
    ] {
        let theirs = p.figure(peer, format, "p50");
        t.row(
            "JPEG q80 miss p50 (ms)",
            jpeg,
            who,
            theirs,
            ratio(theirs, jpeg),
            String::new(),
        );
    }
    let c1 = p.figure("chromium-per-image", "jpeg", "p50");
    let r = ratio(c1, jpeg);
    t.row(
        "JPEG q80 miss p50 (ms)",
        jpeg,
        "C1. Chromium, new browser per image",
        c1,
        r,
        format!(">= 150x: {}", verdict(r.map(|r| r >= 150.0))),
    );
}

/// PNG miss p50 against takumi-node (target: ours <= 0.7x theirs, a ratio >= 1.43x),
/// satori, @vercel/og and warm Chromium.
fn png_p50_rows(t: &mut Table, o: &Ours, p: &Peers) {
    let png = o.p50("png");
    let tk_png = p.figure("takumi", "png", "p50");
    let r = ratio(tk_png, png);
    t.row(
        "PNG miss p50 (ms)",
        png,
        "B. takumi-node",
        tk_png,
        r,
        format!(
            "ours <= 0.7x theirs: {}",
            verdict(r.map(|r| r >= 1.0 / 0.7))
        ),
    );
    whole_row(t, o, "png", "PNG", tk_png);
    for (who, peer, format) in [
        ("A. satori + resvg-js", "satori-resvg", "png"),
        ("D. @vercel/og", "vercel-og", "png"),
        ("C2. Chromium, warm page", "chromium-warm", "png"),
        (
            "C2. Chromium, warm page (optimizeForSpeed)",
            "chromium-warm",
            "png-fast",
        ),
    ] {
        let theirs = p.figure(peer, format, "p50");
        t.row(
            "PNG miss p50 (ms)",
            png,
            who,
            theirs,
            ratio(theirs, png),
            String::new(),
        );
    }
}

/// The miss p50 of a server with the piece cache off, against takumi-node: every strip encoded.
fn whole_row(t: &mut Table, o: &Ours, ext: &str, label: &str, takumi: Option<f64>) {
    let ours = o.miss_whole.get(ext).map(|s| s.stats.p50);
    t.row(
        &format!("{label} miss p50, piece cache off (ms)"),
        ours,
        "B. takumi-node",
        takumi,
        ratio(takumi, ours),
        String::new(),
    );
}

/// Miss p99 against takumi-node, JPEG and PNG.
fn p99_rows(t: &mut Table, o: &Ours, p: &Peers) {
    for (ext, format, label) in [("jpg", "jpeg", "JPEG"), ("png", "png", "PNG")] {
        let ours = o.miss.get(ext).map(|s| s.stats.p99);
        let theirs = p.figure("takumi", format, "p99");
        t.row(
            &format!("{label} miss p99 (ms)"),
            ours,
            "B. takumi-node",
            theirs,
            ratio(theirs, ours),
            String::new(),
        );
    }
}

/// Images per second, one at a time and at concurrency 8, against takumi-node one at a time.
fn rate_rows(t: &mut Table, o: &Ours, p: &Peers) {
    for (ext, format, label) in [("jpg", "jpeg", "JPEG"), ("png", "png", "PNG")] {
        let ours = o.miss.get(ext).map(|s| s.per_sec);
        let theirs = p.figure("takumi", format, "rendersPerSec");
        t.row(
            &format!("{label} img/s, one at a time"),
            ours,
            "B. takumi-node",
            theirs,
            ratio(ours, theirs),
            String::new(),
        );
        let ours = o.throughput.get(&(ext, 8)).map(|t| t.per_sec);
        t.row(
            &format!("{label} img/s, concurrency 8 (both cores)"),
            ours,
            "B. takumi-node, one at a time",
            theirs,
            ratio(ours, theirs),
            String::new(),
        );
    }
}

/// PNG cold start against every peer's (target <= 12 ms, issue 17, JPEG included, on
/// takumi's row).
fn cold_rows(t: &mut Table, o: &Ours, p: &Peers) {
    let cold = o.cold_median("png");
    for (who, peer) in [
        ("B. takumi-node", "takumi"),
        ("A. satori + resvg-js", "satori-resvg"),
        ("D. @vercel/og", "vercel-og"),
        ("C2. Chromium, warm page", "chromium-warm"),
        ("C1. Chromium, new browser per image", "chromium-per-image"),
    ] {
        let theirs = p.cold(peer);
        let target = if peer == "takumi" {
            format!(
                "<= 12 ms: {}",
                verdict(cold.map(|c| c <= 12.0 && o.cold_median("jpg").unwrap_or(c) <= 12.0))
            )
        } else {
            String::new()
        };
        t.row(
            "cold start, PNG: spawn -> first image (ms)",
            cold,
            who,
            theirs,
            ratio(theirs, cold),
            target,
        );
    }
}

/// Peak RSS against the peers' process trees (target: at most takumi-node's, issue 17).
fn rss_rows(t: &mut Table, o: &Ours, p: &Peers) {
    for (who, peer) in [
        ("B. takumi-node", "takumi"),
        ("A. satori + resvg-js", "satori-resvg"),
        ("D. @vercel/og", "vercel-og"),
        ("C2. Chromium, warm page (tree RSS)", "chromium-warm"),
    ] {
        let theirs = p.peak_rss_mib(peer);
        let r = ratio(theirs, o.peak_rss_mib);
        let target = if peer == "takumi" {
            format!("<= theirs: {}", verdict(r.map(|r| r >= 1.0)))
        } else {
            String::new()
        };
        t.row("peak RSS (MiB)", o.peak_rss_mib, who, theirs, r, target);
    }
}

/// The browser renderer's p50 rows, then its p99 rows, for one format (extension, the peers'
/// format name, label): against warm Chromium, a second Chromium figure, and ogforge's HTML
/// renderer.
fn browser_rows(
    t: &mut Table,
    b: &Browser,
    o: &Ours,
    p: &Peers,
    (ext, format, label): (&str, &str, &str),
) {
    let against = browser_peers(o, p, ext, format);
    for (who, theirs, _) in &against {
        t.row(
            &format!("browser renderer: {label} miss p50 (ms)"),
            b.p50(ext),
            who,
            *theirs,
            ratio(*theirs, b.p50(ext)),
            String::new(),
        );
    }
    for (who, _, theirs) in &against {
        t.row(
            &format!("browser renderer: {label} miss p99 (ms)"),
            b.p99(ext),
            who,
            *theirs,
            ratio(*theirs, b.p99(ext)),
            String::new(),
        );
    }
}

/// What the browser renderer is compared with for one format: who, their p50 and p99.
fn browser_peers(
    o: &Ours,
    p: &Peers,
    ext: &str,
    format: &str,
) -> Vec<(&'static str, Option<f64>, Option<f64>)> {
    let mut against = vec![(
        "C2. Chromium, warm page",
        p.figure("chromium-warm", format, "p50"),
        p.figure("chromium-warm", format, "p99"),
    )];
    if ext == "png" {
        against.push((
            "C2. Chromium, warm page (optimizeForSpeed)",
            p.figure("chromium-warm", "png-fast", "p50"),
            p.figure("chromium-warm", "png-fast", "p99"),
        ));
    } else {
        against.push((
            "C1. Chromium, new browser per image",
            p.figure("chromium-per-image", "jpeg", "p50"),
            p.figure("chromium-per-image", "jpeg", "p99"),
        ));
    }
    against.push((
        "ogforge, HTML renderer (same run)",
        o.p50(ext),
        o.miss.get(ext).map(|s| s.stats.p99),
    ));
    against
}
