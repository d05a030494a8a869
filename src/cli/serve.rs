//! `ogforge serve`: build the app, bind the public and admin listeners, reload on SIGHUP (and
//! with `--watch` on file changes: `reload.rs`), stop gracefully on Ctrl-C or SIGTERM.
//! Connections themselves (cap, timeouts) are served by [`http::serve`].

use std::{process::ExitCode, sync::Arc};

use anyhow::Context;
use clap::Args;
use tracing::{info, warn};

use super::{Common, reload};
use crate::{
    app::{App, Live, Needs},
    http,
};

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Address to listen on, e.g. 0.0.0.0:8080.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Reload, as on SIGHUP, when the config file, a template, a default image or a font
    /// folder it names changes.
    #[arg(long)]
    watch: bool,
}

pub(super) async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // First: it runs while the config and the fonts load, before `metrics::install` needs it.
    crate::metrics::calibrate_clock();
    let mut config = args.common.load(args.listen.clone())?;
    let metrics = crate::metrics::install();
    let limits = config.server.connections;
    raise_fd_limit(limits.max_connections);
    let listener = http::listen(config.server.listen, &limits)
        .with_context(|| format!("server.listen: cannot listen on {}", config.server.listen))?;
    let local = listener.local_addr()?;
    // Without `server.public_url`, the tags name the address actually bound (port 0 resolved),
    // never a request's Host.
    config
        .server
        .public_url
        .get_or_insert_with(|| format!("http://{local}"));
    let live = Live::new(Arc::new(App::build(&config, Needs::SERVE)?));
    let app = live.load();
    let labels: Vec<_> = (app.routes.routes().iter())
        .map(|r| r.label.clone())
        .collect();
    crate::metrics::zero(&labels);
    for warning in &app.font_warnings {
        warn!("font lint: {warning}");
    }
    crate::fetch::zero();
    // Chromium starts in the background; the first browser render waits for it if need be.
    let warming = app;
    tokio::spawn(async move {
        if let Err(e) = warming.pipeline.warm_up().await {
            warn!(error = %e, "could not start the browser renderer; browser routes will retry");
        }
    });
    if let Some(admin) = config.server.admin_listen {
        let admin_listener = http::listen(admin, &limits)
            .with_context(|| format!("server.admin_listen: cannot listen on {admin}"))?;
        let admin_addr = admin_listener.local_addr()?;
        info!(addr = %admin_addr, "admin listener (healthz, readyz, metrics, preview)");
        println!("admin listening on http://{admin_addr}");
        let router = http::admin_router(live.clone(), metrics, Some(admin_addr));
        tokio::spawn(http::serve(
            admin_listener,
            router,
            limits,
            "admin",
            shutdown_signal(),
        ));
    }
    let routes: Vec<String> = (live.load().routes.routes().iter())
        .map(|r| r.config.path.to_string())
        .collect();
    info!(addr = %local, routes = ?routes, store = %config.store.url, "ogforge listening");
    // Before the line below: a script may send SIGHUP as soon as it reads it, and SIGHUP's
    // default would end the process.
    let reloads = reload::start(
        reload::Reloader {
            common: args.common.clone(),
            listen: args.listen.clone(),
            local,
            config: config.clone(),
            live: live.clone(),
        },
        args.watch,
    )?;
    // Printed on stdout, once, so scripts can find the bound port (`--listen 127.0.0.1:0`).
    println!("listening on http://{local}");

    // Graceful: on the signal, stop accepting and let open requests finish (a render answers
    // and its store write lands whole), but only for `server.shutdown_timeout`.
    let signalled = Arc::new(tokio::sync::Notify::new());
    let notify = Arc::clone(&signalled);
    // The peer address reaches the handlers (`ConnectInfo`) for the render rate limit.
    let server = http::serve(
        listener,
        http::router(live.clone(), &config.server),
        limits,
        "public",
        async move {
            shutdown_signal().await;
            info!("shutting down: finishing requests in flight");
            notify.notify_one();
        },
    );
    let deadline = config.server.shutdown_timeout;
    tokio::select! {
        () = server => {}
        () = async {
            signalled.notified().await;
            tokio::time::sleep(deadline).await;
        } => warn!(?deadline, "shutdown deadline passed; exiting with requests still open"),
    }
    // No Chromium outlives ogforge, whichever way the wait above ended: neither the one of an
    // App a reload replaced nor the one in place.
    reloads.finish().await;
    live.load().pipeline.shutdown().await;
    info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Descriptors a process needs besides its client connections: the admin listener's, the
/// store's files and sockets, Chromium's pipes, the log.
const FD_RESERVE: u64 = 256;

/// Raises the soft limit on open files to the hard one (as Go's runtime does), so the
/// connection cap rather than `EMFILE` decides when clients are turned away; warns when even
/// the hard limit leaves no room for `server.max_connections`.
fn raise_fd_limit(max_connections: usize) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let soft = if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    // Both listeners may fill their caps.
    let wanted = 2 * max_connections as u64 + FD_RESERVE;
    if soft < wanted {
        warn!(
            fd_limit = soft,
            max_connections,
            "the open-file limit is below 2 x server.max_connections + {FD_RESERVE}: \
             lower server.max_connections or raise the limit (ulimit -n, LimitNOFILE)"
        );
    }
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
