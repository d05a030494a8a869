//! Everything ogforge fetches from the network (per-id JSON, the images it names) goes through
//! this one guarded client, so the rules on where it may connect are written once.
//!
//! | part | file |
//! | --- | --- |
//! | which addresses and URLs are refused, and why (no I/O) | `guard.rs` |
//! | reqwest with a vetting resolver, hand-followed redirects, timeouts, byte cap | `client.rs` |
//!
//! This module knows nothing of routes or templates: callers hand it a URL, headers, limits
//! and what kind of fetch it is (the `kind` label); it counts every fetch by kind and outcome,
//! times it, and counts refusals by reason.

mod client;
pub mod guard;

use std::time::Instant;

#[cfg(test)]
use client::Lookup;
pub use client::{Client, FetchError, MAX_REDIRECTS, Request, Response, USER_AGENT};
pub use guard::Blocked;

use crate::metrics as m;

/// What a fetch is for: the `kind` label of the fetch metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A route's per-id JSON (`[routes.data]`).
    Data,
    /// An image a data route's JSON names (`kind = "image"` fields).
    Image,
}

impl Kind {
    pub const ALL: [Self; 2] = [Self::Data, Self::Image];

    pub fn label(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::Image => "image",
        }
    }
}

/// One fetch through `client`, counted (`ogforge_fetches_total` by kind and outcome, refusals
/// in `ogforge_fetch_blocked_total` by reason) and timed (`ogforge_fetch_seconds`).
pub async fn get(client: &Client, kind: Kind, req: &Request<'_>) -> Result<Response, FetchError> {
    let started = Instant::now();
    let got = client.get(req).await;
    metrics::histogram!(m::FETCH_SECONDS, "kind" => kind.label())
        .record(started.elapsed().as_secs_f64());
    let outcome = match &got {
        // A 304 answers a conditional fetch: the cached copy is still good.
        Ok(r) if r.status.is_success() || r.status == http::StatusCode::NOT_MODIFIED => "ok",
        Ok(_) => "status",
        Err(e) => e.code(),
    };
    metrics::counter!(m::FETCHES, "kind" => kind.label(), "outcome" => outcome).increment(1);
    if let Err(FetchError::Blocked(why)) = &got {
        metrics::counter!(m::FETCH_BLOCKED, "reason" => why.code()).increment(1);
        tracing::warn!(
            reason = why.code(),
            kind = kind.label(),
            "fetch refused: {why}"
        );
    }
    got
}

/// Creates the fetch series at zero, so a rate of refusals exists before the first one.
pub fn zero() {
    for kind in Kind::ALL {
        metrics::counter!(m::FETCHES, "kind" => kind.label(), "outcome" => "ok").absolute(0);
    }
    for why in Blocked::ALL {
        metrics::counter!(m::FETCH_BLOCKED, "reason" => why.code()).absolute(0);
    }
}

#[cfg(test)]
mod tests;
