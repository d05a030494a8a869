//! [`TagRoute`]: everything needed to turn an untrusted id into an image URL — the public base
//! URL, the route's path and id rule, and the facts the tags state about the image.
//!
//! All checks on operator input (base URL, path characters, content type, alt text) happen once,
//! in the builder; [`TagRoute::tags`] then only validates the raw id (and, on a signed route,
//! its signature). Building the tags themselves and escaping them is left to [`crate::Tags`].

use crate::{Id, IdRule, Keys, PathTemplate, SIG_PARAM, Tags, id::is_unsafe_text_char};

/// Why a [`TagRoute`] cannot be built. These are configuration mistakes, not client input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagRouteError {
    /// The public base URL is not an absolute `http://` or `https://` URL without credentials,
    /// query or fragment.
    #[error("the public URL must be an absolute http(s) URL (scheme://host[:port][/path]): {0}")]
    BaseUrl(&'static str),
    /// The route's path has characters that would need escaping in a URL.
    #[error(
        "the route path may only hold URL path characters (letters, digits, -._~!$&'()*+,;=:@/)"
    )]
    PathChars,
    /// The default image is neither an absolute http(s) URL nor a path starting with `/`.
    #[error("the default image must be an absolute http(s) URL or a path starting with '/': {0}")]
    DefaultImage(&'static str),
    /// The content type is not `image/<subtype>`.
    #[error("the content type must look like image/jpeg")]
    ContentType,
    /// Alt text with control characters (line breaks, NUL, bidi overrides...).
    #[error("the alt text must not contain control or bidi characters")]
    AltText,
    /// A width or height of zero.
    #[error("width and height must be at least 1")]
    Size,
}

/// A route as the tags see it. Build it once (at start-up) and call [`TagRoute::tags`] per
/// request.
///
/// The default image (used when the id is missing or invalid) is, unless set with
/// [`TagRoute::with_default_image`], the route's path with an empty id (`/{id}.jpg` -> `/.jpg`):
/// an empty id never validates, so the ogforge service answers that URL with the route's default
/// image.
///
/// Ids: an unsigned route puts only ids of ASCII letters, digits and `-._~` in a URL (anything
/// else gets the default image); a signed route ([`TagRoute::with_signing`]) takes any id its
/// rule accepts, free text included, in its canonical percent-encoded form, and every URL of
/// its own carries `?sig=`.
#[derive(Debug, Clone)]
pub struct TagRoute {
    base: String,
    path: PathTemplate,
    ids: IdRule,
    width: u32,
    height: u32,
    content_type: String,
    alt: String,
    default: DefaultImage,
    /// The default image's URL, signed when it is a path of a signed route.
    default_url: String,
    default_content_type: Option<String>,
    keys: Option<Keys>,
}

/// Where the default image lives: a path under the base URL (the service's own, so signed on a
/// signed route) or an absolute URL elsewhere (left as it is: no other host knows the keys).
#[derive(Debug, Clone)]
enum DefaultImage {
    Path(String),
    Url(String),
}

impl TagRoute {
    /// A route served under `base_url` (e.g. `https://social.example.com`, no query or
    /// fragment; a trailing `/` is dropped). Defaults: 1200x630, `image/jpeg`, empty alt text.
    pub fn new(base_url: &str, path: PathTemplate, ids: IdRule) -> Result<Self, TagRouteError> {
        let base = check_http_url(base_url).map_err(TagRouteError::BaseUrl)?;
        if !path.prefix().chars().all(is_path_char) || !path.suffix().chars().all(is_path_char) {
            return Err(TagRouteError::PathChars);
        }
        let default = DefaultImage::Path(format!("{}{}", path.prefix(), path.suffix()));
        Ok(Self {
            base,
            path,
            ids,
            width: 1200,
            height: 630,
            content_type: "image/jpeg".to_owned(),
            alt: String::new(),
            default,
            default_url: String::new(),
            default_content_type: None,
            keys: None,
        }
        .with_default_url())
    }

    /// Signs every URL of the route with `keys` (the newest signs; see [`crate::Keys`]): the
    /// ogforge service's `routes[].signed = true`, whose requests need a valid `?sig=`. Ids may
    /// then be free text, in their canonical form. Which values get signed is up to the caller:
    /// see [`TagRoute::tags_with_signature`] and [`TagRoute::signed_tags`].
    pub fn with_signing(mut self, keys: Keys) -> Self {
        self.keys = Some(keys);
        self.with_default_url()
    }

