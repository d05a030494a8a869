//! Cold starts: a new `ogforge serve` on a fresh store until its first image bytes arrive
//! (so start-up plus one render), and, with hyperfine, one `ogforge render` of the card from
//! process start to exit.

use std::{collections::BTreeMap, fs, path::Path, process::Command, process::Stdio, time::Instant};

use anyhow::Result;
use serde_json::Value;

use crate::{
    CARD_ID,
    args::{Args, Plan},
    browser::no_chromium,
    http::{Conn, expect_image},
    machine::Noise,
    server::Ogforge,
    stats::Stats,
};

#[derive(Debug, Clone, Copy)]
pub(crate) struct ColdRep {
    pub(crate) listening_ms: f64,
    pub(crate) first_image_ms: f64,
}

/// Process spawn -> first image bytes received, a fresh store (so a render) each time,
/// alternating JPEG and PNG.
pub(crate) fn cold_starts(
    args: &Args,
    plan: &Plan,
    work: &Path,
    noise: &mut Noise,
) -> Result<BTreeMap<&'static str, Vec<ColdRep>>> {
    noise.sample();
    let log = work.join("ogforge-cold.log");
    let mut out: BTreeMap<&'static str, Vec<ColdRep>> = BTreeMap::new();
    for rep in 0..plan.cold_reps {
        for ext in ["jpg", "png"] {
            let store = work.join(format!("cold-store-{ext}-{rep}"));
            let rep = cold_start(args, &store, &log, ext, rep)?;
            println!(
                "[ogbench] cold {ext}: listening {:.1} ms, first image {:.1} ms",
                rep.listening_ms, rep.first_image_ms
            );
            out.entry(ext).or_default().push(rep);
        }
    }
    Ok(out)
}

/// One cold start on `store`: spawn, listening, first image of a new id; the server stopped.
fn cold_start(args: &Args, store: &Path, log: &Path, ext: &str, rep: usize) -> Result<ColdRep> {
    let t0 = Instant::now();
    let mut server = Ogforge::spawn(args, store, None, log, &no_chromium())?;
    let listening = t0.elapsed();
    let r = Conn::open(server.addr)?.get(&format!("/card/{}.{ext}", 900_000 + rep))?;
    let first = t0.elapsed();
    expect_image(&r, "render")?;
    server.stop();
    Ok(ColdRep {
        listening_ms: listening.as_secs_f64() * 1e3,
        first_image_ms: first.as_secs_f64() * 1e3,
    })
}

/// `ogforge render` of the card (process start -> PNG written -> exit) under hyperfine.
pub(crate) fn hyperfine_render(args: &Args, plan: &Plan, work: &Path) -> Option<Stats> {
    let json = work.join("hyperfine.json");
    let cmd = format!(
        "{} render --config {} /card/{CARD_ID}.png --no-store -o {}",
        args.ogforge.display(),
        args.config.display(),
        work.join("cli-card.png").display()
    );
    let status = Command::new("hyperfine")
        .args(["--shell=none", "--warmup", "2", "--style", "none", "--runs"])
        .arg(plan.cli_runs.to_string())
        .arg("--export-json")
        .arg(&json)
        .arg(&cmd)
        .stdout(Stdio::null())
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("[ogbench] hyperfine failed; skipping the CLI render figure");
        return None;
    }
    let stats = hyperfine_times(&json)?;
    println!(
        "[ogbench] CLI render (hyperfine): median {:.1} ms",
        stats.p50
    );
    Some(stats)
}

/// The run times (ms) of the first command in hyperfine's `--export-json` file.
fn hyperfine_times(json: &Path) -> Option<Stats> {
    let v: Value = serde_json::from_str(&fs::read_to_string(json).ok()?).ok()?;
    let times: Vec<f64> = v["results"][0]["times"]
        .as_array()?
        .iter()
        .filter_map(Value::as_f64)
        .map(|s| s * 1e3)
        .collect();
    Some(Stats::of(&times))
}
