//! The benchmark of issue 3, driven by `bench/run.sh`: ogforge end to end over HTTP on the
//! standard card, next to nginx and the peers of `../shared/peers/`, in one run.
//!
//! It starts `ogforge serve` (release build) with `bench/ogforge.toml` on a fresh store and
//! measures, in order: render misses one at a time over one keep-alive connection (JPEG, PNG),
//! miss throughput at concurrency 2 and 8, memory hits with `wrk` next to nginx serving the same
//! JPEG file from disk, single-flight (concurrent first requests for one id -> renders counted
//! by `/metrics`), peak RSS, cold start (spawn -> first image bytes received, fresh store each
//! time) and, with hyperfine, one `ogforge render` from process start to exit. Those servers
//! get a browser executable that does not exist, so no Chromium runs beside their figures.
//! Then the browser renderer (issue 4) on a server of its own: a warm Chromium pool
//! screenshotting the same card, served by a tiny page server here on loopback, misses one at a
//! time after a warm-up. The data routes (issue 12) get a server of their own too, against a
//! loopback JSON and image server (`--data-only` runs just that part). `--lambda-only` measures
//! the Lambda build's cold start under `cargo lambda`'s emulator next to the server's. Then it runs
//! `../shared/peers/run.sh`, compares ogforge's PNG of the card with Chromium's, prints one
//! table (ogforge, each peer, the ratio) and writes it to `docs/BENCHMARKS.md` between the
//! generated-section markers, leaving the hand-written text around them alone.
//!
//! The HTTP client is a plain blocking HTTP/1.1 client on `std::net` (Nagle off, keep-alive),
//! so the figures carry no client-side async runtime. Benchmarks report; nothing here asserts
//! a timing.
//!
//! Modules, in the order a run uses them: `args` (flags, plan), `machine` (machine, versions,
//! noise checkpoints), `cold` (cold starts, hyperfine), `ours` (the HTML renderer's server and
//! its series: `misses`, `flight`, `hits`), `data` (the data routes' misses, issue 12, against
//! a loopback API), `browser` (the browser renderer, with the page server of `pages`; both
//! servers on `loopback`), `peers`, `quality` (pixel comparison), `report` (the markdown, the
//! summary table among it); `server`, `http`, `metrics`, `procfs` and `stats` serve them all.

mod args;
mod browser;
mod cold;
mod data;
mod flight;
mod hits;
mod http;
mod lambda;
mod loopback;
mod machine;
mod metrics;
mod misses;
mod ours;
mod pages;
mod peers;
mod procfs;
mod quality;
mod report;
mod scaling;
mod server;
mod stats;

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::Path,
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use clap::Parser;

use crate::{
    args::{Args, Plan},
    browser::browser_series_or_error,
    cold::{cold_starts, hyperfine_render},
    data::data_series,
    machine::{Machine, Noise, command_line, cpu_steal_ms},
    ours::{Ours, html_series, whole_encode_misses},
    peers::peers,
    quality::against_chromium,
    report::{Report, write_report},
};

