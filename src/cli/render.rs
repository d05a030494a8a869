//! `ogforge render PATH -o FILE`: one image through the same routes and pipeline, always
//! rendered fresh, stored unless `--no-store`.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::Args;

use super::Common;
use crate::{
    app::{App, Needs},
    outcome::Outcome,
    pipeline::Options,
};

#[derive(Debug, Args)]
pub(super) struct RenderArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Request path, e.g. /12-34-10.jpg.
    path: String,
    /// Output file (`-` for stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    /// Do not write the image to the store.
    #[arg(long)]
    no_store: bool,
}

pub(super) async fn run(args: RenderArgs) -> anyhow::Result<ExitCode> {
    let config = args.common.load(None)?;
    let needs = if args.no_store {
        Needs::NOTHING
    } else {
        Needs::LOCAL
    };
    let app = App::build(&config, needs)?;
    let opts = Options {
        read_tiers: false,
        write_store: !args.no_store,
    };
    let resolution = app.resolver.path(&args.path);
    match app.pipeline.run(resolution, opts).await {
        Outcome::Served(served) => {
            let image = served.image;
            if args.output.as_os_str() == "-" {
                use std::io::Write;
                std::io::stdout()
                    .write_all(&image.bytes)
                    .context("cannot write to stdout")?;
            } else {
                std::fs::write(&args.output, &image.bytes)
                    .with_context(|| format!("cannot write {}", args.output.display()))?;
                eprintln!(
                    "{} -> {} ({} bytes, {}{})",
                    args.path,
                    args.output.display(),
                    image.bytes.len(),
                    image.content_type,
                    if args.no_store {
                        ", not stored"
                    } else {
                        ", stored"
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Fallback(f) => {
            // A client error has nothing more to say; a failed render logged its error.
            let more = if f.reason.is_client_error() {
                ""
            } else {
                " (the error is logged above)"
            };
            anyhow::bail!(
                "{}: no image ({}: {}){more}",
                args.path,
                f.reason.code(),
                f.reason.describe()
            )
        }
        Outcome::Refused(r) => anyhow::bail!("{}: no image ({})", args.path, r.refusal.text()),
    }
}
