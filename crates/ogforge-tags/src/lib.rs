//! Safe `og:image` tags from untrusted ids, shared by the ogforge service and by main sites.
//!
//! A main site that turns `?social=12-34-10` into an `og:image` URL is where reflected XSS,
//! open redirects and ReDoS creep in. This crate owns every piece that decides what may reach
//! such a URL, so the image service and any backend validate ids the very same way:
//!
//! - [`IdRule`]: a length limit plus a linear-time regex (the `regex` crate has no
//!   backtracking, so no pattern can be made to take exponential time); only it builds an [`Id`].
//! - [`PathTemplate`]: a route path such as `/{id}.jpg`, which matches request paths and
//!   fills in validated ids.
//! - [`TagRoute`]: public base URL + path + rule + image facts; [`TagRoute::tags`] turns a raw
//!   value into [`Tags`]: the image URL (the default image's when the value is missing or
//!   invalid) and the `og:image*` / `twitter:*` set, as data or as escaped HTML.
//!
//! It has no dependency on the renderer, so a Rust backend can use it alone.
//!
//! ```
//! use ogforge_tags::{IdRule, PathTemplate, TagRoute};
//!
//! let route = TagRoute::new(
//!     "https://social.example.com",
//!     PathTemplate::new("/{id}.jpg")?,
//!     IdRule::new("[0-9]{2}-[0-9]{2}-[0-9]{2}", 64)?,
//! )?
//! .with_alt("Match card")?;
//!
//! // The raw query value, as your framework decoded it: untrusted.
//! let tags = route.tags(Some("12-34-10"));
//! assert_eq!(tags.image_url(), "https://social.example.com/12-34-10.jpg");
//! assert!(tags.to_html().starts_with(
//!     "<meta property=\"og:image\" content=\"https://social.example.com/12-34-10.jpg\">"
//! ));
//!
//! // Anything invalid gives the default image, and none of the input.
//! let tags = route.tags(Some("\"><script>alert(1)</script>"));
//! assert!(tags.is_default());
//! assert!(!tags.to_html().contains("script"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod id;
mod path;
mod route;
mod tags;

pub use id::{DEFAULT_MAX_ID_LEN, Id, IdError, IdRule, IdRuleError};
pub use path::{PathTemplate, PathTemplateError};
pub use route::{TagRoute, TagRouteError};
pub use tags::{Meta, MetaAttr, Tags, escape_attr};
