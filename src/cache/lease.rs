//! Render leases: replicas on one store render an image about once, not once each.
//!
//! Store-once (create-if-absent writes, `store.rs`) already makes every replica serve one
//! object per id; a lease also saves the renders. Before a render that `cluster.lease` covers,
//! the replica creates `_leases/{image key}` with create-if-absent, holding its owner, a nonce
//! and an expiry. If the create wins, it renders, writes the image and deletes the lease. If it
//! loses, it waits: it polls the image key with backoff (from `cluster.lease_poll_ms`, doubling
//! to [`POLL_MAX`]) and serves the image the holder stores. A lease past its expiry (its holder
//! died or hung) is taken over with compare-and-swap (`PutMode::Update`, S3 `If-Match`), so
//! exactly one waiter wins it. A lease deleted with no image behind it (the holder's render
//! failed: nothing is stored) is contended for again.
//!
//! Every failure degrades to store-once, never to an error: a store that cannot be reached,
//! or has no conditional update (a folder store), or a wait past twice the TTL means the
//! replica renders by itself, and the create-if-absent write still keeps one object per id.
//! Expiry is wall-clock time: replicas' clocks must agree to well within the TTL (NTP does).

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use super::{
    key::Key,
    store::{Got, Put, Store, Swap},
};
use crate::{
    config::{ClusterConfig, Engine, Lease as Policy},
    metrics as m,
};

/// The longest pause between two looks at the image key.
pub(crate) const POLL_MAX: Duration = Duration::from_millis(500);
/// Where leases live in the bucket, beside the images.
pub(crate) const PREFIX: &str = "_leases/";

/// What a lease object holds.
#[derive(Debug, Serialize, Deserialize)]
struct Body {
    owner: String,
    nonce: String,
    /// Milliseconds since the Unix epoch after which the lease may be taken over.
    expires_ms: u64,
}

/// What asking for a lease came to.
#[derive(Debug)]
pub(crate) enum Ticket {
    /// This replica renders; release the lease once the image is written (or the render failed).
    Held(Lease),
    /// Another replica rendered and stored the image meanwhile: its bytes.
    Served(Bytes),
    /// No lease could be had (store trouble, no compare-and-swap, waited too long): render
    /// anyway, with store-once behind it.
    Unguarded,
}

/// A held lease.
#[derive(Debug)]
pub(crate) struct Lease {
    store: Store,
    path: String,
    nonce: String,
}

impl Lease {
    /// Deletes the lease if it is still this replica's (a waiter may have taken it over after
    /// it expired). Awaited before the miss answers, so an image's response never leaves its
    /// lease behind (a GET and a DELETE; the store write before it costs more).
    pub(crate) async fn release(self) {
        match self.store.get_raw(&self.path).await {
            Ok(Some(v)) if parse(&v.bytes).is_some_and(|b| b.nonce == self.nonce) => {
                if let Err(e) = self.store.delete_raw(&self.path).await {
                    warn!(lease = %self.path, error = %e, "could not delete a lease; it expires by itself");
                }
            }
            Ok(_) => debug!(lease = %self.path, "lease taken over or gone before release"),
            Err(e) => warn!(lease = %self.path, error = %e, "could not read a lease to release it"),
        }
    }
}

/// The lease maker of one process.
#[derive(Debug)]
pub(crate) struct Leases {
    store: Store,
    policy: Policy,
    ttl: Duration,
    poll: Duration,
    owner: String,
    counter: AtomicU64,
}

