//! A raw request becomes a [`Resolved`] one here, once: the route matched, the query checked
//! against the allow-list, the signature verified, the id validated, the client named.
//!
//! Everything after this stage takes a [`Resolved`] (a route and an [`Id`] that only
//! validation builds) and never looks at the raw path again. What does not resolve leaves as
//! an [`Unresolved`] variant; the pipeline decides what each one gets (default image or
//! refusal), so the policy lives in one place.
//!
//! Order of the checks, as the edge always had it: route match, query allow-list, signature
//! (over the path, before anything of the id is trusted), id rule.

mod client;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use http::{HeaderMap, Uri};
use ipnet::IpNet;
use ogforge_tags::{Id, IdError};

use crate::{
    reason::Reason,
    route::{Route, RouteTable},
    signing::{Keys, SIG_PARAM},
};

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
    /// Keys that verify `sig` on signed routes (empty when no route is signed).
    keys: Keys,
    /// Peers whose `X-Forwarded-For` names the client (`server.trusted_proxies`).
    trusted_proxies: Vec<IpNet>,
}

impl Resolver {
    pub(crate) fn new(
        routes: Arc<RouteTable>,
        ignored_query_params: Vec<String>,
        keys: Keys,
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
        if signed && !self.signature_valid(path, uri.query()) {
            return Err(Unresolved::BadSignature {
                route: Arc::clone(route),
            });
        }
        let client = client::client_ip(peer, headers, &self.trusted_proxies);
        resolve_id(route, raw, client)
    }

    /// A path from a trusted local caller (`render`, `warm`): route and id only, no query,
    /// signature or client.
    pub fn path(&self, path: &str) -> Resolution {
        let (route, raw) = self.routes.find(path).ok_or(Unresolved::UnknownRoute)?;
        resolve_id(route, raw, None)
    }

    /// A bare id on a known route (`warm --route`, `check`'s sample).
    pub fn id(&self, route: &Arc<Route>, raw: &str) -> Resolution {
        resolve_id(route, raw, None)
    }

    fn query_allowed(&self, query: &str, signed: bool) -> bool {
        url::form_urlencoded::parse(query.as_bytes()).all(|(name, _)| {
            (signed && name == SIG_PARAM) || self.ignored_query_params.iter().any(|p| *p == name)
        })
    }

    fn signature_valid(&self, path: &str, query: Option<&str>) -> bool {
        let sig = query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(name, _)| name == SIG_PARAM)
                .map(|(_, v)| v.into_owned())
        });
        sig.is_some_and(|s| self.keys.verify(path, &s))
    }
}

fn resolve_id(route: &Arc<Route>, raw: &str, client: Option<IpAddr>) -> Resolution {
    match route.config.ids.check(raw) {
        Ok(id) => Ok(Resolved {
            route: Arc::clone(route),
            id,
            client,
        }),
        Err(e) => Err(Unresolved::BadId {
            route: Arc::clone(route),
            reason: match e {
                IdError::TooLong(_) => Reason::IdTooLong,
                IdError::Empty | IdError::NoMatch => Reason::InvalidId,
            },
        }),
    }
}
