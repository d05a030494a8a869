//! Which addresses ogforge may connect to: the rules, with no I/O, so every one of them is a
//! unit test.
//!
//! Only globally routable unicast addresses pass by default. IPv6 forms that carry an IPv4
//! address (`::ffff:a.b.c.d`, `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by
//! the IPv4 address inside them, so `[::ffff:7f00:1]` is loopback like `127.0.0.1`. Teredo and
//! the other IETF protocol ranges are refused outright: their embedded address is obfuscated or
//! meaningless to a firewall. The operator's `allow_cidrs` are the only way past these rules.
//!
//! Literal IPv4 spellings (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`, fullwidth digits,
//! a trailing dot) need no code here: the `url` crate parses every host the WHATWG way, so they
//! arrive as the `Ipv4Addr` they mean. Names are judged by what they resolve to
//! (`client.rs`); only `localhost` names are refused before resolving, since a system resolver
//! answers them from `/etc/hosts`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use url::{Host, Url};

/// Why an address or URL was refused. The code is the `reason` label of
/// `ogforge_fetch_blocked_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Blocked {
    #[error("a scheme other than http or https")]
    Scheme,
    #[error("a URL without a host")]
    NoHost,
    #[error("a host that is not in the allowed hosts")]
    HostNotAllowed,
    #[error("a localhost name")]
    LocalName,
    #[error("a name that resolves to no address")]
    NoAddress,
    #[error("the unspecified or this-network address")]
    Unspecified,
    #[error("a loopback address")]
    Loopback,
    #[error("a private-use address")]
    Private,
    #[error("a shared (carrier-grade NAT) address")]
    Shared,
    #[error("a link-local address (cloud metadata lives here)")]
    LinkLocal,
    #[error("a multicast or broadcast address")]
    Multicast,
    #[error("a documentation address")]
    Documentation,
    #[error("a benchmarking address")]
    Benchmarking,
    #[error("a reserved or protocol address")]
    Reserved,
}

impl Blocked {
    /// Every reason, for metrics that exist at zero from start-up.
    pub const ALL: [Self; 14] = [
        Self::Scheme,
        Self::NoHost,
        Self::HostNotAllowed,
        Self::LocalName,
        Self::NoAddress,
        Self::Unspecified,
        Self::Loopback,
        Self::Private,
        Self::Shared,
        Self::LinkLocal,
        Self::Multicast,
        Self::Documentation,
        Self::Benchmarking,
        Self::Reserved,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Scheme => "scheme",
            Self::NoHost => "no-host",
            Self::HostNotAllowed => "host-not-allowed",
            Self::LocalName => "local-name",
            Self::NoAddress => "no-address",
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::Shared => "shared",
            Self::LinkLocal => "link-local",
            Self::Multicast => "multicast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Reserved => "reserved",
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

/// IANA's IPv4 special-purpose ranges, each with why it is refused.
const V4_DENIED: &[(Ipv4Net, Blocked)] = &[
    (v4(0, 0, 0, 0, 8), Blocked::Unspecified),
    (v4(10, 0, 0, 0, 8), Blocked::Private),
    (v4(100, 64, 0, 0, 10), Blocked::Shared),
    (v4(127, 0, 0, 0, 8), Blocked::Loopback),
    (v4(169, 254, 0, 0, 16), Blocked::LinkLocal),
    (v4(172, 16, 0, 0, 12), Blocked::Private),
    (v4(192, 0, 0, 0, 24), Blocked::Reserved),
    (v4(192, 0, 2, 0, 24), Blocked::Documentation),
    (v4(192, 88, 99, 0, 24), Blocked::Reserved),
    (v4(192, 168, 0, 0, 16), Blocked::Private),
    (v4(198, 18, 0, 0, 15), Blocked::Benchmarking),
    (v4(198, 51, 100, 0, 24), Blocked::Documentation),
    (v4(203, 0, 113, 0, 24), Blocked::Documentation),
    (v4(224, 0, 0, 0, 4), Blocked::Multicast),
    // 240/4 holds 255.255.255.255 too: the limited broadcast address.
    (v4(240, 0, 0, 0, 4), Blocked::Reserved),
];

const fn v6(segments: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// IPv6 ranges refused as they are (the ones that embed IPv4 are unwrapped first).
const V6_DENIED: &[(Ipv6Net, Blocked)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), Blocked::Unspecified),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), Blocked::Loopback),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), Blocked::Reserved),
    // Local-use NAT64: whatever it translates to is on the operator's own network.
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), Blocked::Private),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        Blocked::Documentation,
    ),
    (v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48), Blocked::Benchmarking),
    // IETF protocol assignments, Teredo (2001::/32) among them.
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), Blocked::Reserved),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        Blocked::Documentation,
    ),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), Blocked::Private),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), Blocked::LinkLocal),
    // Deprecated site-local: still routed inside some networks.
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), Blocked::Private),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Blocked::Multicast),
];

/// Global unicast: everything else in IPv6 is unassigned.
const V6_GLOBAL: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// The address a connection to `ip` really reaches, as far as the rules care: the IPv4
/// address inside an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 address, else `ip`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(mapped) = v6.to_ipv4_mapped() {
        return IpAddr::V4(mapped);
    }
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // IPv4-compatible (deprecated), but not :: and ::1, which are IPv6's own.
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => IpAddr::V4(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => IpAddr::V4(low),
        [0x2002, a, b, ..] => IpAddr::V4(Ipv4Addr::new(
            (a >> 8) as u8,
            a as u8,
            (b >> 8) as u8,
            b as u8,
        )),
        _ => ip,
    }
}

