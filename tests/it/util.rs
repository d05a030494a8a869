//! Fixtures for the integration tests: the real `ogforge` binary, a real S3 server (`s3s-fs`),
//! a store on disk, and helpers to read responses and metrics.
//!
//! External programs come from the environment that `scripts/test.sh` sets (`OGFORGE_S3S_FS`,
//! `OGFORGE_CHROMIUM`, `OGFORGE_NGINX`); a missing one fails the test with a message naming the
//! command to run, so nothing is ever skipped silently.

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_ogforge");

/// The path of an external program the tests need, from `var`, or a clear failure.
pub fn tool(var: &str, what: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) if Path::new(&p).exists() => PathBuf::from(p),
        _ => panic!(
            "{var} is not set to an existing {what}; run the tests with ./scripts/test.sh, \
             which installs it"
        ),
    }
}

/// A free TCP port on loopback (bound and released; the tiny race is acceptable in tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(addr: SocketAddr, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on {addr} within 20 s");
}

/// A real S3 server with signature checks and data on disk.
pub struct S3 {
    child: Child,
    pub root: tempfile::TempDir,
    pub endpoint: String,
    pub bucket: String,
}

pub const S3_KEY: &str = "ogforge-test-key";
pub const S3_SECRET: &str = "ogforge-test-secret-0123456789";

impl S3 {
    pub fn start() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        let bucket = "ogforge".to_owned();
        std::fs::create_dir_all(root.path().join(&bucket)).expect("bucket dir");
        let port = free_port();
        let child = Self::spawn(root.path(), port);
        Self {
            child,
            root,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket,
        }
    }

    fn spawn(root: &Path, port: u16) -> Child {
        let bin = tool("OGFORGE_S3S_FS", "s3s-fs 0.14.1 binary");
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_KEY, "--secret-key", S3_SECRET])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn s3s-fs");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        wait_for_port(addr, &mut child, "s3s-fs");
        child
    }

    /// Starts the server again after [`Self::stop`], on the same port and data.
    pub fn restart(&mut self) {
        let port = self
            .endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        self.child = Self::spawn(self.root.path(), port);
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server: a store that accepts connections
    /// and answers nothing.
    pub fn freeze(&self, frozen: bool) {
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// The bytes of an object, read from the server's data folder.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.path().join(&self.bucket).join(key)).ok()
    }

    /// The `[store]` section pointing at this server.
    pub fn store_toml(&self) -> String {
        format!(
            "[store]\nurl = \"s3://{}\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n\
             access_key_id = \"{S3_KEY}\"\nsecret_access_key = \"{S3_SECRET}\"\nallow_http = true\n",
            self.bucket, self.endpoint
        )
    }

    /// Object keys in the bucket (from the server's data folder).
    pub fn keys(&self) -> Vec<String> {
        files_under(&self.root.path().join(&self.bucket))
            .into_iter()
            .filter(|k| !k.contains(".s3s") && !k.ends_with(".json"))
            .collect()
    }

    /// Stops the server (a store outage).
    pub fn stop(&mut self) {
        // A frozen server dies of SIGKILL all the same.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every file under `dir`, as `/`-separated paths relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A running `ogforge serve`, killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
    pub admin: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

/// A test's working folder: the config file, templates and (for file stores) the data.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `ogforge.toml` (admin on a free port unless the text sets `[server]`).
    pub fn config(&self, toml: &str) -> PathBuf {
        let file = self.path().join("ogforge.toml");
        let server = if toml.contains("[server]") {
            String::new()
        } else {
            "[server]\nadmin_listen = \"127.0.0.1:0\"\n".to_owned()
        };
        std::fs::write(&file, format!("{server}{toml}")).expect("write config");
        file
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let file = self.path().join(name);
        std::fs::write(&file, text).expect("write file");
        file
    }

    /// Files stored under `data/` (the default file store of test configs).
    pub fn stored(&self) -> Vec<String> {
        files_under(&self.path().join("data"))
    }

    /// `ogforge serve -c ogforge.toml --listen 127.0.0.1:0`.
    pub fn serve(&self) -> Server {
        self.serve_with(&[], &[])
    }

    pub fn serve_with(&self, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("-c")
            .arg(self.path().join("ogforge.toml"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(self.path())
            .env("OGFORGE_LOG", "ogforge=debug,warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn ogforge");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                s.push_str(&line);
                s.push('\n');
            }
            s
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut base, mut admin) = (None, String::new());
        let deadline = Instant::now() + Duration::from_secs(30);
        while base.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(a) = line.strip_prefix("admin listening on ") {
                        admin = a.to_owned();
                    } else if let Some(a) = line.strip_prefix("listening on ") {
                        base = Some(a.to_owned());
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let log = stderr.join().unwrap_or_default();
                    panic!("ogforge serve did not start:\n{log}");
                }
            }
        }
        Server {
            child,
            base: base.unwrap_or_default(),
            admin,
            stderr: Some(stderr),
        }
    }

    /// Runs an ogforge command in this folder; returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
        run_in(self.path(), args, stdin)
    }
}

pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    run_with(dir, args, stdin, &[])
}

/// [`run_in`] with environment variables set (and no stdin).
pub fn run_in_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    run_with(dir, args, None, env)
}

fn run_with(
    dir: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ogforge");
    // Dropping the pipe closes stdin, so a command reading it sees the end.
    if let (Some(mut pipe), Some(text)) = (child.stdin.take(), stdin) {
        pipe.write_all(text.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Server {
    /// The ogforge process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The value of a metric with all the given labels (0 if absent), from `/metrics`.
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.scrape().await.get(name, labels)
    }

    /// `/metrics`, parsed.
    pub async fn scrape(&self) -> Metrics {
        let text = reqwest::get(format!("{}/metrics", self.admin))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        Metrics { text }
    }

    /// Sends SIGTERM and waits up to `limit` for the process to exit by itself; returns its
    /// exit status (`None` if it had to be killed) and its log.
    pub fn stop_within(mut self, limit: Duration) -> (Option<std::process::ExitStatus>, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        let mut status = None;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let log = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        (status, log)
    }

    /// Stops the server with SIGTERM and returns its log.
    pub fn stop(mut self) -> String {
        self.terminate();
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }

    fn terminate(&mut self) {
        terminate(&mut self.child);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One scrape of `/metrics` (Prometheus text format).
pub struct Metrics {
    pub text: String,
}

impl Metrics {
    /// The sum of every series of `name` that has all the given labels (0 if none).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let (n, rest) = series.split_once('{').unwrap_or((series, ""));
                (n == name
                    && labels
                        .iter()
                        .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
                .then(|| value.parse::<f64>().ok())
                .flatten()
            })
            .sum()
    }

    /// How much a series grew from `before` to `self`.
    pub fn delta(&self, before: &Metrics, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels) - before.get(name, labels)
    }
}

/// A response with its headers and body, for assertions.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.expect("body").to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(url: &str) -> Reply {
    send(client().get(url)).await
}

/// A route over the embedded template with `fmt` and the default id pattern.
pub const EMBEDDED_ID: &str = "12-34-10";

/// The embedded default image, to recognise fallbacks by their bytes.
pub fn default_image() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/default.jpg"))
        .expect("assets/default.jpg")
}

/// SIGTERM, then SIGKILL if `child` has not exited within 10 s: a graceful stop that cannot hang
/// a test (and lets a master process stop its workers first).
pub fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Serves the router `make` builds (given the bound `127.0.0.1:PORT`) on a loopback port, in a
/// runtime of its own that lives as long as the test process; returns that address.
pub fn serve_loopback(make: impl FnOnce(&str) -> axum::Router + Send + 'static) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap().to_string();
            let app = make(&addr);
            tx.send(addr).unwrap();
            let _ = axum::serve(l, app).await;
        });
    });
    rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap()
}
