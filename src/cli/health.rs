//! `ogforge health [--admin URL]`: asks the running service's admin listener for `/readyz` and
//! exits 0 when it answers 200 (the store answers), 1 otherwise. The container image's
//! `HEALTHCHECK` runs it, so the image needs no curl.

use std::{process::ExitCode, time::Duration};

use clap::Args;

use super::Common;

/// How long the probe waits: a health check that hangs is a failed one.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Args)]
pub(super) struct HealthArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// The admin listener to ask; by default `server.admin_listen` of the config.
    #[arg(long, value_name = "URL")]
    admin: Option<String>,
}

pub(super) async fn run(args: HealthArgs) -> anyhow::Result<ExitCode> {
    let admin = super::admin_url(&args.common, args.admin)?;
    // The service's own listener: no proxy from the environment in between.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(PROBE_TIMEOUT)
        .build()?;
    match client.get(format!("{admin}/readyz")).send().await {
        Ok(resp) if resp.status().is_success() => {
            println!("ready: {admin}");
            Ok(ExitCode::SUCCESS)
        }
        Ok(resp) => {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            eprintln!("not ready: {admin}/readyz: {status}: {}", body.trim());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("not ready: cannot reach {admin}/readyz: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
