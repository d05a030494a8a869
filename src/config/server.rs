//! `[server]`: the listeners, the limits a connection meets (header-read and idle timeouts, the
//! open-connection cap), the limits a request meets before any work (URI, headers, query,
//! deadline), signed URLs, the proxies whose `X-Forwarded-For` is believed, and shutdown. Its
//! raw keys, defaults, validation and tests; `ogforge.example.toml` documents each key.

use std::{net::SocketAddr, time::Duration};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use toml::Value;

use super::{error::Report, raw};

pub(super) mod defaults {
    /// Public listener: loopback until the operator decides otherwise.
    pub const LISTEN: &str = "127.0.0.1:8080";
    /// Admin listener (metrics, health): loopback, so metrics never leak to the internet.
    pub const ADMIN_LISTEN: &str = "127.0.0.1:9090";
    /// Longest request URI accepted (bytes); longer is refused with 414 before any work.
    pub const MAX_URI_LEN: usize = 2048;
    /// Query parameters ignored on image routes (cache busters); any other is refused with 400.
    pub const IGNORED_QUERY_PARAMS: &[&str] = &["v"];
    /// Environment variable holding the URL signing keys (comma-separated, newest first); keys
    /// never live in the config file, so it can be committed.
    pub const SIGNING_KEYS_ENV: &str = "OGFORGE_SIGNING_KEYS";
    /// An unsigned or tampered request on a signed route gets 403 (`forbidden`).
    pub const BAD_SIGNATURE: &str = "forbidden";
    /// After SIGTERM, requests (renders and store writes included) get this long to finish:
    /// under Kubernetes' default 30 s grace period, so ogforge exits before it is killed.
    pub const SHUTDOWN_TIMEOUT_MS: u64 = 25_000;
    /// Largest request header section (names + values, bytes); more gets 431. Real crawlers
    /// send well under 2 KiB; this stops header-stuffing before any work is done.
    pub const MAX_HEADER_BYTES: usize = 8 * 1024;
    /// Most request header fields; more gets 431 (hyper itself stops at 100).
    pub const MAX_HEADERS: usize = 64;
    /// Whole-request deadline: bounds anything stuck server-side (a hung store call), and sits
    /// above `render.timeout_ms`, so a render times out into the default image before this fires.
    pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
    /// A connection must deliver a whole request header section this long after it opens, or
    /// after its previous response (HTTP/1 keep-alive): stops slowloris clients that hold a
    /// socket by trickling header bytes. Real clients send their headers in one packet.
    pub const HEADER_READ_TIMEOUT_MS: u64 = 10_000;
    /// A connection with no request in flight is closed after this long (HTTP/2; HTTP/1 waits
    /// at most `HEADER_READ_TIMEOUT_MS` for its next request anyway): stops idle sockets from
    /// piling up while leaving a CDN's pooled connections their reuse.
    pub const IDLE_TIMEOUT_MS: u64 = 60_000;
    /// Most connections open at once on the public listener; one more is accepted and closed at
    /// once (counted), so file descriptors and per-connection memory stay bounded under a flood.
    pub const MAX_CONNECTIONS: usize = 4096;
}
use defaults as d;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawServer {
    pub(crate) listen: String,
    pub(crate) admin_listen: String,
    pub(crate) max_uri_len: usize,
    pub(crate) ignored_query_params: Vec<String>,
    /// Empty: `http://` + the bound listen address.
    pub(crate) public_url: String,
    pub(crate) signing_keys_env: String,
    pub(crate) bad_signature: String,
    pub(crate) shutdown_timeout_ms: u64,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_headers: usize,
    pub(crate) request_timeout_ms: u64,
    pub(crate) trusted_proxies: Vec<String>,
    pub(crate) header_read_timeout_ms: u64,
    pub(crate) idle_timeout_ms: u64,
    pub(crate) max_connections: usize,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: d::LISTEN.into(),
            admin_listen: d::ADMIN_LISTEN.into(),
            max_uri_len: d::MAX_URI_LEN,
            ignored_query_params: d::IGNORED_QUERY_PARAMS
                .iter()
                .map(|s| (*s).into())
                .collect(),
            public_url: String::new(),
            signing_keys_env: d::SIGNING_KEYS_ENV.into(),
            bad_signature: d::BAD_SIGNATURE.into(),
            shutdown_timeout_ms: d::SHUTDOWN_TIMEOUT_MS,
            max_header_bytes: d::MAX_HEADER_BYTES,
            max_headers: d::MAX_HEADERS,
            request_timeout_ms: d::REQUEST_TIMEOUT_MS,
            trusted_proxies: Vec::new(),
            header_read_timeout_ms: d::HEADER_READ_TIMEOUT_MS,
            idle_timeout_ms: d::IDLE_TIMEOUT_MS,
            max_connections: d::MAX_CONNECTIONS,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub admin_listen: Option<SocketAddr>,
    pub max_uri_len: usize,
    pub ignored_query_params: Vec<String>,
    /// The absolute http(s) URL crawlers reach the images under, for the tags; `None`: `http://`
    /// + the bound listen address. Never taken from a request's `Host` header.
    pub public_url: Option<String>,
    /// Name of the environment variable with the signing keys (`server.signing_keys_env`).
    pub signing_keys_env: String,
    /// `server.bad_signature`: `false` is 403, `true` the default image (reason `bad-signature`).
    pub bad_signature_default_image: bool,
    /// How long in-flight requests may run after SIGTERM or Ctrl-C.
    pub shutdown_timeout: Duration,
    /// Header section limits (`server.max_header_bytes`, `server.max_headers`): 431 past them.
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// Whole-request deadline (`server.request_timeout_ms`).
    pub request_timeout: Duration,
    /// Peers whose `X-Forwarded-For` is believed (`server.trusted_proxies`).
    pub trusted_proxies: Vec<IpNet>,
    /// Connection limits (`server.header_read_timeout_ms`, `idle_timeout_ms`, `max_connections`).
    pub connections: ConnectionLimits,
}

