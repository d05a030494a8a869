//! Reload for `serve`: on SIGHUP, or with `--watch` when a file the config names changes
//! (`watch.rs`), the config is loaded again and a whole new [`App`] (fonts, templates, routes,
//! store, renderer) is built off the request path; only if that succeeds is it swapped in
//! ([`Live::swap`]), so a bad config, template or font folder is refused, logged with the key it
//! is about, and the old App keeps serving. Requests under way finish on the App they started
//! with; the replaced App is shut down (its Chromium ended) once no request holds it.
//!
//! What the running process has bound cannot follow a reload: the listeners, their connection
//! limits and the edge guard's limits, and the shutdown timeout. A change to one of those keys is
//! logged as needing a restart, and the old value stays in effect.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    signal::unix::{Signal, SignalKind, signal},
    sync::{mpsc, watch},
    task::JoinSet,
};
use tracing::{debug, error, info, warn};

use super::{Common, watch::Watch};
use crate::{
    app::{App, Live, Needs},
    config::Config,
    metrics as m,
};

/// How often a replaced App is looked at to see whether a request still holds it.
const RETIRE_POLL: Duration = Duration::from_millis(50);
/// Past the request deadline, how much longer a replaced App waits for its last request before
/// it is shut down anyway (its store writes run in tasks of their own and land regardless).
const RETIRE_GRACE: Duration = Duration::from_secs(5);

/// What a reload needs: how the config was loaded (file, `--store`, `--listen`), the address
/// actually bound (the tags' URL when `server.public_url` is unset), the config in effect, and
/// the handle requests load the App from.
#[derive(Debug)]
pub(super) struct Reloader {
    pub(super) common: Common,
    pub(super) listen: Option<String>,
    pub(super) local: SocketAddr,
    pub(super) config: Config,
    pub(super) live: Live,
}

/// The reload task, running until [`Reloads::finish`].
#[derive(Debug)]
pub(super) struct Reloads {
    exit: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Reloads {
    /// Stops reloading and shuts down every App a reload replaced that was still finishing
    /// requests (the App in place is the caller's to shut down).
    pub(super) async fn finish(self) {
        let _ = self.exit.send(true);
        let _ = self.task.await;
    }
}

/// Takes SIGHUP from now on (its default would end the process) and, with `watch`, follows the
/// files the config names; each reloads.
pub(super) fn start(reloader: Reloader, watch: bool) -> anyhow::Result<Reloads> {
    let hangup = signal(SignalKind::hangup())?;
    let (changed_tx, changed) = mpsc::unbounded_channel();
    let watcher = if watch {
        Some(Watch::start(
            reloader.common.config.as_deref(),
            &reloader.config,
            changed_tx,
        )?)
    } else {
        // Without --watch nothing sends; the channel just stays quiet.
        drop(changed_tx);
        None
    };
    let (exit, exit_rx) = watch::channel(false);
    let task = tokio::spawn(run(reloader, hangup, watcher, changed, exit_rx));
    Ok(Reloads { exit, task })
}

async fn run(
    mut r: Reloader,
    mut hangup: Signal,
    mut watcher: Option<Watch>,
    mut changed: mpsc::UnboundedReceiver<()>,
    mut exit: watch::Receiver<bool>,
) {
    let mut retiring = JoinSet::new();
    loop {
        let trigger = tokio::select! {
            _ = exit.changed() => break,
            Some(()) = hangup.recv() => "SIGHUP",
            Some(()) = changed.recv() => "a watched file changed",
            Some(_) = retiring.join_next(), if !retiring.is_empty() => continue,
        };
        // Changes that came in the meantime are read by this reload too.
        while changed.try_recv().is_ok() {}
        // The replaced App's requests run under its own deadline.
        let patience = r.config.server.request_timeout + RETIRE_GRACE;
        if let Some(old) = r.reload(trigger).await {
            retiring.spawn(retire(old, patience, exit.clone()));
            if let Some(w) = &mut watcher {
                w.follow(r.common.config.as_deref(), &r.config);
            }
        }
    }
    while retiring.join_next().await.is_some() {}
}

impl Reloader {
    /// Loads and builds the new App; on success swaps it in and returns the one it replaced.
    async fn reload(&mut self, trigger: &str) -> Option<Arc<App>> {
        info!(trigger, "reloading the config, templates and fonts");
        let started = std::time::Instant::now();
        let (common, listen, local) = (self.common.clone(), self.listen.clone(), self.local);
        let (in_effect, previous) = (self.config.clone(), self.live.load());
        // Reading files and loading fonts blocks (and takes a while with large CJK fonts).
        let built = tokio::task::spawn_blocking(move || -> anyhow::Result<(Config, App)> {
            let mut config = common.load(listen)?;
            config
                .server
                .public_url
                .get_or_insert_with(|| format!("http://{local}"));
            keep_restart_only(&in_effect, &mut config);
            let app = App::rebuild(&config, Needs::SERVE, &previous)?;
            Ok((config, app))
        })
        .await;
        let (config, app) = match built {
            Ok(Ok(built)) => built,
            Ok(Err(e)) => {
                metrics::counter!(m::RELOADS, "outcome" => "error").increment(1);
                let reason = format!("{e:#}");
                error!(
                    "reload refused, the previous config keeps serving: {}",
                    reason.trim_end()
                );
                return None;
            }
            Err(e) => {
                metrics::counter!(m::RELOADS, "outcome" => "error").increment(1);
                error!(error = %e, "reload failed, the previous config keeps serving");
                return None;
            }
        };
        for warning in &app.font_warnings {
            warn!("font lint: {warning}");
        }
        let labels: Vec<_> = (app.routes.routes().iter())
            .map(|r| r.label.clone())
            .collect();
        m::zero_routes(&labels);
        let app = Arc::new(app);
        let old = self.live.swap(Arc::clone(&app));
        for route in app.routes.routes() {
            let before = old.routes.by_name(&route.config.name).map(|r| &r.digest);
            if before != Some(&route.digest) {
                info!(
                    route = %route.config.name,
                    digest = %route.digest,
                    previous = before.map_or("none", String::as_str),
                    "route changed: its images get new keys"
                );
            }
        }
        self.config = config;
        metrics::counter!(m::RELOADS, "outcome" => "ok").increment(1);
        info!(
            ms = started.elapsed().as_millis() as u64,
            routes = app.routes.routes().len(),
            "reloaded: new requests use the new config"
        );
        // Chromium for browser routes starts now rather than on the first render.
        tokio::spawn(async move {
            if let Err(e) = app.pipeline.warm_up().await {
                warn!(error = %e, "could not start the browser renderer; browser routes will retry");
            }
        });
        Some(old)
    }
}

/// Puts back, with a warning, each value the running process cannot change: the listeners, the
/// connection limits and the guard's limits are bound to the listeners and router built at
/// start-up, and the shutdown timeout to the wait set up then.
fn keep_restart_only(in_effect: &Config, new: &mut Config) {
    let (old, s) = (&in_effect.server, &mut new.server);
    let mut kept = Vec::new();
    let mut keep = |key: &'static str, changed: bool| {
        if changed {
            kept.push(key);
        }
    };
    keep("server.listen", s.listen != old.listen);
    keep("server.admin_listen", s.admin_listen != old.admin_listen);
    let (c, oc) = (&s.connections, &old.connections);
    keep(
        "server.max_connections",
        c.max_connections != oc.max_connections,
    );
    keep(
        "server.header_read_timeout_ms",
        c.header_read_timeout != oc.header_read_timeout,
    );
    keep("server.idle_timeout_ms", c.idle_timeout != oc.idle_timeout);
    keep("server.max_uri_len", s.max_uri_len != old.max_uri_len);
    keep("server.max_headers", s.max_headers != old.max_headers);
    keep(
        "server.max_header_bytes",
        s.max_header_bytes != old.max_header_bytes,
    );
    keep(
        "server.shutdown_timeout_ms",
        s.shutdown_timeout != old.shutdown_timeout,
    );
    for key in &kept {
        warn!(
            key,
            "{key} changed, but it takes effect only on a restart; the running value stays"
        );
    }
    if !kept.is_empty() {
        s.listen = old.listen;
        s.admin_listen = old.admin_listen;
        s.connections = old.connections;
        s.max_uri_len = old.max_uri_len;
        s.max_headers = old.max_headers;
        s.max_header_bytes = old.max_header_bytes;
        s.shutdown_timeout = old.shutdown_timeout;
    }
}