/// Whether ogforge may connect to `ip`: allowed by `allow` (the operator's CIDRs, matched
/// against the address and its canonical form), else only if globally routable.
pub fn check_ip(ip: IpAddr, allow: &[IpNet]) -> Result<(), Blocked> {
    let real = canonical(ip);
    if allow
        .iter()
        .any(|net| net.contains(&ip) || net.contains(&real))
    {
        return Ok(());
    }
    match real {
        IpAddr::V4(v4) => match V4_DENIED.iter().find(|(net, _)| net.contains(&v4)) {
            Some((_, why)) => Err(*why),
            None => Ok(()),
        },
        IpAddr::V6(v6) => match V6_DENIED.iter().find(|(net, _)| net.contains(&v6)) {
            Some((_, why)) => Err(*why),
            None if V6_GLOBAL.contains(&v6) => Ok(()),
            None => Err(Blocked::Reserved),
        },
    }
}

/// Names refused before any lookup: `localhost` and its subdomains (RFC 6761), with or
/// without the trailing dot.
pub fn check_name(name: &str) -> Result<(), Blocked> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() {
        return Err(Blocked::NoHost);
    }
    if name == "localhost" || name.ends_with(".localhost") {
        return Err(Blocked::LocalName);
    }
    Ok(())
}

/// The checks one hop can make before it connects: the scheme, then a literal address by
/// [`check_ip`] (the connector never asks the resolver about literals) or a name by
/// [`check_name`] (its addresses are vetted by the resolver).
pub fn check_url(url: &Url, allow: &[IpNet]) -> Result<(), Blocked> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Blocked::Scheme);
    }
    match url.host() {
        None => Err(Blocked::NoHost),
        Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), allow),
        Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), allow),
        Some(Host::Domain(name)) => check_name(name),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn url_check(host: &str, allow: &[IpNet]) -> Result<(), Blocked> {
        match Url::parse(&format!("http://{host}/x")) {
            Ok(url) => check_url(&url, allow),
            // A host the URL parser refuses never reaches a connection either.
            Err(_) => Err(Blocked::NoHost),
        }
    }

    /// The table of issue 12: spellings of loopback, metadata and link-local addresses that
    /// SSRF filters have missed. Each is refused, and for the right reason.
    #[test]
    fn the_issue_table_is_refused() {
        use Blocked::*;
        let table = [
            ("2130706433", Loopback),
            ("0x7f000001", Loopback),
            ("0177.0.0.1", Loopback),
            ("127.1", Loopback),
            (
                "\u{ff11}\u{ff12}\u{ff17}.\u{ff10}.\u{ff10}.\u{ff11}",
                Loopback,
            ),
            ("127.0.0.1%2e", Loopback),
            ("[::ffff:7f00:1]", Loopback),
            ("[::127.0.0.1]", Loopback),
            ("[2002:a9fe:a9fe::]", LinkLocal),
            ("[64:ff9b::a9fe:a9fe]", LinkLocal),
            ("169.254.169.254.", LinkLocal),
            ("localhost.", LocalName),
            ("LOCALHOST", LocalName),
            ("api.localhost", LocalName),
            // Zone ids are not valid in URLs: refused by the parser.
            ("[fe80::1%25eth0]", NoHost),
            ("[fe80::1]", LinkLocal),
            ("[::1]", Loopback),
            ("[::]", Unspecified),
            ("0.0.0.0", Unspecified),
            ("10.1.2.3", Private),
            ("172.31.255.255", Private),
            ("192.168.0.1", Private),
            ("100.64.0.1", Shared),
            ("224.0.0.1", Multicast),
            ("255.255.255.255", Reserved),
            ("192.0.2.1", Documentation),
            ("198.18.0.1", Benchmarking),
            ("[fd00::1]", Private),
            ("[ff02::1]", Multicast),
            ("[2001:db8::1]", Documentation),
            ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", Reserved),
            ("[64:ff9b:1::a00:1]", Private),
            ("[::ffff:10.0.0.1]", Private),
        ];
        for (host, why) in table {
            assert_eq!(url_check(host, &[]), Err(why), "{host}");
        }
    }

    #[test]
    fn public_addresses_and_names_pass() {
        for host in [
            "93.184.215.14",
            "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]",
            "[::ffff:93.184.215.14]",
            "[2002:5db8:d70e::1]",
            "api.example.com",
            "localhost.example.com",
        ] {
            assert_eq!(url_check(host, &[]), Ok(()), "{host}");
        }
    }

    #[test]
    fn only_http_and_https() {
        for url in ["file:///etc/passwd", "ftp://example.com/", "gopher://x/"] {
            let url = Url::parse(url).unwrap();
            assert_eq!(check_url(&url, &[]), Err(Blocked::Scheme), "{url}");
        }
    }

    /// The operator's CIDRs open exactly what they name, in every spelling of it.
    #[test]
    fn the_allow_list_is_the_only_way_past() {
        let allow: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        assert_eq!(url_check("127.0.0.1", &allow), Ok(()));
        assert_eq!(url_check("[::ffff:127.0.0.1]", &allow), Ok(()));
        assert_eq!(url_check("127.0.0.2", &allow), Err(Blocked::Loopback));
        assert_eq!(url_check("[::1]", &allow), Err(Blocked::Loopback));
        assert_eq!(
            url_check("169.254.169.254", &allow),
            Err(Blocked::LinkLocal)
        );
        // A name is still refused before resolving: allow the address, not the name.
        assert_eq!(url_check("localhost", &allow), Err(Blocked::LocalName));
    }
}
