//! `ogforge sign PATH`: prints PATH with its `sig` query parameter, signed with the newest key
//! from the environment variable `server.signing_keys_env` names. The key itself is never
//! printed.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::Common;
use crate::signing::{Keys, SIG_PARAM};

#[derive(Debug, Args)]
pub(super) struct SignArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Request path to sign, exactly as it will be requested, e.g. /12-34-10.jpg.
    #[arg(value_name = "PATH")]
    path: String,
}

pub(super) async fn run(args: SignArgs) -> anyhow::Result<ExitCode> {
    let config = args.common.load(None)?;
    anyhow::ensure!(
        args.path.starts_with('/') && !args.path.contains('?'),
        "PATH must start with / and carry no query string"
    );
    let var = &config.server.signing_keys_env;
    let keys = Keys::from_process_env(var).context("server.signing_keys_env")?;
    let sig = keys.sign(&args.path).context("no signing key")?;
    println!("{}?{SIG_PARAM}={sig}", args.path);
    Ok(ExitCode::SUCCESS)
}
