//! Signed URLs: HMAC-SHA256 over the request path, carried in the `sig` query parameter
//! (lowercase hex). Keys come from the environment variable `server.signing_keys_env` names,
//! comma-separated; every key verifies (rotation: add the new key first, drop the old one once
//! pages carry new signatures) and the first one signs.
//!
//! Keys are secrets: [`Keys`] never prints them, not even in a debug log.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The query parameter that carries the signature.
pub const SIG_PARAM: &str = "sig";

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("environment variable {0} is not set or holds no key")]
    NoKeys(String),
    #[error("a key in {0} is shorter than 16 bytes; short keys can be guessed")]
    ShortKey(String),
}

/// The signing keys, newest first.
#[derive(Clone, Default)]
pub struct Keys(Vec<Vec<u8>>);

impl fmt::Debug for Keys {
    // Secrets never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keys({} keys)", self.0.len())
    }
}

/// Keys shorter than this are refused: HMAC keys are only as strong as they are long.
pub const MIN_KEY_LEN: usize = 16;

impl Keys {
    /// Reads the comma-separated keys in `value` (the content of `var`, named in errors).
    pub fn from_env(var: &str, value: Option<&str>) -> Result<Self, SigningError> {
        let keys: Vec<Vec<u8>> = value
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| k.as_bytes().to_vec())
            .collect();
        if keys.is_empty() {
            return Err(SigningError::NoKeys(var.to_owned()));
        }
        if keys.iter().any(|k| k.len() < MIN_KEY_LEN) {
            return Err(SigningError::ShortKey(var.to_owned()));
        }
        Ok(Self(keys))
    }

    /// Reads the keys from the process environment variable `var`.
    pub fn from_process_env(var: &str) -> Result<Self, SigningError> {
        Self::from_env(var, std::env::var(var).ok().as_deref())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The hex signature of `path` with the newest key.
    pub fn sign(&self, path: &str) -> Option<String> {
        let key = self.0.first()?;
        let mac = HmacSha256::new_from_slice(key).ok()?;
        Some(hex::encode(
            mac.chain_update(path.as_bytes()).finalize().into_bytes(),
        ))
    }

    /// Whether `sig` (hex) is the signature of `path` under any key, compared in constant time.
    pub fn verify(&self, path: &str, sig: &str) -> bool {
        let Ok(sig) = hex::decode(sig) else {
            return false;
        };
        self.0.iter().any(|key| {
            HmacSha256::new_from_slice(key)
                .map(|mac| mac.chain_update(path.as_bytes()).verify_slice(&sig).is_ok())
                .unwrap_or(false)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Keys;

    const OLD: &str = "old-key-0123456789abcdef";
    const NEW: &str = "new-key-0123456789abcdef";

    #[test]
    fn accepts_its_signature_rejects_tampering_and_rotates() {
        let old = Keys::from_env("K", Some(OLD)).unwrap();
        let both = Keys::from_env("K", Some(&format!("{NEW}, {OLD}"))).unwrap();
        let sig = old.sign("/12-34-10.jpg").unwrap();
        assert!(old.verify("/12-34-10.jpg", &sig));
        assert!(!old.verify("/12-34-11.jpg", &sig));
        assert!(!old.verify("/12-34-10.jpg", "00"));
        assert!(!old.verify("/12-34-10.jpg", "not hex"));
        // Rotation: the old signature still verifies, and the new key signs.
        assert!(both.verify("/12-34-10.jpg", &sig));
        let fresh = both.sign("/12-34-10.jpg").unwrap();
        assert_ne!(fresh, sig);
        assert!(both.verify("/12-34-10.jpg", &fresh));
        assert!(!old.verify("/12-34-10.jpg", &fresh));
    }

    #[test]
    fn missing_or_short_keys_are_errors() {
        assert!(Keys::from_env("K", None).is_err());
        assert!(Keys::from_env("K", Some(" , ")).is_err());
        assert!(Keys::from_env("K", Some("short")).is_err());
    }
}
