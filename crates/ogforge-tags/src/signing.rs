//! Signed URLs: HMAC-SHA256 over a route's canonical path ([`crate::PathTemplate::fill`]: the
//! id percent-encoded one way), carried in the [`SIG_PARAM`] query parameter as lower-case hex.
//!
//! Signing the canonical path, not the path as some client spelled it, makes every spelling
//! of one id (`%2c` or `%2C`, `%41` or `A`) verify with one signature, and no spelling of
//! another id verify with it. Every key verifies, the first one signs: rotate by putting the new
//! key first and dropping the old one once pages carry new signatures.
//!
//! Keys are secrets: [`Keys`] never prints them, not even in a debug line.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The query parameter that carries the signature.
pub const SIG_PARAM: &str = "sig";

/// Keys shorter than this are refused: HMAC keys are only as strong as they are long.
pub const MIN_KEY_LEN: usize = 16;

/// Why keys cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// No key at all.
    #[error("no signing key")]
    Empty,
    /// A key is shorter than [`MIN_KEY_LEN`] bytes.
    #[error("a signing key is shorter than 16 bytes; short keys can be guessed")]
    Short,
}

/// The signing keys: the newest, which signs, and the older ones, which still verify.
#[derive(Clone)]
pub struct Keys {
    newest: HmacSha256,
    older: Vec<HmacSha256>,
}

impl fmt::Debug for Keys {
    // Secrets never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keys({} keys)", 1 + self.older.len())
    }
}