/// What a connection may cost before it sends a request, and how many may be open at once.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From the connection's start, or its previous response, to a whole request header section.
    pub header_read_timeout: Duration,
    /// With no request in flight, the connection closes after this long.
    pub idle_timeout: Duration,
    /// Open connections past this are accepted and closed at once.
    pub max_connections: usize,
}

pub(super) fn load(value: Option<Value>, r: &mut Report) -> Option<ServerConfig> {
    let raw: RawServer = raw::section(value, r)?;
    let listen = r.check("listen", socket_addr(&raw.listen));
    let admin_listen = match raw.admin_listen.as_str() {
        "" => Some(None),
        addr => r.check("admin_listen", socket_addr(addr)).map(Some),
    };
    let public_url = match raw.public_url.trim() {
        "" => Some(None),
        url => r.check("public_url", check_public_url(url)).map(Some),
    };
    let max_uri_len = r.check("max_uri_len", at_least(raw.max_uri_len, 64));
    let bad_signature_default_image = match raw.bad_signature.as_str() {
        "forbidden" => Some(false),
        "default-image" => Some(true),
        _ => r.error(
            "bad_signature",
            "must be \"forbidden\" or \"default-image\"",
        ),
    };
    // Below these, ordinary browsers and crawlers would be refused.
    let max_header_bytes = r.check("max_header_bytes", at_least(raw.max_header_bytes, 1024));
    let max_headers = r.check("max_headers", at_least(raw.max_headers, 16));
    let request_timeout = r.check("request_timeout_ms", at_least(raw.request_timeout_ms, 1));
    // Under 100 ms a real client on a slow mobile link could not get its headers through.
    let header_read_timeout = r.check(
        "header_read_timeout_ms",
        at_least(raw.header_read_timeout_ms, 100),
    );
    let idle_timeout = r.check("idle_timeout_ms", at_least(raw.idle_timeout_ms, 100));
    // The cap bounds a semaphore's permits; a handful keeps the admin's probes and one client in.
    let max_connections = r.check(
        "max_connections",
        at_least(raw.max_connections, 4).and_then(|n| at_most(n, MAX_CONNECTIONS_CAP)),
    );
    let trusted_proxies: Vec<Option<IpNet>> = (raw.trusted_proxies.iter().enumerate())
        .map(|(i, text)| {
            let net = parse_cidr(text).map_err(|reason| format!("{text:?}: {reason}"));
            r.check(&format!("trusted_proxies[{i}]"), net)
        })
        .collect();
    Some(ServerConfig {
        listen: listen?,
        admin_listen: admin_listen?,
        max_uri_len: max_uri_len?,
        ignored_query_params: raw.ignored_query_params,
        public_url: public_url?,
        signing_keys_env: raw.signing_keys_env,
        bad_signature_default_image: bad_signature_default_image?,
        shutdown_timeout: Duration::from_millis(raw.shutdown_timeout_ms),
        max_header_bytes: max_header_bytes?,
        max_headers: max_headers?,
        request_timeout: Duration::from_millis(request_timeout?),
        trusted_proxies: trusted_proxies.into_iter().collect::<Option<_>>()?,
        connections: ConnectionLimits {
            header_read_timeout: Duration::from_millis(header_read_timeout?),
            idle_timeout: Duration::from_millis(idle_timeout?),
            max_connections: max_connections?,
        },
    })
}

