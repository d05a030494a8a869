//! `ogforge check-store`: whether the store makes create-if-absent atomic, which replicas on
//! one store rely on (store-once, and the render lease). It races `--racers` conditional
//! creates of one probe key, `--rounds` times, and refuses the store (exit 1, naming it) if
//! any round has more than one winner, as s3s-fs 0.14 does; SeaweedFS, MinIO, S3, R2, GCS,
//! Azure and a local folder have exactly one. The probe keys are deleted afterwards.

use std::{
    process::ExitCode,
    time::{Duration, SystemTime},
};

use anyhow::Context;
use bytes::Bytes;
use clap::Args;

use super::Common;
use crate::cache::store::{Put, Store};

#[derive(Debug, Args)]
pub(super) struct CheckStoreArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Conditional creates racing for each probe key.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(2..=256))]
    racers: u16,
    /// Probe keys, one after the other.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=100))]
    rounds: u16,
}

/// The least time one racing create gets: servers that make racing conditional creates of one
/// key wait on each other (SeaweedFS: several seconds for 16) answer correctly, only late,
/// and a serving deadline (`store.timeout_ms`) would take that for a failure.
const RACE_DEADLINE: Duration = Duration::from_secs(30);

pub(super) async fn run(args: CheckStoreArgs) -> anyhow::Result<ExitCode> {
    let config = args.common.load(None)?;
    let mut store_config = config.store.clone();
    store_config.timeout = store_config.timeout.max(RACE_DEADLINE);
    let store = Store::open(&store_config).map_err(|e| config.error("store.url", e))?;
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    for round in 0..args.rounds {
        let path = format!(
            "_ogforge/check-store/{stamp}-{}-{round}",
            std::process::id()
        );
        let creates = (0..args.racers).map(|racer| {
            let store = store.clone();
            let path = path.clone();
            tokio::spawn(async move {
                store
                    .create_raw(&path, Bytes::from(format!("racer {racer}")))
                    .await
            })
        });
        let mut winners = 0;
        for done in futures::future::join_all(creates).await {
            let put = done.context("a racing create panicked")?;
            match put.with_context(|| format!("{}: a conditional create failed", store.display))? {
                Put::Created => winners += 1,
                Put::Exists => {}
            }
        }
        // The probe key goes whatever the outcome; a leftover costs a few bytes.
        let _ = store.delete_raw(&path).await;
        if winners != 1 {
            eprintln!(
                "{}: {winners} of {} conditional creates of one key succeeded (round {}): this \
                 store does not make create-if-absent atomic: it is not fit for a cluster. Do not run \
                 several replicas on it: store-once and the render lease rely on exactly one \
                 winner.",
                store.display,
                args.racers,
                round + 1
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    println!(
        "{}: ok, exactly one of {} conditional creates won in each of {} rounds (fit for a cluster)",
        store.display, args.racers, args.rounds
    );
    Ok(ExitCode::SUCCESS)
}
