//! The one integration test binary: the real `ogforge` binary against a real S3 server, a
//! folder store, and (in later modules) real Chromium and nginx.

// Tests may unwrap and panic: a failed expectation is the point.
#![allow(
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod browser;
mod cdn;
mod cli;
mod cluster;
mod cluster_util;
mod connections;
mod contract;
mod css;
mod data;
mod edge;
mod fast;
mod fonts;
mod freshness;
mod golden;
mod hostile;
mod images;
mod init;
mod lambda;
mod limits;
mod logs;
mod metrics;
mod outage;
mod preview;
mod proxy;
mod proxy_tags;
mod reload;
mod scripts;
mod tags;
mod tiers;
mod util;
