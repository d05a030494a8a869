//! The page a browser route screenshots: `routes[].page_url`, a URL template whose `{id}` and
//! `{capture}` placeholders take a validated id.
//!
//! This is where an untrusted string meets a URL, so the rules are strict and checked once, at
//! start-up: the template must be an absolute `http`/`https` URL; placeholders may appear only
//! after the origin (an id can never choose the host); each value is percent-encoded as one
//! URL component, so an id cannot add a path segment, a query parameter or a fragment.

use ogforge_tags::{Id, IdRule};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::{Origin, Url};

/// Everything but RFC 3986's unreserved characters is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    /// `id` or a named capture of the route's id pattern.
    Param(String),
}

/// A parsed `page_url`.
#[derive(Debug, Clone)]
pub struct PageUrl {
    template: String,
    parts: Vec<Part>,
    origin: Origin,
}

impl PageUrl {
    /// Parses `template` for a route whose ids follow `ids`.
    pub fn parse(template: &str, ids: &IdRule) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let Some(len) = rest[open..].find('}') else {
                return Err("a '{' without its '}'".into());
            };
            let name = &rest[open + 1..open + len];
            if name != "id" && !ids.capture_names().any(|c| c == name) {
                return Err(format!(
                    "{{{name}}} is neither {{id}} nor a named capture of id_pattern"
                ));
            }
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            parts.push(Part::Param(name.to_owned()));
            rest = &rest[open + len + 1..];
        }
        if rest.contains('}') {
            return Err("a '}' without its '{'".into());
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        if !parts.iter().any(|p| matches!(p, Part::Param(_))) {
            return Err("needs {id} (or a named capture) so each id gets its own page".into());
        }
        // The origin is everything before the first placeholder's path: it must be fixed text.
        let Some(Part::Text(head)) = parts.first() else {
            return Err("must start with http:// or https://, not a placeholder".into());
        };
        let base = Url::parse(head).map_err(|e| format!("not an absolute URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err("the scheme must be http or https".into());
        }
        if base.host().is_none() {
            return Err("the URL has no host".into());
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err("credentials go in an *_env key, not in the URL".into());
        }
        let after_scheme = head.split_once("://").map_or("", |(_, r)| r);
        if !after_scheme.contains(['/', '?', '#']) {
            return Err("placeholders may only follow the host: add a '/' after it".into());
        }
        let this = Self {
            template: template.to_owned(),
            parts,
            origin: base.origin(),
        };
        // A sample fill must parse and keep the origin.
        let sample = this.fill(|_| "x".to_owned());
        let url = Url::parse(&sample).map_err(|e| format!("not a URL once filled: {e}"))?;
        if url.origin() != this.origin {
            return Err("the origin changes once filled".into());
        }
        Ok(this)
    }

    /// The page for one id. Its origin is always [`Self::origin`].
    pub fn build(&self, id: &Id) -> Result<Url, String> {
        let text = self.fill(|name| {
            let value = if name == "id" {
                id.as_str()
            } else {
                id.captures()
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or("", |(_, v)| v.as_str())
            };
            utf8_percent_encode(value, COMPONENT).to_string()
        });
        let url = Url::parse(&text).map_err(|e| format!("page URL: {e}"))?;
        // Cannot differ (the origin is fixed text and values are encoded); checked anyway,
        // because this is the line between an id and a request with the route's token.
        if url.origin() != self.origin {
            return Err("page URL left the configured origin".into());
        }
        Ok(url)
    }

    /// The page's origin: the only one that receives the route's headers and credentials.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The template as configured, for the storage digest and messages.
    pub fn as_str(&self) -> &str {
        &self.template
    }

    fn fill(&self, value: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(self.template.len() + 32);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Param(name) => out.push_str(&value(name)),
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule() -> IdRule {
        IdRule::new(r"(?<post>.+)", 200).unwrap()
    }

    #[test]
    fn ids_are_encoded_as_one_component() {
        let u =
            PageUrl::parse("https://cards.internal/card?social={id}&p={post}", &rule()).unwrap();
        let id = rule().check("a&b=c#d/../e?f g").unwrap();
        let url = u.build(&id).unwrap();
        assert_eq!(url.host_str(), Some("cards.internal"));
        assert_eq!(url.path(), "/card");
        assert_eq!(url.fragment(), None);
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs.len(), 2, "{pairs:?}");
        assert_eq!(pairs[0].1, "a&b=c#d/../e?f g");
    }

    #[test]
    fn the_id_cannot_choose_the_host_or_scheme() {
        for bad in [
            "{id}",
            "https://{id}.example.com/",
            "https://example.com{id}",
            "file:///tmp/{id}",
            "javascript:{id}",
            "https://user:pw@example.com/{id}",
            "https://example.com/{nope}",
            "https://example.com/",
            "https://example.com/{id",
        ] {
            assert!(PageUrl::parse(bad, &rule()).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn path_segments_stay_one_segment() {
        let u = PageUrl::parse("http://127.0.0.1:3000/cards/{id}", &rule()).unwrap();
        let id = rule().check("..%2f..").unwrap();
        let url = u.build(&id).unwrap();
        assert_eq!(url.path(), "/cards/..%252f..");
        assert_eq!(url.origin(), *u.origin());
    }
}
