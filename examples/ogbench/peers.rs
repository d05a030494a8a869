//! The peers of `../shared/peers/` (takumi-node, satori + resvg, @vercel/og, Chromium): runs
//! their `run.sh` in the same run as ogforge (or reuses their last results with
//! `--skip-peers`) and reads their figures from `out/results.json`. Their measurements are
//! theirs; this only runs and reads them.

use std::{fmt::Write as _, fs, process::Command};

use serde_json::Value;

use crate::{args::Args, machine::Noise};

#[derive(Debug, Default)]
pub(crate) struct Peers {
    pub(crate) json: Option<Value>,
    pub(crate) note: String,
}

impl Peers {
    fn result(&self, peer: &str, format: &str) -> Option<&Value> {
        self.json.as_ref()?["results"]
            .as_array()?
            .iter()
            .find(|r| r["peer"] == peer && r["format"] == format && r["error"].is_null())
    }

    pub(crate) fn figure(&self, peer: &str, format: &str, field: &str) -> Option<f64> {
        self.result(peer, format)?[field].as_f64()
    }

    pub(crate) fn cold(&self, peer: &str) -> Option<f64> {
        self.json.as_ref()?["colds"][peer]["median"].as_f64()
    }

    /// Peak RSS of the peer's process tree (MiB), over its formats.
    pub(crate) fn peak_rss_mib(&self, peer: &str) -> Option<f64> {
        let rows = self.json.as_ref()?["results"].as_array()?;
        rows.iter()
            .filter(|r| r["peer"] == peer && r["error"].is_null())
            .map(|r| {
                let a = r["treePeak"]["rssKB"].as_f64().unwrap_or(0.0);
                let b = r["endTreeRssKB"].as_f64().unwrap_or(0.0);
                a.max(b) / 1024.0
            })
            .reduce(f64::max)
    }
}

/// Runs the peers (unless `--skip-peers`), with a noise checkpoint before and after, then reads
/// their results; what went wrong, or that the results are from another kind of run, goes in
/// the note.
pub(crate) fn peers(args: &Args, noise: &mut Noise) -> Peers {
    let mut peers = Peers::default();
    if args.skip_peers {
        peers.note = "peers not run (--skip-peers): figures from their last run".into();
    } else {
        noise.sample();
        peers.note = run_peers(args);
        noise.sample();
    }
    read_results(args, &mut peers);
    peers
}

/// `../shared/peers/run.sh`, with `QUICK=1` for a quick run; empty on success, else why not.
fn run_peers(args: &Args) -> String {
    let script = args.peers.join("run.sh");
    println!(
        "[ogbench] running {}{}",
        script.display(),
        if args.quick { " (QUICK=1)" } else { "" }
    );
    let mut cmd = Command::new(&script);
    if args.quick {
        cmd.env("QUICK", "1");
    } else {
        cmd.env_remove("QUICK");
    }
    match cmd.env_remove("ONLY").status() {
        Ok(s) if s.success() => String::new(),
        Ok(s) => format!("{} failed ({s})", script.display()),
        Err(e) => format!("cannot run {}: {e}", script.display()),
    }
}

/// The peers' `out/results.json` into `peers.json`, noting a missing file or a QUICK/full
/// mismatch with this run.
fn read_results(args: &Args, peers: &mut Peers) {
    let path = args.peers.join("out/results.json");
    match fs::read_to_string(&path)
        .map_err(anyhow::Error::from)
        .and_then(|t| Ok(serde_json::from_str::<Value>(&t)?))
    {
        Ok(v) => {
            if v["quick"].as_bool() != Some(args.quick) {
                let _ = write!(
                    peers.note,
                    "{}the peers' results are from a {} run",
                    if peers.note.is_empty() { "" } else { "; " },
                    if args.quick { "full" } else { "QUICK" }
                );
            }
            peers.json = Some(v);
        }
        Err(e) => {
            let _ = write!(peers.note, "; no peer results ({}: {e})", path.display());
        }
    }
}
