//! Configuring and building a [`Client`].

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use wechatpay_core::{
    ApiV3Key, Certificate, Clock, NonceSource, PrivateKey, PublicKey, RandomNonce, SystemClock,
    Verifier,
};

use super::{BACKUP_BASE_URL, Client, DEFAULT_BASE_URL, Inner, user_agent};
use crate::error::{BuildError, Error, Result};

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
            .map_err(|e| BuildError::Runtime {
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
