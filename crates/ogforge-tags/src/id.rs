//! Id validation: the single gate every untrusted id passes before anything else runs.
//!
//! An id is text: a request path's id part is decoded once first ([`crate::decode_segment`]).
//! Besides its route's length limit and pattern, every id keeps to rules no pattern can loosen
//! (see [`IdRule::check`]), so that its text is safe to draw, log and put in a URL.

use std::borrow::Cow;

use regex::{Regex, RegexBuilder};

/// The longest id a rule accepts unless configured otherwise. Ids are path segments of a
/// share URL; anything longer is not an id a site would link, and refusing it early bounds
/// the work (and the log lines) a hostile request can cause.
pub const DEFAULT_MAX_ID_LEN: usize = 128;

/// Compiled-program budget for an id pattern. Patterns are written by operators, not clients,
/// but a bounded compile keeps a typo such as `.{1000}{1000}` from eating memory at start-up.
const MAX_PATTERN_PROGRAM_BYTES: usize = 1 << 20;

/// Why a pattern cannot be used as an id rule.
#[derive(Debug, thiserror::Error)]
pub enum IdRuleError {
    /// The regex does not compile (or is too large).
    #[error("invalid id pattern: {0}")]
    Regex(#[from] regex::Error),
    /// A zero length limit would refuse every id.
    #[error("the id length limit must be at least 1")]
    ZeroLength,
}

/// Why a raw value is not a valid id. The variants name the check that refused it; the raw
/// value itself is never kept, so an error can be logged or shown without echoing input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The id part of a path is not well-formed: a literal `/`, a `%` without two hex digits
    /// after it, or bytes that do not decode to UTF-8 ([`crate::decode_segment`]).
    #[error("the id is not well-formed percent-encoded UTF-8")]
    Malformed,
    /// The text holds a control, bidi or line-separator character, or is `.` or `..`.
    #[error("the id holds a control or bidi character, or is a dot segment")]
    Forbidden,
    /// The value is empty.
    #[error("the id is empty")]
    Empty,
    /// The value is longer than the rule's limit.
    #[error("the id is longer than {0} bytes")]
    TooLong(usize),
    /// The value does not match the rule's pattern.
    #[error("the id does not match the route's pattern")]
    NoMatch,
}

/// A length limit plus a whole-string, linear-time pattern.
#[derive(Debug, Clone)]
pub struct IdRule {
    regex: Regex,
    max_len: usize,
}

impl IdRule {
    /// Compiles `pattern` so that it must match the whole id (it is wrapped in `^(?:...)$`,
    /// whatever anchors it already has). Named capture groups become [`Id::captures`].
    pub fn new(pattern: &str, max_len: usize) -> Result<Self, IdRuleError> {
        if max_len == 0 {
            return Err(IdRuleError::ZeroLength);
        }
        let regex = RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(MAX_PATTERN_PROGRAM_BYTES)
            .build()?;
        Ok(Self { regex, max_len })
    }

    /// The longest id accepted, in bytes.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The pattern as compiled (with the anchors added).
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether ids may be free text: the pattern can match whitespace, punctuation or symbols,
    /// anything beyond letters, digits and `-` `.` `_` `~` (a URL's unreserved punctuation).
    /// Such a route lets anyone put sentences of their choosing on a card under the site's
    /// name, so ogforge requires it to be signed.
    pub fn accepts_free_text(&self) -> bool {
        use regex_syntax::hir::{Class, HirKind, Literal};
        fn token(c: u32) -> bool {
            char::from_u32(c)
                .is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
        }
        fn ranges_ok(ranges: impl Iterator<Item = (u32, u32)>) -> bool {
            ranges.into_iter().all(|(lo, hi)| (lo..=hi).all(token))
        }
        fn free(hir: &regex_syntax::hir::Hir) -> bool {
            match hir.kind() {
                HirKind::Empty | HirKind::Look(_) => false,
                HirKind::Literal(Literal(bytes)) => String::from_utf8_lossy(bytes)
                    .chars()
                    .any(|c| !token(u32::from(c))),
                HirKind::Class(Class::Unicode(c)) => !ranges_ok(
                    c.ranges()
                        .iter()
                        .map(|r| (u32::from(r.start()), u32::from(r.end()))),
                ),
                HirKind::Class(Class::Bytes(c)) => !ranges_ok(
                    c.ranges()
                        .iter()
                        .map(|r| (u32::from(r.start()), u32::from(r.end()))),
                ),
                HirKind::Repetition(r) => free(&r.sub),
                HirKind::Capture(c) => free(&c.sub),
                HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(free),
            }
        }
        // The pattern compiled above, so it parses; if it somehow did not, assume the worst.
        regex_syntax::parse(self.regex.as_str()).map_or(true, |hir| free(&hir))
    }

    /// Names of the pattern's named capture groups, in order.
    pub fn capture_names(&self) -> impl Iterator<Item = &str> {
        self.regex.capture_names().flatten()
    }

