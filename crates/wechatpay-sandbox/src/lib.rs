//! A faithful local WeChat Pay for the Pay Score (微信支付分) partner service-order flow.
//!
//! WeChat Pay has no public test environment. This crate is one: an axum server that
//! checks request signatures like the real server, validates orders by the documented
//! rules, answers with WeChat's error codes, keeps orders in SQLite, signs its answers, and
//! delivers encrypted, signed `PAYSCORE.USER_PAID` callbacks with retries. Any client —
//! this workspace's SDK or another language's — works against it unchanged.
//!
//! Embed it in tests:
//!
//! ```no_run
//! # async fn run() -> Result<(), wechatpay_sandbox::SandboxError> {
//! let generated = wechatpay_sandbox::generate(wechatpay_sandbox::now())?;
//! let mut config = generated.config.clone();
//! config.listen = "127.0.0.1:0".into();
//! config.database = ":memory:".into();
//! let sandbox = wechatpay_sandbox::Sandbox::start(config, ".".as_ref()).await?;
//! println!("WeChat Pay at {} for mchid {}", sandbox.base_url(), generated.client.mchid);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! or run it with `wxpay sandbox serve`. Paths:
//!
//! | Path | What |
//! | --- | --- |
//! | `POST /v3/payscore/partner/serviceorder/direct-complete` | 创单结单合并 (204) |
//! | `POST /v3/payscore/serviceorder/direct-complete` | direct-merchant twin (200) |
//! | `POST /v3/payscore/partner/serviceorder` | create (no-confirm or need-confirm) |
//! | `GET /v3/payscore/partner/serviceorder?…` | query |
//! | `POST /v3/payscore/partner/serviceorder/{out_order_no}/{cancel,complete,modify,pay,sync}` | the family |
//! | `POST /v3/payscore/serviceorder`, `GET …?`, `POST …/{out_order_no}/{cancel,complete,modify,pay,sync}` | the direct-merchant family (200 with the order) |
//! | `POST /v3/payscore/partner/permissions…`, `/v3/payscore/permissions…` | authorizations |
//! | `POST /v3/refund/domestic/refunds`, `GET …/refunds/{out_refund_no}` | refunds of deductions |
//! | `GET /v3/bill/tradebill`, `/v3/bill/fundflowbill`, `/v3/bill/sub-merchant-fundflowbill` | bills |
//! | `GET /v3/billdownload/file?token=…` | a bill file, unsigned |
//! | `GET /v3/certificates` | encrypted platform certificate, or 404 `RESOURCE_NOT_EXISTS` |
//! | `GET /_sandbox/` | the console: requests (with the expected string to sign of a bad signature), orders with their timeline and callbacks, authorizations, refunds, and buttons that act as the user |
//! | `GET /_sandbox/api/{orders,deliveries,authorizations,clock,transactions,refunds}` | the same as JSON |
//! | `GET /_sandbox/api/requests[/{id}]` | the request log: every API request, its answer, and for a bad signature the expected string to sign |
//! | `POST /_sandbox/api/test-helpers/…` | the user's side and test hooks (this machine, or with `console_token`) |
//!
//! # Floor plan
//!
//! Each folder is a room; rooms import downward, in this order, and
//! `scripts/import-cycles.py` (run by CI) refuses a circle between any two files.
//!
//! * `edge/` — the HTTP edge, on top: the router (`app`), the server loop and its limits,
//!   admission, authentication with the request log and the nonce cache, the `Wx`
//!   extractor that mounts every endpoint of the models' table at its handler, and
//!   WeChat-shaped error answers. Its extractor, errors and `Caller` are the vocabulary the
//!   products speak. `console/` stands beside it: the console's pages, its JSON API and the
//!   test helpers, which act as the user through the products.
//! * `worker/` — runs what falls due on the business clock: deductions, refund
//!   settlements, callback deliveries.
//! * the products, each with its handlers and its rules as plain functions over rows and
//!   `now` (unit-tested without a socket): `payscore/` (orders, their state machine, and
//!   permissions), `refunds.rs`, `bills/`, `certificates.rs`.
//! * `callbacks.rs` — the notifications products queue, built and encrypted as WeChat Pay
//!   sends them.
//! * `state.rs` — `AppState`: configuration, store, business clock and address, and one
//!   value per room (edge, worker, bills) whose insides only that room sees.
//! * `store/` — SQLite, below everything.
//! * `config.rs`, `generate.rs`, `seed.rs`, `util.rs` — setting up, and small helpers.

