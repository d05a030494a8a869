//! Store writes behind the response: a fresh render is written in a task of its own, and the
//! request waits for the write at most `store.timeout_ms`, capped at [`MAX_WRITE_WAIT`], so a
//! hung store costs a miss that much at worst (and nothing once its breaker opens). The
//! response says `stored` only when the write was confirmed in that time.
//!
//! A write that fails (or is skipped while the store's breaker is open) joins a bounded set of
//! pending writes, retried with backoff by one drain task once the store answers again, so the
//! renders made during an outage end up stored. Past [`MAX_PENDING`] entries or
//! [`MAX_PENDING_BYTES`] bytes the oldest are dropped (and counted): memory stays bounded, and a
//! dropped image is rendered again on its next miss.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError, atomic::AtomicBool, atomic::Ordering},
    time::Duration,
};

use bytes::Bytes;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

use super::{
    key::Key,
    store::{Put, Store, WriteMode},
};
use crate::metrics as m;

/// The longest a miss waits for its store write before it answers anyway: long enough for any
/// healthy store on a busy machine, short enough that a store read and a render fit beside it
/// in the request deadline.
pub(crate) const MAX_WRITE_WAIT: Duration = Duration::from_secs(2);
/// Pending writes kept at most (entries and encoded bytes).
pub(crate) const MAX_PENDING: usize = 4096;
pub(crate) const MAX_PENDING_BYTES: usize = 128 * 1024 * 1024;
/// First and longest wait between drain attempts while the store stays down: one probe write
/// every few seconds costs the store nothing, and the renders land soon after it is back.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How often an idle drain task looks whether its writer is gone (the App it wrote for was
/// replaced by a reload), so that it ends instead of waiting for good.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// One image to write.
#[derive(Debug, Clone)]
pub(crate) struct Write {
    pub(crate) key: Key,
    pub(crate) bytes: Bytes,
    pub(crate) content_type: &'static str,
    pub(crate) cache_control: String,
    pub(crate) mode: WriteMode,
}

/// Whether a write was confirmed before the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// The store confirmed it.
    Stored,
    /// The key was there already: another replica stored it first, and its object stands.
    Exists,
    /// Not confirmed yet: still under way, or pending until the store answers again.
    Pending,
}

/// The store's writer: write-behind with a pending set and its drain task.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    store: Store,
    pending: Arc<Pending>,
    /// How long a miss waits for its write.
    wait: Duration,
}

#[derive(Debug, Default)]
struct Pending {
    queue: Mutex<Queue>,
    wake: Notify,
    draining: AtomicBool,
}

#[derive(Debug, Default)]
struct Queue {
    order: VecDeque<String>,
    writes: HashMap<String, Write>,
    bytes: usize,
}

impl Writer {
    pub(crate) fn new(store: Store) -> Self {
        Self {
            wait: store.timeout().min(MAX_WRITE_WAIT),
            store,
            pending: Arc::default(),
        }
    }

    /// Writes in a task of its own and waits for it a while (see the module doc).
    pub(crate) async fn write(&self, write: Write) -> Written {
        if self.store.is_skipped() {
            self.defer(write);
            return Written::Pending;
        }
        let this = self.clone();
        let task = tokio::spawn(async move {
            let _t = m::Timer::new(metrics::histogram!(m::STORE_SECONDS, "op" => "put"));
            match this.put(&write, false).await {
                Ok(Put::Created) => Written::Stored,
                Ok(Put::Exists) => Written::Exists,
                Err(e) => {
                    metrics::counter!(m::STORE_ERRORS, "op" => "put").increment(1);
                    warn!(key = %write.key, error = %e, "store write failed; kept to retry");
                    this.defer(write);
                    Written::Pending
                }
            }
        });
        match tokio::time::timeout(self.wait, task).await {
            Ok(Ok(written)) => written,
            // Still writing (it lands or joins the pending set by itself), or the task died.
            Ok(Err(_)) | Err(_) => Written::Pending,
        }
    }

    async fn put(&self, w: &Write, probe: bool) -> Result<Put, super::store::StoreError> {
        self.store
            .put(
                &w.key,
                w.bytes.clone(),
                w.content_type,
                &w.cache_control,
                w.mode,
                probe,
            )
            .await
    }

    /// How many writes wait for the store.
    pub(crate) fn pending(&self) -> usize {
        self.pending.lock().order.len()
    }

    /// Keeps a write for the drain task, dropping the oldest past the bounds.
    fn defer(&self, write: Write) {
        {
            let mut q = self.pending.lock();
            let key = write.key.as_str().to_owned();
            q.bytes += write.bytes.len();
            if let Some(old) = q.writes.insert(key.clone(), write) {
                q.bytes -= old.bytes.len();
            } else {
                q.order.push_back(key);
            }
            while q.order.len() > MAX_PENDING || q.bytes > MAX_PENDING_BYTES {
                let Some(oldest) = q.order.pop_front() else {
                    break;
                };
                if let Some(w) = q.writes.remove(&oldest) {
                    q.bytes -= w.bytes.len();
                    metrics::counter!(m::STORE_PENDING_DROPPED).increment(1);
                }
            }
            metrics::gauge!(m::STORE_PENDING).set(q.order.len() as f64);
        }
        if !self.pending.draining.swap(true, Ordering::AcqRel) {
            let this = self.clone();
            tokio::spawn(async move { this.drain().await });
        }
        self.pending.wake.notify_one();
    }

    /// Writes the pending set, oldest first, backing off while the store keeps failing. Once
    /// started it runs while its writer lives (for the process's life, unless a reload replaces
    /// the App), sleeping while nothing is pending.
    async fn drain(self) {
        let mut wait = RETRY_FIRST;
        loop {
            let next = {
                let q = self.pending.lock();
                q.order.front().and_then(|k| q.writes.get(k)).cloned()
            };
            let Some(write) = next else {
                tokio::select! {
                    () = self.pending.wake.notified() => {}
                    // Only this task's clone is left: nothing can be deferred any more.
                    () = tokio::time::sleep(IDLE_CHECK) => {
                        if Arc::strong_count(&self.pending) == 1 {
                            return;
                        }
                    }
                }
                continue;
            };
            // The drain is the store's probe: it writes whatever the breaker says, and its
            // success closes the breaker for everyone.
            match self.put(&write, true).await {
                Ok(_) => {
                    wait = RETRY_FIRST;
                    let left = {
                        let mut q = self.pending.lock();
                        q.order.retain(|k| k != write.key.as_str());
                        if let Some(w) = q.writes.remove(write.key.as_str()) {
                            q.bytes -= w.bytes.len();
                        }
                        metrics::gauge!(m::STORE_PENDING).set(q.order.len() as f64);
                        q.order.len()
                    };
                    debug!(key = %write.key, left, "pending write stored");
                    if left == 0 {
                        info!("every write kept during the store outage is stored");
                    }
                }
                Err(e) => {
                    debug!(error = %e, ?wait, "store still failing; pending writes wait");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RETRY_MAX);
                }
            }
        }
    }
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Plain collections updated together under the lock: a panic cannot split them.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
