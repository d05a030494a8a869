//! A circuit breaker in front of the object store: after [`FAILURES_TO_OPEN`] failed calls in a
//! row the store is skipped for a short interval that doubles while it stays down (up to
//! [`MAX_OPEN`]), so during an outage a miss costs a render, not a store deadline and retries.
//!
//! Once the interval has passed, one call goes through as a probe (half-open): success closes
//! the breaker, failure opens it again for twice as long. Readiness (`/readyz`) and the
//! pending-write drain probe the store whatever the breaker says.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// Consecutive failures that open the breaker: one slow answer is not an outage.
pub(crate) const FAILURES_TO_OPEN: u32 = 3;
/// The first open interval.
pub(crate) const FIRST_OPEN: Duration = Duration::from_secs(1);
/// The longest open interval: a store back from an outage is used again within this.
pub(crate) const MAX_OPEN: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub(crate) struct Breaker {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    /// Skip the store until then (`None`: closed).
    open_until: Option<Instant>,
    /// The interval of the next opening.
    next_open: Option<Duration>,
    /// A probe is under way; other calls keep skipping until it answers.
    probing: bool,
}

impl Breaker {
    /// Whether a call may go to the store now. Past the open interval, the first caller gets
    /// to probe and the others keep skipping until it answers.
    pub(crate) fn allow(&self) -> bool {
        let mut s = self.lock();
        match s.open_until {
            None => true,
            Some(until) if Instant::now() >= until && !s.probing => {
                s.probing = true;
                true
            }
            Some(_) => false,
        }
    }

    /// Whether the breaker is open (calls are being skipped).
    pub(crate) fn is_open(&self) -> bool {
        self.lock().open_until.is_some()
    }

    pub(crate) fn success(&self) {
        let mut s = self.lock();
        let was_open = s.open_until.is_some();
        *s = State::default();
        if was_open {
            tracing::info!("object store answers again; using it");
            metrics::gauge!(crate::metrics::STORE_BREAKER_OPEN).set(0.0);
        }
    }

    pub(crate) fn failure(&self) {
        let mut s = self.lock();
        s.failures = s.failures.saturating_add(1);
        s.probing = false;
        if s.failures < FAILURES_TO_OPEN {
            return;
        }
        let interval = s.next_open.unwrap_or(FIRST_OPEN);
        if s.open_until.is_none() {
            tracing::warn!(
                failures = s.failures,
                "object store failing; skipping it for {interval:?} (growing while it stays down)"
            );
            metrics::gauge!(crate::metrics::STORE_BREAKER_OPEN).set(1.0);
        }
        s.open_until = Some(Instant::now() + interval);
        s.next_open = Some((interval * 2).min(MAX_OPEN));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few plain fields: a panic elsewhere cannot leave it half-written.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_closes_on_success() {
        let b = Breaker::default();
        for _ in 0..FAILURES_TO_OPEN - 1 {
            b.failure();
            assert!(b.allow());
        }
        b.success();
        for _ in 0..FAILURES_TO_OPEN - 1 {
            b.failure();
        }
        assert!(!b.is_open(), "a success in between resets the count");
        b.failure();
        assert!(b.is_open());
        assert!(!b.allow(), "open: calls skip the store");
        b.success();
        assert!(!b.is_open());
        assert!(b.allow());
    }

    #[test]
    fn a_failed_probe_reopens_for_longer() {
        let b = Breaker::default();
        for _ in 0..FAILURES_TO_OPEN {
            b.failure();
        }
        // Pretend the first interval has passed.
        b.lock().open_until = Some(Instant::now());
        assert!(b.allow(), "the first caller probes");
        assert!(!b.allow(), "the others wait for the probe");
        b.failure();
        let s = b.lock();
        assert_eq!(s.next_open, Some(FIRST_OPEN * 4));
        assert!(s.open_until.is_some_and(|u| u > Instant::now()));
    }
}
