//! One Chromium process: started with DESIGN.md's flags and a fresh profile folder, connected
//! over CDP, and never outliving ogforge.
//!
//! ogforge starts the process itself (instead of letting the CDP client do it) because it must
//! own its lifetime:
//! - Chromium leads its own process group, so one `killpg` ends the browser and every helper
//!   process it forked (zygote, renderers, GPU/utility);
//! - it is started through util-linux's `setpriv --pdeathsig KILL`, so the kernel kills it if
//!   ogforge dies without cleaning up (SIGKILL, a crash). The parent-death signal follows the
//!   thread that forked, so launches run on a runtime worker thread, which lives as long as
//!   ogforge, never on a short-lived blocking thread;
//! - a task waits on the process, so a crash is noticed at once (and the process reaped), and
//!   the next render relaunches instead of failing.

use std::{
    path::Path,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chromiumoxide::{Browser, handler::HandlerConfig};
use futures::StreamExt;
use nix::{sys::signal, unistd::Pid};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
    task::JoinHandle,
};
use tracing::{debug, info, warn};

use super::BrowserError;
use crate::config::BrowserConfig;

/// DESIGN.md's flags, plus what keeps a screenshot deterministic and the machine quiet.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    // Every pooled tab but one is in the background; without these its timers are throttled
    // to one a second and its frames stop, so readiness checks and screenshots stall.
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    // A tab reset to about:blank would otherwise keep its last page alive in the
    // back-forward cache: one more renderer process per render, and slower navigations.
    "--disable-features=BackForwardCache",
    "--mute-audio",
    // Crashpad's handler leaves the process group, but it ends when the browser does.
    "--disable-crash-reporter",
    "--force-color-profile=srgb",
    "--remote-debugging-port=0",
];

/// Where `setpriv` lives on Debian (util-linux, an essential package).
const SETPRIV: &str = "/usr/bin/setpriv";

/// A running Chromium and its CDP connection.
#[derive(Debug)]
pub(super) struct Chromium {
    pub(super) browser: Browser,
    /// The browser's pid, which is also its process group.
    pgid: Pid,
    alive: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
    /// Removed when this is dropped, after the process is killed.
    _profile: tempfile::TempDir,
    /// Counts launches, so pages opened in an earlier browser are never reused.
    pub(super) generation: u64,
}

impl Chromium {
    pub(super) async fn launch(
        config: &BrowserConfig,
        generation: u64,
    ) -> Result<Self, BrowserError> {
        let profile = tempfile::Builder::new()
            .prefix("ogforge-chromium-")
            .tempdir()
            .map_err(|e| BrowserError::Launch(format!("cannot create a profile folder: {e}")))?;
        let mut cmd = if Path::new(SETPRIV).exists() {
            let mut c = Command::new(SETPRIV);
            c.args(["--pdeathsig", "KILL", "--"])
                .arg(&config.executable);
            c
        } else {
            warn!("{SETPRIV} not found: Chromium may outlive ogforge if ogforge is killed");
            Command::new(&config.executable)
        };
        cmd.args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(&config.args)
            .arg("about:blank")
            // Whatever Chromium writes under $HOME (crash database, caches) stays in the
            // profile folder and goes with it.
            .env("HOME", profile.path())
            .env("XDG_CONFIG_HOME", profile.path().join(".config"))
            .env("XDG_CACHE_HOME", profile.path().join(".cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            BrowserError::Launch(format!(
                "browser.executable: cannot start {}: {e}",
                config.executable.display()
            ))
        })?;
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw)
            .ok_or_else(|| BrowserError::Launch("Chromium exited at once".into()))?;
        // From here on, a failure must not leave the process behind.
        let guard = KillGroup(pid);

        let Some(stderr) = child.stderr.take() else {
            return Err(BrowserError::Launch("no stderr pipe".into()));
        };
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let ws_url = tokio::time::timeout(config.launch_timeout, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return Some(url.trim().to_owned());
                }
                if seen.len() < 20 {
                    seen.push(line);
                }
            }
            None
        })
        .await;
        let ws_url = match ws_url {
            Ok(Some(url)) => url,
            Ok(None) => {
                return Err(BrowserError::Launch(format!(
                    "Chromium exited before it listened: {}",
                    seen.join(" | ")
                )));
            }
            Err(_) => {
                return Err(BrowserError::Launch(format!(
                    "Chromium did not listen within {:?} (browser.launch_timeout_ms)",
                    config.launch_timeout
                )));
            }
        };

        let alive = Arc::new(AtomicBool::new(true));
        let mut tasks = Vec::with_capacity(3);
        // Chromium blocks if nobody reads its stderr; what it says is debug detail.
        tasks.push(tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                debug!(target: "ogforge::chromium", "{line}");
            }
        }));
        let exited = Arc::clone(&alive);
        tasks.push(tokio::spawn(async move {
            let status = child.wait().await;
            if exited.swap(false, Ordering::AcqRel) {
                warn!(
                    ?status,
                    "Chromium exited; the next browser render relaunches it"
                );
            }
        }));

        let handler_config = HandlerConfig {
            ignore_https_errors: false,
            // ogforge's own deadlines bound every command; this only catches a lost answer.
            request_timeout: Duration::from_secs(300),
            ..HandlerConfig::default()
        };
        let (browser, mut handler) = Browser::connect_with_config(ws_url, handler_config)
            .await
            .map_err(|e| BrowserError::Launch(format!("cannot connect over CDP: {e}")))?;
        let disconnected = Arc::clone(&alive);
        tasks.push(tokio::spawn(async move {
            // The handler yields errors only for a broken connection.
            while let Some(event) = handler.next().await {
                if event.is_err() {
                    break;
                }
            }
            disconnected.store(false, Ordering::Release);
        }));
        std::mem::forget(guard);
        info!(pid = pid.as_raw(), generation, "Chromium started");
        metrics::counter!(crate::metrics::BROWSER_LAUNCHES).increment(1);
        Ok(Self {
            browser,
            pgid: pid,
            alive,
            tasks,
            _profile: profile,
            generation,
        })
    }

    /// False once the process exited or the CDP connection broke.
    pub(super) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Kills the whole process group at once; no graceful close is worth a stuck shutdown.
    pub(super) fn kill(&self) {
        self.alive.store(false, Ordering::Release);
        debug!(
            pgid = self.pgid.as_raw(),
            "killing Chromium's process group"
        );
        kill_group(self.pgid);
    }

    /// Whether the browser still answers a trivial command within `limit` (hang detection).
    pub(super) async fn answers(&self, limit: Duration) -> bool {
        self.is_alive()
            && matches!(
                tokio::time::timeout(limit, self.browser.version()).await,
                Ok(Ok(_))
            )
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        kill_group(self.pgid);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Kills a process group on drop unless forgotten: the launch's error paths.
struct KillGroup(Pid);

impl Drop for KillGroup {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

fn kill_group(pgid: Pid) {
    // ESRCH (already gone) is the normal case after a crash.
    if let Err(e) = signal::killpg(pgid, signal::Signal::SIGKILL) {
        debug!(pgid = pgid.as_raw(), error = %e, "killpg");
    }
}