use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use edge::serve;
use wechatpay_core::{Clock, SystemClock};

#[macro_use]
mod edge;
mod bills;
mod callbacks;
mod certificates;
pub mod config;
mod console;
mod generate;
mod payscore;
mod refunds;
mod seed;
mod state;
mod store;
#[cfg(feature = "test-util")]
pub mod testing;
mod util;
mod worker;

pub use config::Config;
pub use edge::app;
pub use generate::{
    ClientCredentials, DemoIds, Generated, generate, hex_serial, self_signed_certificate,
    write_new_file,
};
pub use seed::{Seeded, seed};

pub use state::AppState;

/// Errors starting or configuring the sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The configuration is invalid.
    #[error("sandbox configuration: {0}")]
    Config(String),
    /// A file or socket failed.
    #[error("{what}")]
    Io {
        /// What was being done, and on which file or address.
        what: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A key or certificate in the configuration is unusable.
    #[error("sandbox configuration: {what}")]
    Key {
        /// Which setting.
        what: String,
        /// Why.
        #[source]
        source: wechatpay_core::KeyError,
    },
    /// A file would be overwritten.
    #[error("{0} exists already; choose an empty folder")]
    Exists(String),
    /// The database failed (its cause through `source()`).
    #[error("sandbox database")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<store::StoreError> for SandboxError {
    fn from(e: store::StoreError) -> Self {
        Self::Store(Box::new(e))
    }
}

impl SandboxError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

/// The current unix time (seconds), from the system clock.
#[must_use]
pub fn now() -> i64 {
    SystemClock.now()
}

/// A running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    state: AppState,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    worker: tokio::task::JoinHandle<()>,
}

/// Serves `app` over HTTP/1.1 on `listener` with the sandbox's own connection handling
/// and the default `[behaviour]` limits (header-read timeout, idle close, connection
/// limit), until `stop` turns true. For local receivers, such as `wxpay notify serve`,
/// that face the same slow or idle clients as the sandbox.
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let limits = serve::Limits::new(&config::Behaviour::default());
    serve::serve(listener, app, limits, stop).await;
}

impl Sandbox {
    /// Binds `config.listen`, starts serving and starts the deduction/callback worker.
    ///
    /// # Errors
    /// [`SandboxError`] for bad configuration, database or address.
    pub async fn start(config: Config, dir: &Path) -> Result<Self, SandboxError> {
        let state = AppState::new(&config, dir)?;
        let listener = serve::listen(&config.listen)
            .await
            .map_err(|e| SandboxError::io(format!("cannot listen on {}", config.listen), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SandboxError::io("cannot read the bound address", e))?;
        state.set_addr(addr);
        if !addr.ip().is_loopback() && state.world().console_token.is_none() {
            return Err(SandboxError::Config(format!(
                "listening on {addr} opens the console and the test helpers to other machines: set console_token in sandbox.toml (16 characters or more), or listen on 127.0.0.1"
            )));
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut stopped2 = stop.subscribe();
        let router = app(state.clone());
        let limits = serve::Limits::new(&state.world().behaviour);
        let server = tokio::spawn(serve::serve(listener, router, limits, stopped));
        let w = state.clone();
        let worker = tokio::spawn(async move {
            tokio::select! {
                () = worker::run(w) => {}
                () = serve::stopped(&mut stopped2) => {}
            }
        });
        Ok(Self {
            addr,
            state,
            stop,
            server,
            worker,
        })
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (store access for tests and tools).
    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops serving (finishing requests in flight) and stops the worker.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let _ = self.worker.await;
        if let Err(e) = self.state.store().flush_log() {
            tracing::warn!(error = %wechatpay_core::ErrorChain(&e), "cannot write the request log");
        }
    }
}
