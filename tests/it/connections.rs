//! Connection limits (issue 11): slowloris sockets dropped by the header-read timeout while a
//! normal client is served, silent and idle connections closed (HTTP/1 and HTTP/2), the
//! open-connection cap refusing and counting the excess, and shutdown with sockets still open.
//!
//! Nothing here asserts a latency: the normal client's p50 during the attack is printed (run
//! with `--nocapture` to see it), and every wait is a bounded poll for an event, generous for
//! a loaded two-core CI machine.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::util::{Server, Workdir, get, send};

const FAST: &str =
    "<div style=\"display:flex;width:64px;height:32px;background-color:teal\"></div>";

/// Slow senders in the slowloris test (fewer if the open-file limit cannot be raised for them).
const SLOW_SOCKETS: usize = 1000;

/// `[server]` with `server` (admin on a free port), a folder store and a fast PNG route.
fn config(w: &Workdir, server: &str) {
    w.write("fast.html", FAST);
    w.config(&format!(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\n{server}\n[store]\nurl = \"data\"\n\
         [[routes]]\nname = \"fast\"\npath = \"/fast/{{id}}.png\"\nid_pattern = \"[0-9]+\"\n\
         format = \"png\"\nwidth = 64\nheight = 32\ntemplate = \"fast.html\"\n"
    ));
}

fn addr(s: &Server) -> SocketAddr {
    s.base.trim_start_matches("http://").parse().expect("addr")
}

/// Raises this process's soft open-file limit towards `sockets` + a margin; returns how many
/// sockets it allows.
fn sockets_allowed(sockets: usize) -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    const MARGIN: u64 = 256;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return sockets;
    };
    let wanted = (sockets as u64 + MARGIN).min(hard);
    let soft = if soft < wanted && setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).is_ok() {
        wanted
    } else {
        soft
    };
    sockets.min(soft.saturating_sub(MARGIN) as usize)
}

/// Polls `/metrics` until `name{labels}` reads `want`; the last value read otherwise.
async fn wait_metric(s: &Server, name: &str, labels: &[(&str, &str)], want: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = s.metric(name, labels).await;
        if value == want || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (30 s at most) for the server to close `sock`: `Some(after how long)`, `None` if it
/// stayed open or the server answered.
async fn closed_by_server(sock: &mut TcpStream) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    match tokio::time::timeout(Duration::from_secs(30), sock.read(&mut buf)).await {
        Ok(Ok(0) | Err(_)) => Some(start.elapsed()),
        Ok(Ok(_)) | Err(_) => None,
    }
}

/// What one slowloris attacker saw.
#[derive(Default)]
struct Attacker {
    /// Sockets the server closed on it.
    dropped: usize,
    /// The longest a socket stayed open before the server closed it.
    longest: Duration,
    connect_failures: usize,
}

