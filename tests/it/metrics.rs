//! What `/metrics` exports (issue 11): the series alerts and dashboards take rates of exist at
//! zero from start-up, with the process's own figures, the build, the memory tier and the
//! store's latency as a histogram.

use crate::util::{EMBEDDED_ID, Workdir, get};

/// Whether the exposition has a sample line for `series` (a name and, optionally, labels in
/// the order the exporter writes them: here, checked as substrings of the line).
fn has(text: &str, name: &str, labels: &[&str]) -> bool {
    text.lines().any(|l| {
        !l.starts_with('#')
            && (l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
            && labels.iter().all(|want| l.contains(want))
    })
}

#[tokio::test]
async fn a_quiet_instance_exports_every_documented_series_at_zero() {
    let w = Workdir::new();
    w.config("[store]\nurl = \"data\"\n");
    let s = w.serve();
    let text = s.scrape().await.text;
    for (name, labels) in [
        (
            "ogforge_http_requests_total",
            &["route=\"default\"", "tier=\"render\""][..],
        ),
        ("ogforge_renders_total", &["outcome=\"ok\""][..]),
        (
            "ogforge_fallbacks_total",
            &["reason=\"render-timeout\""][..],
        ),
        ("ogforge_store_errors_total", &["op=\"put\""][..]),
        ("ogforge_request_timeouts_total", &["route=\"default\""][..]),
        ("ogforge_rate_limited_total", &[][..]),
        (
            "ogforge_fetches_total",
            &["kind=\"data\"", "outcome=\"ok\""][..],
        ),
        (
            "ogforge_fetch_blocked_total",
            &["reason=\"link-local\""][..],
        ),
        ("ogforge_flight_waiters_total", &[][..]),
        ("ogforge_store_pending_writes", &[][..]),
        ("ogforge_store_breaker_open", &[][..]),
        ("ogforge_memory_bytes", &[][..]),
        ("ogforge_memory_entries", &[][..]),
        ("ogforge_memory_evictions_total", &[][..]),
        ("ogforge_build_info", &["version=\""][..]),
        ("process_resident_memory_bytes", &[][..]),
        ("process_open_fds", &[][..]),
        ("process_cpu_seconds_total", &[][..]),
    ] {
        assert!(
            has(&text, name, labels),
            "{name} {labels:?} missing:\n{text}"
        );
    }

    // A miss: the store's latency is a histogram, and the memory tier holds the image.
    let r = get(&s.url(&format!("/{EMBEDDED_ID}.jpg"))).await;
    assert_eq!(r.header("x-ogforge-tier"), "render");
    let m = s.scrape().await;
    assert!(has(
        &m.text,
        "ogforge_store_seconds_bucket",
        &["op=\"get\""]
    ));
    assert_eq!(m.get("ogforge_memory_entries", &[]), 1.0);
    assert!(m.get("ogforge_memory_bytes", &[]) >= r.body.len() as f64);
}
