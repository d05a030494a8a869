//! ogforge: social-share images on demand.
//!
//! A request walks these stages in order, one module each:
//!
//! | stage | module |
//! | --- | --- |
//! | connections: cap, header-read and idle timeouts (then the router) | [`http`] (`conn.rs`) |
//! | layers: request id, count and access line, edge guard (method, headers, body, URI); the request span past the memory tier | [`http`] (`request_id.rs`, `observe.rs`, `guard.rs`, `image.rs`) |
//! | handler: request in, response out | `http/image.rs` |
//! | resolve once: route match, query allow-list, signature, id, client | [`resolve`] over [`route`] |
//! | the request path, its deadline and policies | [`pipeline`] |
//! | a data route's per-id JSON, through the guarded client | [`data`] over [`fetch`] |
//! | memory tier, object-store tier, one render per key | [`cache`] (`memory.rs`, `store.rs`, `flight.rs`) |
//! | the client's render budget (misses only) | [`ratelimit`] |
//! | template -> HTML -> remote images -> pixels (or a page -> a screenshot in Chromium) | [`template`], [`render`] (`remote.rs`, bytes checked by [`remote_image`]), fonts from [`fonts`] |
//! | pixels -> bytes | [`encode`] |
//! | what it came to: served, default image, refused | [`outcome`], then `http/response.rs` |
//!
//! Beside the path: [`app`] builds every part once from [`config`]; [`proxy`] rewrites the main
//! site's tags from the same route table; the admin listener's preview gallery
//! (`http/preview/`) draws cards through [`pipeline`] without the tiers; [`cli`] is the
//! command line; [`metrics`] names every metric. Leaf modules everyone uses, which import
//! nothing of ogforge: [`reason`], [`image`], [`remote_image`], [`assets`] (embedded template,
//! fonts, default image and the gallery's page) and [`signing`].

pub mod app;
pub mod assets;
pub mod cache;
pub mod cli;
pub mod config;
pub mod data;
pub mod encode;
pub mod fetch;
pub mod fonts;
pub mod http;
pub mod image;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod metrics;
pub mod outcome;
pub mod pipeline;
pub mod proxy;
pub mod ratelimit;
pub mod reason;
pub mod remote_image;
pub mod render;
pub mod resolve;
pub mod route;
pub mod signing;
pub mod template;
