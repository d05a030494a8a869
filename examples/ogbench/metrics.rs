//! ogforge's own figures, read from its Prometheus text on the admin listener: counter sums
//! (renders, launches, fallbacks), single series (store-write quantile) and the exact mean of
//! the render histogram.

use std::net::SocketAddr;

use anyhow::{Result, ensure};

use crate::http::Conn;

pub(crate) fn scrape(admin_port: u16) -> Result<String> {
    scrape_at(SocketAddr::from(([127, 0, 0, 1], admin_port)))
}

pub(crate) fn scrape_at(admin: SocketAddr) -> Result<String> {
    let r = Conn::open(admin)?.get("/metrics")?;
    ensure!(r.status == 200, "/metrics: status {}", r.status);
    Ok(String::from_utf8_lossy(&r.body).into_owned())
}

/// The sum of every series of a counter.
pub(crate) fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The value of the first series of `name` that has all of `labels`.
pub(crate) fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| l.strip_prefix(name).is_some_and(|r| r.starts_with('{')))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// The mean of `ogforge_render_seconds` for one route and renderer, in ms; `None` before the
/// first render. A histogram: its mean is exact (`_sum / _count`), a bucket quantile would not
/// be.
pub(crate) fn render_mean_ms(text: &str, route: &str, renderer: &str) -> Option<f64> {
    let labels = [("route", route), ("renderer", renderer)];
    let sum = metric_value(text, "ogforge_render_seconds_sum", &labels);
    let count = metric_value(text, "ogforge_render_seconds_count", &labels);
    sum.zip(count)
        .filter(|(_, n)| *n > 0.0)
        .map(|(s, n)| s / n * 1e3)
}
