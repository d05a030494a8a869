//! Safe `og:image` building blocks shared by the ogforge service and by main sites.
//!
//! A main site that turns `?social=12-34-10` into an `og:image` URL is where reflected XSS,
//! open redirects and ReDoS creep in. This crate owns the two pieces that decide what may reach
//! such a URL, so the image service and any backend validate ids the very same way:
//!
//! - [`IdRule`]: a length limit plus a linear-time regex (the `regex` crate has no
//!   backtracking, so no pattern can be made to take exponential time); only it builds an [`Id`].
//! - [`PathTemplate`]: a route path such as `/{id}.jpg`, which matches request paths and
//!   fills in validated ids.
//!
//! It has no dependency on the renderer, so a Rust backend can use it alone.

mod id;
mod path;

pub use id::{DEFAULT_MAX_ID_LEN, Id, IdError, IdRule, IdRuleError};
pub use path::{PathTemplate, PathTemplateError};
