//! `ogforge serve`: build the app, bind the public and admin listeners, stop gracefully
//! on Ctrl-C or SIGTERM.

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use tracing::{info, warn};

use super::Common;
use crate::{
    app::{App, Needs},
    http,
};

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Address to listen on, e.g. 0.0.0.0:8080.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

pub(super) async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.common.load(args.listen.clone())?;
    let metrics = crate::metrics::install();
    let listener = TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("server.listen: cannot listen on {}", config.server.listen))?;
    let local = listener.local_addr()?;
    // Without `server.public_url`, the tags name the address actually bound (port 0 resolved),
    // never a request's Host.
    config
        .server
        .public_url
        .get_or_insert_with(|| format!("http://{local}"));
    let app = Arc::new(App::build(&config, Needs::SERVE)?);
    let labels: Vec<_> = (app.routes.routes().iter())
        .map(|r| r.label.clone())
        .collect();
    crate::metrics::zero(&labels);
    crate::fetch::zero();
    // Chromium starts in the background; the first browser render waits for it if need be.
    let warming = Arc::clone(&app);
    tokio::spawn(async move {
        if let Err(e) = warming.pipeline.warm_up().await {
            warn!(error = %e, "could not start the browser renderer; browser routes will retry");
        }
    });
    if let Some(admin) = config.server.admin_listen {
        let admin_listener = TcpListener::bind(admin)
            .await
            .with_context(|| format!("server.admin_listen: cannot listen on {admin}"))?;
        let admin_addr = admin_listener.local_addr()?;
        info!(addr = %admin_addr, "admin listener (healthz, readyz, metrics)");
        println!("admin listening on http://{admin_addr}");
        let router = http::admin_router(Arc::clone(&app), metrics);
        tokio::spawn(async move {
            let _ = axum::serve(admin_listener, router)
                .with_graceful_shutdown(shutdown_signal())
                .await;
        });
    }
    let routes: Vec<String> = (app.routes.routes().iter())
        .map(|r| r.config.path.to_string())
        .collect();
    info!(addr = %local, routes = ?routes, store = %config.store.url, "ogforge listening");
    // Printed on stdout, once, so scripts can find the bound port (`--listen 127.0.0.1:0`).
    println!("listening on http://{local}");

    // Graceful: on the signal, stop accepting and let open requests finish (a render answers
    // and its store write lands whole), but only for `server.shutdown_timeout`.
    let signalled = Arc::new(tokio::sync::Notify::new());
    let notify = Arc::clone(&signalled);
    let server = std::future::IntoFuture::into_future(
        // The peer address reaches the handlers (`ConnectInfo`) for the render rate limit.
        axum::serve(
            listener,
            http::router(Arc::clone(&app), &config.server)
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            info!("shutting down: finishing requests in flight");
            notify.notify_one();
        }),
    );
    let deadline = config.server.shutdown_timeout;
    tokio::select! {
        result = server => result.context("the HTTP server failed")?,
        () = async {
            signalled.notified().await;
            tokio::time::sleep(deadline).await;
        } => warn!(?deadline, "shutdown deadline passed; exiting with requests still open"),
    }
    // No Chromium outlives ogforge, whichever way the wait above ended.
    app.pipeline.shutdown().await;
    info!("stopped");
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
