//! The async client: its state and public calls. Building it is in `builder`, trusting
//! WeChat Pay's keys in `trust`, and the HTTP exchange with retries in `exchange`.

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use wechatpay_core::{ApiV3Key, Clock, NonceSource, PrivateKey, Verifier};
use wechatpay_models::Endpoint;

use crate::error::{BuildError, Result, printable};
use crate::response::Response;

mod builder;
mod download;
mod exchange;
pub(crate) use exchange::Outgoing;
mod part;
mod trust;

pub use download::{Download, Saved, TradeBillRows};

pub use builder::{
    ClientBuilder, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DEADLINE,
    DEFAULT_DOWNLOAD_DEADLINE, POOL_IDLE_TIMEOUT,
};

/// Default largest answer body read from a JSON API: 8 MiB (`8 * 1024 * 1024`). JSON
/// answers are a few KiB; file downloads stream instead.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Default largest download, in decompressed bytes: 16 GiB. A month of 10 million trade
/// rows is about 3.5 GB.
pub const DEFAULT_MAX_DOWNLOAD_BYTES: u64 = 16 << 30;

/// The production host (就近接入点), `https://api.mch.weixin.qq.com`.
pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";
/// The backup host (异地接入点) used by [`ClientBuilder::failover`],
/// `https://api2.mch.weixin.qq.com`.
pub const BACKUP_BASE_URL: &str = "https://api2.mch.weixin.qq.com";

fn user_agent() -> HeaderValue {
    let ua = format!(
        "wechatpay-rs/{} ({}/{}) reqwest/0.13",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    HeaderValue::from_str(&ua).unwrap_or(HeaderValue::from_static("wechatpay-rs"))
}

/// The asynchronous WeChat Pay APIv3 client.
///
/// Cheap to clone (`Arc` inside), `Send + Sync`; one per merchant, as many merchants per
/// process as needed (nothing is global). Build it with [`Client::builder`].
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    user_agent: HeaderValue,
    base_urls: Vec<String>,
    mchid: String,
    serial: String,
    key: PrivateKey,
    apiv3_key: Option<ApiV3Key>,
    apiv2_key: Option<wechatpay_core::apiv2::ApiV2Key>,
    pub(crate) verifier: RwLock<Verifier>,
    wechatpay_serial: Option<String>,
    pub(crate) clock: Arc<dyn Clock>,
    nonce: Arc<dyn NonceSource>,
    limits: Limits,
    validate: bool,
    refresh: Option<Duration>,
    started: i64,
    last_refresh: Mutex<Option<i64>>,
    /// Held while certificates download for an unknown serial: one at a time.
    refreshing: tokio::sync::Mutex<()>,
}

/// Time and size limits of a call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Retries after the first attempt.
    max_retries: u32,
    /// First backoff, doubled per retry (with jitter).
    retry_backoff: Duration,
    /// Timeout of one attempt (connect, send, whole answer).
    attempt_timeout: Duration,
    /// The whole call: every attempt, backoff and certificate download.
    deadline: Duration,
    /// Largest answer body read.
    max_response_bytes: usize,
    max_download_bytes: u64,
    max_download_ratio: u64,
    download_deadline: Duration,
    /// Resend a de-duplicated request after an attempt with an unknown outcome.
    resend_deduplicated: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("mchid", &self.inner.mchid)
            .field("serial", &self.inner.serial)
            .field("base_url", &self.inner.base_urls[0])
            .field(
                "trusted",
                &self
                    .inner
                    .verifier
                    .read()
                    .map(|v| v.serials().join(","))
                    .unwrap_or_default(),
            )
            .finish_non_exhaustive()
    }
}

