//! The request id a response carries when the request came without one (`x-request-id`).
//!
//! Shaped like a UUID so log tools take it as one, but not a random v4 UUID: a per-process
//! random half and a counter. tower-http's `MakeRequestUuid` asked the kernel for 16 random bytes
//! (`getrandom`) on every request, about 4 % of a memory hit's CPU; the id only has to be unique
//! across processes and requests, which the random half and the counter give.

use std::{
    hash::{BuildHasher, Hasher, RandomState},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Makes ids `pppppppp-pppp-pppp-cccc-cccccccccccc`: `p` the process's random half, `c` a
/// counter, in hex.
#[derive(Debug, Clone)]
pub(super) struct Ids {
    /// The random half as text, with its trailing dash: formatted once, not per request.
    prefix: [u8; PREFIX],
    next: Arc<AtomicU64>,
}

/// `pppppppp-pppp-pppp-`.
const PREFIX: usize = 19;
/// A whole id.
const LEN: usize = PREFIX + 17;

impl Ids {
    pub(super) fn new() -> Self {
        // std's hasher keys are random per process (read once from the OS).
        let p = RandomState::new().build_hasher().finish();
        let text = format!(
            "{:08x}-{:04x}-{:04x}-",
            p >> 32,
            (p >> 16) & 0xffff,
            p & 0xffff
        );
        let mut prefix = [0; PREFIX];
        prefix.copy_from_slice(text.as_bytes());
        Self {
            prefix,
            next: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The id for counter value `n` (its low 64 bits as `cccc-cccccccccccc`), with no
    /// formatting machinery: a hit made one of these per request.
    fn id(&self, n: u64) -> [u8; LEN] {
        let mut counter = [0; 16];
        // 8 bytes make exactly 16 hex digits: this cannot fail.
        let _ = hex::encode_to_slice(n.to_be_bytes(), &mut counter);
        let mut id = [b'-'; LEN];
        id[..PREFIX].copy_from_slice(&self.prefix);
        id[PREFIX..PREFIX + 4].copy_from_slice(&counter[..4]);
        id[PREFIX + 5..].copy_from_slice(&counter[4..]);
        id
    }
}

impl MakeRequestId for Ids {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_bytes(&self.id(n))
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_shaped_and_distinct() {
        let mut ids = Ids::new();
        let req = Request::new(());
        let a = ids.make_request_id(&req).unwrap();
        let b = ids.make_request_id(&req).unwrap();
        let (a, b) = (
            a.header_value().to_str().unwrap(),
            b.header_value().to_str().unwrap(),
        );
        assert_ne!(a, b);
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{a}");
        assert_eq!(a[..23], b[..23], "one process, one random half");
    }

    #[test]
    fn the_counter_fills_the_last_two_groups() {
        let ids = Ids::new();
        let id = ids.id(0x0123_4567_89ab_cdef);
        let id = std::str::from_utf8(&id).unwrap();
        assert!(id.ends_with("-0123-456789abcdef"), "{id}");
        assert_eq!(&id[..PREFIX], std::str::from_utf8(&ids.prefix).unwrap());
    }
}