    /// Whether the route's URLs are signed.
    pub fn is_signed(&self) -> bool {
        self.keys.is_some()
    }

    /// The image size the tags announce.
    pub fn with_size(mut self, width: u32, height: u32) -> Result<Self, TagRouteError> {
        if width == 0 || height == 0 {
            return Err(TagRouteError::Size);
        }
        self.width = width;
        self.height = height;
        Ok(self)
    }

    /// The `og:image:type` of the route's images, e.g. `image/png`.
    pub fn with_content_type(mut self, content_type: &str) -> Result<Self, TagRouteError> {
        self.content_type = check_content_type(content_type)?;
        Ok(self)
    }

    /// The `og:image:alt` text (operator text; escaped on output like everything else).
    pub fn with_alt(mut self, alt: &str) -> Result<Self, TagRouteError> {
        if alt.chars().any(is_unsafe_text_char) {
            return Err(TagRouteError::AltText);
        }
        self.alt = alt.to_owned();
        Ok(self)
    }

    /// The default image: an absolute http(s) URL, or a path (starting with `/`) under the base
    /// URL; `content_type` when it differs from the route's (a PNG default for a JPEG route).
    pub fn with_default_image(
        mut self,
        url_or_path: &str,
        content_type: Option<&str>,
    ) -> Result<Self, TagRouteError> {
        self.default = if url_or_path.starts_with('/') && !url_or_path.starts_with("//") {
            if !url_or_path.chars().all(is_path_char) {
                return Err(TagRouteError::DefaultImage(
                    "the path has characters to escape",
                ));
            }
            DefaultImage::Path(url_or_path.to_owned())
        } else {
            DefaultImage::Url(check_http_url(url_or_path).map_err(TagRouteError::DefaultImage)?)
        };
        self.default_content_type = content_type.map(check_content_type).transpose()?;
        Ok(self.with_default_url())
    }

    fn with_default_url(mut self) -> Self {
        self.default_url = match &self.default {
            DefaultImage::Path(path) => self.url(path),
            DefaultImage::Url(url) => url.clone(),
        };
        self
    }

    /// The id rule the raw value is checked against.
    pub fn ids(&self) -> &IdRule {
        &self.ids
    }

    /// The public base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The URL of the default image.
    pub fn default_image_url(&self) -> &str {
        &self.default_url
    }

    /// The image URL and tags for a raw, untrusted value (a query parameter as the web framework
    /// decoded it, once: the id's text). `None`, an empty value or anything the route's
    /// [`IdRule`] refuses gives the default image; the raw value itself never reaches the output.
    ///
    /// On a signed route a value alone gets the default image (signed, so it is served): signing
    /// whatever a request holds would let anyone put words of their choosing on a card. Pass the
    /// signature that came with it to [`TagRoute::tags_with_signature`].
    pub fn tags(&self, raw: Option<&str>) -> Tags {
        self.tags_with_signature(raw, None)
    }

    /// [`TagRoute::tags`] for an untrusted value and the signature that came with it (both from
    /// a request: the ogforge proxy reads `?social=...&social_sig=...`). On a signed route, the
    /// id's own URL only when `sig` signs its canonical path (what `ogforge sign` prints, or
    /// [`crate::Keys::sign`] of [`PathTemplate::fill`]), by any of the keys; otherwise the default
    /// image. On an unsigned route `sig` is ignored.
    pub fn tags_with_signature(&self, raw: Option<&str>, sig: Option<&str>) -> Tags {
        let id = raw
            .and_then(|r| self.check(r))
            .filter(|id| match &self.keys {
                None => true,
                Some(keys) => sig.is_some_and(|s| keys.verify(&self.path.fill(id), s)),
            });
        self.build(id)
    }

    /// The tags for an id your own code chose (a title from your database), its URL signed on a
    /// signed route. Never pass a value from a request here: anyone could then get a signed card
    /// saying what they like. On an unsigned route, the same as [`TagRoute::tags`].
    pub fn signed_tags(&self, own_id: &str) -> Tags {
        self.build(self.check(own_id))
    }

    fn build(&self, id: Option<Id>) -> Tags {
        match id {
            Some(id) => Tags::new(
                self.url(&self.path.fill(&id)),
                Some(id),
                self.content_type.clone(),
                self.width,
                self.height,
                self.alt.clone(),
            ),
            None => Tags::new(
                self.default_url.clone(),
                None,
                self.default_content_type
                    .clone()
                    .unwrap_or_else(|| self.content_type.clone()),
                self.width,
                self.height,
                self.alt.clone(),
            ),
        }
    }

