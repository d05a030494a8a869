//! Signing keys from the environment. Signatures themselves (HMAC-SHA256 over a route's
//! canonical path, in the `sig` query parameter) are the `ogforge-tags` crate's, so the service,
//! `ogforge sign` and a main site's backend sign the very same way.
//!
//! Keys come from the environment variable `server.signing_keys_env` names, comma-separated;
//! every key verifies (rotation: add the new key first, drop the old one once pages carry new
//! signatures) and the first one signs. Keys are secrets: [`Keys`] never prints them.

use ogforge_tags::KeysError;
pub use ogforge_tags::{Keys, MIN_KEY_LEN, SIG_PARAM};

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("environment variable {0} is not set or holds no key")]
    NoKeys(String),
    #[error("a key in {0} is shorter than {MIN_KEY_LEN} bytes; short keys can be guessed")]
    ShortKey(String),
}

/// Reads the comma-separated keys in `value` (the content of `var`, named in errors).
pub fn from_env(var: &str, value: Option<&str>) -> Result<Keys, SigningError> {
    Keys::from_list(value.unwrap_or("")).map_err(|e| match e {
        KeysError::Empty => SigningError::NoKeys(var.to_owned()),
        KeysError::Short => SigningError::ShortKey(var.to_owned()),
    })
}

/// Reads the keys from the process environment variable `var`.
pub fn from_process_env(var: &str) -> Result<Keys, SigningError> {
    from_env(var, std::env::var(var).ok().as_deref())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_short_keys_name_the_variable() {
        for (value, expected) in [
            (None, "environment variable K is not set or holds no key"),
            (
                Some(" , "),
                "environment variable K is not set or holds no key",
            ),
            (Some("short"), "a key in K is shorter than 16 bytes"),
        ] {
            let e = from_env("K", value).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{e}");
        }
        assert!(from_env("K", Some("a-long-enough-key-0123")).is_ok());
    }
}
