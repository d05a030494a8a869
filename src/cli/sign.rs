//! `ogforge sign PATH`: prints the route's canonical path for PATH with its `sig` query
//! parameter, signed with the newest key from the environment variable
//! `server.signing_keys_env` names. The key itself is never printed.
//!
//! PATH is read as `render` reads it ([`crate::resolve::typed_path`], then decoded once), so
//! `/q/Hello, world!.jpg`, `/q/Hello%2C%20world%21.jpg` and `/q/Hello%2c%20world!.jpg` are one
//! id and all print `/q/Hello%2C%20world%21.jpg?sig=...`: the signature covers the canonical
//! path, which is what the service verifies whatever spelling a client sends.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::Common;
use crate::{
    app::{App, Needs},
    resolve::Unresolved,
    signing::{self, SIG_PARAM},
};

#[derive(Debug, Args)]
pub(super) struct SignArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Path of a signed route, encoded (/q/Hello%2C%20world.jpg) or as text (/q/Hello, world.jpg;
    /// write a literal % as %25, a ? as %3F, a / in an id as %2F).
    #[arg(value_name = "PATH")]
    path: String,
}

pub(super) async fn run(args: SignArgs) -> anyhow::Result<ExitCode> {
    let config = args.common.load(None)?;
    anyhow::ensure!(
        args.path.starts_with('/') && !args.path.contains('?'),
        "PATH must start with / and carry no query string (write a ? in an id as %3F)"
    );
    let var = &config.server.signing_keys_env;
    let keys = signing::from_process_env(var).context("server.signing_keys_env")?;
    let app = App::build(&config, Needs::NOTHING)?;
    let resolved = match app.resolver.path(&args.path) {
        Ok(resolved) => resolved,
        Err(Unresolved::BadId { route, reason }) => anyhow::bail!(
            "{}: the id is not one {} takes ({}), so no signature would get it served (write a \
             literal % as %25, a / in an id as %2F)",
            args.path,
            route.config.key,
            reason.code()
        ),
        Err(_) => anyhow::bail!("{}: no route has this path", args.path),
    };
    let route = &resolved.route.config;
    anyhow::ensure!(
        route.signed,
        "{}: {} is not signed ({}.signed = false), and its URLs take no sig",
        args.path,
        route.name,
        route.key
    );
    let canonical = route.path.fill(&resolved.id);
    println!("{canonical}?{SIG_PARAM}={}", keys.sign(&canonical));
    Ok(ExitCode::SUCCESS)
}