    /// The route's rule, then, on an unsigned route, tokens only: an operator's pattern may be
    /// looser (`.+`) than what an unsigned URL should carry, and free text without a signature
    /// is what lets anyone write on a card. Unsigned ids keep to RFC 3986's unreserved
    /// characters (no `:`, `@`, `/`, quotes or `%`), so they stand in the URL as they are.
    fn check(&self, raw: &str) -> Option<Id> {
        let id = self.ids.check(raw).ok()?;
        (self.keys.is_some() || id.as_str().chars().all(is_id_char)).then_some(id)
    }

    /// The URL of one of the route's own paths: under the base, with `?sig=` on a signed route.
    fn url(&self, path: &str) -> String {
        match &self.keys {
            Some(keys) => format!("{}{path}?{SIG_PARAM}={}", self.base, keys.sign(path)),
            None => format!("{}{path}", self.base),
        }
    }
}

/// RFC 3986 unreserved characters: what an id may hold to reach a URL unescaped.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~".contains(c)
}

/// RFC 3986 `pchar` without percent-escapes, plus `/`: what may stand in a URL path as is.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/".contains(c)
}

fn check_content_type(ct: &str) -> Result<String, TagRouteError> {
    let sub = ct
        .strip_prefix("image/")
        .ok_or(TagRouteError::ContentType)?;
    let ok = !sub.is_empty()
        && sub
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if ok {
        Ok(ct.to_owned())
    } else {
        Err(TagRouteError::ContentType)
    }
}

/// Checks an absolute http(s) URL by hand (no URL crate) and returns it with a lower-case
/// scheme and without a trailing `/`. Credentials, queries and fragments are refused: a base
/// URL has no use for them and they are where confusing URLs hide.
fn check_http_url(url: &str) -> Result<String, &'static str> {
    let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err("the scheme must be http or https");
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err("no host");
    }
    if authority.contains('@') {
        return Err("credentials are not allowed");
    }
    let authority_ok = authority
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    if !authority_ok || authority.starts_with(':') {
        return Err("the host has characters a host name cannot have");
    }
    if !path.chars().all(is_path_char) {
        return Err("the path has characters to escape, a query or a fragment");
    }
    let path = path.trim_end_matches('/');
    Ok(format!("{scheme}://{authority}{path}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            check_http_url("HTTPS://social.example.com/").unwrap(),
            "https://social.example.com"
        );
        assert_eq!(
            check_http_url("http://127.0.0.1:8080/img").unwrap(),
            "http://127.0.0.1:8080/img"
        );
        assert_eq!(
            check_http_url("http://[::1]:80").unwrap(),
            "http://[::1]:80"
        );
        for bad in [
            "social.example.com",
            "//evil.com",
            "javascript:alert(1)",
            "ftp://x",
            "https://",
            "https://u:p@x",
            "https://x/?q",
            "https://x/#f",
            "https://x y",
            "https://x/\"",
            "https://x\r\n",
        ] {
            assert!(check_http_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn builder_checks() {
        let r = || {
            TagRoute::new(
                "https://s.example",
                PathTemplate::new("/{id}.jpg").unwrap(),
                IdRule::new("[0-9]+", 8).unwrap(),
            )
        };
        assert_eq!(r().unwrap().default_image_url(), "https://s.example/.jpg");
        assert_eq!(
            r().unwrap().with_size(0, 1).unwrap_err(),
            TagRouteError::Size
        );
        assert_eq!(
            r().unwrap().with_content_type("text/html").unwrap_err(),
            TagRouteError::ContentType
        );
        assert_eq!(
            r().unwrap().with_alt("a\u{202E}b").unwrap_err(),
            TagRouteError::AltText
        );
        assert!(
            r().unwrap()
                .with_default_image("//evil.com/x", None)
                .is_err()
        );
        assert!(
            r().unwrap()
                .with_default_image("javascript:x", None)
                .is_err()
        );
        let d = r()
            .unwrap()
            .with_default_image("/default.png", Some("image/png"))
            .unwrap();
        assert_eq!(d.default_image_url(), "https://s.example/default.png");
        let bad_path = TagRoute::new(
            "https://s.example",
            PathTemplate::new("/<x>/{id}.jpg").unwrap(),
            IdRule::new("[0-9]+", 8).unwrap(),
        );
        assert_eq!(bad_path.unwrap_err(), TagRouteError::PathChars);
    }
}
