//! The async client: its state and public calls. Building it is in `builder`, trusting
//! WeChat Pay's keys in `trust`, and the HTTP exchange with retries in `exchange`.

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use tracing::Instrument as _;
use wechatpay_core::{ApiV3Key, Clock, NonceSource, PrivateKey, ResponseSignature, Verifier};
use wechatpay_models::Endpoint;

use crate::error::{ApiError, BuildError, Result, SignatureError};
use crate::response::{Response, request_id};

mod builder;
mod exchange;
mod trust;

pub use builder::ClientBuilder;

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

    /// Sends a typed request and decodes the verified answer: the one `send` for every
    /// [`Endpoint`].
    ///
    /// The request is validated first ([`Endpoint::validate_at`] the client's clock),
    /// unless disabled with [`ClientBuilder::validate_requests`].
    ///
    /// # Errors
    /// Any [`Error`](crate::Error): validation, build, transport, API, signature or decode.
    pub async fn send<E: Endpoint>(&self, req: &E) -> Result<E::Response> {
        self.prepare(req)?.send(self).await
    }

    /// Validates and encodes a request, so that the future sending it owns everything.
    pub(crate) fn prepare<E: Endpoint>(&self, req: &E) -> Result<Prepared<E::Response>> {
        if self.inner.validate {
            req.validate_at(self.now())?;
        }
        Ok(Prepared {
            method: E::METHOD,
            target: req.target().map_err(BuildError::from)?,
            body: Bytes::from(req.body().map_err(BuildError::Serialize)?),
            signed: E::SIGNED_ANSWER,
            answer: std::marker::PhantomData,
        })
    }

    /// Sends a raw request for any endpoint: `path?query` relative to the base URL (or an
    /// absolute URL on the base URL's host). The answer is verified but not decoded.
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) when the URL is on another host (requests are only signed for the
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
        self.execute_parts(parts.method, target, body, None).await
    }

    /// Sends and verifies. `signed` says whether a 2xx answer must be signed; `None` looks
    /// the path up in [`UNSIGNED_DOWNLOADS`] (raw calls).
    pub(crate) async fn execute_parts(
        &self,
        method: Method,
        target: String,
        body: Bytes,
        signed: Option<bool>,
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
            let signed =
                signed.unwrap_or_else(|| !UNSIGNED_DOWNLOADS.iter().any(|p| path.starts_with(p)));
            if !signed {
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
}

/// A validated, encoded typed request, ready to send (owned, so a `'static` future can
/// take it).
pub(crate) struct Prepared<T> {
    method: Method,
    target: String,
    body: Bytes,
    signed: bool,
    answer: std::marker::PhantomData<fn() -> T>,
}

impl<T: serde::de::DeserializeOwned> Prepared<T> {
    pub(crate) async fn send(self, client: &Client) -> Result<T> {
        client
            .execute_parts(self.method, self.target, self.body, Some(self.signed))
            .await?
            .json()
    }
}