impl Keys {
    /// The keys, newest (the one that signs) first.
    pub fn new<K: AsRef<[u8]>>(keys: impl IntoIterator<Item = K>) -> Result<Self, KeysError> {
        let mut macs = keys
            .into_iter()
            .map(|k| {
                let k = k.as_ref();
                if k.len() < MIN_KEY_LEN {
                    return Err(KeysError::Short);
                }
                // HMAC takes a key of any length; this cannot fail, but it is not unwrapped.
                HmacSha256::new_from_slice(k).map_err(|_| KeysError::Short)
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        let newest = macs.next().ok_or(KeysError::Empty)?;
        Ok(Self {
            newest,
            older: macs.collect(),
        })
    }

    /// Keys written as one comma-separated list (blanks around each key trimmed, empty entries
    /// skipped): the form ogforge reads from its `server.signing_keys_env` variable.
    pub fn from_list(list: &str) -> Result<Self, KeysError> {
        Self::new(list.split(',').map(str::trim).filter(|k| !k.is_empty()))
    }

    /// The hex signature of a canonical path, by the newest key.
    pub fn sign(&self, canonical_path: &str) -> String {
        let mac = self.newest.clone().chain_update(canonical_path.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `sig` (hex) signs `canonical_path` under any key, compared in constant time.
    pub fn verify(&self, canonical_path: &str, sig: &str) -> bool {
        let Ok(sig) = hex::decode(sig) else {
            return false;
        };
        std::iter::once(&self.newest).chain(&self.older).any(|mac| {
            mac.clone()
                .chain_update(canonical_path.as_bytes())
                .verify_slice(&sig)
                .is_ok()
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OLD: &str = "old-key-0123456789abcdef";
    const NEW: &str = "new-key-0123456789abcdef";

    #[test]
    fn accepts_its_signature_rejects_tampering_and_rotates() {
        let old = Keys::from_list(OLD).unwrap();
        let both = Keys::from_list(&format!("{NEW}, {OLD}")).unwrap();
        let sig = old.sign("/12-34-10.jpg");
        assert!(old.verify("/12-34-10.jpg", &sig));
        assert!(!old.verify("/12-34-11.jpg", &sig));
        assert!(!old.verify("/12-34-10.jpg", "00"));
        assert!(!old.verify("/12-34-10.jpg", "not hex"));
        // Rotation: the old signature still verifies, and the new key signs.
        assert!(both.verify("/12-34-10.jpg", &sig));
        let fresh = both.sign("/12-34-10.jpg");
        assert_ne!(fresh, sig);
        assert!(both.verify("/12-34-10.jpg", &fresh));
        assert!(!old.verify("/12-34-10.jpg", &fresh));
    }

    #[test]
    fn missing_or_short_keys_are_errors() {
        assert_eq!(Keys::from_list("").unwrap_err(), KeysError::Empty);
        assert_eq!(Keys::from_list(" , ").unwrap_err(), KeysError::Empty);
        assert_eq!(Keys::from_list("short").unwrap_err(), KeysError::Short);
        assert_eq!(
            Keys::from_list(&format!("{NEW},short")).unwrap_err(),
            KeysError::Short
        );
        assert_eq!(
            format!("{:?}", Keys::from_list(NEW).unwrap()),
            "Keys(1 keys)"
        );
    }

    fn route(keys: Option<&Keys>) -> crate::TagRoute {
        let r = crate::TagRoute::new(
            "https://s.example",
            crate::PathTemplate::new("/q/{id}.jpg").unwrap(),
            crate::IdRule::new(".+", 64).unwrap(),
        )
        .unwrap();
        match keys {
            Some(k) => r.with_signing(k.clone()),
            None => r,
        }
    }

    #[test]
    fn a_signed_route_signs_its_canonical_paths_and_its_default_image() {
        let keys = Keys::from_list(NEW).unwrap();
        let r = route(Some(&keys));
        assert!(r.is_signed());
        let path = "/q/Hello%2C%20world%21.jpg";
        let t = r.signed_tags("Hello, world!");
        assert_eq!(
            t.image_url(),
            format!("https://s.example{path}?sig={}", keys.sign(path))
        );
        assert_eq!(t.id().unwrap().as_str(), "Hello, world!");
        assert_eq!(
            r.default_image_url(),
            format!("https://s.example/q/.jpg?sig={}", keys.sign("/q/.jpg"))
        );
        // Another host's default image is not ours to sign.
        let elsewhere = r
            .clone()
            .with_default_image("https://cdn.example/d.jpg", None)
            .unwrap();
        assert_eq!(elsewhere.default_image_url(), "https://cdn.example/d.jpg");
    }

    #[test]
    fn a_value_from_a_request_is_signed_only_with_its_own_signature() {
        let keys = Keys::from_list(&format!("{NEW},{OLD}")).unwrap();
        let old = Keys::from_list(OLD).unwrap();
        let r = route(Some(&keys));
        let text = "Hello, world!";
        let signed = r.signed_tags(text);
        // A value alone: the default image, never a signature for whatever was asked.
        assert!(r.tags(Some(text)).is_default());
        assert_eq!(r.tags(Some(text)).image_url(), r.default_image_url());
        let by_old = old.sign("/q/Hello%2C%20world%21.jpg");
        assert_eq!(r.tags_with_signature(Some(text), Some(&by_old)), signed);
        for bad in [None, Some(""), Some("00"), Some(by_old.as_str())] {
            let other = r.tags_with_signature(Some("Hello, world?"), bad);
            assert!(other.is_default(), "{bad:?}");
        }
        // Unsigned: `sig` means nothing, and free text never reaches a URL.
        let open = route(None);
        assert!(
            open.tags_with_signature(Some(text), Some(&by_old))
                .is_default()
        );
        assert!(open.signed_tags(text).is_default());
        assert_eq!(
            open.signed_tags("a.b").image_url(),
            "https://s.example/q/a.b.jpg"
        );
    }

    #[test]
    fn hostile_text_on_a_signed_route_stays_in_one_encoded_segment() {
        let r = route(Some(&Keys::from_list(NEW).unwrap()));
        for text in [
            "\"><script>alert(1)</script>",
            "a/../../b",
            "//evil.com",
            "x?sig=00#f",
            "' onload='x",
        ] {
            let t = r.signed_tags(text);
            let url = t.image_url();
            let (path, sig) = url
                .strip_prefix("https://s.example/q/")
                .and_then(|u| u.split_once(".jpg?sig="))
                .unwrap();
            assert!(
                path.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
                "{url}"
            );
            assert!(sig.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
            // The seven tags (no alt text set), and only our markup.
            let html = t.to_html();
            assert_eq!(html.matches('<').count(), 7, "{html}");
            assert_eq!(html.matches('"').count(), 28, "{html}");
        }
        // Controls and dot segments are never ids, signed or not.
        for text in ["a\0b", "a\r\nb", "..", "\u{202E}x"] {
            assert!(r.signed_tags(text).is_default(), "{text:?}");
        }
    }
}
