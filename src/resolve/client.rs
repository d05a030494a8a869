//! Who the client is, for the render rate limit: the peer address, or, only when the peer is
//! one of `server.trusted_proxies`, the right-most address of `X-Forwarded-For` that is not a
//! trusted proxy itself.
//!
//! `X-Forwarded-For` is a list every hop appends to, so only its right end was written by
//! proxies we run; anything to the left of the first untrusted entry may be the client's own
//! invention (a client sending `X-Forwarded-For: 1.2.3.4` to get a fresh budget). From an
//! untrusted peer the header is ignored altogether. A malformed entry ends the walk: the last
//! address we could vouch for stands.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address, `None` without a peer (a router driven without a socket).
pub(super) fn client_ip(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = canonical(peer?.ip());
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let mut client = peer;
    // Several headers are one list, in order.
    let hops = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Some(client)
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`, from a dual-stack listener) as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn with_xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(FORWARDED_FOR, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn xff_only_from_trusted_peers_and_right_most_untrusted() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let from = |peer: &str| Some(SocketAddr::new(ip(peer), 4000));
        let h = with_xff(&["6.6.6.6, 1.2.3.4, 10.0.0.7"]);
        // An untrusted peer: the header is ignored.
        assert_eq!(
            client_ip(from("9.9.9.9"), &h, &trusted),
            Some(ip("9.9.9.9"))
        );
        // A trusted peer: skip trusted hops from the right, stop at the first untrusted one.
        assert_eq!(
            client_ip(from("10.0.0.1"), &h, &trusted),
            Some(ip("1.2.3.4"))
        );
        // Several headers are one list.
        let h2 = with_xff(&["6.6.6.6", "1.2.3.5:8080"]);
        assert_eq!(
            client_ip(from("10.0.0.1"), &h2, &trusted),
            Some(ip("1.2.3.5"))
        );
        // Garbage ends the walk at the last address vouched for.
        let bad = with_xff(&["1.2.3.4, nonsense"]);
        assert_eq!(
            client_ip(from("10.0.0.1"), &bad, &trusted),
            Some(ip("10.0.0.1"))
        );
        // No header: the proxy itself.
        assert_eq!(
            client_ip(from("10.0.0.1"), &HeaderMap::new(), &trusted),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(client_ip(None, &h, &trusted), None);
        assert_eq!(
            client_ip(from("::ffff:9.9.9.9"), &h, &trusted),
            Some(ip("9.9.9.9"))
        );
    }
}
