//! The one rule between an id as it stands in a URL path and the id as text.
//!
//! **Decode once**: the id part of a request path (between its route's fixed prefix and
//! suffix) is percent-decoded exactly once ([`decode_segment`]); `%2520` is the text `%20`, never
//! a space. A literal `/` in that part is a path separator, never part of an id; a `%` not
//! followed by two hex digits (either case) and bytes that do not decode to UTF-8 (overlong
//! forms such as `%C0%AF`, surrogates, stray continuation bytes) are refused. `+` is a `+`: only
//! query strings turn it into a space.
//!
//! **Validate the text**: the decoded text is what [`crate::IdRule::check`] judges (length in
//! bytes, pattern, and the rules every id keeps: no control, bidi or line-separator characters,
//! not `.` or `..`).
//!
//! **Encode one way**: a valid id stands in URLs, signatures and storage keys in one canonical
//! form ([`encode_segment`]): every byte but ASCII letters, digits and `-._~` percent-encoded
//! with upper-case hex. Decoding then encoding gives the canonical form of any spelling
//! (`%2c` -> `%2C`, `%41` -> `A`); a decoded `/` goes back to `%2F`, so it never becomes a path
//! separator or a key segment. Ids made only of those characters are their own canonical form.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::IdError;

/// What the canonical form leaves as is: RFC 3986's unreserved characters. Everything else,
/// `%` and `/` included, is percent-encoded.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The text of the id part of a request path, decoded once. Refuses a literal `/`, a `%` not
/// followed by two hex digits, and bytes that are not UTF-8. The text is not validated yet:
/// that is the route's [`crate::IdRule`]'s job.
pub fn decode_segment(segment: &str) -> Result<Cow<'_, str>, IdError> {
    if segment.contains('/') || !escapes_well_formed(segment.as_bytes()) {
        return Err(IdError::Malformed);
    }
    percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| IdError::Malformed)
}

/// The canonical form of id text in a URL path: everything but ASCII letters, digits and
/// `-._~` percent-encoded (upper-case hex), `%` and `/` included.
pub fn encode_segment(text: &str) -> Cow<'_, str> {
    utf8_percent_encode(text, NOT_UNRESERVED).into()
}

/// Whether every `%` starts a `%XX` escape. `percent-encoding` passes a stray `%` through as
/// text, which would give `%zz` and `%25zz` the same id.
fn escapes_well_formed(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3);
            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::IdRule;

    /// The whole rule as a route whose pattern allows anything (line breaks too) sees it:
    /// decode, then validate.
    fn id(segment: &str) -> Result<String, IdError> {
        let text = decode_segment(segment)?;
        let id = IdRule::new("(?s).+", 64).unwrap().check(&text)?;
        Ok(id.as_str().to_owned())
    }

    /// What each spelling decodes to, and its canonical form (the one in URLs, signatures and
    /// storage keys).
    #[test]
    fn the_decoding_table() {
        let table: &[(&str, &str, &str)] = &[
            ("12-34-10", "12-34-10", "12-34-10"),
            ("a.b~c_d", "a.b~c_d", "a.b~c_d"),
            // Space and punctuation: the free text signed routes exist for.
            ("Hello%20world", "Hello world", "Hello%20world"),
            (
                "Hello%2C%20world%21",
                "Hello, world!",
                "Hello%2C%20world%21",
            ),
            // Mixed-case hex is one id, with one canonical spelling.
            ("a%2cb", "a,b", "a%2Cb"),
            ("a%2Cb", "a,b", "a%2Cb"),
            // Unreserved characters written as escapes are the same id as written plainly.
            ("%31%32-34-10", "12-34-10", "12-34-10"),
            // UTF-8.
            ("Caf%C3%A9", "Café", "Caf%C3%A9"),
            ("%E6%97%A5%E6%9C%AC", "日本", "%E6%97%A5%E6%9C%AC"),
            ("%F0%9F%98%80", "😀", "%F0%9F%98%80"),
            // Decoded once only: `%2520` is the text `%20`, and stays distinct from a space.
            ("%2520", "%20", "%2520"),
            ("100%25", "100%", "100%25"),
            // A slash from `%2F` is text: encoded again wherever the id goes.
            ("AC%2FDC", "AC/DC", "AC%2FDC"),
            ("..%2F..%2Fetc", "../../etc", "..%2F..%2Fetc"),
            // `+` is a plus sign in a path.
            ("a+b", "a+b", "a%2Bb"),
            ("a%2Bb", "a+b", "a%2Bb"),
        ];
        for (segment, text, canonical) in table {
            assert_eq!(id(segment).as_deref(), Ok(*text), "{segment}");
            assert_eq!(encode_segment(text), *canonical, "{segment}");
            // The canonical form decodes to the same id.
            assert_eq!(id(canonical).as_deref(), Ok(*text), "{canonical}");
        }
    }

    #[test]
    fn malformed_escapes_overlong_forms_and_literal_slashes_are_refused() {
        for segment in [
            "a/b",
            "%",
            "%2",
            "a%zz",
            "%%41",
            "%G1",
            // Not UTF-8: overlong `/` and `.`, a surrogate, a lone continuation byte, 0xFF.
            "%C0%AF",
            "%E0%80%AF",
            "%C0%AE%C0%AE",
            "%ED%A0%80",
            "%80",
            "%FF",
            "Caf%C3",
        ] {
            assert_eq!(id(segment), Err(IdError::Malformed), "{segment}");
        }
    }

    #[test]
    fn controls_bidi_and_dot_segments_are_refused_after_decoding() {
        for segment in [
            "%00",
            "12-34-10%00",
            "a%0D%0ASet-Cookie:%20x",
            "a%09b",
            "%7F",
            "%C2%85",
            "%E2%80%AE01-02-03",
            "a%E2%80%A8b",
            "%EF%BB%BFa",
            ".",
            "..",
            "%2E",
            "%2E%2E",
            "%2e.",
        ] {
            assert_eq!(id(segment), Err(IdError::Forbidden), "{segment}");
        }
    }

    #[test]
    fn any_text_survives_encoding_then_decoding() {
        for text in ["a/b?c#d%e&f=g h", "%2F", "..", "\u{1F600}+", "\"'<>`"] {
            let canonical = encode_segment(text);
            assert!(
                canonical
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
                "{canonical}"
            );
            assert_eq!(decode_segment(&canonical).unwrap(), *text);
        }
    }
}
