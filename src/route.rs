//! The one route table: every configured route with what was derived from it at start-up (its
//! key digest, default image, metric label, header values and main-site tag builder).
//!
//! The image service ([`crate::resolve`]), the tags endpoint and the proxy all read this table,
//! so a route, its id rule and its URLs are defined once. Matching a path happens here, once per
//! request ([`RouteTable::find`]); validating the id is [`crate::resolve`]'s job.

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use ogforge_tags::{Id, TagRoute, TagRouteError, Tags};

use crate::{
    cache::Key,
    config::{Config, ConfigError, RouteConfig},
    data::{self, Data},
    image::{Image, sniff_content_type},
    signing::Keys,
};

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
    /// Its `ogforge_http_requests_total` counters for 200 and 304 from each tier.
    pub requests: crate::metrics::RequestCounters,
    /// The route's `og:image` / `twitter:*` tags under the public URL (signed URLs on a signed
    /// route whose keys were read).
    pub tags: TagRoute,
    /// `Cache-Control` of a rendered or stored image, built once.
    pub cache_control: HeaderValue,
    /// `Cache-Control` of the default image: short, so a failure heals by itself.
    pub fallback_cache_control: HeaderValue,
    /// `[routes.data]`: the per-id JSON source and its cache; `None` for routes without.
    pub data: Option<data::Source>,
}

impl Route {
    /// Derives a route from its config: `digest` covers its template, fonts and render options;
    /// `public_url` is where crawlers reach the images (for the tags), `keys` sign a signed
    /// route's tags (`None` where no command asked for them: then its tags are unsigned). Errors
    /// name the key and where its value came from (`whole`).
    pub(crate) fn build(
        config: RouteConfig,
        digest: String,
        public_url: &str,
        keys: Option<&Keys>,
        whole: &Config,
    ) -> Result<Self, ConfigError> {
        let default_bytes = Bytes::from(config.default_image.data.clone());
        let content_type = sniff_content_type(&default_bytes).ok_or_else(|| {
            whole.error(
                &format!("{}.default_image", config.key),
                "not a JPEG, PNG or WebP image",
            )
        })?;
        let tags = tag_route(&config, public_url, content_type, keys).map_err(|e| {
            let key = match e {
                TagRouteError::BaseUrl(_) => "server.public_url".to_owned(),
                TagRouteError::AltText => format!("{}.alt", config.key),
                _ => format!("{}.path", config.key),
            };
            whole.error(&key, e)
        })?;
        let data = (config.data.as_ref())
            .map(data::Source::new)
            .transpose()
            .map_err(|e| whole.error(&format!("{}.data.url", config.key), e))?;
        // An image drawn from data is only as fresh as its data: a cache must come back within
        // the data's TTL to see an edited title (which the new image carries, under a new key).
        let ttl = (config.data.as_ref()).map_or(u32::MAX, |d| {
            u32::try_from(d.ttl.as_secs()).unwrap_or(u32::MAX)
        });
        let lifetime = |max_age: u32, s_maxage: u32| {
            HeaderValue::from_str(&format!("public, max-age={max_age}, s-maxage={s_maxage}"))
                .map_err(|e| whole.error(&format!("{}.max_age", config.key), e))
        };
        let mut cache_control = lifetime(config.max_age.min(ttl), config.s_maxage.min(ttl))?;
        if let Some(d) = &config.data {
            // While it asks again, a cache may keep showing the card for one more TTL, and
            // for as long as ogforge itself keeps a failing API's last document.
            let (ttl, stale) = (d.ttl.as_secs(), data::STALE_IF_ERROR.as_secs());
            let value = format!(
                "{}, stale-while-revalidate={ttl}, stale-if-error={stale}",
                cache_control.to_str().unwrap_or_default()
            );
            cache_control = HeaderValue::from_str(&value)
                .map_err(|e| whole.error(&format!("{}.data.ttl_secs", config.key), e))?;
        }
        let label = metrics::SharedString::from_shared(Arc::from(config.name.as_str()));
        Ok(Self {
            cache_control,
            fallback_cache_control: lifetime(config.fallback_max_age, config.fallback_max_age)?,
            requests: crate::metrics::RequestCounters::new(&label),
            label,
            default_image: Image::new(default_bytes, content_type),
            tags,
            digest,
            data,
            config,
        })
    }

