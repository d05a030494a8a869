//! Serving a listener: the accept loop, the open-connection cap, the header-read and idle
//! timeouts, and graceful shutdown.
//!
//! axum's `serve` exposes none of hyper's connection settings, so connections are served here
//! through hyper-util's builder (HTTP/1, and HTTP/2 by prior knowledge, as axum's would), each
//! request carrying the peer address as `ConnectInfo`. The limits come from `[server]`
//! (`config/server.rs`); routes and layers stay in [`super::router`]. What a CDN or proxy in
//! front should still do is in `docs/operations.md`.
//!
//! Who closes what:
//! - hyper's own HTTP/1 `header_read_timeout` closes a connection whose request head does not
//!   arrive in time, counted from the connection's start or its previous response (so it also
//!   bounds an idle HTTP/1 keep-alive connection);
//! - the per-connection watchdog here covers what that timer cannot see: a socket that sends
//!   nothing (hyper-util waits for the first bytes to pick the protocol, with no timer), HTTP/2
//!   connections (no request within the header timeout, or idle for `idle_timeout`), and
//!   shorter idle timeouts than the header timeout.
//!
//! A connection the watchdog closes gets hyper's graceful close (HTTP/1: after the response in
//! progress; HTTP/2: GOAWAY), and is dropped outright if it has not gone after another
//! header timeout (a peer that stopped reading).

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
};
use tokio::{
    net::{TcpListener, TcpSocket, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, watch},
    time::Instant,
};
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::{config::ConnectionLimits, metrics as m};

/// Binds a listener whose accept queue holds a whole burst of new connections: tokio's
/// `TcpListener::bind` asks for 1024, and when a queue that size fills (a flood of reconnects),
/// the kernel drops the next SYNs and a real client waits out a 1 s retransmit. The kernel
/// caps the request at `net.core.somaxconn`.
pub fn listen(addr: SocketAddr, limits: &ConnectionLimits) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restart can bind while old connections sit in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let backlog = u32::try_from(limits.max_connections.clamp(1024, 65_535)).unwrap_or(1024);
    socket.listen(backlog)
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, closes idle
/// connections, lets requests in flight finish and returns once every connection has ended (the
/// caller bounds that wait with `server.shutdown_timeout_ms`). `name` labels the connection
/// metrics (`public`, `admin`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    name: &'static str,
    shutdown: impl Future<Output = ()>,
) {
    // Each open connection holds one permit: none left means the cap is reached, and all of
    // them back means every connection has ended.
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(());
    let builder = Arc::new(builder(&limits));
    // The series exist from start-up, so a rate over them reads 0 rather than nothing.
    let refused = metrics::counter!(m::CONNECTIONS_REFUSED, "listener" => name);
    refused.increment(0);
    metrics::gauge!(m::OPEN_CONNECTIONS, "listener" => name).set(0.0);
    for kind in [CLOSED_HEADER, CLOSED_IDLE] {
        metrics::counter!(m::CONNECTION_TIMEOUTS, "listener" => name, "kind" => kind).increment(0);
    }
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        // Over the cap: accepted and closed at once, so the client learns now instead of
        // waiting in the kernel's backlog, and the process keeps its descriptors.
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            refused.increment(1);
            debug!(%peer, listener = name, "connection refused: server.max_connections reached");
            drop(stream);
            continue;
        };
        // Responses are written whole; Nagle would only hold back their last segment.
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            builder: Arc::clone(&builder),
            router: router.clone(),
            limits,
            name,
            stop: stopping.clone(),
            _permit: permit,
        };
        tokio::spawn(conn.run(stream, peer));
    }
    drop(listener);
    let _ = stop.send(());
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// The protocol settings: hyper's HTTP/1 header timer (it needs a timer to run at all) and
/// HTTP/2 with the same timer for its keep-alive bookkeeping.
fn builder(limits: &ConnectionLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    builder
}

/// Errors of one connection (reset, aborted) say nothing of the listener; anything else (out of
/// file descriptors) would come back at once, so wait a moment before accepting again.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    warn!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// `kind` label of a connection that never completed a request head in time (slowloris, a
/// socket that sends nothing).
const CLOSED_HEADER: &str = "header";
/// `kind` label of a connection that had served a request, then sat idle (or sent its next
/// request's head too slowly: hyper's HTTP/1 timer does not say which).
const CLOSED_IDLE: &str = "idle";

