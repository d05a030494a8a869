//! Scaling across cores (issue 17): memory hits/s (`wrk`) and JPEG misses/s (new ids over N
//! keep-alive connections) at concurrency 1, 2, 4, 8, 16 and 32, first on a server confined
//! to one CPU (`taskset -c 0` from its start, so its pools are sized for one), then on one
//! that has every CPU. Efficiency is `rate / (one-CPU rate x CPUs)`, the one-CPU rate being
//! that server's best over the same concurrencies.
//!
//! The clients run on the same machine: on a 2-CPU machine they take a share of the CPUs the
//! server would scale onto, so efficiency here is a floor, not what a server with the machine
//! to itself gets. Written into its own section of docs/BENCHMARKS.md (`--scaling-only` runs
//! just this part).

use std::{fmt::Write as _, path::Path};

use anyhow::Result;

use crate::{
    CARD_ID,
    args::{Args, Plan},
    browser::no_chromium,
    hits::wrk_with,
    http::{Conn, expect_image},
    misses::throughput,
    report::write_section,
    server::Ogforge,
};

const BEGIN: &str = "<!-- BEGIN SCALING by bench/run.sh (--scaling-only for this part alone) -->";
const END: &str = "<!-- END SCALING -->";
const CONCURRENCY: [usize; 6] = [1, 2, 4, 8, 16, 32];

/// One server's rates at each concurrency.
#[derive(Debug, Default)]
pub(crate) struct Rates {
    pub(crate) hits: Vec<f64>,
    pub(crate) misses: Vec<f64>,
}

#[derive(Debug)]
pub(crate) struct Scaling {
    pub(crate) cpus: usize,
    pub(crate) one: Rates,
    pub(crate) all: Rates,
    pub(crate) wrk_secs: u32,
    pub(crate) ids: usize,
}

pub(crate) fn scaling_series(args: &Args, plan: &Plan, work: &Path) -> Result<Scaling> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wrk_secs = plan.wrk_secs.min(5);
    let ids = plan.throughput;
    let mut rates = Vec::new();
    for (i, pin) in [Some("0"), None].into_iter().enumerate() {
        let store = work.join(format!("scaling-store-{i}"));
        let log = work.join(format!("ogforge-scaling-{i}.log"));
        let mut server = Ogforge::spawn_on(args, &store, None, &log, &no_chromium(), pin)?;
        let path = format!("/card/{CARD_ID}.jpg");
        let r = Conn::open(server.addr)?.get(&path)?;
        expect_image(&r, "render")?;
        let url = format!("http://{}{path}", server.addr);
        let mut r = Rates::default();
        for (ci, &c) in CONCURRENCY.iter().enumerate() {
            let (threads, conns) = (c.min(2).to_string(), c.to_string());
            wrk_with(&url, 1, &threads, &conns)?; // warm-up, untimed
            let hits = wrk_with(&url, wrk_secs, &threads, &conns)?;
            let first = 5_000_000 + (i * CONCURRENCY.len() + ci) as u64 * 100_000;
            let misses = throughput(server.addr, "jpg", first, ids, c)?;
            println!(
                "[ogbench] scaling {} c={c}: hits {:.0}/s, misses {:.1}/s",
                if pin.is_some() { "one CPU" } else { "all CPUs" },
                hits.rps,
                misses.per_sec
            );
            r.hits.push(hits.rps);
            r.misses.push(misses.per_sec);
        }
        server.stop();
        rates.push(r);
    }
    let all = rates.pop().unwrap_or_default();
    let one = rates.pop().unwrap_or_default();
    Ok(Scaling {
        cpus,
        one,
        all,
        wrk_secs,
        ids,
    })
}

fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

pub(crate) fn markdown(s: &Scaling, date: &str, machine: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{BEGIN}\n");
    let _ = writeln!(
        out,
        "Scaling (issue 17), {date}, {machine}. Hits: `wrk` on the memory-hit JPEG for {} s per \
         row (threads = min(2, connections)). Misses: {} new JPEG ids per row over that many \
         keep-alive connections. \"one CPU\": a server started under `taskset -c 0`; \"all\": \
         one with all {} CPUs. Efficiency = rate / (best one-CPU rate x {}). The clients share \
         the machine's CPUs with the server.\n",
        s.wrk_secs, s.ids, s.cpus, s.cpus
    );
    let _ = writeln!(
        out,
        "| concurrency | hits/s, one CPU | hits/s, all | hit efficiency | misses/s, one CPU | misses/s, all | miss efficiency |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let (hit1, miss1) = (best(&s.one.hits), best(&s.one.misses));
    let cpus = s.cpus as f64;
    for (i, c) in CONCURRENCY.iter().enumerate() {
        let get = |v: &[f64]| v.get(i).copied().unwrap_or(0.0);
        let eff = |rate: f64, one: f64| {
            if one > 0.0 {
                format!("{:.2}", rate / (one * cpus))
            } else {
                "n/a".into()
            }
        };
        let _ = writeln!(
            out,
            "| {c} | {:.0} | {:.0} | {} | {:.1} | {:.1} | {} |",
            get(&s.one.hits),
            get(&s.all.hits),
            eff(get(&s.all.hits), hit1),
            get(&s.one.misses),
            get(&s.all.misses),
            eff(get(&s.all.misses), miss1),
        );
    }
    let _ = writeln!(out, "\n{END}");
    out
}

pub(crate) fn write(report: &Path, section: &str) -> Result<()> {
    write_section(report, BEGIN, END, section, |generated| {
        let old = std::fs::read_to_string(report).unwrap_or_default();
        format!("{}\n\n{generated}\n", old.trim_end())
    })
}
