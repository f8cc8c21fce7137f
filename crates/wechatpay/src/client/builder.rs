//! Configuring and building a [`Client`].

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use wechatpay_core::{
    ApiV3Key, Certificate, Clock, KeyError, NonceSource, PrivateKey, PublicKey, RandomNonce,
    SystemClock, Verifier,
};

use super::{
    BACKUP_BASE_URL, Client, DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, Inner, Limits,
    user_agent,
};
use crate::error::{BuildError, Error, Result};

/// Default timeout of one attempt, 10 s: connect, send, and read the whole answer.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default deadline of a whole call, 30 s: every attempt, backoff and certificate
/// download. No call takes longer.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// Default deadline of a whole download ([`ClientBuilder::download_deadline`]): 10 minutes.
pub const DEFAULT_DOWNLOAD_DEADLINE: Duration = Duration::from_secs(600);
/// Default connect timeout, 5 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an idle connection is kept, 7 s: less than WeChat Pay's own ~8 s, so that a call
/// after a pause never goes out on a connection the server has already closed.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(7);

type KeyResult<T> = std::result::Result<T, KeyError>;

/// Configures a [`Client`]. Setters never fail; the first problem is reported by
/// [`build`](Self::build).
#[must_use]
#[derive(Default)]
pub struct ClientBuilder {
    mchid: Option<String>,
    serial: Option<String>,
    key: Option<KeyResult<PrivateKey>>,
    merchant_cert: Option<KeyResult<Certificate>>,
    public_keys: Vec<(String, KeyResult<PublicKey>)>,
    certificates: Vec<KeyResult<Certificate>>,
    apiv3_key: Option<KeyResult<ApiV3Key>>,
    apiv2_key: Option<KeyResult<wechatpay_core::apiv2::ApiV2Key>>,
    base_url: Option<String>,
    failover: bool,
    proxy: Option<String>,
    roots: Vec<String>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    deadline: Option<Duration>,
    max_retries: Option<u32>,
    retry_backoff: Option<Duration>,
    max_response_bytes: Option<usize>,
    max_download_bytes: Option<u64>,
    max_download_ratio: Option<u64>,
    download_deadline: Option<Duration>,
    resend_deduplicated: Option<bool>,
    max_skew: Option<u64>,
    clock: Option<Arc<dyn Clock>>,
    nonce: Option<Arc<dyn NonceSource>>,
    wechatpay_serial: Option<String>,
    validate: Option<bool>,
    refresh: Option<Option<Duration>>,
    /// The first problem found by a setter that reads the environment or a profile.
    deferred: Option<BuildError>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("mchid", &self.mchid)
            .field("serial", &self.serial)
            .field("base_url", &self.base_url)
            .field("proxy", &self.proxy.as_deref().map(redact_userinfo))
            .finish_non_exhaustive()
    }
}

/// `http://user:secret@host:3128` → `http://***@host:3128`.
fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

impl ClientBuilder {
    /// The merchant number (for partner APIs: the service provider's sp_mchid).
    pub fn mchid(mut self, mchid: impl Into<String>) -> Self {
        self.mchid = Some(mchid.into());
        self
    }

    /// The serial of the merchant API certificate: 40 hex digits.
    pub fn serial(mut self, serial: impl Into<String>) -> Self {
        self.serial = Some(serial.into());
        self
    }

    /// The merchant certificate (`apiclient_cert.pem`): gives the serial when
    /// [`serial`](Self::serial) is not set, and is checked against the serial and the
    /// private key when it is.
    pub fn merchant_certificate_pem(mut self, pem: &str) -> Self {
        self.merchant_cert = Some(Certificate::from_pem(pem));
        self
    }

    /// [`merchant_certificate_pem`](Self::merchant_certificate_pem) from a file.
    pub fn merchant_certificate_file(mut self, path: impl AsRef<Path>) -> Self {
        self.merchant_cert = Some(Certificate::from_pem_file(path));
        self
    }

    /// The merchant API private key, PEM (PKCS#8 or PKCS#1).
    pub fn private_key_pem(mut self, pem: &str) -> Self {
        self.key = Some(PrivateKey::from_pem(pem));
        self
    }

