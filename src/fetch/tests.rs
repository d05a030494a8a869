//! The guarded client against loopback servers only. Every test of a refused address proves
//! "no connection" by construction: names resolve through a fixed stub to 127.0.0.1, and the
//! redirect tests send every request through a loopback proxy (the test's own server), so
//! nothing can leave the machine even if a check were wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::FutureExt;
use http::{HeaderName, HeaderValue};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use super::*;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A loopback HTTP/1.1 server: `respond` maps a request head to a whole response; every head
/// it saw is kept.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Server {
    async fn start(respond: fn(&str) -> String) -> Self {
        let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let reply = respond(&head);
                    log.lock().unwrap().push(head);
                    let _ = sock.write_all(reply.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self { addr, seen }
    }

    fn url(&self, path: &str) -> url::Url {
        format!("http://{}{path}", self.addr).parse().unwrap()
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn reply(status: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
}

fn allow_loopback() -> Vec<ipnet::IpNet> {
    vec!["127.0.0.1/32".parse().unwrap()]
}

fn request(url: url::Url) -> Request<'static> {
    Request {
        url,
        headers: &[],
        timeout: Duration::from_secs(10),
        max_bytes: 1000,
        hosts: None,
    }
}

/// Runs `test` on a fresh current-thread runtime with its own metrics recorder; returns what
/// the test returned and the metrics it recorded, in the Prometheus text format.
fn counted<T>(test: impl AsyncFnOnce() -> T) -> (T, String) {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = metrics::with_local_recorder(&recorder, || rt.block_on(test()));
    (out, handle.render())
}

/// A redirect to the cloud metadata address or to `[::1]` is refused at the hop, before any
/// request for it, and counted by reason.
#[test]
fn a_redirect_to_a_blocked_address_is_refused_at_the_hop_and_counted() {
    let ((metadata, v6, seen), text) = counted(async || {
        let server = Server::start(|head| {
            if head.contains("/to-metadata") {
                reply(
                    "302 Found",
                    "location: http://169.254.169.254/latest/\r\n",
                    "",
                )
            } else {
                reply("307 Temporary Redirect", "location: http://[::1]/\r\n", "")
            }
        })
        .await;
        let proxy = format!("http://{}", server.addr);
        let client = Client::build(
            allow_loopback(),
            Duration::from_secs(5),
            Lookup::Fixed(vec![]),
            Some(&proxy),
        )
        .unwrap();
        let metadata = get(&client, Kind::Data, &request(server.url("/to-metadata"))).await;
        let v6 = get(&client, Kind::Data, &request(server.url("/to-v6"))).await;
        (metadata, v6, server.seen())
    });
    assert!(
        matches!(metadata, Err(FetchError::Blocked(Blocked::LinkLocal))),
        "{metadata:?}"
    );
    assert!(
        matches!(v6, Err(FetchError::Blocked(Blocked::Loopback))),
        "{v6:?}"
    );
    // The proxy saw the two first hops and nothing else.
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|h| h.contains("127.0.0.1")), "{seen:?}");
    assert!(
        text.contains(r#"ogforge_fetch_blocked_total{reason="link-local"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ogforge_fetch_blocked_total{reason="loopback"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ogforge_fetches_total{kind="data",outcome="blocked"} 2"#),
        "{text}"
    );
}

/// A public-looking name whose (stub) answer is 127.0.0.1 is refused by the resolver: the
/// listener at that port never sees a connection.
#[tokio::test(flavor = "current_thread")]
async fn a_name_resolving_to_loopback_is_refused_before_connecting() {
    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = Client::build(
        vec![],
        Duration::from_secs(5),
        Lookup::Fixed(vec![LOOPBACK]),
        None,
    )
    .unwrap();
    let url = format!("http://api.example.com:{port}/post/1")
        .parse()
        .unwrap();
    let got = client.get(&request(url)).await;
    assert!(
        matches!(got, Err(FetchError::Blocked(Blocked::Loopback))),
        "{got:?}"
    );
    // A connection would already sit in the backlog: the handshake ends before connect returns.
    assert!(listener.accept().now_or_never().is_none());
}

