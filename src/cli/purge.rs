//! `ogforge purge ROUTE ID`: asks the running service's admin listener
//! (`POST /_ogforge/purge`) to forget an id's data and its image in memory, so the next request
//! fetches the data again. Each replica holds its own: run it against each one (`--admin`), and
//! invalidate the image's URL at the CDN after it.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::Common;
use crate::http::PURGE_PATH;

#[derive(Debug, Args)]
pub(super) struct PurgeArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// The route's name (`routes[].name`).
    #[arg(value_name = "ROUTE")]
    route: String,
    /// The id, as in the image's path.
    #[arg(value_name = "ID")]
    id: String,
    /// The admin listener to ask; by default `server.admin_listen` of the config.
    #[arg(long, value_name = "URL")]
    admin: Option<String>,
}

pub(super) async fn run(args: PurgeArgs) -> anyhow::Result<ExitCode> {
    let admin = super::admin_url(&args.common, args.admin)?;
    let params = [("route", args.route.as_str()), ("id", args.id.as_str())];
    let url = reqwest::Url::parse_with_params(&format!("{admin}{PURGE_PATH}"), params)
        .with_context(|| format!("--admin {admin}: not a URL"))?;
    // The operator's own listener: no proxy from the environment in between.
    let client = reqwest::Client::builder().no_proxy().build()?;
    let resp = (client.post(url).send().await).with_context(|| format!("cannot reach {admin}"))?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "{admin}: {status}: {}", body.trim());
    println!("purged {} {}", args.route, args.id);
    Ok(ExitCode::SUCCESS)
}
