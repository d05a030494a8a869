//! The browser renderer's part of the report: what its series did, its JPEG | PNG table, and
//! the notes on the first image, Chromium launches and the page server's requests.

use std::fmt::Write as _;

use super::{Report, f1};
use crate::{browser::Browser, stats::Series};

/// A row of the browser renderer's JPEG | PNG table: `f` gives the cell of each series.
fn both_series(s: &mut String, b: &Browser, label: &str, f: &dyn Fn(&Series) -> String) {
    let cell = |e: &str| b.miss.get(e).map_or_else(|| "n/a".into(), f);
    let _ = writeln!(s, "| {label} | {} | {} |", cell("jpg"), cell("png"));
}

impl Report<'_> {
    /// The browser renderer's series, in detail.
    pub(super) fn browser_section(&self, s: &mut String) {
        let b = self.browser;
        s.push_str("\n### The browser renderer (warm Chromium pool)\n\n");
        let _ = writeln!(
            s,
            "`/browser/{{id}}.jpg` (JPEG q80) and `/browser/{{id}}.png`: `renderer = \"browser\"` \
             routes of `bench/ogforge.toml`, 1200x630 at device scale 1, on an ogforge of their \
             own (fresh store, `/usr/bin/chromium`, `render.concurrency` default). Chromium \
             loads `http://127.0.0.1:<port>/card?id=ID` from a page server in \
             `examples/ogbench/pages.rs`: `../shared/card/card.html` in a page, the id in the \
             footer as `bench/card.html.j2` shows it, Inter 700 from the same origin \
             (cacheable). After \
             {} warm-up renders per format (Chromium launched, a warm tab parked), {} new ids \
             one at a time per format over one keep-alive connection: each miss is navigation + \
             readiness (load event, `document.fonts.ready`) + screenshot + encode, over HTTP, \
             including the store write.\n",
            self.plan.warmup, self.plan.misses
        );
        if let Some(e) = &b.error {
            let _ = writeln!(
                s,
                "The series failed: `{}`.",
                e.lines().next().unwrap_or("")
            );
            return;
        }
        self.browser_table(s);
        self.browser_notes(s);
    }

    /// The browser renderer's JPEG | PNG table.
    fn browser_table(&self, s: &mut String) {
        let b = self.browser;
        s.push_str("| measure | JPEG q80 | PNG |\n| --- | ---: | ---: |\n");
        both_series(s, b, "miss: p50 / p90 / p99 ms", &|m| {
            format!(
                "{:.1} / {:.1} / {:.1}",
                m.stats.p50, m.stats.p90, m.stats.p99
            )
        });
        both_series(s, b, "miss: min / mean / max ms", &|m| {
            format!(
                "{:.1} / {:.1} / {:.1}",
                m.stats.min, m.stats.mean, m.stats.max
            )
        });
        both_series(s, b, "miss: images/s, one at a time", &|m| {
            format!("{:.1}", m.per_sec)
        });
        both_series(
            s,
            b,
            "miss: CPU ms per image, ogforge + Chromium processes",
            &|m| f1(Some(m.tree_cpu_ms_per_image)),
        );
        both_series(
            s,
            b,
            "miss: CPU ms per image, the ogforge process alone",
            &|m| f1(Some(m.cpu_ms_per_image)),
        );
        let _ = writeln!(
            s,
            "| render mean ms (navigation + readiness + screenshot; /metrics) | {} | {} |",
            f1(b.render_mean_ms.get("jpg").copied().flatten()),
            f1(b.render_mean_ms.get("png").copied().flatten())
        );
        both_series(s, b, "image size KiB", &|m| format!("{:.1}", m.mean_kib));
    }

    /// The notes under the browser renderer's table: first image, launches, page requests.
    fn browser_notes(&self, s: &mut String) {
        let b = self.browser;
        let (pages, fonts, other) = b.page_requests;
        let _ = writeln!(
            s,
            "\n- First browser image after `ogforge serve` was spawned (Chromium starts in the \
             background at start-up): {} ms. Chromium launches (`ogforge_browser_launches_total`): \
             {}; fallbacks: {}. Peak RSS of the ogforge process (Chromium's processes not \
             included): {} MiB.",
            f1(b.first_image_ms),
            b.launches
                .map_or_else(|| "n/a".into(), |n| format!("{:.0}", n + 0.0)),
            b.fallbacks
                .map_or_else(|| "n/a".into(), |n| format!("{:.0}", n + 0.0)),
            f1(b.peak_rss_mib)
        );
        let _ = writeln!(
            s,
            "- The page server answered {pages} page requests, {fonts} font requests and {other} \
             others (a font request per page would mean Chromium's cache is not kept between \
             renders)."
        );
    }
}
