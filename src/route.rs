//! The route table: which route a request path belongs to, and whether its id is valid.
//!
//! Validation happens here and only here: [`RouteTable::resolve`] hands out an [`Id`] (built only
//! by the route's `IdRule`), and every later stage takes that type instead of a string.

use std::sync::Arc;

use ogforge_tags::{Id, IdError};

use crate::{cache::Image, config::RouteConfig, fallback::Reason};

/// A configured route plus what was derived from it at start-up.
#[derive(Debug)]
pub struct Route {
    pub config: RouteConfig,
    /// Digest of template, fonts and render options: part of every key of this route.
    pub digest: String,
    /// The route's default image, served for every fallback.
    pub default_image: Image,
    /// The route's name as a metric label, shared so the hot path clones a pointer instead
    /// of allocating the name for every counter.
    pub label: metrics::SharedString,
}

/// Why a path did not resolve to a route and a valid id.
#[derive(Debug, Clone)]
pub struct Unresolved {
    pub reason: Reason,
    /// The route whose default image stands in (the matching one, else the first).
    pub route: Arc<Route>,
}

#[derive(Debug)]
pub struct RouteTable {
    /// Longest fixed text first, so `/card/{id}.jpg` wins over `/{id}.jpg` for `/card/1.jpg`.
    by_specificity: Vec<Arc<Route>>,
    /// In configuration order; the first one is the default for unknown paths.
    in_order: Vec<Arc<Route>>,
}

impl RouteTable {
    pub(crate) fn new(routes: Vec<Route>) -> Self {
        let in_order: Vec<Arc<Route>> = routes.into_iter().map(Arc::new).collect();
        let mut by_specificity = in_order.clone();
        by_specificity.sort_by_key(|r| {
            std::cmp::Reverse(r.config.path.prefix().len() + r.config.path.suffix().len())
        });
        Self {
            by_specificity,
            in_order,
        }
    }

    pub fn routes(&self) -> &[Arc<Route>] {
        &self.in_order
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<Route>> {
        self.in_order.iter().find(|r| r.config.name == name)
    }

    /// The route whose path template matches `path`, whatever its id.
    pub fn matching(&self, path: &str) -> Option<&Arc<Route>> {
        self.by_specificity
            .iter()
            .find(|r| r.config.path.match_path(path).is_some())
    }

    /// The route for unknown paths.
    pub fn first(&self) -> &Arc<Route> {
        // `Config` always has at least one route (the embedded one when none is configured).
        &self.in_order[0]
    }

    /// The route and validated id for a request path.
    pub fn resolve(&self, path: &str) -> Result<(Arc<Route>, Id), Unresolved> {
        let Some((route, raw)) = self
            .by_specificity
            .iter()
            .find_map(|r| r.config.path.match_path(path).map(|raw| (r, raw)))
        else {
            return Err(Unresolved {
                reason: Reason::UnknownRoute,
                route: Arc::clone(self.first()),
            });
        };
        match route.config.ids.check(raw) {
            Ok(id) => Ok((Arc::clone(route), id)),
            Err(e) => Err(Unresolved {
                reason: match e {
                    IdError::TooLong(_) => Reason::IdTooLong,
                    IdError::Empty | IdError::NoMatch => Reason::InvalidId,
                },
                route: Arc::clone(route),
            }),
        }
    }

    /// Resolves a bare id against a named route (for `warm` lists of ids).
    pub fn resolve_id(&self, route: &Arc<Route>, raw: &str) -> Result<Id, Reason> {
        route.config.ids.check(raw).map_err(|e| match e {
            IdError::TooLong(_) => Reason::IdTooLong,
            IdError::Empty | IdError::NoMatch => Reason::InvalidId,
        })
    }
}

impl Route {
    /// `Cache-Control` of a rendered or stored image of this route.
    pub fn cache_control(&self) -> String {
        format!(
            "public, max-age={}, s-maxage={}",
            self.config.max_age, self.config.s_maxage
        )
    }

    /// `Cache-Control` of this route's default image: short, so a failure heals by itself.
    pub fn fallback_cache_control(&self) -> String {
        let age = self.config.fallback_max_age;
        format!("public, max-age={age}, s-maxage={age}")
    }
}
