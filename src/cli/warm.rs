//! `ogforge warm`: pre-render a list of ids or paths into the store, skipping what it has.
//!
//! One entry per line: a path (`/12-34-10.jpg`) or a bare id for `--route` (default: the first
//! route). Blank lines and `#` comments are skipped. A progress bar on a terminal, one line per
//! entry otherwise, then a summary. Exit code 1 if any render failed (or, with `--strict`, any
//! entry was invalid).

use std::{
    io::{BufRead, IsTerminal},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
};

use anyhow::Context;
use clap::Args;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use super::Common;
use crate::{
    app::{App, Needs},
    cache::Tier,
    outcome::Outcome,
    pipeline::Options,
    reason::Reason,
};

#[derive(Debug, Args)]
pub(super) struct WarmArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// File with one id or path per line; `-` for standard input.
    #[arg(long, value_name = "FILE", default_value = "-")]
    from: PathBuf,
    /// Renders at once (defaults to the number of CPUs).
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// Route for bare ids (default: the first route).
    #[arg(long, value_name = "NAME")]
    route: Option<String>,
    /// Exit non-zero when an entry is invalid, not only when a render fails.
    #[arg(long)]
    strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Result_ {
    Rendered,
    Stored,
    Invalid,
    Failed,
}

pub(super) async fn run(args: WarmArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.common.load(None)?;
    // Every image is written once and read never: the memory tier would only cost memory.
    config.memory_bytes = 0;
    let concurrency = args.concurrency.unwrap_or(config.render.concurrency).max(1);
    // warm is its own pipeline's only client: every one of its fetches may wait for a render
    // slot, so none is refused as overloaded however high --concurrency is.
    config.render.queue = config.render.queue.max(concurrency);
    let app = Arc::new(App::build(&config, Needs::LOCAL)?);
    let route = match &args.route {
        Some(name) => (app.routes.by_name(name).cloned())
            .with_context(|| format!("--route: no route named {name:?}"))?,
        None => Arc::clone(app.routes.first()),
    };
    let entries = read_entries(&args.from)?;

    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(entries.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta} {msg}")
        {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };

    let results: Vec<(String, Result_, Option<Reason>)> =
        futures::stream::iter(entries.into_iter().map(|entry| {
            let app = Arc::clone(&app);
            let route = Arc::clone(&route);
            async move {
                let resolution = if entry.starts_with('/') {
                    app.resolver.path(&entry)
                } else {
                    app.resolver.id(&route, &entry)
                };
                match app.pipeline.run(resolution, Options::SERVE).await {
                    Outcome::Served(served) => {
                        let r = if served.tier == Tier::Render {
                            Result_::Rendered
                        } else {
                            Result_::Stored
                        };
                        (entry, r, None)
                    }
                    Outcome::Fallback(f) if f.reason.is_client_error() => {
                        (entry, Result_::Invalid, Some(f.reason))
                    }
                    Outcome::Fallback(f) => (entry, Result_::Failed, Some(f.reason)),
                    // A local caller gets no refusals (no query, signature or client).
                    Outcome::Refused(_) => (entry, Result_::Failed, None),
                }
            }
        }))
        .buffer_unordered(concurrency)
        .inspect(|(entry, result, reason)| {
            let line = match (result, reason) {
                (Result_::Rendered, _) => format!("rendered  {entry}"),
                (Result_::Stored, _) => format!("stored    {entry}"),
                (Result_::Invalid, r) => {
                    format!("invalid   {entry:?} ({})", r.map_or("", Reason::code))
                }
                (Result_::Failed, r) => {
                    format!("failed    {entry} ({})", r.map_or("", Reason::code))
                }
            };
            match &bar {
                Some(bar) => {
                    if matches!(result, Result_::Invalid | Result_::Failed) {
                        bar.println(line);
                    }
                    bar.inc(1);
                }
                None => eprintln!("{line}"),
            }
        })
        .collect()
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    let count = |r: Result_| results.iter().filter(|(_, x, _)| *x == r).count();
    let (rendered, stored, invalid, failed) = (
        count(Result_::Rendered),
        count(Result_::Stored),
        count(Result_::Invalid),
        count(Result_::Failed),
    );
    println!(
        "warm: {rendered} rendered, {stored} already stored, {invalid} invalid, {failed} failed"
    );
    Ok(if failed > 0 || (args.strict && invalid > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn read_entries(from: &PathBuf) -> anyhow::Result<Vec<String>> {
    let reader: Box<dyn BufRead> = if from.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(from)
            .with_context(|| format!("--from: cannot open {}", from.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut entries = Vec::new();
    for line in reader.lines() {
        let line = line.context("--from: cannot read")?;
        let line = line.trim();
        if !line.is_empty() && !line.starts_with('#') {
            entries.push(line.to_owned());
        }
    }
    Ok(entries)
}
