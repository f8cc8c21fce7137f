use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::Serialize;
use tracing::Instrument as _;
use wechatpay_core::{
    ApiV3Key, Certificate, Clock, NonceSource, PrivateKey, PublicKey, RandomNonce,
    ResponseSignature, SignableRequest, SystemClock, Verifier, VerifyError, certificates,
};

use crate::error::{
    ApiError, BuildError, Error, Result, SignatureError, TransportError, TransportKind,
};
use crate::request::WechatPayRequest;
use crate::response::{Response, request_id};

/// The production host (就近接入点).
pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";
/// The backup host (异地接入点) used by [`ClientBuilder::failover`].
pub const BACKUP_BASE_URL: &str = "https://api2.mch.weixin.qq.com";

/// Paths of the documented unsigned downloads: their 2xx answers are file streams that
/// WeChat Pay does not sign (integrity comes from a hash in a signed answer).
pub const UNSIGNED_DOWNLOADS: &[&str] = &[
    "/v3/billdownload/file",
    "/v3/merchant-service/images/",
    "/v3/new-tax-control-fapiao/download",
    "/v3/transferdownload/elecvoucherfile",
    "/v3/transferdownload/signfile",
    "/v3/statements",
    "/v3/global/statements",
];

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
    pub(crate) verifier: RwLock<Verifier>,
    wechatpay_serial: Option<String>,
    pub(crate) clock: Arc<dyn Clock>,
    nonce: Arc<dyn NonceSource>,
    max_retries: u32,
    retry_backoff: Duration,
    validate: bool,
    refresh: Option<Duration>,
    started: i64,
    last_refresh: Mutex<Option<i64>>,
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

    /// The platform certificates trusted now (configured or downloaded).
    #[must_use]
    pub fn platform_certificates(&self) -> Vec<wechatpay_core::Certificate> {
        self.inner
            .verifier
            .read()
            .map(|v| v.certificates().into_iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Sends a typed request and decodes the verified answer.
    ///
    /// The request is validated first (unless disabled with
    /// [`ClientBuilder::validate_requests`]).
    ///
    /// # Errors
    /// Any [`Error`]: validation, build, transport, API, signature or decode.
    pub async fn send<R: WechatPayRequest + ?Sized>(&self, req: &R) -> Result<R::Response> {
        let (method, target, body) = self.prepare(req)?;
        self.execute_parts(method, target, body).await?.json()
    }

    pub(crate) fn prepare<R: WechatPayRequest + ?Sized>(
        &self,
        req: &R,
    ) -> Result<(Method, String, Bytes)> {
        if self.inner.validate {
            req.validate(self.now())?;
        }
        Ok((R::METHOD, req.path()?, req.body()?))
    }

    /// Sends a raw request for any endpoint: `path?query` relative to the base URL (or an
    /// absolute URL on the base URL's host). The answer is verified but not decoded.
    ///
    /// # Errors
    /// [`Error::Build`] when the URL is on another host (requests are only signed for the
    /// configured host), otherwise as [`send`](Self::send).
    pub async fn execute(&self, request: http::Request<Bytes>) -> Result<Response> {
        let (parts, body) = request.into_parts();
        let uri = &parts.uri;
        if let Some(auth) = uri.authority() {
            let base = &self.inner.base_urls[0];
            if base
                .split("://")
                .nth(1)
                .is_none_or(|h| h.trim_end_matches('/') != auth.as_str())
            {
                return Err(BuildError::Invalid {
                    field: "uri".into(),
                    reason: format!(
                        "{auth} is not the configured host {base}; requests are signed only for it"
                    ),
                }
                .into());
            }
        }
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        self.execute_parts(parts.method, target, body).await
    }

    pub(crate) async fn execute_parts(
        &self,
        method: Method,
        target: String,
        body: Bytes,
    ) -> Result<Response> {
        let span = tracing::debug_span!("wechatpay", %method, path = %target.split('?').next().unwrap_or_default(), request_id = tracing::field::Empty);
        let this = self.clone();
        async move {
            this.maybe_refresh_periodically().await;
            let (status, headers, body) = this.send_with_retries(&method, &target, &body).await?;
            let rid = request_id(&headers).map(str::to_owned);
            if let Some(id) = &rid {
                tracing::Span::current().record("request_id", id.as_str());
            }
            if !status.is_success() {
                tracing::debug!(status = status.as_u16(), "api error");
                return Err(ApiError::from_parts(status, rid, body).into());
            }
            let path = target.split('?').next().unwrap_or_default();
            if UNSIGNED_DOWNLOADS.iter().any(|p| path.starts_with(p)) {
                return Ok(Response {
                    status,
                    headers,
                    body,
                    verified_by: None,
                });
            }
            let serial = this
                .verify(&headers, &body)
                .await
                .map_err(|kind| SignatureError {
                    kind,
                    request_id: rid,
                })?;
            Ok(Response {
                status,
                headers,
                body,
                verified_by: Some(serial),
            })
        }
        .instrument(span)
        .await
    }

    /// Verifies a signed answer; on an unknown serial, refreshes the platform certificates
    /// once (when enabled) and tries again.
    async fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<String, VerifyError> {
        let sig = ResponseSignature::from_headers(headers)?;
        match self.verify_now(&sig, body) {
            Err(VerifyError::UnknownSerial(s))
                if self.inner.refresh.is_some() && self.refresh_allowed() =>
            {
                tracing::info!(serial = %s, "unknown platform serial; refreshing certificates");
                if let Err(e) = self.refresh_certificates().await {
                    tracing::warn!(error = %e, "certificate refresh failed");
                }
                self.verify_now(&sig, body)?;
            }
            r => r?,
        }
        Ok(sig.serial)
    }

    fn verify_now(&self, sig: &ResponseSignature, body: &[u8]) -> Result<(), VerifyError> {
        let v = self
            .inner
            .verifier
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        v.verify(sig, body, self.now())
    }

    fn refresh_allowed(&self) -> bool {
        // At most one download a minute on unknown serials, so that a forged serial cannot
        // turn every response into two requests.
        let last = *self
            .inner
            .last_refresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.is_none_or(|t| self.now() - t >= 60)
    }

    async fn maybe_refresh_periodically(&self) {
        let Some(every) = self.inner.refresh else {
            return;
        };
        let due = {
            let last = *self
                .inner
                .last_refresh
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.now() - last.unwrap_or(self.inner.started)
                >= i64::try_from(every.as_secs()).unwrap_or(i64::MAX)
        };
        if due && let Err(e) = self.refresh_certificates().await {
            tracing::warn!(error = %e, "periodic certificate refresh failed; keeping the current trust store");
        }
    }

    /// Downloads the platform certificates (`GET /v3/certificates`), decrypts them with the
    /// APIv3 key, verifies the download with the certificates it contains, and adds them
    /// to the trust store. Returns the serials downloaded; none for merchants that only have
    /// a WeChat Pay public key (WeChat answers 404 `RESOURCE_NOT_EXISTS` to them).
    ///
    /// # Errors
    /// [`Error::Build`] without an APIv3 key; transport and API errors; [`Error::Signature`]
    /// when the download does not verify or decrypt.
    pub async fn refresh_certificates(&self) -> Result<Vec<String>> {
        let key = self.inner.apiv3_key.clone().ok_or(BuildError::Missing(
            "apiv3_key (needed to decrypt certificates)",
        ))?;
        *self
            .inner
            .last_refresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(self.now());
        let (status, headers, body) = self
            .send_with_retries(&Method::GET, certificates::PATH, &Bytes::new())
            .await?;
        let rid = request_id(&headers).map(str::to_owned);
        if status == StatusCode::NOT_FOUND {
            let e = ApiError::from_parts(status, rid, body);
            if matches!(e.code(), Some("RESOURCE_NOT_EXISTS" | "NOT_FOUND")) {
                tracing::debug!("no platform certificates for this merchant (public-key mode)");
                return Ok(Vec::new());
            }
            return Err(e.into());
        }
        if !status.is_success() {
            return Err(ApiError::from_parts(status, rid, body).into());
        }
        let sig = ResponseSignature::from_headers(&headers).map_err(|kind| SignatureError {
            kind,
            request_id: rid.clone(),
        })?;
        let max_skew = self
            .inner
            .verifier
            .read()
            .map_or(wechatpay_core::DEFAULT_MAX_SKEW_SECS, |v| v.max_skew_secs());
        let certs = certificates::decrypt_and_verify(&sig, &body, &key, self.now(), max_skew)
            .map_err(|e| {
                let kind = match e {
                    certificates::CertificatesError::Signature(k) => k,
                    other => {
                        tracing::warn!(error = %other, "certificate download rejected");
                        VerifyError::BadSignature {
                            serial: sig.serial.clone(),
                            probe: false,
                        }
                    }
                };
                SignatureError {
                    kind,
                    request_id: rid.clone(),
                }
            })?;
        let mut v = self
            .inner
            .verifier
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let serials = certs.iter().map(|c| c.serial().to_owned()).collect();
        for c in certs {
            v.add_certificate(c);
        }
        Ok(serials)
    }

    async fn send_with_retries(
        &self,
        method: &Method,
        target: &str,
        body: &Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes)> {
        let inner = &self.inner;
        let idempotent = matches!(
            *method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        let mut host = 0;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let base = &inner.base_urls[host];
            let result = self.send_once(base, method, target, body).await;
            let retry = attempt <= inner.max_retries;
            match result {
                Ok((status, headers, bytes)) => {
                    let retryable =
                        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    if retry && idempotent && retryable {
                        tracing::debug!(status = status.as_u16(), attempt, "retrying");
                    } else {
                        return Ok((status, headers, bytes));
                    }
                }
                Err(e) => {
                    let kind = if e.is_timeout() {
                        TransportKind::Timeout
                    } else if e.is_connect() {
                        TransportKind::Connect
                    } else {
                        TransportKind::Other
                    };
                    // A connection that was never made carried nothing: always safe to retry,
                    // and on the backup host when failover is on.
                    let safe = kind == TransportKind::Connect || idempotent;
                    if !(retry && safe) {
                        let host = base.split("://").nth(1).unwrap_or(base).to_owned();
                        return Err(TransportError {
                            kind,
                            host,
                            attempts: attempt,
                            source: Box::new(e),
                        }
                        .into());
                    }
                    if kind == TransportKind::Connect && host + 1 < inner.base_urls.len() {
                        host += 1;
                        tracing::warn!(backup = %inner.base_urls[host], "primary host unreachable; failing over");
                    }
                    tracing::debug!(error = %e, attempt, "retrying after transport error");
                }
            }
            let backoff = inner
                .retry_backoff
                .saturating_mul(1 << (attempt - 1).min(6));
            tokio::time::sleep(backoff).await;
        }
    }

    async fn send_once(
        &self,
        base: &str,
        method: &Method,
        target: &str,
        body: &Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes), reqwest::Error> {
        let inner = &self.inner;
        let url = format!("{base}{target}");
        let mut built = inner
            .http
            .request(method.clone(), &url)
            .body(body.clone())
            .build()?;
        // Sign exactly the request-target the HTTP library will send.
        let u = built.url();
        let signed_target = match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        };
        let nonce = inner.nonce.nonce();
        let auth = SignableRequest::new(method.as_str(), &signed_target, body).sign(
            &inner.mchid,
            &inner.serial,
            &inner.key,
            inner.clock.now(),
            &nonce,
        );
        let h = built.headers_mut();
        auth.apply_to(h);
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        h.insert(header::USER_AGENT, inner.user_agent.clone());
        if !body.is_empty() {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let serial = inner.wechatpay_serial.clone().or_else(|| {
            inner
                .verifier
                .read()
                .ok()
                .and_then(|v| v.preferred_serial(inner.clock.now()).map(str::to_owned))
        });
        if let Some(v) = serial.and_then(|s| HeaderValue::from_str(&s).ok()) {
            h.insert(wechatpay_core::headers::SERIAL, v);
        }
        let resp = inner.http.execute(built).await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?;
        Ok((status, headers, bytes))
    }

    /// Verifies and decrypts a callback from its headers and raw body, and decodes it
    /// (`PAYSCORE.USER_PAID` into a [`ServiceOrder`](wechatpay_models::v3::payscore::ServiceOrder)).
    /// See [`crate::notify`] for the answer to give.
    ///
    /// # Errors
    /// A [`NotifyError`](crate::notify::NotifyError) of its own kind for each failure.
    pub fn verify_notification(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<crate::notify::Notification, crate::notify::NotifyError> {
        let key = self
            .inner
            .apiv3_key
            .as_ref()
            .ok_or(crate::notify::NotifyError::NoApiV3Key)?;
        let sig = ResponseSignature::from_headers(headers)?;
        let v = self
            .inner
            .verifier
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = wechatpay_core::notify::verify_and_decrypt(&sig, body, &v, key, self.now())?;
        crate::notify::Notification::decode(n)
    }

    /// A raw chain for any endpoint: `client.chain("v3/…/{param}/…").param(…).post(&json)`.
    pub fn chain(&self, path: &str) -> crate::Chain<Client> {
        crate::Chain::new(self.clone(), path)
    }

    /// The fluent chain's root: `client.v3().payscore().partner()…`.
    pub fn v3(&self) -> crate::fluent::V3<Client> {
        crate::fluent::V3::new(self.clone())
    }
}

/// Configures a [`Client`]. Setters never fail; the first problem is reported by
/// [`build`](Self::build).
#[must_use]
#[derive(Default)]
pub struct ClientBuilder {
    mchid: Option<String>,
    serial: Option<String>,
    key: Option<std::result::Result<PrivateKey, wechatpay_core::KeyError>>,
    serial_from_cert: Option<std::result::Result<Certificate, wechatpay_core::KeyError>>,
    public_keys: Vec<(
        String,
        std::result::Result<PublicKey, wechatpay_core::KeyError>,
    )>,
    certificates: Vec<std::result::Result<Certificate, wechatpay_core::KeyError>>,
    apiv3_key: Option<std::result::Result<ApiV3Key, wechatpay_core::KeyError>>,
    base_url: Option<String>,
    failover: bool,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    max_retries: Option<u32>,
    retry_backoff: Option<Duration>,
    max_skew: Option<u64>,
    clock: Option<Arc<dyn Clock>>,
    nonce: Option<Arc<dyn NonceSource>>,
    wechatpay_serial: Option<String>,
    validate: Option<bool>,
    refresh: Option<Option<Duration>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("mchid", &self.mchid)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The merchant number (for partner APIs: the service provider's sp_mchid).
    pub fn mchid(mut self, mchid: impl Into<String>) -> Self {
        self.mchid = Some(mchid.into());
        self
    }

    /// The serial of the merchant API certificate (40 hex digits).
    pub fn serial(mut self, serial: impl Into<String>) -> Self {
        self.serial = Some(serial.into());
        self
    }

    /// Reads the serial from the merchant certificate (`apiclient_cert.pem`) instead.
    pub fn merchant_certificate_pem(mut self, pem: &str) -> Self {
        self.serial_from_cert = Some(Certificate::from_pem(pem));
        self
    }

    /// The merchant API private key, PEM (PKCS#8 or PKCS#1).
    pub fn private_key_pem(mut self, pem: &str) -> Self {
        self.key = Some(PrivateKey::from_pem(pem));
        self
    }

    /// The merchant API private key from a PEM file.
    pub fn private_key_file(mut self, path: impl AsRef<std::path::Path>) -> Self {
        self.key = Some(PrivateKey::from_pem_file(path));
        self
    }

    /// The merchant API private key, already loaded.
    pub fn private_key(mut self, key: PrivateKey) -> Self {
        self.key = Some(Ok(key));
        self
    }

    /// Trusts a WeChat Pay public key (`PUB_KEY_ID_…` + `BEGIN PUBLIC KEY` PEM).
    pub fn wechatpay_public_key(mut self, id: impl Into<String>, pem: &str) -> Self {
        self.public_keys.push((id.into(), PublicKey::from_pem(pem)));
        self
    }

    /// Trusts a platform certificate (PEM). Its serial is read from it; its validity
    /// period is honoured.
    pub fn platform_certificate_pem(mut self, pem: &str) -> Self {
        self.certificates.push(Certificate::from_pem(pem));
        self
    }

    /// The APIv3 key: needed for callbacks and certificate download. Setting it also
    /// turns on certificate refresh (every 12 h, and on unknown serials) unless
    /// [`certificate_refresh`](Self::certificate_refresh) says otherwise.
    pub fn apiv3_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.apiv3_key = Some(ApiV3Key::new(key));
        self
    }

    /// How often to re-download platform certificates (`None`: never automatically;
    /// [`Client::refresh_certificates`] still works). Start-up never downloads.
    pub fn certificate_refresh(mut self, every: Option<Duration>) -> Self {
        self.refresh = Some(every);
        self
    }

    /// Base URL, e.g. the sandbox's `http://127.0.0.1:PORT`. Default:
    /// `https://api.mch.weixin.qq.com`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// On connection failures, retry on the backup host `api2.mch.weixin.qq.com` (same
    /// signed request; the host is not signed). Off by default; only for the default base.
    pub fn failover(mut self, on: bool) -> Self {
        self.failover = on;
        self
    }

    /// Connect timeout (default 5 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = Some(t);
        self
    }

    /// Total timeout of one attempt (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// Retries after the first attempt (default 2): connection failures for any call,
    /// 429/5xx and other transport errors only for idempotent methods.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// First backoff between retries, doubled each time (default 200 ms).
    pub fn retry_backoff(mut self, d: Duration) -> Self {
        self.retry_backoff = Some(d);
        self
    }

    /// Allowed distance between `Wechatpay-Timestamp` and the local clock (default 300 s).
    pub fn max_clock_skew(mut self, secs: u64) -> Self {
        self.max_skew = Some(secs);
        self
    }

    /// The clock (tests).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The nonce source (tests).
    pub fn nonce_source(mut self, n: impl NonceSource + 'static) -> Self {
        self.nonce = Some(Arc::new(n));
        self
    }

    /// Force the `Wechatpay-Serial` request header (needed when the body carries fields
    /// encrypted for a specific key). Default: the preferred trusted key.
    pub fn wechatpay_serial(mut self, serial: impl Into<String>) -> Self {
        self.wechatpay_serial = Some(serial.into());
        self
    }

    /// Validate typed requests locally before sending (default on).
    pub fn validate_requests(mut self, on: bool) -> Self {
        self.validate = Some(on);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Build`] for the first missing or unusable setting.
    pub fn build(self) -> Result<Client> {
        let key_err = |what| move |source| Error::Build(BuildError::Key { what, source });
        let mchid = self
            .mchid
            .filter(|m| !m.is_empty())
            .ok_or(BuildError::Missing("mchid"))?;
        let key = self
            .key
            .ok_or(BuildError::Missing("private key"))?
            .map_err(key_err("private key"))?;
        let serial = match (self.serial, self.serial_from_cert) {
            (Some(s), _) => s,
            (None, Some(c)) => c
                .map_err(key_err("merchant certificate"))?
                .serial()
                .to_owned(),
            (None, None) => {
                return Err(BuildError::Missing("serial (or merchant certificate)").into());
            }
        };
        let mut verifier = Verifier::new().with_max_skew(
            self.max_skew
                .unwrap_or(wechatpay_core::DEFAULT_MAX_SKEW_SECS),
        );
        for (id, k) in self.public_keys {
            if !id.starts_with("PUB_KEY_ID_") {
                return Err(BuildError::Invalid {
                    field: "wechatpay_public_key id".into(),
                    reason: format!("{id:?} does not start with PUB_KEY_ID_"),
                }
                .into());
            }
            verifier.add_public_key(id, k.map_err(key_err("WeChat Pay public key"))?);
        }
        for c in self.certificates {
            verifier.add_certificate(c.map_err(key_err("platform certificate"))?);
        }
        let apiv3_key = self.apiv3_key.transpose().map_err(key_err("APIv3 key"))?;
        if verifier.is_empty() && apiv3_key.is_none() {
            return Err(BuildError::Missing("a WeChat Pay public key or platform certificate to verify answers (or an APIv3 key to download certificates)").into());
        }
        let base = self
            .base_url
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(BuildError::Invalid {
                field: "base_url".into(),
                reason: format!("{base:?} is not an http(s) URL"),
            }
            .into());
        }
        let mut base_urls = vec![base];
        if self.failover && base_urls[0] == DEFAULT_BASE_URL {
            base_urls.push(BACKUP_BASE_URL.to_owned());
        }
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout.unwrap_or(Duration::from_secs(5)))
            .timeout(self.timeout.unwrap_or(Duration::from_secs(30)))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(|e| BuildError::Invalid {
                field: "http client".into(),
                reason: e.to_string(),
            })?;
        let refresh = self
            .refresh
            .unwrap_or_else(|| apiv3_key.as_ref().map(|_| Duration::from_secs(12 * 3600)));
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                user_agent: user_agent(),
                base_urls,
                mchid,
                serial,
                key,
                apiv3_key,
                verifier: RwLock::new(verifier),
                wechatpay_serial: self.wechatpay_serial,
                started: clock.now(),
                last_refresh: Mutex::new(None),
                clock,
                nonce: self.nonce.unwrap_or_else(|| Arc::new(RandomNonce)),
                max_retries: self.max_retries.unwrap_or(2),
                retry_backoff: self.retry_backoff.unwrap_or(Duration::from_millis(200)),
                validate: self.validate.unwrap_or(true),
                refresh,
            }),
        })
    }
}

pub(crate) fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<Bytes> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(|e| BuildError::Serialize(e.to_string()).into())
}
