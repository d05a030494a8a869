//! Route paths with one `{id}` placeholder: matching request paths and building image URLs.

/// Why a route path cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathTemplateError {
    /// Paths are absolute.
    #[error("the path must start with '/'")]
    NotAbsolute,
    /// There must be exactly one `{id}`.
    #[error("the path must contain exactly one {{id}} placeholder")]
    Placeholder,
    /// Query strings and fragments belong to requests, not routes.
    #[error("the path must not contain '?', '#' or '%'")]
    Reserved,
}

/// A path such as `/card/{id}.png`: a fixed prefix and suffix around the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    prefix: String,
    suffix: String,
}

impl PathTemplate {
    /// Parses a route path; it must be absolute and hold `{id}` exactly once.
    pub fn new(path: &str) -> Result<Self, PathTemplateError> {
        if !path.starts_with('/') {
            return Err(PathTemplateError::NotAbsolute);
        }
        if path.contains(['?', '#', '%']) {
            return Err(PathTemplateError::Reserved);
        }
        let mut parts = path.split("{id}");
        let (Some(prefix), Some(suffix), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(PathTemplateError::Placeholder);
        };
        Ok(Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
        })
    }

    /// The raw id part of `path` as it was sent (still percent-encoded, unvalidated), if `path`
    /// has this template's shape. The fixed text matches as written: `/%63ard/` is not `/card/`.
    /// Decode it with [`crate::decode_segment`], then check it with the route's
    /// [`crate::IdRule`].
    pub fn match_path<'p>(&self, path: &'p str) -> Option<&'p str> {
        path.strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())
    }

    /// The canonical path of a valid id: its [`crate::Id::encoded`] form between the prefix and
    /// the suffix. This is the path in tag URLs, the one signatures cover, and the one a
    /// request for any spelling of the id is verified as.
    pub fn fill(&self, id: &crate::Id) -> String {
        self.canonical_path(id.as_str())
    }

    /// The canonical path for id text that is not validated yet (a signature is checked before
    /// the id is): the text is percent-encoded ([`crate::encode_segment`]), so whatever it holds
    /// the result is one path with the text in one segment.
    pub fn canonical_path(&self, text: &str) -> String {
        format!(
            "{}{}{}",
            self.prefix,
            crate::encode_segment(text),
            self.suffix
        )
    }

    /// The text after the id, e.g. `.jpg`.
    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    /// The text before the id, e.g. `/card/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl std::fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{{id}}{}", self.prefix, self.suffix)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::IdRule;

    #[test]
    fn matches_and_fills() {
        let t = PathTemplate::new("/card/{id}.png").unwrap();
        assert_eq!(t.match_path("/card/42.png"), Some("42"));
        assert_eq!(t.match_path("/card/42.jpg"), None);
        assert_eq!(t.match_path("/other/42.png"), None);
        let id = IdRule::new("[0-9]+", 9).unwrap().check("42").unwrap();
        assert_eq!(t.fill(&id), "/card/42.png");
        assert_eq!(t.to_string(), "/card/{id}.png");
    }

    #[test]
    fn fills_free_text_in_its_canonical_form_in_one_segment() {
        let t = PathTemplate::new("/card/{id}").unwrap();
        let id = IdRule::new(".+", 64)
            .unwrap()
            .check("AC/DC, live?")
            .unwrap();
        assert_eq!(t.fill(&id), "/card/AC%2FDC%2C%20live%3F");
        assert_eq!(
            t.match_path("/card/AC%2FDC%2C%20live%3F"),
            Some("AC%2FDC%2C%20live%3F")
        );
    }

    #[test]
    fn refuses_bad_templates() {
        assert_eq!(
            PathTemplate::new("card/{id}"),
            Err(PathTemplateError::NotAbsolute)
        );
        assert_eq!(
            PathTemplate::new("/card.png"),
            Err(PathTemplateError::Placeholder)
        );
        assert_eq!(
            PathTemplate::new("/{id}/{id}.png"),
            Err(PathTemplateError::Placeholder)
        );
        assert_eq!(
            PathTemplate::new("/{id}.png?x"),
            Err(PathTemplateError::Reserved)
        );
    }
}