/// Opens a socket, starts a request head and sends one more header byte every second, never
/// finishing it; when the server closes the socket, opens another; until `stop`. Every loop is
/// bounded by `stop` (checked each second) and the test's own deadline.
async fn slow_sender(addr: SocketAddr, stop: Arc<AtomicBool>) -> Attacker {
    let mut seen = Attacker::default();
    while !stop.load(Ordering::Relaxed) {
        let connect = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr));
        let Ok(Ok(mut sock)) = connect.await else {
            seen.connect_failures += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let opened = Instant::now();
        let mut closed = sock
            .write_all(b"GET /fast/1.png HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .is_err();
        let mut buf = [0u8; 256];
        while !closed && !stop.load(Ordering::Relaxed) {
            tokio::select! {
                // EOF, a reset or an error response: the server ended it either way.
                _ = sock.read(&mut buf) => closed = true,
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    closed = sock.write_all(b"a").await.is_err();
                }
            }
        }
        if closed {
            seen.dropped += 1;
            seen.longest = seen.longest.max(opened.elapsed());
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_sockets_are_dropped_by_the_header_timeout_while_a_normal_client_gets_200s() {
    let sockets = sockets_allowed(SLOW_SOCKETS);
    assert!(
        sockets >= 100,
        "the open-file limit allows only {sockets} sockets"
    );
    let w = Workdir::new();
    config(
        &w,
        "header_read_timeout_ms = 1000\nmax_connections = 4096\n",
    );
    let s = w.serve();
    let url = s.url("/fast/1.png");
    // Rendered once; every request of the normal client below is a memory hit.
    assert_eq!(get(&url).await.status, 200);

    let stop = Arc::new(AtomicBool::new(false));
    let attack: Vec<_> = (0..sockets)
        .map(|_| tokio::spawn(slow_sender(addr(&s), Arc::clone(&stop))))
        .collect();
    // A new connection per request: a client arriving during the attack, which also has to
    // get through the accept queue the attackers are filling.
    let normal = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut latencies = Vec::new();
    // The attack goes on for 5 s at least, reconnecting as sockets are dropped, and until every
    // attacker has had a socket dropped (or a 60 s bound).
    loop {
        let t = Instant::now();
        let reply = send(normal.get(&url)).await;
        assert_eq!(reply.status, 200, "the normal client was refused");
        assert_eq!(reply.header("x-ogforge-tier"), "memory");
        latencies.push(t.elapsed());
        let elapsed = started.elapsed();
        if elapsed > Duration::from_secs(60) {
            break;
        }
        if elapsed > Duration::from_secs(5) {
            let dropped = s
                .metric(
                    "ogforge_connection_timeouts_total",
                    &[("listener", "public"), ("kind", "header")],
                )
                .await;
            if dropped >= sockets as f64 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = Attacker::default();
    let mut never_dropped = 0;
    for attacker in attack {
        let seen = attacker.await.unwrap();
        never_dropped += usize::from(seen.dropped == 0);
        total.dropped += seen.dropped;
        total.longest = total.longest.max(seen.longest);
        total.connect_failures += seen.connect_failures;
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "slowloris: {sockets} slow sockets for {:.1} s, {} sockets dropped by the header timeout \
         (1 s; longest held {:.1} s; {} connect failures); normal client: {} requests, all 200, \
         p50 {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        started.elapsed().as_secs_f64(),
        total.dropped,
        total.longest.as_secs_f64(),
        total.connect_failures,
        latencies.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
    );
    assert_eq!(never_dropped, 0, "slow sockets the server never closed");
    let counted = s
        .metric(
            "ogforge_connection_timeouts_total",
            &[("listener", "public"), ("kind", "header")],
        )
        .await;
    assert!(
        counted >= sockets as f64,
        "{counted} header timeouts counted"
    );
    // Every attacker's socket is closed now, and the normal client's are not kept.
    let open = wait_metric(
        &s,
        "ogforge_open_connections",
        &[("listener", "public")],
        0.0,
    )
    .await;
    assert_eq!(open, 0.0);
}

#[tokio::test]
async fn connections_over_max_connections_are_closed_at_once_and_counted() {
    let w = Workdir::new();
    // A long header timeout: the held sockets below stay open for the whole test.
    config(&w, "max_connections = 4\nheader_read_timeout_ms = 120000\n");
    let s = w.serve();
    let public = [("listener", "public")];
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr(&s)).await.unwrap());
    }
    let open = wait_metric(&s, "ogforge_open_connections", &public, 4.0).await;
    assert_eq!(open, 4.0);

    for _ in 0..3 {
        let mut sock = TcpStream::connect(addr(&s)).await.unwrap();
        // The request may or may not get out before the server closes the socket.
        let _ = sock
            .write_all(b"GET /fast/1.png HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        assert!(
            closed_by_server(&mut sock).await.is_some(),
            "a connection over the cap was served"
        );
    }
    assert_eq!(
        s.metric("ogforge_connections_refused_total", &public).await,
        3.0
    );
    assert_eq!(s.metric("ogforge_open_connections", &public).await, 4.0);

    // One held socket goes away: its place is free again.
    drop(held.pop());
    let open = wait_metric(&s, "ogforge_open_connections", &public, 3.0).await;
    assert_eq!(open, 3.0);
    assert_eq!(get(&s.url("/fast/1.png")).await.status, 200);

    // Shutdown closes the sockets that never sent a byte: the process exits by itself.
    let (status, log) = tokio::task::spawn_blocking(move || s.stop_within(Duration::from_secs(20)))
        .await
        .unwrap();
    let status = status.unwrap_or_else(|| panic!("serve did not exit by itself:\n{log}"));
    assert!(status.success(), "{status:?}\n{log}");
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed_over_http1_and_http2() {
    let w = Workdir::new();
    // The idle timeout shorter than the header timeout, so the idle close is the watchdog's
    // and not hyper's HTTP/1 header timer.
    config(&w, "header_read_timeout_ms = 2000\nidle_timeout_ms = 500\n");
    let s = w.serve();
    let url = s.url("/fast/1.png");
    let timeouts = |kind| [("listener", "public"), ("kind", kind)];

    // A socket that never sends a byte: no protocol is known yet, and it is closed all the same.
    let mut silent = TcpStream::connect(addr(&s)).await.unwrap();
    let after = closed_by_server(&mut silent).await;
    assert!(after.is_some(), "a silent socket was kept open");
    let header = timeouts("header");
    assert_eq!(
        wait_metric(&s, "ogforge_connection_timeouts_total", &header, 1.0).await,
        1.0
    );

    // HTTP/2 by prior knowledge (cleartext), as axum's own serve allowed.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let reply = h2.get(&url).send().await.unwrap();
    assert_eq!(reply.version(), reqwest::Version::HTTP_2);
    assert_eq!(reply.status(), 200);
    // HTTP/1.1 keep-alive: the client keeps its connection for reuse.
    let h1 = reqwest::Client::new();
    let reply = h1.get(&url).send().await.unwrap();
    assert_eq!(reply.version(), reqwest::Version::HTTP_11);
    assert_eq!(reply.status(), 200);

    // Both sit idle until the server closes them.
    let idle = timeouts("idle");
    assert_eq!(
        wait_metric(&s, "ogforge_connection_timeouts_total", &idle, 2.0).await,
        2.0
    );
    let public = [("listener", "public")];
    assert_eq!(
        wait_metric(&s, "ogforge_open_connections", &public, 0.0).await,
        0.0
    );
    // Closed connections are no obstacle: the clients open new ones.
    assert_eq!(h2.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(h1.get(&url).send().await.unwrap().status(), 200);
}
