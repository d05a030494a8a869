//! ogforge behind a real CDN stand-in (nginx `proxy_cache`): what a CDN does with the headers.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::util::{EMBEDDED_ID, Workdir, default_image, free_port, get, tool};

/// nginx caching everything ogforge allows it to, on a free loopback port.
struct Nginx {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstream: &str) -> Self {
        let bin = tool("OGFORGE_NGINX", "nginx binary");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let upstream = upstream.trim_start_matches("http://");
        let p = dir.path().display();
        let conf = format!(
            r#"
user root;
worker_processes 1;
error_log {p}/error.log warn;
pid {p}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    proxy_cache_path {p}/cache levels=1:2 keys_zone=og:1m max_size=64m inactive=1h use_temp_path=off;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
            proxy_cache og;
            proxy_cache_lock on;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
    }}
}}
"#
        );
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, conf).unwrap();
        let mut child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&file)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nginx");
        let addr = format!("127.0.0.1:{port}");
        for _ in 0..200 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return Self {
                    child,
                    base: format!("http://{addr}"),
                    _dir: dir,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                panic!("nginx exited: {status}\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nginx did not listen on {addr}");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master then stops its workers and cache manager, which a
        // killed master would leave behind.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_cdn_caches_images_and_keeps_refusals_and_fallbacks_apart() {
    let w = Workdir::new();
    w.config("[store]\nurl = \"data\"\n");
    let s = w.serve();
    let cdn = Nginx::start(&s.base);
    let path = format!("/{EMBEDDED_ID}.jpg");

    let first = get(&format!("{}{path}", cdn.base)).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-cache-status"), "MISS");
    assert_eq!(first.header("x-ogforge-tier"), "render");
    let second = get(&format!("{}{path}", cdn.base)).await;
    assert_eq!(second.header("x-cache-status"), "HIT");
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("etag"), first.header("etag"));
    // Only the first request reached ogforge.
    assert_eq!(
        s.metric("ogforge_http_requests_total", &[("tier", "render")])
            .await,
        1.0
    );
    assert_eq!(
        s.metric("ogforge_http_requests_total", &[("tier", "memory")])
            .await,
        0.0
    );

    // The default image is cacheable, but only for its short lifetime.
    let fallback = get(&format!("{}/not-an-id.jpg", cdn.base)).await;
    assert_eq!(fallback.body, default_image());
    assert_eq!(
        fallback.header("cache-control"),
        "public, max-age=60, s-maxage=60"
    );

    // Refusals are `no-store`: the CDN asks again every time.
    for _ in 0..2 {
        let refused = get(&format!("{}{path}?x=1", cdn.base)).await;
        assert_eq!(refused.status, 400);
        assert_ne!(refused.header("x-cache-status"), "HIT");
    }
}
