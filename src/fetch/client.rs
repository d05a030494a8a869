//! The guarded HTTP client: reqwest with every door that leads somewhere unintended shut.
//!
//! - **Names**: [`Vetting`] is reqwest's only resolver. It looks a name up once, checks every
//!   answer with [`guard::check_ip`], and refuses the name if any answer is refused, so a
//!   rebinding name cannot slip a private address in beside a public one. The connector then
//!   connects to exactly the addresses it returned: there is no second lookup to race.
//! - **Literals**: hyper never asks a resolver about `http://10.0.0.1/`, so each hop's URL is
//!   checked with [`guard::check_url`] before it is requested.
//! - **Redirects** are followed here, not by reqwest (at most [`MAX_REDIRECTS`]); each hop is
//!   checked again (scheme, allowed hosts, address), and the caller's headers go only to the
//!   first URL's origin.
//! - No proxy from the environment (`HTTP_PROXY` would bypass the resolver), no cookies, a
//!   fixed User-Agent, a connect timeout, and one deadline over all hops and the body, which
//!   is read as a stream and abandoned past its byte cap.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::{HeaderName, HeaderValue, StatusCode, header};
use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use super::guard::{self, Blocked};

/// Hops after the first: enough for `http` -> `https` -> a canonical host, not a loop.
pub const MAX_REDIRECTS: usize = 3;

/// Who is asking, for the sites' logs.
pub const USER_AGENT: &str = concat!("ogforge/", env!("CARGO_PKG_VERSION"), " (social cards)");

/// How names become addresses: the system resolver, or in tests a fixed answer.
#[derive(Debug, Clone)]
pub(crate) enum Lookup {
    System,
    /// Every name resolves to these addresses (tests: no DNS, no outside network).
    #[cfg(test)]
    Fixed(Vec<std::net::IpAddr>),
}

/// reqwest's resolver: one lookup, every answer vetted.
#[derive(Debug)]
struct Vetting {
    allow: Arc<[IpNet]>,
    lookup: Lookup,
}

impl Resolve for Vetting {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow = Arc::clone(&self.allow);
        let lookup = self.lookup.clone();
        Box::pin(async move {
            guard::check_name(&host)?;
            let addrs: Vec<SocketAddr> = match lookup {
                Lookup::System => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
                #[cfg(test)]
                Lookup::Fixed(ips) => ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect(),
            };
            if addrs.is_empty() {
                return Err(Blocked::NoAddress.into());
            }
            for addr in &addrs {
                guard::check_ip(addr.ip(), &allow)?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Why a fetch brought nothing back.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("refused: {0}")]
    Blocked(Blocked),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the body is over {0} bytes")]
    TooLarge(u64),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("a redirect without a usable Location")]
    BadRedirect,
    #[error("could not connect")]
    Connect,
    #[error("HTTP error: {0}")]
    Http(String),
}

impl FetchError {
    /// The `outcome` label of `ogforge_fetches_total`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Blocked(_) => "blocked",
            Self::Timeout(_) => "timeout",
            Self::TooLarge(_) => "too-large",
            Self::TooManyRedirects | Self::BadRedirect => "redirect",
            Self::Connect => "connect",
            Self::Http(_) => "http",
        }
    }

    /// A reqwest error, with a refusal from [`Vetting`] found wherever reqwest wrapped it.
    fn from_reqwest(e: reqwest::Error, timeout: Duration) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if let Some(blocked) = s.downcast_ref::<Blocked>() {
                return Self::Blocked(*blocked);
            }
            source = s.source();
        }
        if e.is_timeout() {
            Self::Timeout(timeout)
        } else if e.is_connect() {
            Self::Connect
        } else {
            // Without the URL: it may carry an id, and the message is logged.
            Self::Http(e.without_url().to_string())
        }
    }
}

