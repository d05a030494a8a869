//! Storage keys: the only place a key is built, so the layout in the store is defined once.

use std::fmt;

use ogforge_tags::Id;

/// `{route}/{digest}/{id}.{ext}`: the digest covers the template, fonts and render options, so
/// a change to any of them moves the route's images to new keys by itself. The id is
/// validated and the route name and digest are `[A-Za-z0-9_-]`, so a key never holds `..`,
/// a leading `/` or anything a store would interpret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key(String);

impl Key {
    /// The key of `id` on the route named `route` whose digest is `digest`; `ext` is the
    /// format's extension. Called by `route::Route::key`, which knows all four.
    pub(crate) fn new(route: &str, digest: &str, id: &Id, ext: &str) -> Self {
        Self(format!("{route}/{digest}/{}.{ext}", id.as_str()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
