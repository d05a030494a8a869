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
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl Ids {
    pub(super) fn new() -> Self {
        Self {
            // std's hasher keys are random per process (read once from the OS).
            prefix: RandomState::new().build_hasher().finish(),
            next: Arc::new(AtomicU64::new(0)),
        }
    }

    fn format(&self, n: u64) -> String {
        let p = self.prefix;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            p >> 32,
            (p >> 16) & 0xffff,
            p & 0xffff,
            (n >> 48) & 0xffff,
            n & 0xffff_ffff_ffff
        )
    }
}

impl MakeRequestId for Ids {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&self.format(n))
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
}