/// The same stub answer with the loopback allowed reaches the server: the refusal above was
/// the guard's doing, not a broken test setup.
#[tokio::test(flavor = "current_thread")]
async fn an_allowed_answer_connects_to_the_vetted_address() {
    let server = Server::start(|_| reply("200 OK", "", "{\"ok\":true}")).await;
    let client = Client::build(
        allow_loopback(),
        Duration::from_secs(5),
        Lookup::Fixed(vec![LOOPBACK]),
        None,
    )
    .unwrap();
    let url = format!("http://api.example.com:{}/x", server.addr.port())
        .parse()
        .unwrap();
    let got = client.get(&request(url)).await.unwrap();
    assert_eq!(got.body.as_ref(), b"{\"ok\":true}");
    let seen = server.seen();
    assert!(seen[0].contains("user-agent: ogforge/"), "{seen:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn redirects_are_followed_up_to_the_limit() {
    let server = Server::start(|head| {
        let first = head.lines().next().unwrap_or_default();
        if first.contains("/hop3 ") {
            reply("200 OK", "", "done")
        } else if first.contains("/hop") {
            let n: u8 = first.split("/hop").nth(1).unwrap()[..1].parse().unwrap();
            reply("302 Found", &format!("location: /hop{}\r\n", n + 1), "")
        } else {
            reply("301 Moved Permanently", "location: /loop\r\n", "")
        }
    })
    .await;
    let client = Client::new(allow_loopback(), Duration::from_secs(5)).unwrap();
    let got = client.get(&request(server.url("/hop0"))).await.unwrap();
    assert_eq!(got.body.as_ref(), b"done");
    assert_eq!(got.url.path(), "/hop3");
    let looped = client.get(&request(server.url("/loop"))).await;
    assert!(
        matches!(looped, Err(FetchError::TooManyRedirects)),
        "{looped:?}"
    );
    assert_eq!(server.seen().len(), 4 + 1 + MAX_REDIRECTS);
}

/// The body cap holds with a `Content-Length` and without one (read as a stream).
#[tokio::test(flavor = "current_thread")]
async fn bodies_over_the_cap_are_refused() {
    let server = Server::start(|head| {
        let body = "x".repeat(5000);
        if head.contains("/chunked") {
            format!(
                "HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            )
        } else {
            reply("200 OK", "", &body)
        }
    })
    .await;
    let client = Client::new(allow_loopback(), Duration::from_secs(5)).unwrap();
    for path in ["/sized", "/chunked"] {
        let got = client.get(&request(server.url(path))).await;
        assert!(
            matches!(got, Err(FetchError::TooLarge(1000))),
            "{path}: {got:?}"
        );
    }
}

/// The caller's headers reach the first URL's origin and no other one after a redirect.
#[tokio::test(flavor = "current_thread")]
async fn headers_stay_with_their_origin() {
    let other = Server::start(|_| reply("200 OK", "", "other")).await;
    // `respond` is a plain fn, so the other origin's port travels in the path.
    let first = Server::start(|head| {
        let port = head
            .split("/go/")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .unwrap_or("");
        reply(
            "302 Found",
            &format!("location: http://127.0.0.1:{port}/x\r\n"),
            "",
        )
    })
    .await;
    let client = Client::new(allow_loopback(), Duration::from_secs(5)).unwrap();
    let mut token = HeaderValue::from_static("Bearer s3cret");
    token.set_sensitive(true);
    let headers = [(HeaderName::from_static("authorization"), token)];
    let req = Request {
        headers: &headers,
        ..request(first.url(&format!("/go/{}", other.addr.port())))
    };
    let got = client.get(&req).await.unwrap();
    assert_eq!(got.body.as_ref(), b"other");
    assert!(first.seen()[0].contains("s3cret"));
    assert!(!other.seen()[0].contains("s3cret"), "{:?}", other.seen());
}

/// Only the listed hosts, on every hop.
#[tokio::test(flavor = "current_thread")]
async fn hosts_outside_the_list_are_never_contacted() {
    let server = Server::start(|_| reply("200 OK", "", "x")).await;
    let client = Client::new(allow_loopback(), Duration::from_secs(5)).unwrap();
    let hosts = ["images.example.com".to_owned()];
    let req = Request {
        hosts: Some(&hosts),
        ..request(server.url("/a.png"))
    };
    let got = client.get(&req).await;
    assert!(
        matches!(got, Err(FetchError::Blocked(Blocked::HostNotAllowed))),
        "{got:?}"
    );
    assert!(server.seen().is_empty());
}
