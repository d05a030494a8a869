//! The command line and the plan: which flags the benchmark takes (`bench/run.sh` passes them
//! through) and how much of everything a run does, full or `--quick`.

use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "ogforge's benchmark (issue 3); run it through bench/run.sh")]
pub(crate) struct Args {
    /// Smoke run: fewer ids, shorter wrk runs, and the peers' QUICK mode.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Do not run the peers; use their last `out/results.json` if there is one.
    #[arg(long)]
    pub(crate) skip_peers: bool,
    /// Only the data route series (issue 12): writes its own section of docs/BENCHMARKS.md.
    #[arg(long)]
    pub(crate) data_only: bool,
    /// Only the Lambda build's cold start next to the server's (issue 15): writes its own
    /// section of docs/BENCHMARKS.md.
    #[arg(long)]
    pub(crate) lambda_only: bool,
    /// Only the scaling series (issue 17): hits/s and misses/s at concurrency 1 to 32, one
    /// CPU against all; writes its own section of docs/BENCHMARKS.md.
    #[arg(long)]
    pub(crate) scaling_only: bool,
    /// The Lambda zip's bootstrap, unzipped (scripts/test.sh builds it).
    #[arg(long, default_value = "target/lambda/ogforge/bootstrap")]
    pub(crate) lambda_bootstrap: PathBuf,
    /// cargo-lambda, for its runtime emulator.
    #[arg(long, default_value = ".tools/py/bin/cargo-lambda")]
    pub(crate) cargo_lambda: PathBuf,
    /// Print the report only; do not write docs/BENCHMARKS.md or docs/card.png.
    #[arg(long)]
    pub(crate) no_write: bool,
    #[arg(long, default_value = "target/release/ogforge")]
    pub(crate) ogforge: PathBuf,
    #[arg(long, default_value = "bench/ogforge.toml")]
    pub(crate) config: PathBuf,
    #[arg(long, default_value = "../shared/peers")]
    pub(crate) peers: PathBuf,
    /// The standard card (card.html and its font), served to Chromium for the browser routes.
    #[arg(long, default_value = "../shared/card")]
    pub(crate) card_dir: PathBuf,
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    pub(crate) report: PathBuf,
    #[arg(long, default_value = "docs/card.png")]
    pub(crate) card: PathBuf,
}

/// How much of everything a run does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) warmup: usize,
    pub(crate) misses: usize,
    pub(crate) throughput: usize,
    pub(crate) flight: usize,
    pub(crate) cold_reps: usize,
    pub(crate) wrk_secs: u32,
    pub(crate) wrk_rounds: usize,
    pub(crate) cli_runs: usize,
}

impl Plan {
    pub(crate) fn new(quick: bool) -> Self {
        if quick {
            Self {
                warmup: 5,
                misses: 60,
                throughput: 60,
                flight: 200,
                cold_reps: 2,
                wrk_secs: 3,
                wrk_rounds: 1,
                cli_runs: 5,
            }
        } else {
            Self {
                warmup: 10,
                misses: 300,
                throughput: 300,
                flight: 200,
                cold_reps: 5,
                wrk_secs: 10,
                wrk_rounds: 2,
                cli_runs: 20,
            }
        }
    }
}