    /// The merchant API private key from a PEM file (`apiclient_key.pem`).
    pub fn private_key_file(mut self, path: impl AsRef<Path>) -> Self {
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

    /// [`wechatpay_public_key`](Self::wechatpay_public_key) from a file (`pub_key.pem`).
    pub fn wechatpay_public_key_file(
        mut self,
        id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Self {
        self.public_keys
            .push((id.into(), PublicKey::from_pem_file(path)));
        self
    }

    /// Trusts a platform certificate (PEM). Its serial is read from it; its validity
    /// period is honoured.
    pub fn platform_certificate_pem(mut self, pem: &str) -> Self {
        self.certificates.push(Certificate::from_pem(pem));
        self
    }

    /// [`platform_certificate_pem`](Self::platform_certificate_pem) from a file.
    pub fn platform_certificate_file(mut self, path: impl AsRef<Path>) -> Self {
        self.certificates.push(Certificate::from_pem_file(path));
        self
    }

    /// The APIv3 key: needed for callbacks and certificate download. Setting it also
    /// turns on certificate refresh (every 12 h, and on unknown serials) unless
    /// [`certificate_refresh`](Self::certificate_refresh) says otherwise.
    pub fn apiv3_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.apiv3_key = Some(ApiV3Key::new(key));
        self
    }

    /// The APIv2 key (API密钥): only for the Pay Score order-detail page's signature
    /// ([`Client::launch_detail`]). A separate secret from the APIv3 key.
    pub fn apiv2_key(mut self, key: impl AsRef<str>) -> Self {
        self.apiv2_key = Some(wechatpay_core::apiv2::ApiV2Key::new(key));
        self
    }

    /// How often to re-download platform certificates (`None`: never automatically;
    /// [`Client::refresh_certificates`] still works). Start-up never downloads.
    pub fn certificate_refresh(mut self, every: Option<Duration>) -> Self {
        self.refresh = Some(every);
        self
    }

    /// Base URL, e.g. the sandbox's `http://127.0.0.1:PORT`. Default:
    /// `https://api.mch.weixin.qq.com`. Without `/v3`: the paths carry it.
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

    /// Sends every request through this HTTP proxy (`http://host:3128`, with
    /// `user:password@` for a proxy that asks for credentials; they are never shown in
    /// `Debug`). HTTPS goes through it with `CONNECT`.
    ///
    /// Without it the client honours `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY`; with it,
    /// this proxy wins over them. `NO_PROXY` applies to both.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Also trusts this root certificate (PEM) for TLS: the CA of a TLS-inspecting
    /// corporate proxy, or of a test server. The system's roots stay trusted.
    pub fn root_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.roots.push(pem.into());
        self
    }