#[allow(dead_code)]
fn _assert_impls() {
    fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    send_sync_clone::<Client>();
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The merchant number requests are signed as.
    #[must_use]
    pub fn mchid(&self) -> &str {
        &self.inner.mchid
    }

    /// The APIv3 key, when configured (callbacks are decrypted with it).
    pub(crate) fn apiv3_key(&self) -> Option<&ApiV3Key> {
        self.inner.apiv3_key.as_ref()
    }

    /// The current time of the client's clock (unix seconds).
    #[must_use]
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// Serials and `PUB_KEY_ID_…`s the client trusts now.
    #[must_use]
    pub fn trusted_serials(&self) -> Vec<String> {
        self.inner
            .verifier
            .read()
            .map(|v| v.serials().into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Encrypts a sensitive field (a card number, a name) for WeChat Pay: RSA-OAEP with
    /// the key of the `Wechatpay-Serial` this client sends (the one set with
    /// [`ClientBuilder::wechatpay_serial`], else the preferred trusted key), base64.
    /// Send the request with this client soon after; while platform certificates rotate,
    /// set `wechatpay_serial` so that encryption and header cannot part.
    ///
    /// ```no_run
    /// # fn run(client: wechatpay::Client) -> wechatpay::Result<()> {
    /// let real_name = client.encrypt_sensitive("张三")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`BuildError::Missing`] when the client trusts no key; [`BuildError::Key`] when the
    /// text is too long for one RSA block (214 bytes).
    pub fn encrypt_sensitive(&self, plaintext: &str) -> Result<String> {
        let verifier = self
            .inner
            .verifier
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let serial = self
            .inner
            .wechatpay_serial
            .as_deref()
            .or_else(|| verifier.preferred_serial(self.now()));
        let key = serial
            .and_then(|s| verifier.public_key(s))
            .ok_or(BuildError::Missing(
                "a WeChat Pay public key or platform certificate to encrypt with",
            ))?;
        Ok(key
            .encrypt_oaep(plaintext.as_bytes())
            .map_err(|source| BuildError::Key {
                what: "sensitive field (at most 214 bytes)",
                source,
            })?)
    }

    /// The platform certificates trusted now (configured or downloaded).
    #[must_use]
    pub fn platform_certificates(&self) -> Vec<wechatpay_core::Certificate> {
        self.inner
            .verifier
            .read()
            .map(|v| v.certificates().into_iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Sends a typed request and decodes the verified answer: the one `send` for every
    /// [`Endpoint`].
    ///
    /// The request is validated first ([`Endpoint::validate_at`] the client's clock),
    /// unless disabled with [`ClientBuilder::validate_requests`].
    ///
    /// # Errors
    /// Any [`Error`](crate::Error): validation, build, transport, API, signature or decode.
    /// [`Error::maybe_processed`](crate::Error::maybe_processed) tells whether the
    /// request may have been processed although the call failed.
    pub async fn send<E: Endpoint>(&self, req: &E) -> Result<E::Response> {
        self.prepare(req)?.send(self).await
    }

    /// Sends a raw request for any endpoint: `path?query` relative to the base URL (or an
    /// absolute URL on the base URL's host). The answer is verified but not decoded.
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) when the URL is on another host (requests are
    /// only signed for the configured host), otherwise as [`send`](Self::send).
    pub async fn execute(&self, request: http::Request<Bytes>) -> Result<Response> {
        let (parts, body) = request.into_parts();
        let uri = &parts.uri;
        if let Some(auth) = uri.authority() {
            let scheme = uri.scheme_str().unwrap_or("https");
            self.check_host("uri", &format!("{scheme}://{auth}/"))?;
        }
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        self.execute_parts(Outgoing::raw(parts.method, target, body))
            .await
    }

    /// Requests are signed only for the configured host: refuses `url` (absolute) when its
    /// scheme, host or port is another, naming `field`. The one place this rule is written.
    pub(crate) fn check_host(&self, field: &str, url: &str) -> std::result::Result<(), BuildError> {
        let base = &self.inner.base_urls[0];
        // Scheme, host and port; a URL with user info is never the configured host.
        let origin = |u: &str| {
            reqwest::Url::parse(u)
                .ok()
                .filter(|u| u.username().is_empty() && u.password().is_none())
                .map(|u| u.origin())
        };
        match origin(url) {
            Some(o) if o.is_tuple() && Some(&o) == origin(base).as_ref() => Ok(()),
            _ => Err(BuildError::Invalid {
                field: field.into(),
                reason: format!(
                    "{} is not on the configured host {base}; requests are signed only for it",
                    printable(url, 200)
                ),
            }),
        }
    }

    /// The signed parameters of the Pay Score order-detail page (`wxpayScoreDetail`) for
    /// the page that launches it: `mch_id` is this client's merchant number (the service
    /// provider's), signed with the APIv2 key, at the client's clock, with a fresh nonce.
    ///
    /// # Errors
    /// [`BuildError::Missing`] without an APIv2 key
    /// ([`ClientBuilder::apiv2_key`]).
    pub fn launch_detail(
        &self,
        service_id: &str,
        out_order_no: &str,
    ) -> Result<crate::launch::Launch, BuildError> {
        let key = self.inner.apiv2_key.as_ref().ok_or(BuildError::Missing(
            "apiv2_key (the order-detail page is signed with the APIv2 key)",
        ))?;
        Ok(crate::launch::detail(
            &self.inner.mchid,
            service_id,
            out_order_no,
            key,
            self.now(),
            &self.inner.nonce.nonce(),
        ))
    }
}
