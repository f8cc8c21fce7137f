//! The worker's own state: its wake-up signal, and what callback deliveries need (an HTTP
//! client that follows no redirect, and the slots of `behaviour.max_concurrent_callbacks`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

/// What the worker keeps between ticks; the rest of the sandbox only wakes it.
pub(crate) struct WorkerState {
    wake: Notify,
    /// When the worker will look again on its own (unix ms).
    next_wake: AtomicI64,
    pub(super) http: reqwest::Client,
    /// Callback attempts in progress (`behaviour.max_concurrent_callbacks`).
    pub(super) slots: Arc<Semaphore>,
}

impl WorkerState {
    /// Callbacks time out after `timeout` and at most `slots` run at once.
    pub(crate) fn new(timeout: Duration, slots: usize) -> Result<Self, reqwest::Error> {
        // Callbacks follow no redirect: WeChat Pay counts a 3xx as a failed attempt.
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            wake: Notify::new(),
            next_wake: AtomicI64::new(i64::MAX),
            http,
            slots: Arc::new(Semaphore::new(slots.max(1))),
        })
    }

    /// Wakes the worker if something falls due at `due_ms` before it would look anyway.
    pub(crate) fn wake_at(&self, due_ms: i64) {
        if due_ms < self.next_wake.load(Ordering::Acquire) {
            self.wake.notify_one();
        }
    }

    /// Wakes the worker now.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Every new deadline wakes the worker until [`planned`](Self::planned) says when it
    /// looks next.
    pub(super) fn planning(&self) {
        self.next_wake.store(i64::MAX, Ordering::Release);
    }

    /// The worker looks again at `at_ms` unless woken earlier.
    pub(super) fn planned(&self, at_ms: i64) {
        self.next_wake.store(at_ms, Ordering::Release);
    }

    /// Until woken.
    pub(super) async fn woken(&self) {
        self.wake.notified().await;
    }
}

impl std::fmt::Debug for WorkerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerState")
            .field("free_slots", &self.slots.available_permits())
            .finish_non_exhaustive()
    }
}
