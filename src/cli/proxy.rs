//! `ogforge proxy`: run the tag-rewriting proxy in front of the main site (see [`crate::proxy`]).
//!
//! `--upstream` and `--listen` are `proxy.upstream` and `proxy.listen`, layered as every flag
//! is: over the file, under the environment. Image URLs use `server.public_url` (else
//! `http://` + `server.listen`: where `ogforge serve` runs).

use std::{process::ExitCode, sync::Arc};

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use tracing::info;

use super::{Common, serve::shutdown_signal};
use crate::{
    app::{App, Needs},
    config::Overrides,
    proxy::{self, Proxy},
};

#[derive(Debug, Args)]
pub(super) struct ProxyArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// The main site's base URL, e.g. http://127.0.0.1:3000 (`[proxy] upstream`).
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// Address to listen on (`[proxy] listen`, default 127.0.0.1:8081).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

pub(super) async fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let config = args.common.load_with(Overrides {
        proxy_upstream: args.upstream.clone(),
        proxy_listen: args.listen.clone(),
        ..Overrides::default()
    })?;
    let upstream = config.proxy.upstream.clone().context(
        "proxy.upstream: not set; pass --upstream URL, set [proxy] upstream or OGFORGE__PROXY__UPSTREAM",
    )?;
    let listen = config.proxy.listen;
    // The same route table as the image service; image URLs under `server.public_url`, else
    // `http://` + `server.listen`; the signing keys when a route is signed, for its `?sig=`.
    let app = App::build(&config, Needs::PROXY)?;
    let proxy = Arc::new(Proxy::new(
        &upstream,
        &config.proxy.param,
        Arc::clone(&app.routes),
    )?);

    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("proxy.listen: cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    info!(addr = %local, upstream = %upstream, param = %config.proxy.param, "ogforge proxy listening");
    // Printed on stdout, once, so scripts can find the bound port (`--listen 127.0.0.1:0`).
    println!("listening on http://{local}");
    axum::serve(listener, proxy::router(proxy))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the proxy server failed")?;
    info!("stopped");
    Ok(ExitCode::SUCCESS)
}
