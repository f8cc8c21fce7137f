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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use wechatpay_core::{Clock, SystemClock};

#[macro_use]
mod wx;
mod auth;
mod bills;
mod callbacks;
mod certificates;
pub mod config;
mod console;
mod error;
mod generate;
mod helpers;
mod payscore;
mod permissions;
mod refunds;
mod seed;
mod serve;
pub mod store;
#[cfg(feature = "test-util")]
pub mod testing;
mod util;
mod web;
mod worker;

pub use config::Config;
pub use generate::{
    ClientCredentials, DemoIds, Generated, generate, hex_serial, self_signed_certificate,
    write_new_file,
};
pub use seed::{Seeded, seed};

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
    /// The database failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl SandboxError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

/// The users listed in `sandbox.toml` have authorized their service: an `AVAILABLE`
/// authorization for every provider and sub-merchant that may use it, unless one is on
/// record already (so that a revocation survives a restart).
fn seed_authorizations(
    world: &config::World,
    store: &store::Store,
    now_ms: i64,
) -> Result<(), SandboxError> {
    for (service_id, openid) in world.users.keys() {
        let Some(service) = world.services.get(service_id) else {
            continue;
        };
        for sp in &service.providers {
            let Some(p) = world.providers.get(sp) else {
                continue;
            };
            let subs = p.subs.keys().map(String::as_str).chain([""]);
            for sub in subs {
                let digest = aws_lc_rs::digest::digest(
                    &aws_lc_rs::digest::SHA256,
                    format!("{sp}|{sub}|{service_id}|{openid}").as_bytes(),
                );
                let code: String = digest
                    .as_ref()
                    .iter()
                    .take(12)
                    .map(|b| format!("{b:02X}"))
                    .collect();
                store.insert_authorization(&store::AuthorizationRow {
                    sp_mchid: sp.clone(),
                    authorization_code: format!("SANDBOX{code}"),
                    sub_mchid: sub.to_owned(),
                    service_id: service_id.clone(),
                    appid: p.appids.iter().next().cloned().unwrap_or_default(),
                    sub_appid: None,
                    openid: Some(openid.clone()),
                    sub_openid: None,
                    state: store::AuthorizationState::Available,
                    token: None,
                    token_expires_ms: None,
                    notify_url: None,
                    request_json: String::new(),
                    success_ms: Some(now_ms),
                    cancel_ms: None,
                    created_ms: now_ms,
                })?;
            }
        }
    }
    Ok(())
}

/// The setting that keeps the test clock's offset.
const CLOCK_OFFSET: &str = "clock_offset_ms";

/// The current unix time (seconds), from the system clock.
#[must_use]
pub fn now() -> i64 {
    SystemClock.now()
}

/// Shared state of the app.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    world: config::World,
    store: store::Store,
    clock: Arc<dyn Clock>,
    nonces: Mutex<NonceCache>,
    wake: tokio::sync::Notify,
    /// How far the test clock has been advanced, ms.
    clock_offset_ms: AtomicI64,
    /// When the worker will look again on its own (unix ms).
    next_wake: std::sync::atomic::AtomicI64,
    http: reqwest::Client,
    /// Bill files waiting to be downloaded.
    bills: bills::Links,
    /// Requests in progress (`behaviour.max_in_flight`).
    admission: serve::Admission,
    /// Callback attempts in progress (`behaviour.max_concurrent_callbacks`).
    callbacks: Arc<tokio::sync::Semaphore>,
    /// The bound address, once listening.
    addr: std::sync::OnceLock<SocketAddr>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("providers", &self.inner.world.providers.len())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Loads `config` (paths relative to `dir`) and opens its database.
    ///
    /// # Errors
    /// [`SandboxError`] for bad configuration or database.
    pub fn new(config: &Config, dir: &Path) -> Result<Self, SandboxError> {
        let world = config::World::load(config, dir)?;
        let db = if config.database == ":memory:" {
            config.database.clone()
        } else {
            dir.join(&config.database).display().to_string()
        };
        // Callbacks follow no redirect: WeChat Pay counts a 3xx as a failed attempt.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(world.behaviour.callback_timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SandboxError::Config(format!("http client: {e}")))?;
        let store = store::Store::open(&db)?;
        seed_authorizations(&world, &store, SystemClock.now_millis())?;
        let offset = store
            .setting(CLOCK_OFFSET)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let admission = serve::Admission::new(world.behaviour.max_in_flight);
        let callbacks = Arc::new(tokio::sync::Semaphore::new(
            world.behaviour.max_concurrent_callbacks.max(1),
        ));
        Ok(Self {
            inner: Arc::new(Shared {
                world,
                store,
                clock_offset_ms: AtomicI64::new(offset),
                clock: Arc::new(SystemClock),
                nonces: Mutex::new(NonceCache::default()),
                wake: tokio::sync::Notify::new(),
                next_wake: std::sync::atomic::AtomicI64::new(i64::MAX),
                http,
                bills: bills::Links::new()?,
                admission,
                callbacks,
                addr: std::sync::OnceLock::new(),
            }),
        })
    }

    pub(crate) fn world(&self) -> &config::World {
        &self.inner.world
    }

    /// The order store.
    #[must_use]
    pub fn store(&self) -> &store::Store {
        &self.inner.store
    }

    /// Business time (unix seconds): the real clock plus what the test clock has been
    /// advanced by. Expiries, deductions, callbacks and order times follow it.
    pub(crate) fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Business time in unix ms.
    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_millis() + self.inner.clock_offset_ms.load(Ordering::Acquire)
    }

    /// The real clock in unix ms.
    pub(crate) fn real_now_ms(&self) -> i64 {
        self.inner.clock.now_millis()
    }

    /// The real clock (unix seconds): signatures are made and checked with it, since
    /// clients sign with real time.
    pub(crate) fn real_now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// What a deduction from `openid` does: the test helper's setting, else the user's
    /// `deduction` in `sandbox.toml`, else success.
    pub(crate) fn deduction_outcome(
        &self,
        service_id: &str,
        openid: &str,
    ) -> Result<config::Deduction, store::StoreError> {
        Ok(
            match self
                .store()
                .setting(&format!("deduction:{openid}"))?
                .as_deref()
            {
                Some("fail") => config::Deduction::Fail,
                Some(_) => config::Deduction::Success,
                None => self
                    .world()
                    .users
                    .get(&(service_id.to_owned(), openid.to_owned()))
                    .copied()
                    .unwrap_or_default(),
            },
        )
    }

    /// Moves business time forward by `secs` (kept across restarts) and lets the worker
    /// see what fell due.
    ///
    /// # Errors
    /// A store failure.
    pub fn advance_clock(&self, secs: i64) -> Result<i64, store::StoreError> {
        let offset = self
            .inner
            .clock_offset_ms
            .fetch_add(secs.saturating_mul(1000), Ordering::AcqRel)
            + secs.saturating_mul(1000);
        self.store()
            .set_setting(CLOCK_OFFSET, &offset.to_string())?;
        self.inner.wake.notify_one();
        Ok(self.now())
    }

    /// Wakes the worker if something falls due at `due_ms` before it would look anyway.
    pub(crate) fn wake_worker_at(&self, due_ms: i64) {
        if due_ms
            < self
                .inner
                .next_wake
                .load(std::sync::atomic::Ordering::Acquire)
        {
            self.inner.wake.notify_one();
        }
    }

    /// Remembers a request nonce; `false` if it was seen within the window.
    pub(crate) fn remember_nonce(&self, mchid: &str, nonce: &str, ts: i64) -> bool {
        let window = i64::try_from(self.world().behaviour.max_skew_secs).unwrap_or(i64::MAX);
        let now = self.real_now();
        let mut cache = self
            .inner
            .nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Requests older than the window are refused by the timestamp check, so their
        // nonces can go; pruning once a second keeps this O(1) per request.
        if cache.pruned_at != now {
            cache.seen.retain(|_, t| now - *t <= window);
            cache.pruned_at = now;
        }
        let key = std::hash::BuildHasher::hash_one(&cache.hasher, (mchid, nonce));
        cache.seen.insert(key, ts).is_none()
    }
}

