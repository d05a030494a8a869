//! Safe `og:image` tags from untrusted ids, shared by the ogforge service and by main sites.
//!
//! A main site that turns `?social=12-34-10` into an `og:image` URL is where reflected XSS,
//! open redirects and ReDoS creep in. This crate owns every piece that decides what may reach
//! such a URL, so the image service and any backend validate ids the very same way:
//!
//! - [`IdRule`]: a length limit plus a linear-time regex (the `regex` crate has no
//!   backtracking, so no pattern can be made to take exponential time) plus rules no pattern
//!   loosens (no control or bidi characters, not `.`/`..`); only it builds an [`Id`].
//! - [`decode_segment`] / [`encode_segment`]: the one rule between an id in a URL path and its
//!   text: decode once, validate the text, write it back in one canonical form ([`Id::encoded`]).
//! - [`PathTemplate`]: a route path such as `/{id}.jpg`, which matches request paths and
//!   fills in validated ids (canonical form).
//! - [`Keys`]: HMAC-SHA256 signatures of canonical paths, for signed routes.
//! - [`TagRoute`]: public base URL + path + rule + image facts (+ keys on a signed route);
//!   [`TagRoute::tags`] turns a raw value into [`Tags`]: the image URL (the default image's
//!   when the value is missing or invalid) and the `og:image*` / `twitter:*` set, as data or as
//!   escaped HTML.
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
//!
//! A route whose ids are free text is signed ([`TagRoute::with_signing`]); its URLs carry the
//! id in its canonical form and `?sig=`, and a value from a request is signed only when its
//! signature came with it:
//!
//! ```
//! use ogforge_tags::{IdRule, Keys, PathTemplate, TagRoute};
//!
//! let keys = Keys::from_list("a-key-of-at-least-16-bytes")?;
//! let route = TagRoute::new(
//!     "https://social.example.com",
//!     PathTemplate::new("/q/{id}.jpg")?,
//!     IdRule::new(".+", 128)?,
//! )?
//! .with_signing(keys.clone());
//!
//! // Text your own code chose: signed.
//! let path = "/q/Hello%2C%20world%21.jpg";
//! let tags = route.signed_tags("Hello, world!");
//! let sig = keys.sign(path);
//! assert_eq!(tags.image_url(), format!("https://social.example.com{path}?sig={sig}"));
//!
//! // A value from a request: its own URL only with its signature.
//! assert_eq!(route.tags_with_signature(Some("Hello, world!"), Some(&sig)), tags);
//! assert!(route.tags(Some("Hello, world!")).is_default());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod id;
mod path;
mod route;
mod segment;
mod signing;
mod tags;

pub use id::{DEFAULT_MAX_ID_LEN, Id, IdError, IdRule, IdRuleError};
pub use path::{PathTemplate, PathTemplateError};
pub use route::{TagRoute, TagRouteError};
pub use segment::{decode_segment, encode_segment};
pub use signing::{Keys, KeysError, MIN_KEY_LEN, SIG_PARAM};
pub use tags::{Meta, MetaAttr, Tags, escape_attr};
