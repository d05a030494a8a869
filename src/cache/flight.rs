//! Single-flight: concurrent misses for one key share one piece of work and its result.
//!
//! The work runs as its own task, so a client that disconnects cannot cancel a render or a
//! store write halfway; the key is released when the work ends, whoever is still waiting.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};

type Flight<T> = Shared<BoxFuture<'static, Option<T>>>;

/// The flights under way, by key.
#[derive(Debug)]
pub(crate) struct Flights<T: Clone + Send + Sync + 'static> {
    inflight: Arc<Mutex<HashMap<String, Flight<T>>>>,
}

impl<T: Clone + Send + Sync + 'static> Default for Flights<T> {
    fn default() -> Self {
        Self {
            inflight: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// Whether this caller started the work or joined it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Leader,
    Joined,
}

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    /// Runs `work` for `key` unless a flight for it is under way, in which case it waits for
    /// that flight's result. `None` means the work panicked (it is logged by the runtime).
    pub(crate) async fn run<F>(&self, key: &str, work: impl FnOnce() -> F) -> (Option<T>, Role)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let (flight, role) = {
            let mut map = match self.inflight.lock() {
                Ok(m) => m,
                // A panic while holding this lock leaves the map itself intact.
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some(f) = map.get(key) {
                (f.clone(), Role::Joined)
            } else {
                let inflight = Arc::clone(&self.inflight);
                let owned_key = key.to_owned();
                let fut = work();
                let handle = tokio::spawn(async move {
                    let out = fut.await;
                    let mut map = match inflight.lock() {
                        Ok(m) => m,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    map.remove(&owned_key);
                    out
                });
                let flight: Flight<T> = async move { handle.await.ok() }.boxed().shared();
                map.insert(key.to_owned(), flight.clone());
                (flight, Role::Leader)
            }
        };
        (flight.await, role)
    }

    /// How many flights are under way.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inflight.lock().map_or(0, |m| m.len())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_run() {
        let flights: Arc<Flights<u32>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let flights = Arc::clone(&flights);
            let runs = Arc::clone(&runs);
            tasks.push(tokio::spawn(async move {
                flights
                    .run("k", || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        7
                    })
                    .await
            }));
        }
        let mut leaders = 0;
        for t in tasks {
            let (v, role) = t.await.unwrap();
            assert_eq!(v, Some(7));
            leaders += usize::from(role == Role::Leader);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(leaders, 1);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_leader_does_not_cancel_the_work() {
        let flights: Arc<Flights<u32>> = Arc::default();
        let done = Arc::new(AtomicUsize::new(0));
        let d = Arc::clone(&done);
        let leader = {
            let flights = Arc::clone(&flights);
            tokio::spawn(async move {
                flights
                    .run("k", || async move {
                        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                        d.fetch_add(1, Ordering::SeqCst);
                        1
                    })
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        leader.abort();
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }
}
