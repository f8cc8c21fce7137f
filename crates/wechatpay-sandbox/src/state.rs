//! The shared state of the app: configuration, store, business clock and bound address,
//! plus one value per room (edge, worker, bills) whose insides only that room sees.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wechatpay_core::{Clock, SystemClock};

use crate::bills::links::Links;
use crate::edge::admission::Admission;
use crate::edge::faults::Faults;
use crate::edge::nonces::Nonces;
use crate::worker::wake::WorkerState;
use crate::{Config, SandboxError, config, store};

/// Shared state of the app.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

/// The shared infrastructure (configuration, store, clock, address), and one value per
/// room whose insides are that room's own.
struct Shared {
    world: config::World,
    store: store::Store,
    clock: Arc<dyn Clock>,
    /// How far the test clock has been advanced, ms.
    clock_offset_ms: AtomicI64,
    /// The bound address, once listening.
    addr: OnceLock<SocketAddr>,
    nonces: Nonces,
    admission: Admission,
    faults: Faults,
    worker: WorkerState,
    bills: Links,
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
        let db = config.database_path(dir);
        let worker = WorkerState::new(
            Duration::from_millis(world.behaviour.callback_timeout_ms),
            world.behaviour.max_concurrent_callbacks,
        )
        .map_err(|e| SandboxError::Config(format!("http client: {e}")))?;
        let store = store::Store::open(&db)?;
        seed_authorizations(&world, &store, SystemClock.now_millis())?;
        let offset = store
            .setting(CLOCK_OFFSET)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let admission = Admission::new(world.behaviour.max_in_flight);
        Ok(Self {
            inner: Arc::new(Shared {
                world,
                store,
                clock_offset_ms: AtomicI64::new(offset),
                clock: Arc::new(SystemClock),
                addr: OnceLock::new(),
                nonces: Nonces::default(),
                admission,
                faults: Faults::default(),
                worker,
                bills: Links::new()?,
            }),
        })
    }

    pub(crate) fn world(&self) -> &config::World {
        &self.inner.world
    }

    /// The order store.
    pub(crate) fn store(&self) -> &store::Store {
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

    /// Moves business time forward by `secs` (kept across restarts) and lets the worker
    /// see what fell due.
    ///
    /// # Errors
    /// A database failure.
    pub fn advance_clock(&self, secs: i64) -> Result<i64, SandboxError> {
        let offset = self
            .inner
            .clock_offset_ms
            .fetch_add(secs.saturating_mul(1000), Ordering::AcqRel)
            + secs.saturating_mul(1000);
        self.store()
            .set_setting(CLOCK_OFFSET, &offset.to_string())?;
        self.inner.worker.wake();
        Ok(self.now())
    }

    /// [`seed`](crate::seed) into this sandbox's own database (also an in-memory one).
    ///
    /// # Errors
    /// As [`seed`](crate::seed).
    pub fn seed(
        &self,
        config: &Config,
        day: time::Date,
        orders: u64,
        refund_every: u64,
    ) -> Result<crate::Seeded, SandboxError> {
        Ok(crate::seed::seed_store(
            config,
            self.store(),
            day,
            orders,
            refund_every,
        )?)
    }

    /// Wakes the worker if something falls due at `due_ms` before it would look anyway.
    pub(crate) fn wake_worker_at(&self, due_ms: i64) {
        self.inner.worker.wake_at(due_ms);
    }

    /// The edge's replay guard.
    pub(crate) fn nonces(&self) -> &Nonces {
        &self.inner.nonces
    }

    /// The edge's admission.
    pub(crate) fn admission(&self) -> &Admission {
        &self.inner.admission
    }

    /// The edge's faults on demand.
    pub(crate) fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The worker's own state.
    pub(crate) fn worker(&self) -> &WorkerState {
        &self.inner.worker
    }

    /// The bills room's download links.
    pub(crate) fn bill_links(&self) -> &Links {
        &self.inner.bills
    }

    /// The bound address, once listening.
    pub(crate) fn addr(&self) -> Option<SocketAddr> {
        self.inner.addr.get().copied()
    }

    pub(crate) fn set_addr(&self, addr: SocketAddr) {
        let _ = self.inner.addr.set(addr);
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
