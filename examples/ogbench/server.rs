//! The servers under test as child processes: `ogforge serve` (a listening address read from
//! its stdout) and Debian's nginx on a temporary config, each stopped when dropped (SIGTERM,
//! then SIGKILL), plus the process helpers they need (free loopback ports, `PATH` lookup).

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufRead, BufReader},
    net::{SocketAddr, TcpListener},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::{args::Args, http::Conn};

#[derive(Debug)]
pub(crate) struct Ogforge {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Ogforge {
    /// Starts `ogforge serve` and waits for its "listening on" line.
    /// `env`: extra variables for ogforge (config overrides).
    pub(crate) fn spawn(
        args: &Args,
        store: &Path,
        admin: Option<u16>,
        log: &Path,
        env: &[(String, String)],
    ) -> Result<Self> {
        Self::spawn_on(args, store, admin, log, env, None)
    }

    /// As [`Self::spawn`], on the CPUs `cpus` only (`taskset -c`), from its first instruction:
    /// ogforge then sizes its pools (tokio workers, render permits, rayon) for those CPUs.
    pub(crate) fn spawn_on(
        args: &Args,
        store: &Path,
        admin: Option<u16>,
        log: &Path,
        env: &[(String, String)],
        cpus: Option<&str>,
    ) -> Result<Self> {
        let mut child = spawn_serve(args, store, admin, log, env, cpus)?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let mut lines = server.wait_listening(stdout, log)?;
        // Keep draining stdout so the server never blocks on a full pipe.
        thread::spawn(move || io::copy(&mut lines, &mut io::sink()));
        Ok(server)
    }

    /// Reads ogforge's stdout up to its "listening on" line and takes the address from it.
    fn wait_listening(
        &mut self,
        stdout: ChildStdout,
        log: &Path,
    ) -> Result<BufReader<ChildStdout>> {
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line)? == 0 {
                bail!(
                    "ogforge exited before listening; its log: {}\n{}",
                    log.display(),
                    fs::read_to_string(log).unwrap_or_default()
                );
            }
            if let Some(rest) = line.trim().strip_prefix("listening on http://") {
                self.addr = rest.parse().context("bad listening line")?;
                return Ok(lines);
            }
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM (graceful shutdown), then SIGKILL after a few seconds.
    pub(crate) fn stop(&mut self) {
        terminate(&mut self.child);
    }
}

impl Drop for Ogforge {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// `ogforge serve` on a free loopback port, stdout piped (for the listening line), stderr
/// appended to `log`.
fn spawn_serve(
    args: &Args,
    store: &Path,
    admin: Option<u16>,
    log: &Path,
    env: &[(String, String)],
    cpus: Option<&str>,
) -> Result<Child> {
    let log_file = OpenOptions::new().create(true).append(true).open(log)?;
    let admin = admin.map(|p| format!("127.0.0.1:{p}")).unwrap_or_default();
    // taskset execs ogforge: the child's pid is ogforge's.
    let mut command = match cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(&args.ogforge);
            c
        }
        None => Command::new(&args.ogforge),
    };
    command
        .arg("serve")
        .arg("--config")
        .arg(&args.config)
        .args(["--listen", "127.0.0.1:0", "--store"])
        .arg(store)
        // An empty value turns the admin listener off.
        .env("OGFORGE__SERVER__ADMIN_LISTEN", admin)
        .env("OGFORGE_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .spawn()
        .with_context(|| format!("cannot start {}", args.ogforge.display()))
}

fn terminate(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[derive(Debug)]
pub(crate) struct Nginx {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Nginx {
    /// Debian's nginx on loopback, serving `body` at `path` from a file in `work`, with a
    /// temporary config: two workers (one per core), sendfile, no access log, open file cache,
    /// unlimited keep-alive requests (as ogforge has).
    pub(crate) fn start(work: &Path, path: &str, body: &[u8]) -> Result<Self> {
        let bin = nginx_bin();
        let root = publish(work, path, body)?;
        let tmp = work.join("nginx-tmp");
        fs::create_dir_all(&tmp)?;
        let port = free_port()?;
        let conf_path = work.join("nginx.conf");
        fs::write(&conf_path, nginx_conf(work, &root, port))?;
        let err_log = work.join("nginx-error.log");
        let child = Command::new(&bin)
            .arg("-p")
            .arg(work)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(&err_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(File::create(work.join("nginx-stderr.log"))?))
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut nginx = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        nginx.wait_ready(work, path, body)?;
        Ok(nginx)
    }

    /// Waits until nginx answers `path` with `body` (10 s at most).
    fn wait_ready(&mut self, work: &Path, path: &str, body: &[u8]) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!(
                    "nginx exited ({status}): {}",
                    fs::read_to_string(work.join("nginx-stderr.log")).unwrap_or_default()
                );
            }
            if let Ok(mut c) = Conn::open(self.addr) {
                let r = c.get(path)?;
                ensure!(
                    r.status == 200 && r.body == body,
                    "nginx served status {} ({} bytes) for {path}",
                    r.status,
                    r.body.len()
                );
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "nginx did not start listening");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// Writes `body` at `path` under `work/www`, readable by nginx's workers (they run as `nobody`
/// when started by root); returns the document root.
fn publish(work: &Path, path: &str, body: &[u8]) -> Result<PathBuf> {
    let root = work.join("www");
    let file = root.join(path.trim_start_matches('/'));
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(&file, body)?;
    let mut dir = file.parent();
    while let Some(d) = dir {
        if !d.starts_with(work) {
            break;
        }
        fs::set_permissions(d, fs::Permissions::from_mode(0o755))?;
        dir = d.parent();
    }
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644))?;
    Ok(root)
}

/// nginx's temporary config: everything under `work`, one server on `127.0.0.1:port`.
fn nginx_conf(work: &Path, root: &Path, port: u16) -> String {
    let w = work.display();
    format!(
        "daemon off;\nmaster_process on;\nworker_processes auto;\npid {w}/nginx.pid;\n\
         error_log {w}/nginx-error.log warn;\nevents {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  tcp_nodelay on;\n\
         \x20 keepalive_requests 10000000;\n  keepalive_timeout 75s;\n\
         \x20 open_file_cache max=64 inactive=60s;\n\
         \x20 types {{ image/jpeg jpg; }}\n  default_type application/octet-stream;\n\
         \x20 client_body_temp_path {w}/nginx-tmp/body;\n  proxy_temp_path {w}/nginx-tmp/proxy;\n\
         \x20 fastcgi_temp_path {w}/nginx-tmp/fastcgi;\n  uwsgi_temp_path {w}/nginx-tmp/uwsgi;\n\
         \x20 scgi_temp_path {w}/nginx-tmp/scgi;\n\
         \x20 server {{ listen 127.0.0.1:{port}; root {root}; }}\n}}\n",
        root = root.display()
    )
}

/// Debian's nginx: on `PATH`, else where Debian puts it.
pub(crate) fn nginx_bin() -> PathBuf {
    which("nginx").unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