/// One fetch: where, with what, within what.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub url: Url,
    /// Sent only to `url`'s origin, never after a redirect to another one. Mark secret values
    /// `set_sensitive(true)` so they stay out of debug output.
    pub headers: &'a [(HeaderName, HeaderValue)],
    /// The whole fetch: every hop and the body.
    pub timeout: Duration,
    pub max_bytes: u64,
    /// Hosts any hop may reach (image hosts); `None`: any host the address rules allow.
    pub hosts: Option<&'a [String]>,
}

/// The last hop's answer. The body is read only for a success (2xx).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub url: Url,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// The guarded client. Cheap to clone; one per allow-list.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    allow: Arc<[IpNet]>,
}

impl Client {
    /// A client that may reach global addresses and those in `allow`.
    pub fn new(allow: Vec<IpNet>, connect_timeout: Duration) -> Result<Self, FetchError> {
        Self::build(allow, connect_timeout, Lookup::System, None)
    }

    /// `via`: a proxy every request goes through. Tests only: pointing it at a loopback server
    /// makes "no request left the machine" true by construction.
    pub(crate) fn build(
        allow: Vec<IpNet>,
        connect_timeout: Duration,
        lookup: Lookup,
        via: Option<&str>,
    ) -> Result<Self, FetchError> {
        let allow: Arc<[IpNet]> = allow.into();
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .connect_timeout(connect_timeout)
            .dns_resolver(Arc::new(Vetting {
                allow: Arc::clone(&allow),
                lookup,
            }));
        if let Some(via) = via {
            let proxy = reqwest::Proxy::all(via).map_err(|e| FetchError::Http(e.to_string()))?;
            builder = builder.proxy(proxy);
        }
        let http = builder
            .build()
            .map_err(|e| FetchError::Http(e.to_string()))?;
        Ok(Self { http, allow })
    }

    /// GETs `req.url`, following redirects by hand, within `req.timeout`.
    pub async fn get(&self, req: &Request<'_>) -> Result<Response, FetchError> {
        tokio::time::timeout(req.timeout, self.hops(req))
            .await
            .unwrap_or(Err(FetchError::Timeout(req.timeout)))
    }

    async fn hops(&self, req: &Request<'_>) -> Result<Response, FetchError> {
        let origin = req.url.origin();
        let mut url = req.url.clone();
        for hop in 0..=MAX_REDIRECTS {
            guard::check_url(&url, &self.allow).map_err(FetchError::Blocked)?;
            if let Some(hosts) = req.hosts
                && !url.host_str().is_some_and(|h| hosts.iter().any(|a| a == h))
            {
                return Err(FetchError::Blocked(Blocked::HostNotAllowed));
            }
            let mut get = self.http.get(url.clone());
            if url.origin() == origin {
                for (name, value) in req.headers {
                    get = get.header(name, value);
                }
            }
            let resp = get
                .send()
                .await
                .map_err(|e| FetchError::from_reqwest(e, req.timeout))?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                if hop == MAX_REDIRECTS {
                    return Err(FetchError::TooManyRedirects);
                }
                let location = (resp.headers().get(header::LOCATION))
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or(FetchError::BadRedirect)?;
                url = location;
                continue;
            }
            let headers = resp.headers().clone();
            let body = if status.is_success() {
                read_capped(resp, req.max_bytes, req.timeout).await?
            } else {
                Bytes::new()
            };
            return Ok(Response {
                status,
                url,
                headers,
                body,
            });
        }
        Err(FetchError::TooManyRedirects)
    }
}

/// The body, refused as soon as it passes `max` bytes (by its `Content-Length`, else while
/// streaming), so an endless body costs at most `max` bytes of memory.
async fn read_capped(
    resp: reqwest::Response,
    max: u64,
    timeout: Duration,
) -> Result<Bytes, FetchError> {
    if resp.content_length().is_some_and(|len| len > max) {
        return Err(FetchError::TooLarge(max));
    }
    let mut body = BytesMut::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| FetchError::from_reqwest(e, timeout))?;
        if (body.len() + chunk.len()) as u64 > max {
            return Err(FetchError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