/// The reference card: the id 123410 draws "12 - 34 - 10", as in `../shared/card/card.html`.
const CARD_ID: &str = "123410";

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ogbench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The whole run: cold starts, the HTML renderer's server, the browser renderer's, the peers,
/// the pixel comparison, then the table and (unless `--no-write`) the report.
fn run(args: Args) -> Result<()> {
    let plan = Plan::new(args.quick);
    let started = Instant::now();
    let date = command_line("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]);
    let work = tempfile::Builder::new().prefix("ogbench-").tempdir()?;
    if args.data_only {
        return data_only(&args, &plan, work.path(), &date);
    }
    if args.lambda_only {
        return lambda_only(&args, &plan, work.path(), &date);
    }
    if args.scaling_only {
        return scaling_only(&args, &plan, work.path(), &date);
    }
    // nginx workers run as `nobody` when started by root: they must reach the served file.
    fs::set_permissions(work.path(), fs::Permissions::from_mode(0o755))?;
    let mut noise = Noise::default();
    noise.sample();
    let machine = Machine::read();
    let steal0 = cpu_steal_ms();
    let wall0 = Instant::now();

    let mut ours = Ours {
        cold: cold_starts(&args, &plan, work.path(), &mut noise)?,
        cli_render_ms: hyperfine_render(&args, &plan, work.path()),
        ..Ours::default()
    };
    let served = html_series(&args, &plan, work.path(), &mut noise, &mut ours)?;
    ours.miss_whole = whole_encode_misses(&args, &plan, work.path())?;
    let data = data_series(&args, &plan, work.path())?;
    let scaling = scaling::scaling_series(&args, &plan, work.path())?;
    let steal = steal_pct(steal0, wall0.elapsed());
    noise.sample();

    let browser = browser_series_or_error(&args, &plan, work.path());
    noise.sample();

    let peers = peers(&args, &mut noise);
    let vs_chromium = against_chromium(
        &args.peers,
        &served.cards.png,
        &served.cards.jpeg,
        browser.card_png.as_deref(),
    );

    let report = Report {
        args: &args,
        plan,
        date,
        machine,
        ours: &ours,
        nginx: served.nginx.as_ref(),
        browser: &browser,
        peers: &peers,
        vs_chromium,
        noise: &noise,
        steal_pct: steal,
        seconds: started.elapsed().as_secs_f64(),
    };
    let table = report.summary_table();
    println!("\n{table}");
    let machine = format!("{}, {} CPUs", report.machine.cpu, report.machine.nproc);
    let data_section = data::markdown(&data, &report.date, &machine);
    println!("\n{data_section}");
    let scaling_section = scaling::markdown(&scaling, &report.date, &machine);
    println!("\n{scaling_section}");
    if !args.no_write {
        write_outputs(&args, &report, &served.cards.png_path, started)?;
        data::write(&args.report, &data_section)?;
        scaling::write(&args.report, &scaling_section)?;
    }
    Ok(())
}

/// The data route series alone, and its section of the report.
fn data_only(args: &Args, plan: &Plan, work: &Path, date: &str) -> Result<()> {
    let d = data_series(args, plan, work)?;
    let m = Machine::read();
    let machine = format!("{}, {} CPUs", m.cpu, m.nproc);
    let section = data::markdown(&d, date, &machine);
    println!("\n{section}");
    if !args.no_write {
        data::write(&args.report, &section)?;
    }
    Ok(())
}

/// The scaling series alone, and its section of the report.
fn scaling_only(args: &Args, plan: &Plan, work: &Path, date: &str) -> Result<()> {
    let s = scaling::scaling_series(args, plan, work)?;
    let m = Machine::read();
    let machine = format!("{}, {} CPUs", m.cpu, m.nproc);
    let section = scaling::markdown(&s, date, &machine);
    println!("\n{section}");
    if !args.no_write {
        scaling::write(&args.report, &section)?;
    }
    Ok(())
}

/// The Lambda build's cold start next to the server's, and its section of the report.
fn lambda_only(args: &Args, plan: &Plan, work: &Path, date: &str) -> Result<()> {
    let mut noise = Noise::default();
    let server: Vec<f64> = cold_starts(args, plan, work, &mut noise)?
        .get("jpg")
        .map(|reps| reps.iter().map(|r| r.first_image_ms).collect())
        .unwrap_or_default();
    let lambda = lambda::lambda_cold_starts(args, plan, work)?;
    let m = Machine::read();
    let machine = format!("{}, {} CPUs", m.cpu, m.nproc);
    let section = lambda::markdown(&lambda, &server, date, &machine);
    println!("\n{section}");
    if !args.no_write {
        lambda::write(&args.report, &section)?;
    }
    Ok(())
}

/// Hypervisor steal since `steal0` over `wall` (ogforge's part of the run), in % of one CPU.
fn steal_pct(steal0: Option<f64>, wall: Duration) -> Option<f64> {
    cpu_steal_ms().zip(steal0).map(|(a, b)| {
        let one_cpu_ms = wall.as_secs_f64() * 1e3;
        100.0 * (a - b) / one_cpu_ms
    })
}

/// `docs/card.png` (the card as served) and the generated section of `docs/BENCHMARKS.md`.
fn write_outputs(
    args: &Args,
    report: &Report<'_>,
    card_path: &Path,
    started: Instant,
) -> Result<()> {
    if let Some(dir) = args.card.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::copy(card_path, &args.card)
        .with_context(|| format!("cannot write {}", args.card.display()))?;
    write_report(&args.report, &report.markdown())?;
    println!(
        "[ogbench] wrote {} and {} ({:.0} s)",
        args.report.display(),
        args.card.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