/// The router: the API (authenticated, signed), the console (`/_sandbox/`) and its JSON.
pub fn app(state: AppState) -> Router {
    let b = &state.world().behaviour;
    let timeout = Duration::from_millis(b.request_timeout_ms);
    let auth = axum::middleware::from_fn_with_state(state.clone(), auth::authenticate);
    // The layer goes on each method route, so unknown paths (404) and wrong methods (405)
    // answer with empty bodies before authentication, as the real server does.
    let authenticated = |r: axum::routing::MethodRouter<AppState>| r.route_layer(auth.clone());
    let api = wx::routes(authenticated)
        .merge(payscore::legacy_routes(authenticated))
        .route(bills::DOWNLOAD_PATH, authenticated(get(bills::download)))
        .route(
            certificates::PATH,
            authenticated(get(certificates::certificates)),
        );
    let console = Router::new()
        .merge(web::routes())
        .merge(console::routes())
        .merge(helpers::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            console::access,
        ));
    Router::new()
        .merge(api)
        .merge(console)
        .layer(axum::middleware::from_fn(log_request))
        .layer(axum::middleware::from_fn(wechat_headers))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

/// The headers WeChat Pay's answers carry (protocol spec §3.1): JSON is
/// `application/json; charset=utf-8`, and a 204 says `Content-Length: 0`.
async fn wechat_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    let mut resp = next.run(req).await;
    let status = resp.status();
    let h = resp.headers_mut();
    if status == StatusCode::NO_CONTENT {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        // hyper drops the header of an empty body; a body of known length 0 keeps it.
        *resp.body_mut() = axum::body::Body::new(KnownEmpty);
    } else if h
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    resp
}

/// An empty body that says "0 bytes" instead of "no body", so that the HTTP layer
/// writes the `Content-Length: 0` of a 204 as WeChat Pay does.
struct KnownEmpty;

impl http_body::Body for KnownEmpty {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(None)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(0)
    }
}

/// Logs one line per request: method, path, status, WeChat error code, time.
async fn log_request(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let code = resp.extensions().get::<error::InternalCode>().map(|c| c.0);
    let rid = resp
        .headers()
        .get(wechatpay_core::headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    tracing::info!(target: "wechatpay_sandbox::access", "{method} {path} -> {} ({} us, Request-ID {rid}{})", resp.status().as_u16(), started.elapsed().as_micros(), code.filter(|c| *c != 0).map(|c| format!(", error {c}")).unwrap_or_default());
    resp
}

/// Nonces seen within the timestamp window, as keyed 64-bit hashes of (mchid, nonce):
/// about 20 bytes an entry, so rate × window entries stay small (300/s × 300 s ≈ 2 MB).
/// The hasher's keys are random per process, so collisions cannot be provoked.
#[derive(Default)]
struct NonceCache {
    hasher: std::hash::RandomState,
    seen: HashMap<u64, i64>,
    pruned_at: i64,
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
        let _ = state.inner.addr.set(addr);
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
    }
}
