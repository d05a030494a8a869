//! ogforge: social-share images on demand.
//!
//! A request walks these stages, one module each:
//!
//! | stage | module |
//! | --- | --- |
//! | layers: request id, trace and access log, deadline | [`http`] (`http/access.rs`, `http/deadline.rs`) |
//! | edge guard (method, headers, body, URI, query, signature) | `http/guard.rs` |
//! | handler: path and client in, response out | `http/image.rs`, `http/client.rs`, `http/response.rs` |
//! | the request path, in order | [`pipeline`] |
//! | route match and id validation | [`route`] (ids: the `ogforge-tags` crate) |
//! | memory tier | `cache/memory.rs` |
//! | object-store tier | `cache/store.rs` (`object_store`) |
//! | one render per key | `cache/flight.rs` |
//! | the client's render budget (misses only) | [`ratelimit`] (`governor`) |
//! | template -> HTML | [`template`] (minijinja, auto-escaped) |
//! | HTML -> pixels | `render/html.rs` (takumi), fonts from [`fonts`] |
//! | pixels -> bytes | [`encode`] |
//! | or, for `renderer = "browser"`: page -> screenshot | `render/browser/` (Chromium over CDP; page URLs in `config/page_url.rs`) |
//! | default image and why | [`fallback`] |
//! | main-site tags (`GET /_ogforge/tags`) | [`tags`], `http/tags.rs` (ids: `ogforge-tags`) |
//! | `ogforge proxy`: tags rewritten in the main site's HTML | [`proxy`] (`lol_html`) |
//!
//! Configuration is [`config`]; the command line is [`cli`]; metric names are [`metrics`].

pub mod cache;
pub mod cli;
pub mod config;
pub mod encode;
pub mod fallback;
pub mod fonts;
pub mod http;
pub mod metrics;
pub mod pipeline;
pub mod proxy;
pub mod ratelimit;
pub mod render;
pub mod route;
pub mod signing;
pub mod tags;
pub mod template;