/// Far above any file-descriptor limit, and within what a semaphore can count.
const MAX_CONNECTIONS_CAP: usize = 1 << 24;

fn at_most<T: PartialOrd + std::fmt::Display>(value: T, max: T) -> Result<T, String> {
    if value <= max {
        Ok(value)
    } else {
        Err(format!("must be at most {max}"))
    }
}

pub(super) fn socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|e| format!("not a socket address: {e}"))
}

pub(super) fn at_least<T: PartialOrd + std::fmt::Display>(value: T, min: T) -> Result<T, String> {
    if value >= min {
        Ok(value)
    } else {
        Err(format!("must be at least {min}"))
    }
}

/// An absolute `http`/`https` URL with a host and nothing a base URL has no use for
/// (credentials, query, fragment); returned without a trailing `/`.
pub fn check_public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the scheme must be http or https".into());
    }
    if url.host().is_none() {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not hold credentials".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL must not have a query or fragment".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `10.0.0.0/8`, `::1/128`, or a bare address (a single host).
fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        // `10.1.2.3/8` is almost certainly a typo for a network: refuse, do not guess.
        if net.trunc() != net {
            return Err(format!("host bits are set; did you mean {}?", net.trunc()));
        }
        return Ok(net);
    }
    text.parse::<std::net::IpAddr>()
        .map(IpNet::from)
        .map_err(|_| "not an IP address or CIDR (e.g. 10.0.0.0/8)".into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::parse_cidr;
    use crate::config::load_str;

    #[test]
    fn cidrs_and_bare_addresses() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("127.0.0.1").unwrap().to_string(), "127.0.0.1/32");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        assert!(parse_cidr("10.0.0.1/8").is_err());
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("proxy.local").is_err());
    }

    #[test]
    fn bad_edge_limits_name_their_key() {
        let e = load_str("[server]\ntrusted_proxies = ['10.0.0.0/8', 'nope']\n", &[]).unwrap_err();
        assert_eq!(e.first().key, "server.trusted_proxies[1]");
        let e = load_str("[server]\nmax_headers = 2\n", &[]).unwrap_err();
        assert_eq!(e.first().key, "server.max_headers");
    }

    #[test]
    fn connection_limits_are_read_and_checked() {
        let c = load_str(
            "[server]\nheader_read_timeout_ms = 1500\nidle_timeout_ms = 700\nmax_connections = 9\n",
            &[],
        )
        .unwrap();
        let limits = c.server.connections;
        assert_eq!(limits.header_read_timeout.as_millis(), 1500);
        assert_eq!(limits.idle_timeout.as_millis(), 700);
        assert_eq!(limits.max_connections, 9);
        let e = load_str(
            "[server]\nheader_read_timeout_ms = 0\nidle_timeout_ms = 5\nmax_connections = 0\n",
            &[],
        )
        .unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "server.header_read_timeout_ms",
                "server.idle_timeout_ms",
                "server.max_connections"
            ]
        );
        let e = load_str("[server]\nmax_connections = 99999999999\n", &[]).unwrap_err();
        assert!(e.first().reason.contains("at most"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named_with_the_nearest_key() {
        let e = load_str("[server]\nlisten_addr = \"x\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("listen_addr"), "{e}");
        let e = load_str("[server]\nmax_header = 10\nadmin_lisen = ''\n", &[]).unwrap_err();
        let reasons: Vec<&str> = e.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "unknown field `admin_lisen`; did you mean `admin_listen`?",
                "unknown field `max_header`; did you mean `max_headers`?",
            ]
        );
        let e = load_str("[servr]\n", &[]).unwrap_err();
        assert!(e.first().origin.ends_with("ogforge.toml"), "{e}");
        assert_eq!(
            e.first().reason,
            "unknown field `servr`; did you mean `server`?"
        );
    }
}