    /// Checks id text (decoded, if it came from a path): the length first (cheap, and it bounds
    /// the regex's work), then the pattern, then the rules every id keeps whatever its pattern
    /// allows: no control characters (NUL and line breaks included), no bidi controls or line
    /// separators, not `.` or `..`.
    pub fn check(&self, raw: &str) -> Result<Id, IdError> {
        if raw.is_empty() {
            return Err(IdError::Empty);
        }
        if raw.len() > self.max_len {
            return Err(IdError::TooLong(self.max_len));
        }
        let caps = self.regex.captures(raw).ok_or(IdError::NoMatch)?;
        // Controls would break a log line or a header; bidi controls reorder what a reader of
        // the card sees; a dot segment climbs out of its route in a path such as `/card/{id}`.
        if raw.chars().any(is_unsafe_text_char) || raw == "." || raw == ".." {
            return Err(IdError::Forbidden);
        }
        let captures = self
            .regex
            .capture_names()
            .flatten()
            .map(|name| {
                let value = caps.name(name).map_or("", |m| m.as_str());
                (name.to_owned(), value.to_owned())
            })
            .collect();
        Ok(Id {
            value: raw.to_owned(),
            captures,
        })
    }
}

/// An id that passed its route's [`IdRule`]. It can only be built by [`IdRule::check`], so code
/// that holds one never has to validate again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id {
    value: String,
    captures: Vec<(String, String)>,
}

impl Id {
    /// The id's text (decoded once, if it came from a path): what a template draws.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The id's canonical form in a URL path, a signature or a storage key: percent-encoded
    /// but for ASCII letters, digits and `-._~` ([`crate::encode_segment`]), so it holds no
    /// `/` and never is `.` or `..`. For an id made of those characters, the id itself.
    pub fn encoded(&self) -> Cow<'_, str> {
        crate::encode_segment(&self.value)
    }

    /// The named captures of the route's pattern (an unmatched optional group is `""`).
    pub fn captures(&self) -> &[(String, String)] {
        &self.captures
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.value)
    }
}

/// Controls (C0, DEL, C1), bidi embeddings/overrides/isolates/marks, line/paragraph
/// separators and the BOM: characters that can reorder or break what a reader of the page, the
/// card or a log sees. Ids and alt text never hold them.
pub(crate) fn is_unsafe_text_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule() -> IdRule {
        IdRule::new("(?P<a>[0-9]{2})-(?P<b>[0-9]{2})-(?P<c>[0-9]{2})", 64).unwrap()
    }

    #[test]
    fn tells_tokens_from_free_text() {
        for token in [
            "[0-9]+",
            "(?P<a>[0-9]{2})-(?P<b>[0-9]{2})",
            "[a-z0-9-]{1,64}",
            r"[A-Za-z0-9_.~-]+",
            r"\d+",
        ] {
            assert!(
                !IdRule::new(token, 64).unwrap().accepts_free_text(),
                "{token}"
            );
        }
        for free in [
            ".+",
            "[^/]+",
            r"[\w ]+",
            // Unicode's \w also holds joiners and connector punctuation.
            r"\w+",
            "[a-z]+( [a-z]+)*",
            "[a-z%]+",
            r"\S+",
        ] {
            assert!(IdRule::new(free, 64).unwrap().accepts_free_text(), "{free}");
        }
    }

    #[test]
    fn accepts_a_matching_id_and_exposes_captures() {
        let id = rule().check("12-34-10").unwrap();
        assert_eq!(id.as_str(), "12-34-10");
        assert_eq!(
            id.captures(),
            &[
                ("a".into(), "12".into()),
                ("b".into(), "34".into()),
                ("c".into(), "10".into())
            ]
        );
    }

    #[test]
    fn anchors_the_pattern_even_when_the_operator_did_not() {
        assert_eq!(rule().check("x12-34-10"), Err(IdError::NoMatch));
        assert_eq!(rule().check("12-34-10\n"), Err(IdError::NoMatch));
        let alternation = IdRule::new("a|b", 8).unwrap();
        assert_eq!(alternation.check("ab"), Err(IdError::NoMatch));
    }

    #[test]
    fn refuses_empty_and_long_ids_before_matching() {
        assert_eq!(rule().check(""), Err(IdError::Empty));
        let long = "1".repeat(65);
        assert_eq!(rule().check(&long), Err(IdError::TooLong(64)));
    }

    #[test]
    fn refuses_bad_patterns_and_zero_limits() {
        assert!(matches!(IdRule::new("(", 8), Err(IdRuleError::Regex(_))));
        assert!(matches!(IdRule::new("a", 0), Err(IdRuleError::ZeroLength)));
    }

    #[test]
    fn a_catastrophic_backtracking_pattern_stays_linear() {
        // (a+)+$ takes exponential time in a backtracking engine on "aaaa...b".
        let evil = IdRule::new("(a+)+", 100_000).unwrap();
        let input = format!("{}b", "a".repeat(50_000));
        assert_eq!(evil.check(&input), Err(IdError::NoMatch));
    }
}
