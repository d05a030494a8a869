//! The service's side of the main-site tags: one [`TagRoute`] per configured route, built once
//! from the route table and the public URL, for the tags endpoint (`http/tags.rs`) and the
//! proxy.
//!
//! Validation, URL building and escaping all live in the `ogforge-tags` crate, so the service,
//! the proxy and a Rust backend using the crate agree on every id.

use ogforge_tags::{TagRoute, TagRouteError, Tags};

use crate::{
    config::{ConfigError, RouteConfig},
    encode::sniff_content_type,
};

/// The tag routes, in configuration order (the first is the default).
#[derive(Debug)]
pub struct TagTable {
    routes: Vec<(String, TagRoute)>,
}

impl TagTable {
    /// One [`TagRoute`] per route under `public_url`. Each default image is the route's path with
    /// an empty id, which the image service answers with that route's default image.
    /// Errors name `origin` (the config file) and the key at fault.
    pub fn build(
        routes: &[RouteConfig],
        public_url: &str,
        origin: &str,
    ) -> Result<Self, ConfigError> {
        let mut out = Vec::with_capacity(routes.len());
        for c in routes {
            let err = |e: TagRouteError| {
                let key = match e {
                    TagRouteError::BaseUrl(_) => "server.public_url".to_owned(),
                    TagRouteError::AltText => format!("{}.alt", c.key),
                    _ => format!("{}.path", c.key),
                };
                ConfigError::new(origin, key, e)
            };
            let default_path = format!("{}{}", c.path.prefix(), c.path.suffix());
            let tag_route = TagRoute::new(public_url, c.path.clone(), c.ids.clone())
                // The image's pixel size, which a device scale multiplies.
                .and_then(|t| {
                    let px = |v: u32| (v as f32 * c.device_scale).round() as u32;
                    t.with_size(px(c.width), px(c.height))
                })
                .and_then(|t| t.with_alt(&c.alt))
                .and_then(|t| t.with_content_type(c.format.content_type()))
                .and_then(|t| {
                    t.with_default_image(&default_path, sniff_content_type(&c.default_image.data))
                })
                .map_err(err)?;
            out.push((c.name.clone(), tag_route));
        }
        Ok(Self { routes: out })
    }

    /// The tags for `raw` on the named route (the first route when `name` is `None`); `None`
    /// when no route has that name.
    pub fn tags(&self, name: Option<&str>, raw: Option<&str>) -> Option<(&str, Tags)> {
        let (name, route) = match name {
            None => self.routes.first()?,
            Some(n) => self.routes.iter().find(|(rn, _)| rn == n)?,
        };
        Some((name.as_str(), route.tags(raw)))
    }
}