impl Leases {
    pub(crate) fn new(store: Store, cluster: &ClusterConfig) -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "ogforge".to_owned());
        Self {
            store,
            policy: cluster.lease,
            ttl: cluster.lease_ttl,
            poll: cluster.lease_poll,
            owner: format!("{host}/{}", std::process::id()),
            counter: AtomicU64::new(0),
        }
    }

    /// Whether renders with `engine` take a lease (`cluster.lease`).
    pub(crate) fn covers(&self, engine: &Engine) -> bool {
        match self.policy {
            Policy::Off => false,
            Policy::Browser => matches!(engine, Engine::Browser(_)),
            Policy::All => true,
        }
    }

    /// A lease on `key`, or the image another replica stored under it while this one waited.
    pub(crate) async fn acquire(&self, key: &Key, content_type: &str) -> Ticket {
        let path = format!("{PREFIX}{key}");
        let give_up = Instant::now() + 2 * self.ttl;
        let mut poll = self.poll;
        let mut failed_creates = 0;
        loop {
            let (body, nonce) = self.body();
            match self.store.create_raw(&path, body).await {
                Ok(Put::Created) => {
                    return self.held(key, content_type, path, nonce, "acquired").await;
                }
                Ok(Put::Exists) => {}
                // Racing conditional writes may be answered with an error (S3's 409) rather
                // than "exists": wait like a loser, and the lease read below tells; a create
                // that keeps failing is the store's trouble, not a race.
                Err(e) => {
                    failed_creates += 1;
                    if failed_creates > 2 {
                        return unguarded(key, &e.to_string());
                    }
                    debug!(%key, error = %e, "lease create failed; waiting as if it lost");
                }
            }
            // Another replica holds it: its image, or its lease running out.
            loop {
                tokio::time::sleep(poll).await;
                poll = (poll * 2).min(POLL_MAX);
                if let Ok(Got::Found(bytes)) = self.store.get(key, content_type).await {
                    metrics::counter!(m::LEASES, "outcome" => "waited").increment(1);
                    return Ticket::Served(bytes);
                }
                if Instant::now() > give_up {
                    return unguarded(key, "waited past twice the lease TTL");
                }
                let current = match self.store.get_raw(&path).await {
                    // Released with no image: the render failed; contend again.
                    Ok(None) => break,
                    Ok(Some(current)) => current,
                    Err(e) => return unguarded(key, &e.to_string()),
                };
                if parse(&current.bytes).is_some_and(|b| b.expires_ms > now_ms()) {
                    continue;
                }
                metrics::counter!(m::LEASES, "outcome" => "expired").increment(1);
                let (body, nonce) = self.body();
                match self.store.swap_raw(&path, body, current.version).await {
                    Ok(Swap::Swapped) => {
                        return self.held(key, content_type, path, nonce, "stolen").await;
                    }
                    Ok(Swap::Lost) => {}
                    Ok(Swap::Unsupported) => {
                        return unguarded(key, "the store has no conditional update");
                    }
                    Err(e) => return unguarded(key, &e.to_string()),
                }
            }
        }
    }

    /// A won lease, unless the image landed between this replica's miss and its lease (the
    /// previous holder finished just then): then that image, and the lease goes back.
    async fn held(
        &self,
        key: &Key,
        content_type: &str,
        path: String,
        nonce: String,
        outcome: &'static str,
    ) -> Ticket {
        let lease = Lease {
            store: self.store.clone(),
            path,
            nonce,
        };
        if let Ok(Got::Found(bytes)) = self.store.get(key, content_type).await {
            lease.release().await;
            metrics::counter!(m::LEASES, "outcome" => "waited").increment(1);
            return Ticket::Served(bytes);
        }
        metrics::counter!(m::LEASES, "outcome" => outcome).increment(1);
        Ticket::Held(lease)
    }

    /// A fresh lease body and its nonce.
    fn body(&self) -> (Bytes, String) {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nonce = format!("{}-{n}-{}", self.owner, now_ms());
        let body = Body {
            owner: self.owner.clone(),
            nonce: nonce.clone(),
            expires_ms: now_ms()
                .saturating_add(u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)),
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        (Bytes::from(json), nonce)
    }
}

fn unguarded(key: &Key, why: &str) -> Ticket {
    metrics::counter!(m::LEASES, "outcome" => "unguarded").increment(1);
    debug!(%key, why, "rendering without a lease (store-once still holds)");
    Ticket::Unguarded
}

/// A lease body; `None` for anything else (taken for expired, so it is replaced).
fn parse(bytes: &[u8]) -> Option<Body> {
    serde_json::from_slice(bytes).ok()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