/// Waits until no request holds `old` (or `patience` passed, or the process is stopping), then
/// shuts it down: its Chromium, if it started one, ends here.
async fn retire(old: Arc<App>, patience: Duration, mut exit: watch::Receiver<bool>) {
    let deadline = tokio::time::Instant::now() + patience;
    // After the swap no request can pick it up, so the count only falls.
    while Arc::strong_count(&old) > 1 {
        if tokio::time::Instant::now() >= deadline {
            warn!(
                ?patience,
                "a request still holds the replaced config; shutting it down anyway"
            );
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(RETIRE_POLL) => {}
            _ = exit.changed() => break,
        }
    }
    old.pipeline.shutdown().await;
    debug!("the replaced config is shut down");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::keep_restart_only;
    use crate::config::{Config, Overrides, load_with_env};

    fn load(dir: &tempfile::TempDir, text: &str) -> Config {
        let file = dir.path().join("ogforge.toml");
        std::fs::write(&file, text).unwrap();
        load_with_env(Some(&file), &Overrides::default(), &[]).unwrap()
    }

    #[test]
    fn what_needs_a_restart_keeps_its_running_value_and_the_rest_changes() {
        let dir = tempfile::tempdir().unwrap();
        let old = load(
            &dir,
            "[server]\nlisten = \"127.0.0.1:8080\"\nmax_connections = 100\nmax_uri_len = 2048\n\
             request_timeout_ms = 9000\n",
        );
        let mut new = load(
            &dir,
            "[server]\nlisten = \"127.0.0.1:9999\"\nmax_connections = 200\nmax_uri_len = 4096\n\
             request_timeout_ms = 7000\n",
        );
        keep_restart_only(&old, &mut new);
        assert_eq!(new.server.listen, old.server.listen);
        assert_eq!(new.server.connections.max_connections, 100);
        assert_eq!(new.server.max_uri_len, 2048);
        assert_eq!(new.server.request_timeout, Duration::from_millis(7000));
    }
}