    /// Connect timeout (default 5 s). A connection not made in time carries nothing and
    /// is retried (on the backup host with [`failover`](Self::failover)).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = Some(t);
        self
    }

    /// Timeout of one attempt: connect, send, and read the whole answer (default 10 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// Deadline of a whole call: every attempt, every backoff or `Retry-After` wait, and a
    /// certificate download for an unknown serial (default 30 s). No call takes longer.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }

    /// Retries after the first attempt (default 2), within the deadline: connection
    /// failures for any call; timeouts, lost connections and 429/5xx answers for
    /// idempotent methods and de-duplicated requests.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// First backoff between retries, doubled each time and jittered to between half and
    /// all of it (default 200 ms). `Retry-After` wins when the server sends it.
    pub fn retry_backoff(mut self, d: Duration) -> Self {
        self.retry_backoff = Some(d);
        self
    }

    /// Largest answer body read, checked while reading and before verifying (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES), 8 MiB).
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = Some(n);
        self
    }

    /// Largest download ([`Client::download`](crate::Client::download)), counted in
    /// decompressed bytes while streaming (default
    /// [`DEFAULT_MAX_DOWNLOAD_BYTES`](crate::DEFAULT_MAX_DOWNLOAD_BYTES), 16 GiB). The
    /// answer-body limit of the JSON APIs does not apply to downloads.
    pub fn max_download_bytes(mut self, n: u64) -> Self {
        self.max_download_bytes = Some(n);
        self
    }

    /// Largest ratio of decompressed to compressed bytes in a gzip download (default
    /// [`DEFAULT_MAX_RATIO`](wechatpay_core::file::DEFAULT_MAX_RATIO), 100; 0: no limit).
    /// A real bill compresses about 10×; a gzip bomb (megabytes that inflate to gigabytes)
    /// is refused after its first
    /// [`RATIO_ALLOWANCE`](wechatpay_core::file::RATIO_ALLOWANCE) decompressed bytes.
    pub fn max_download_ratio(mut self, ratio: u64) -> Self {
        self.max_download_ratio = Some(ratio);
        self
    }

    /// Deadline of a whole download, from the request to the last byte (default
    /// [`DEFAULT_DOWNLOAD_DEADLINE`](crate::DEFAULT_DOWNLOAD_DEADLINE), 10 minutes). Each read
    /// must also bring bytes within the attempt [`timeout`](Self::timeout); this bounds a
    /// server that sends a byte now and then.
    pub fn download_deadline(mut self, d: Duration) -> Self {
        self.download_deadline = Some(d);
        self
    }

    /// Resend a request whose body WeChat Pay de-duplicates
    /// ([`Endpoint::DEDUPLICATED_BY`](wechatpay_models::Endpoint::DEDUPLICATED_BY):
    /// create and direct-complete by `out_order_no`) when an attempt's outcome is unknown
    /// (timeout after sending, connection lost mid-answer, 429/5xx), with the identical
    /// body, within the deadline (default on). WeChat Pay answers a resend of the same
    /// parameters with the first one's success (原参重入), so the resend cannot create a
    /// second order.
    pub fn resend_deduplicated(mut self, on: bool) -> Self {
        self.resend_deduplicated = Some(on);
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

    /// Records a problem found while reading configuration; `build` reports the first.
    pub(crate) fn defer(mut self, e: BuildError) -> Self {
        self.deferred.get_or_insert(e);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Build`] for the first missing or unusable setting: a serial that is not
    /// 40 hex digits, a merchant certificate that does not match the serial or the
    /// private key, a base URL that is not http(s) or ends in `/v3` …
    pub fn build(self) -> Result<Client> {
        if let Some(e) = self.deferred {
            return Err(e.into());
        }
        let key_err = |what| move |source| Error::Build(BuildError::Key { what, source });
        let invalid = |field: &str, reason: String| {
            Error::Build(BuildError::Invalid {
                field: field.to_owned(),
                reason,
            })
        };
        let mchid = self
            .mchid
            .filter(|m| !m.is_empty())
            .ok_or(BuildError::Missing("mchid"))?;
        let key = self
            .key
            .ok_or(BuildError::Missing("private key"))?
            .map_err(key_err("private key"))?;
        let cert = self
            .merchant_cert
            .transpose()
            .map_err(key_err("merchant certificate"))?;
        let serial = match (self.serial, &cert) {
            (Some(s), _) => s,
            (None, Some(c)) => c.serial().to_owned(),
            (None, None) => {
                return Err(BuildError::Missing("serial (or merchant certificate)").into());
            }
        };
        if serial.len() != 40 || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                "serial",
                format!(
                    "must be the 40 hex digits of the merchant API certificate's serial, got {} characters{}",
                    serial.chars().count(),
                    if serial.is_empty() {
                        ""
                    } else {
                        " (check for a copy-paste slip)"
                    }
                ),
            ));
        }
        if let Some(c) = &cert {
            if !c.serial().eq_ignore_ascii_case(&serial) {
                return Err(invalid(
                    "merchant certificate",
                    format!("has serial {}, not the configured {serial}", c.serial()),
                ));
            }
            let mine = key.public_key().map_err(key_err("private key"))?;
            if c.public_key().to_pem() != mine.to_pem() {
                return Err(invalid(
                    "merchant certificate",
                    "is not the certificate of this private key".into(),
                ));
            }
        }
        let mut verifier = Verifier::new().with_max_skew(
            self.max_skew
                .unwrap_or(wechatpay_core::DEFAULT_MAX_SKEW_SECS),
        );
        for (id, k) in self.public_keys {
            if !id.starts_with("PUB_KEY_ID_") {
                return Err(invalid(
                    "wechatpay_public_key id",
                    format!("{id:?} does not start with PUB_KEY_ID_"),
                ));
            }
            verifier.add_public_key(id, k.map_err(key_err("WeChat Pay public key"))?);
        }
        for c in self.certificates {
            verifier.add_certificate(c.map_err(key_err("platform certificate"))?);
        }
        let apiv3_key = self.apiv3_key.transpose().map_err(key_err("APIv3 key"))?;
        let apiv2_key = self.apiv2_key.transpose().map_err(key_err("APIv2 key"))?;
        if verifier.is_empty() && apiv3_key.is_none() {
            return Err(BuildError::Missing("a WeChat Pay public key or platform certificate to verify answers (or an APIv3 key to download certificates)").into());
        }
        let base = self
            .base_url
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(invalid(
                "base_url",
                format!("{base:?} is not an http(s) URL"),
            ));
        }
        if base.ends_with("/v3") {
            return Err(invalid(
                "base_url",
                format!(
                    "{base:?} ends in /v3, but every path starts with /v3: use {:?}",
                    base.trim_end_matches("/v3")
                ),
            ));
        }
        let mut base_urls = vec![base];
        if self.failover && base_urls[0] == DEFAULT_BASE_URL {
            base_urls.push(BACKUP_BASE_URL.to_owned());
        }
        let mut http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // The client retries itself (`max_retries`), knowing which requests may be sent
            // again; reqwest's own layer would only copy every request's headers for it.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .referer(false);
        if let Some(url) = &self.proxy {
            let proxy = reqwest::Proxy::all(url.as_str())
                .map_err(|_| {
                    invalid(
                        "proxy",
                        format!("{} is not a proxy URL", redact_userinfo(url)),
                    )
                })?
                .no_proxy(reqwest::NoProxy::from_env());
            http = http.proxy(proxy);
        }
        for pem in &self.roots {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes())
                .map_err(|e| invalid("root certificate", format!("not a PEM certificate: {e}")))?;
            http = http.add_root_certificate(cert);
        }
        let http = http.build().map_err(|e| BuildError::Runtime {
            what: "HTTP client",
            source: Box::new(e),
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
                apiv2_key,
                verifier: RwLock::new(verifier),
                wechatpay_serial: self.wechatpay_serial,
                started: clock.now(),
                last_refresh: Mutex::new(None),
                refreshing: tokio::sync::Mutex::new(()),
                clock,
                nonce: self.nonce.unwrap_or_else(|| Arc::new(RandomNonce)),
                limits: Limits {
                    max_retries: self.max_retries.unwrap_or(2),
                    retry_backoff: self.retry_backoff.unwrap_or(Duration::from_millis(200)),
                    attempt_timeout: self.timeout.unwrap_or(DEFAULT_ATTEMPT_TIMEOUT),
                    deadline: self.deadline.unwrap_or(DEFAULT_DEADLINE),
                    max_response_bytes: self
                        .max_response_bytes
                        .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
                    max_download_bytes: self
                        .max_download_bytes
                        .unwrap_or(super::DEFAULT_MAX_DOWNLOAD_BYTES),
                    max_download_ratio: self
                        .max_download_ratio
                        .unwrap_or(wechatpay_core::file::DEFAULT_MAX_RATIO),
                    download_deadline: self.download_deadline.unwrap_or(DEFAULT_DOWNLOAD_DEADLINE),
                    resend_deduplicated: self.resend_deduplicated.unwrap_or(true),
                },
                validate: self.validate.unwrap_or(true),
                refresh,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_redacted() {
        assert_eq!(
            redact_userinfo("http://user:secret@proxy:3128"),
            "http://***@proxy:3128"
        );
        assert_eq!(redact_userinfo("http://proxy:3128"), "http://proxy:3128");
        let b = ClientBuilder::default().proxy("http://u:hunter2@proxy:3128");
        assert!(!format!("{b:?}").contains("hunter2"));
    }
}
