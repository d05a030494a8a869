//! Memory hits: one stored JPEG asked for again and again with `wrk`, from ogforge's memory
//! tier and from nginx serving the same bytes from a file, alternating rounds so both meet the
//! same machine conditions.

use std::{collections::BTreeMap, net::SocketAddr, path::Path, process::Command};

use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::{args::Plan, server::Nginx};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wrk {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) bad: u64,
}

impl Wrk {
    fn mean(runs: &[Wrk]) -> Wrk {
        let n = runs.len().max(1) as f64;
        Wrk {
            rps: runs.iter().map(|w| w.rps).sum::<f64>() / n,
            p50_ms: runs.iter().map(|w| w.p50_ms).sum::<f64>() / n,
            p99_ms: runs.iter().map(|w| w.p99_ms).sum::<f64>() / n,
            bad: runs.iter().map(|w| w.bad).sum(),
        }
    }
}

pub(crate) const WRK_THREADS: &str = "2";
pub(crate) const WRK_CONNECTIONS: &str = "64";

/// `wrk` on `path` at ogforge (`addr`) and at an nginx serving `body` from a file in `work`,
/// `plan.wrk_rounds` alternating rounds after an untimed 1 s warm-up each; the mean of the
/// rounds for ogforge, then for nginx. nginx is stopped on return.
pub(crate) fn against_nginx(
    addr: SocketAddr,
    work: &Path,
    path: &str,
    body: &[u8],
    plan: &Plan,
) -> Result<(Option<Wrk>, Option<Wrk>)> {
    let nginx = Nginx::start(work, path, body)?;
    let ours_url = format!("http://{addr}{path}");
    let nginx_url = format!("http://{}{path}", nginx.addr);
    let mut hit_runs: BTreeMap<&str, Vec<Wrk>> = BTreeMap::new();
    for _ in 0..plan.wrk_rounds {
        for (name, url) in [("ogforge", &ours_url), ("nginx", &nginx_url)] {
            wrk(url, 1)?; // warm-up, untimed
            let w = wrk(url, plan.wrk_secs)?;
            println!(
                "[ogbench] wrk {name}: {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms",
                w.rps, w.p50_ms, w.p99_ms
            );
            hit_runs.entry(name).or_default().push(w);
        }
    }
    drop(nginx);
    Ok((
        hit_runs.get("ogforge").map(|v| Wrk::mean(v)),
        hit_runs.get("nginx").map(|v| Wrk::mean(v)),
    ))
}

fn wrk(url: &str, secs: u32) -> Result<Wrk> {
    wrk_with(url, secs, WRK_THREADS, WRK_CONNECTIONS)
}

/// `wrk` with `threads` threads over `connections` keep-alive connections.
pub(crate) fn wrk_with(url: &str, secs: u32, threads: &str, connections: &str) -> Result<Wrk> {
    let out = Command::new("wrk")
        .args(["-t", threads, "-c", connections, "--latency", "-d"])
        .arg(format!("{secs}s"))
        .arg(url)
        .output()
        .context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.success(), "wrk failed: {text}");
    parse_wrk(&text)
}

/// Requests/sec, the 50 % and 99 % latencies and the errors of wrk's `--latency` output.
fn parse_wrk(text: &str) -> Result<Wrk> {
    let mut w = Wrk::default();
    for line in text.lines().map(str::trim) {
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next()) {
            (Some("Requests/sec:"), Some(v)) => w.rps = v.parse()?,
            (Some("50%"), Some(v)) => w.p50_ms = wrk_ms(v)?,
            (Some("99%"), Some(v)) => w.p99_ms = wrk_ms(v)?,
            _ => {}
        }
        if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
            w.bad += n.trim().parse::<u64>().unwrap_or(0);
        }
        if line.starts_with("Socket errors:") {
            // "Socket errors: connect 0, read 0, write 0, timeout 0"
            w.bad += line
                .split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    ensure!(w.rps > 0.0, "no Requests/sec in wrk's output: {text}");
    Ok(w)
}

/// wrk's durations: `850.00us`, `1.23ms`, `1.02s`, `2.00m`.
fn wrk_ms(v: &str) -> Result<f64> {
    let split = v
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| anyhow!("bad wrk duration {v:?}"))?;
    let (num, unit) = v.split_at(split);
    let num: f64 = num.parse()?;
    Ok(match unit {
        "us" => num / 1e3,
        "ms" => num,
        "s" => num * 1e3,
        "m" => num * 60e3,
        other => bail!("unknown wrk unit {other:?}"),
    })
}