/// One accepted connection and what it needs to run.
struct Conn {
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    limits: ConnectionLimits,
    name: &'static str,
    stop: watch::Receiver<()>,
    /// Returned when the connection ends, whichever way.
    _permit: OwnedSemaphorePermit,
}

impl Conn {
    async fn run(mut self, stream: TcpStream, peer: SocketAddr) {
        let open = metrics::gauge!(m::OPEN_CONNECTIONS, "listener" => self.name);
        open.increment(1.0);
        let activity = Arc::new(Activity::new());
        let service = {
            let (router, activity) = (self.router.clone(), Arc::clone(&activity));
            service_fn(move |mut req: Request<Incoming>| {
                // What axum's `into_make_service_with_connect_info` would insert.
                req.extensions_mut().insert(ConnectInfo(peer));
                let busy = activity.begin();
                let router = router.clone();
                async move {
                    let response: Result<Response<Body>, Infallible> =
                        router.oneshot(req.map(Body::new)).await;
                    drop(busy);
                    response
                }
            })
        };
        let conn = self.builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        let limits = self.limits;
        let mut closing: Option<&'static str> = None;
        let mut shutting_down = false;
        let mut check = Instant::now() + limits.header_read_timeout;
        let result = loop {
            tokio::select! {
                result = conn.as_mut() => break result,
                _ = self.stop.changed(), if !shutting_down => {
                    shutting_down = true;
                    if closing.is_none() {
                        conn.as_mut().graceful_shutdown();
                    }
                }
                () = tokio::time::sleep_until(check) => {
                    let now = Instant::now();
                    match activity.next_check(now, &limits, closing.is_some()) {
                        Check::Later(at) => check = at,
                        Check::Due if closing.is_some() => break Ok(()),
                        Check::Due => {
                            // Shutdown already asked for the graceful close; this one only
                            // starts the clock on dropping a peer that will not leave.
                            if !shutting_down {
                                conn.as_mut().graceful_shutdown();
                            }
                            closing = Some(activity.closed_kind());
                            activity.restart(now);
                            check = now + limits.header_read_timeout;
                        }
                    }
                }
            }
        };
        let timed_out = match &result {
            Err(e) if is_header_timeout(e.as_ref()) => Some(activity.closed_kind()),
            _ => closing,
        };
        if let Some(kind) = timed_out {
            metrics::counter!(m::CONNECTION_TIMEOUTS, "listener" => self.name, "kind" => kind)
                .increment(1);
        }
        if let Err(e) = result {
            // Clients going away mid-request are routine; the timeouts are counted above.
            debug!(%peer, error = %e, "connection ended with an error");
        }
        open.decrement(1.0);
    }
}

fn is_header_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<hyper::Error>()
        .is_some_and(hyper::Error::is_timeout)
}

/// What the watchdog knows of a connection: requests in flight, whether it ever served one,
/// and since when it has had none.
#[derive(Debug)]
struct Activity {
    in_flight: AtomicUsize,
    state: Mutex<Idle>,
}

#[derive(Debug, Clone, Copy)]
struct Idle {
    since: Instant,
    served: bool,
}

enum Check {
    Later(Instant),
    Due,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            state: Mutex::new(Idle {
                since: Instant::now(),
                served: false,
            }),
        }
    }

    fn idle(&self) -> Idle {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request is under way until the guard drops (its response is ready, or it is dropped).
    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(self))
    }

    fn restart(&self, now: Instant) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .since = now;
    }

    fn closed_kind(&self) -> &'static str {
        if self.idle().served {
            CLOSED_IDLE
        } else {
            CLOSED_HEADER
        }
    }

    /// When to look again, or `Due`: idle past its limit. A busy connection is left to the
    /// request deadline; a closing one gets one more header timeout to leave.
    fn next_check(&self, now: Instant, limits: &ConnectionLimits, closing: bool) -> Check {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Check::Later(now + limits.idle_timeout.min(limits.header_read_timeout));
        }
        let idle = self.idle();
        let limit = if closing || !idle.served {
            limits.header_read_timeout
        } else {
            limits.idle_timeout
        };
        let due = idle.since + limit;
        if now >= due {
            Check::Due
        } else {
            Check::Later(due)
        }
    }
}

/// One request in flight; on drop the connection is idle from now (if it was the last).
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut idle = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        idle.since = Instant::now();
        idle.served = true;
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
