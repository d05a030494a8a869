//! Storage keys: the only place a key is built, so the layout in the store is defined once.

use std::fmt;

use ogforge_tags::Id;

/// `{route}/{digest}/{id}.{ext}`: the digest covers the template, fonts and render options, so
/// a change to any of them moves the route's images to new keys by itself.
///
/// The id stands in its canonical form ([`Id::encoded`], as in its URL): everything but ASCII
/// letters, digits and `-._~` percent-encoded, so a free-text id is one segment whatever it
/// holds (a `/` in it is `%2F`) and every spelling of one id has one key. With the route name
/// and digest in `[A-Za-z0-9_-]`, a key never holds `..` as a segment, a leading `/` or an
/// extra one. `object_store` escapes `%` once more in object names (`Caf%C3%A9` is stored as
/// `Caf%25C3%25A9`); ids of letters, digits and `-._` keep their names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key(String);

impl Key {
    /// The key of `id` on the route named `route` whose digest is `digest`; `ext` is the
    /// format's extension. Called by `route::Route::key`, which knows all four.
    pub(crate) fn new(route: &str, digest: &str, id: &Id, ext: &str) -> Self {
        Self(format!("{route}/{digest}/{}.{ext}", id.encoded()))
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