    /// The storage key of `id` on this route; for a data route, `data` (the id's field
    /// values) joins the digest, so edited data is a new key and a new image.
    pub(crate) fn key(&self, id: &Id, data: Option<&Data>) -> Key {
        let ext = self.config.format.extension();
        match data {
            None => Key::new(&self.config.name, &self.digest, id, ext),
            Some(data) => {
                let digest = format!("{}-{}", self.digest, data.digest());
                Key::new(&self.config.name, &digest, id, ext)
            }
        }
    }
}

/// The tag builder of a route. Its default image is the route's path with an empty id, which
/// the image service answers with that route's default image; `default_type` is that image's
/// own type (the bundled one is a JPEG, whatever the route's format). A signed route signs its
/// URLs, the default image's included, so that a crawler is never refused.
fn tag_route(
    c: &RouteConfig,
    public_url: &str,
    default_type: &str,
    keys: Option<&Keys>,
) -> Result<TagRoute, TagRouteError> {
    let default_path = format!("{}{}", c.path.prefix(), c.path.suffix());
    // The image's pixel size, which a device scale multiplies.
    let px = |v: u32| (v as f32 * c.device_scale).round() as u32;
    let route = TagRoute::new(public_url, c.path.clone(), c.ids.clone())?
        .with_size(px(c.width), px(c.height))?
        .with_alt(&c.alt)?
        .with_content_type(c.format.content_type())?
        .with_default_image(&default_path, Some(default_type))?;
    Ok(match keys {
        Some(keys) if c.signed => route.with_signing(keys.clone()),
        _ => route,
    })
}

/// Every route, looked up by path (most specific first) or by name (configuration order).
#[derive(Debug)]
pub struct RouteTable {
    /// Longest fixed text first, so `/card/{id}.jpg` wins over `/{id}.jpg` for `/card/1.jpg`.
    by_specificity: Vec<Arc<Route>>,
    /// In configuration order; the first one is the default for unknown paths.
    in_order: Vec<Arc<Route>>,
}

impl RouteTable {
    /// `routes` must not be empty: `Config` always has one (the embedded one when none is set).
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

    /// The route for unknown paths: the first configured.
    pub fn first(&self) -> &Arc<Route> {
        // `new` is only called with the routes of a validated `Config`, never none.
        &self.in_order[0]
    }

    /// The route whose path template matches `path`, with the raw (unvalidated) id in it.
    /// The only place a path is matched; a request does it once.
    pub fn find<'p>(&self, path: &'p str) -> Option<(&Arc<Route>, &'p str)> {
        #[cfg(test)]
        test_seam::count();
        self.by_specificity
            .iter()
            .find_map(|r| r.config.path.match_path(path).map(|raw| (r, raw)))
    }

    /// The tags for a raw value and the signature that came with it on the named route (the
    /// first when `name` is `None`); `None` when no route has that name. A signed route gives
    /// the id's signed URL only when `sig` signs it, never a signature of its own for a value
    /// from a request ([`TagRoute::tags_with_signature`]).
    pub fn tags(
        &self,
        name: Option<&str>,
        raw: Option<&str>,
        sig: Option<&str>,
    ) -> Option<(&Arc<Route>, Tags)> {
        let route = match name {
            None => self.first(),
            Some(n) => self.by_name(n)?,
        };
        Some((route, route.tags.tags_with_signature(raw, sig)))
    }
}

/// Counts [`RouteTable::find`] calls on this thread, so a test can show that a request is
/// matched once.
#[cfg(test)]
pub(crate) mod test_seam {
    use std::cell::Cell;

    thread_local! {
        static FINDS: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn count() {
        FINDS.with(|c| c.set(c.get() + 1));
    }

    /// Route lookups on this thread so far.
    pub(crate) fn finds() -> usize {
        FINDS.with(Cell::get)
    }
}
