//! Render misses: never-stored ids, so every request renders, encodes and writes the store.
//! One at a time over one keep-alive connection (latency percentiles, images/s, CPU per image,
//! size) and at concurrency 2 and 8 (throughput over both cores). The browser routes reuse
//! [`misses`] in `browser.rs`.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Barrier,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::Instant,
};

use anyhow::{Context, Result, anyhow};

use crate::{
    args::Plan,
    http::{Conn, expect_image},
    procfs::{proc_cpu_ms, tree_cpu_ms},
    stats::{Series, Stats},
};

/// The HTML routes' miss series, JPEG then PNG, each on ids of its own.
pub(crate) fn html_misses(
    addr: SocketAddr,
    plan: &Plan,
    pid: u32,
) -> Result<BTreeMap<&'static str, Series>> {
    let mut out = BTreeMap::new();
    for (ext, base) in [("jpg", 1_000_000u64), ("png", 2_000_000)] {
        let s = misses(addr, "card", ext, base, plan.misses, pid)?;
        println!(
            "[ogbench] miss {ext}: n={} p50={:.2} p90={:.2} p99={:.2} ms, {:.1} img/s, cpu {:.2} ms/img",
            s.stats.n, s.stats.p50, s.stats.p90, s.stats.p99, s.per_sec, s.cpu_ms_per_image
        );
        out.insert(ext, s);
    }
    Ok(out)
}

/// `n` never-stored ids at `/{prefix}/{id}.{ext}`, one at a time over one keep-alive connection.
pub(crate) fn misses(
    addr: SocketAddr,
    prefix: &str,
    ext: &str,
    first: u64,
    n: usize,
    pid: u32,
) -> Result<Series> {
    let mut conn = Conn::open(addr)?;
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0usize;
    let cpu0 = proc_cpu_ms(pid);
    let tree0 = tree_cpu_ms(pid);
    let wall = Instant::now();
    for id in first..first + n as u64 {
        let path = format!("/{prefix}/{id}.{ext}");
        let t = Instant::now();
        let r = conn.get(&path)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        expect_image(&r, "render").with_context(|| path.clone())?;
        bytes += r.body.len();
    }
    let wall = wall.elapsed().as_secs_f64();
    let cpu = proc_cpu_ms(pid).zip(cpu0).map_or(f64::NAN, |(a, b)| a - b);
    let tree = tree_cpu_ms(pid).zip(tree0).map_or(f64::NAN, |(a, b)| a - b);
    Ok(Series {
        stats: Stats::of(&times),
        per_sec: n as f64 / wall,
        cpu_ms_per_image: cpu / n as f64,
        tree_cpu_ms_per_image: tree / n as f64,
        mean_kib: bytes as f64 / n as f64 / 1024.0,
    })
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Throughput {
    pub(crate) per_sec: f64,
    pub(crate) stats: Stats,
}

/// Miss throughput at concurrency 2 then 8, JPEG and PNG at each, on ids of their own.
pub(crate) fn throughput_series(
    addr: SocketAddr,
    plan: &Plan,
) -> Result<BTreeMap<(&'static str, usize), Throughput>> {
    let mut out = BTreeMap::new();
    for (ci, c) in [2usize, 8].into_iter().enumerate() {
        for (ei, ext) in ["jpg", "png"].into_iter().enumerate() {
            let first = 3_000_000 + (ci as u64 * 2 + ei as u64) * 100_000;
            let t = throughput(addr, ext, first, plan.throughput, c)?;
            println!(
                "[ogbench] throughput {ext} c={c}: {:.1} img/s (p50 {:.2} ms)",
                t.per_sec, t.stats.p50
            );
            out.insert((ext, c), t);
        }
    }
    Ok(out)
}

/// `n` never-stored ids over `c` keep-alive connections at once.
pub(crate) fn throughput(
    addr: SocketAddr,
    ext: &str,
    first: u64,
    n: usize,
    c: usize,
) -> Result<Throughput> {
    let conns = (0..c)
        .map(|_| Conn::open(addr))
        .collect::<Result<Vec<_>>>()?;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(c + 1));
    let workers: Vec<_> = conns
        .into_iter()
        .map(|conn| {
            let (next, start, ext) = (Arc::clone(&next), Arc::clone(&start), ext.to_owned());
            thread::spawn(move || client(conn, &next, &start, &ext, first, n))
        })
        .collect();
    start.wait();
    let wall = Instant::now();
    let mut times = Vec::with_capacity(n);
    for w in workers {
        times.extend(
            w.join()
                .map_err(|_| anyhow!("a client thread panicked"))??,
        );
    }
    Ok(Throughput {
        per_sec: n as f64 / wall.elapsed().as_secs_f64(),
        stats: Stats::of(&times),
    })
}

/// One connection of [`throughput`]: after the start barrier, takes the next id until `n` are
/// taken; the time of each of its requests, in ms.
fn client(
    mut conn: Conn,
    next: &AtomicUsize,
    start: &Barrier,
    ext: &str,
    first: u64,
    n: usize,
) -> Result<Vec<f64>> {
    start.wait();
    let mut times = Vec::new();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            return Ok(times);
        }
        let path = format!("/card/{}.{ext}", first + i as u64);
        let t = Instant::now();
        let r = conn.get(&path)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        expect_image(&r, "render").with_context(|| path.clone())?;
    }
}
