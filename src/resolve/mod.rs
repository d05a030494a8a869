//! A raw request becomes a [`Resolved`] one here, once: the route matched, the query checked
//! against the allow-list, the signature verified, the id validated, the client named.
//!
//! Everything after this stage takes a [`Resolved`] (a route and an [`Id`] that only
//! validation builds) and never looks at the raw path again. What does not resolve leaves as
//! an [`Unresolved`] variant; the pipeline decides what each one gets (default image or
//! refusal), so the policy lives in one place.
//!
//! Order of the checks, as the edge always had it: route match (on the path as sent), query
//! allow-list, the id part decoded once, signature (over the canonical path, before anything
//! of the id is trusted), id rule.
//!
//! The id rule, in one place for every caller: the id part of the path is percent-decoded
//! exactly once ([`ogforge_tags::decode_segment`]: a literal `/`, a bad escape or bytes that
//! are not UTF-8 make it invalid), and the decoded text is what the route's rule checks and
//! what a template draws. A signature covers the canonical path
//! ([`ogforge_tags::PathTemplate::canonical_path`]), so every spelling of an id verifies the
//! same, and the storage key holds the same canonical form (`cache/key.rs`).

mod client;

use std::{
    borrow::Cow,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use http::{HeaderMap, Uri};
use ipnet::IpNet;
use ogforge_tags::{Id, IdError, decode_segment};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::{
    reason::Reason,
    route::{Route, RouteTable},
    signing::{Keys, SIG_PARAM},
};

/// What an HTTP client encodes in a path it is given to request (the WHATWG URL standard's
/// path percent-encode set, plus `\ ^ |`): non-ASCII, controls, space, `" # < > ? ` { } \ ^ |`.
/// `%` is left alone: it starts an escape.
const TYPED_PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// A path typed on a command line or written in a file (`render`, `warm`, `sign`) as an HTTP
/// client would send it: `/q/Hello, world!.jpg` becomes `/q/Hello,%20world!.jpg`, and a path
/// already encoded stays as it is. A literal `%` must be written `%25`.
pub fn typed_path(path: &str) -> Cow<'_, str> {
    utf8_percent_encode(path, TYPED_PATH).into()
}

/// A request the pipeline may serve: a known route, a valid id, and who asks.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub route: Arc<Route>,
    pub id: Id,
    /// The client a render is charged to (`[rate_limit]`); `None` (the CLI, or a router driven
    /// without a socket) is never limited.
    pub client: Option<IpAddr>,
}

/// Why a request did not resolve.
#[derive(Debug, Clone)]
pub enum Unresolved {
    /// The path matches no route.
    UnknownRoute,
    /// A query parameter neither in `server.ignored_query_params` nor `sig` on a signed route.
    UnexpectedQuery { route: Option<Arc<Route>> },
    /// A signed route without a valid `sig`.
    BadSignature { route: Arc<Route> },
    /// The id breaks the route's rule ([`Reason::InvalidId`] or [`Reason::IdTooLong`]).
    BadId { route: Arc<Route>, reason: Reason },
}

/// The outcome of resolving.
pub type Resolution = Result<Resolved, Unresolved>;

/// Resolves requests against the route table. Built once by [`crate::app::App::build`].
#[derive(Debug)]
pub struct Resolver {
    routes: Arc<RouteTable>,
    /// Query parameters allowed (and ignored) on image routes (`server.ignored_query_params`).
    ignored_query_params: Vec<String>,
    /// Keys that verify `sig` on signed routes (`None` when no route is signed, or for a local
    /// caller, which is never asked for a signature).
    keys: Option<Keys>,
    /// Peers whose `X-Forwarded-For` names the client (`server.trusted_proxies`).
    trusted_proxies: Vec<IpNet>,
}

impl Resolver {
    pub(crate) fn new(
        routes: Arc<RouteTable>,
        ignored_query_params: Vec<String>,
        keys: Option<Keys>,
        trusted_proxies: Vec<IpNet>,
    ) -> Self {
        Self {
            routes,
            ignored_query_params,
            keys,
            trusted_proxies,
        }
    }

    /// An HTTP request: every check, and the client from the peer (and `X-Forwarded-For`
    /// from a trusted proxy).
    pub fn request(&self, uri: &Uri, headers: &HeaderMap, peer: Option<SocketAddr>) -> Resolution {
        let path = uri.path();
        let found = self.routes.find(path);
        let signed = found.is_some_and(|(r, _)| r.config.signed);
        if let Some(query) = uri.query()
            && !self.query_allowed(query, signed)
        {
            return Err(Unresolved::UnexpectedQuery {
                route: found.map(|(r, _)| Arc::clone(r)),
            });
        }
        let Some((route, raw)) = found else {
            return Err(Unresolved::UnknownRoute);
        };
        let text = decode_segment(raw);
        // An id part that does not decode has no canonical path, so no signature can be for it.
        if signed
            && !text.as_ref().is_ok_and(|t| {
                self.signature_valid(&route.config.path.canonical_path(t), uri.query())
            })
        {
            return Err(Unresolved::BadSignature {
                route: Arc::clone(route),
            });
        }
        let client = client::client_ip(peer, headers, &self.trusted_proxies);
        resolve_id(route, text, client)
    }

    /// A path from a trusted local caller (`render`, `warm`, `sign`), as typed ([`typed_path`]):
    /// route and id only, no query, signature or client.
    pub fn path(&self, path: &str) -> Resolution {
        let path = typed_path(path);
        let (route, raw) = self.routes.find(&path).ok_or(Unresolved::UnknownRoute)?;
        resolve_id(route, decode_segment(raw), None)
    }

    /// A bare id on a known route (`warm --route`, `check`'s sample): text, taken as it is
    /// (nothing to decode: it is not part of a URL).
    pub fn id(&self, route: &Arc<Route>, text: &str) -> Resolution {
        resolve_id(route, Ok(Cow::Borrowed(text)), None)
    }

    fn query_allowed(&self, query: &str, signed: bool) -> bool {
        url::form_urlencoded::parse(query.as_bytes()).all(|(name, _)| {
            (signed && name == SIG_PARAM) || self.ignored_query_params.iter().any(|p| *p == name)
        })
    }

    /// Whether the query's `sig` signs `canonical`, the path as the route spells the id.
    fn signature_valid(&self, canonical: &str, query: Option<&str>) -> bool {
        let sig = query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(name, _)| name == SIG_PARAM)
                .map(|(_, v)| v.into_owned())
        });
        sig.is_some_and(|s| self.keys.as_ref().is_some_and(|k| k.verify(canonical, &s)))
    }
}

/// The route's rule on the id's text (decoded once, if it came from a path).
fn resolve_id(
    route: &Arc<Route>,
    text: Result<Cow<'_, str>, IdError>,
    client: Option<IpAddr>,
) -> Resolution {
    match text.and_then(|t| route.config.ids.check(&t)) {
        Ok(id) => Ok(Resolved {
            route: Arc::clone(route),
            id,
            client,
        }),
        Err(e) => Err(Unresolved::BadId {
            route: Arc::clone(route),
            reason: match e {
                IdError::TooLong(_) => Reason::IdTooLong,
                // Empty, no match, malformed, forbidden characters: all the client's doing.
                _ => Reason::InvalidId,
            },
        }),
    }
}
