//! Helpers for tests and demos: a sandbox with fresh keys on `127.0.0.1:0`, and a callback
//! receiver that records what arrives.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use crate::{Config, Generated, Sandbox, SandboxError};

/// Starts a sandbox with freshly generated keys, in memory, on a free loopback port, with
/// fast time scales (deduction after 50 ms, callback retries in milliseconds). `tweak` may
/// change the configuration first.
///
/// # Errors
/// When key generation or start-up fails.
pub async fn start(tweak: impl FnOnce(&mut Config)) -> Result<(Sandbox, Generated), SandboxError> {
    let generated = crate::generate(crate::now())?;
    let mut config = generated.config.clone();
    config.listen = "127.0.0.1:0".into();
    config.database = ":memory:".into();
    config.behaviour.deduction_delay_ms = 50;
    config.behaviour.callback_time_scale = 0.001;
    tweak(&mut config);
    let sandbox = Sandbox::start(config, ".".as_ref()).await?;
    Ok((sandbox, generated))
}

/// One callback as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Bytes,
    /// What the recorder answered.
    pub status: StatusCode,
}

/// A callback receiver on a free loopback port. It answers 500 to the first `fail_first`
/// deliveries and 204 afterwards (or what `verify` says), and records everything.
#[derive(Clone)]
pub struct Recorder {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
    notify: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Decides the status a [`Recorder`] answers with.
pub type Judge = Arc<dyn Fn(&HeaderMap, &[u8]) -> StatusCode + Send + Sync>;

#[derive(Clone)]
struct RecState {
    seen: Arc<Mutex<Vec<Received>>>,
    notify: Arc<tokio::sync::Notify>,
    fail_first: usize,
    judge: Judge,
}

impl Recorder {
    /// Starts a receiver answering 500 to the first `fail_first` calls, then 204.
    ///
    /// # Errors
    /// When it cannot bind.
    pub async fn start(fail_first: usize) -> Result<Self, SandboxError> {
        Self::start_with(fail_first, Arc::new(|_, _| StatusCode::NO_CONTENT)).await
    }

    /// Starts a receiver that, after `fail_first` failures, answers what `judge` decides
    /// (e.g. 204 when the SDK verifies the callback, 401 when it does not).
    ///
    /// # Errors
    /// When it cannot bind.
    pub async fn start_with(fail_first: usize, judge: Judge) -> Result<Self, SandboxError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| SandboxError::io("cannot listen on 127.0.0.1:0", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SandboxError::io("cannot read the bound address", e))?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let notify = Arc::new(tokio::sync::Notify::new());
        let st = RecState {
            seen: seen.clone(),
            notify: notify.clone(),
            fail_first,
            judge,
        };
        let app = Router::new().route("/notify", post(receive)).with_state(st);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url: format!("http://{addr}/notify"),
            seen,
            notify,
        })
    }

    /// The notify_url to put in orders.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Everything received so far.
    #[must_use]
    pub fn received(&self) -> Vec<Received> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least `n` callbacks have arrived, or `timeout` passes.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            let got = self.received();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }
}

async fn receive(State(st): State<RecState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = {
        let seen = st
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() < st.fail_first {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            (st.judge)(&headers, &body)
        }
    };
    st.seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Received {
            headers,
            body,
            status,
        });
    st.notify.notify_waiters();
    status
}
