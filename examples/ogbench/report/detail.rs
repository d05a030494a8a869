//! The "ogforge in detail" part of the report: the HTML renderer's JPEG | PNG table (misses,
//! render means, throughput, cold starts), the notes under it (store write, CLI render,
//! single-flight, memory) and the memory-hit table next to nginx.

use std::fmt::Write as _;

use super::{Report, f1, f2};
use crate::{
    CARD_ID,
    hits::{WRK_CONNECTIONS, WRK_THREADS},
    stats::median,
};

/// A row of a JPEG | PNG table: `f` gives the cell of each extension.
fn both(s: &mut String, label: &str, f: &dyn Fn(&str) -> String) {
    let _ = writeln!(s, "| {label} | {} | {} |", f("jpg"), f("png"));
}

impl Report<'_> {
    /// ogforge's HTML routes, JPEG next to PNG: misses, render means, throughput, cold starts.
    pub(super) fn detail_table(&self, s: &mut String) {
        let o = self.ours;
        s.push_str("| measure | JPEG q80 | PNG |\n| --- | ---: | ---: |\n");
        let miss = |ext: &str| o.miss.get(ext).copied();
        let n = o.miss.get("jpg").map_or(0, |s| s.stats.n);
        both(
            s,
            &format!("miss, {n} new ids one at a time: p50 / p90 / p99 ms"),
            &|e| {
                miss(e).map_or("n/a".into(), |m| {
                    format!(
                        "{:.2} / {:.2} / {:.2}",
                        m.stats.p50, m.stats.p90, m.stats.p99
                    )
                })
            },
        );
        both(s, "miss: min / mean / max ms", &|e| {
            miss(e).map_or("n/a".into(), |m| {
                format!(
                    "{:.2} / {:.2} / {:.2}",
                    m.stats.min, m.stats.mean, m.stats.max
                )
            })
        });
        both(s, "miss: images/s, one at a time", &|e| {
            f1(miss(e).map(|m| m.per_sec))
        });
        both(s, "miss: ogforge CPU ms per image (all threads)", &|e| {
            f2(miss(e).map(|m| m.cpu_ms_per_image))
        });
        let whole = |ext: &str| o.miss_whole.get(ext).copied();
        both(
            s,
            "miss, piece cache off (`render.piece_cache_mib = 0`): p50 / p99 ms",
            &|e| {
                whole(e).map_or("n/a".into(), |m| {
                    format!("{:.2} / {:.2}", m.stats.p50, m.stats.p99)
                })
            },
        );
        both(s, "miss, piece cache off: CPU ms per image", &|e| {
            f2(whole(e).map(|m| m.cpu_ms_per_image))
        });
        both(
            s,
            "render mean ms (template + layout + raster + encode; /metrics)",
            &|e| f2(o.render_mean_ms.get(e).copied().flatten()),
        );
        both(s, "image size KiB", &|e| f1(miss(e).map(|m| m.mean_kib)));
        for c in [2usize, 8] {
            both(
                s,
                &format!("miss throughput, concurrency {c}: images/s (p50 ms)"),
                &|e| {
                    o.throughput.get(&(e, c)).map_or("n/a".into(), |t| {
                        format!("{:.1} ({:.1})", t.per_sec, t.stats.p50)
                    })
                },
            );
        }
        self.cold_rows(s);
    }

    /// The cold-start rows of [`Self::detail_table`].
    fn cold_rows(&self, s: &mut String) {
        let o = self.ours;
        both(
            s,
            "cold start: spawn -> first image bytes, median ms (reps)",
            &|e| {
                o.cold.get(e).map_or("n/a".into(), |reps| {
                    let all: Vec<String> = reps
                        .iter()
                        .map(|r| format!("{:.0}", r.first_image_ms))
                        .collect();
                    format!("{} ({})", f1(o.cold_median(e)), all.join(", "))
                })
            },
        );
        both(s, "cold start: spawn -> listening, median ms", &|e| {
            o.cold.get(e).map_or("n/a".into(), |reps| {
                let v: Vec<f64> = reps.iter().map(|r| r.listening_ms).collect();
                f1((!v.is_empty()).then(|| median(&v)))
            })
        });
    }

    /// The notes under the detail table: store write, CLI render, single-flight, memory.
    pub(super) fn detail_notes(&self, s: &mut String) {
        let o = self.ours;
        let _ = writeln!(
            s,
            "\n- Store write (file store, fresh folder) p50: {} ms (/metrics).",
            f2(o.store_put_p50_ms)
        );
        if let Some((cache, encoder)) = o.pieces {
            let _ = writeln!(
                s,
                "- Piece cache during the miss series (`ogforge_encode_pieces_total`): {cache:.0} \
                 JPEG strips, PNG bands and PNG choices copied from it, {encoder:.0} encoded (the \
                 footer's strips, which change with the id). The \"piece cache off\" rows are \
                 the same series on a server of its own with `render.piece_cache_mib = 0`: \
                 what a card whose every strip is new costs."
            );
        }
        if let Some(c) = &o.cli_render_ms {
            let _ = writeln!(
                s,
                "- `ogforge render` of the PNG card, process start -> file written -> exit \
                 (hyperfine, {} runs): median {:.1} ms, min {:.1} ms.",
                c.n, c.p50, c.min
            );
        }
        if let Some(f) = o.flight {
            let _ = writeln!(
                s,
                "- Single-flight: {} connections sent `GET /card/999000001.jpg` at one instant: \
                 {} render(s) counted by `ogforge_renders_total`; {} responses say `collapsed` \
                 (waited on that render), {} came from memory after it; all bodies identical: {}.",
                f.requests, f.renders, f.collapsed, f.late, f.identical
            );
        }
        let _ = writeln!(
            s,
            "- RSS of the serving process after start-up and the warm-up renders: {} MiB; peak \
             over the whole run (VmHWM): {} MiB; at the end: {} MiB (the memory tier is capped \
             at 32 MiB by `bench/ogforge.toml`).",
            f1(o.warm_rss_mib),
            f1(o.peak_rss_mib),
            f1(o.end_rss_mib)
        );
        let phases: Vec<String> = o
            .phase_rss
            .iter()
            .map(|(label, mib)| format!("{label} {} MiB", f1(*mib)))
            .collect();
        let _ = writeln!(s, "- Peak RSS as the run went on: {}.", phases.join("; "));
    }

    /// wrk on a memory hit, ogforge next to nginx.
    pub(super) fn hits_section(&self, s: &mut String) {
        let o = self.ours;
        s.push_str("\n### Memory hits next to nginx\n\n");
        let _ = writeln!(
            s,
            "`wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{}s --latency` on loopback, after a 1 s \
             warm-up, {} round(s) alternating (mean shown); the same {}-byte JPEG \
             (`/card/{CARD_ID}.jpg`; ogforge serves it from its memory tier, tier header \
             `{}`). nginx: Debian's, two workers, `sendfile`, `open_file_cache`, no access log. \
             wrk runs on the same two cores as the server.\n",
            self.plan.wrk_secs, self.plan.wrk_rounds, o.hit_bytes, o.hits_tier
        );
        s.push_str("| server | req/s | p50 ms | p99 ms | errors / non-2xx |\n| --- | ---: | ---: | ---: | ---: |\n");
        for (name, w) in [
            ("ogforge (memory tier)", o.hits.as_ref()),
            ("nginx (file)", self.nginx),
        ] {
            match w {
                Some(w) => {
                    let _ = writeln!(
                        s,
                        "| {name} | {:.0} | {:.3} | {:.3} | {} |",
                        w.rps, w.p50_ms, w.p99_ms, w.bad
                    );
                }
                None => {
                    let _ = writeln!(s, "| {name} | n/a | n/a | n/a | n/a |");
                }
            }
        }
    }
}
