//! Trusting WeChat Pay's keys: verifying answers, and downloading platform certificates
//! (periodically, and once when an unknown serial appears: one download at a time, at
//! most one a minute, within the call's deadline).

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use tokio::time::Instant;
use wechatpay_core::{ResponseSignature, VerifyError, certificates};

use super::{Client, Outgoing};
use crate::error::request_id;
use crate::error::{BuildError, CertificatesError, Error, Result, SignatureError};

/// Least time between two downloads triggered by unknown serials, so that a forged
/// serial cannot turn every answer into two requests.
const REFRESH_INTERVAL_SECS: i64 = 60;

impl Client {
    /// Verifies a signed answer; on an unknown serial, downloads the platform
    /// certificates once (when enabled) and tries again.
    pub(super) async fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        deadline: Instant,
    ) -> Result<String, SignatureError> {
        let rid = || request_id(headers).map(str::to_owned);
        let sig =
            ResponseSignature::from_headers(headers).map_err(|k| SignatureError::new(k, rid()))?;
        match self.verify_now(&sig, body) {
            Err(VerifyError::UnknownSerial(serial)) if self.inner.refresh.is_some() => {
                // One download at a time; whoever waited may find it done.
                let _one = self.inner.refreshing.lock().await;
                if self.verify_now(&sig, body).is_ok() {
                    return Ok(sig.serial);
                }
                let unknown =
                    || SignatureError::new(VerifyError::UnknownSerial(serial.clone()), rid());
                if !self.refresh_allowed() {
                    tracing::debug!(serial = %serial, "unknown serial; a certificate download ran less than a minute ago");
                    return Err(unknown());
                }
                tracing::info!(serial = %serial, "unknown platform serial; downloading certificates");
                if let Err(e) = self.refresh_until(deadline).await {
                    tracing::warn!(error = %wechatpay_core::ErrorChain(&e), "certificate download failed");
                    let mut err = unknown();
                    err.refresh = Some(Box::new(e));
                    return Err(err);
                }
                self.verify_now(&sig, body)
                    .map_err(|k| SignatureError::new(k, rid()))?;
            }
            r => r.map_err(|k| SignatureError::new(k, rid()))?,
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
        let last = *self
            .inner
            .last_refresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.is_none_or(|t| self.now() - t >= REFRESH_INTERVAL_SECS)
    }

    pub(super) async fn maybe_refresh_periodically(&self, deadline: Instant) {
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
        if due && let Err(e) = self.refresh_until(deadline).await {
            tracing::warn!(error = %wechatpay_core::ErrorChain(&e), "periodic certificate download failed; keeping the current trust store");
        }
    }

    /// Downloads the platform certificates (`GET /v3/certificates`), decrypts them with the
    /// APIv3 key, verifies the download with the certificates it contains, and adds those
    /// that have not expired to the trust store. Returns their serials; none for
    /// merchants that only have a WeChat Pay public key (WeChat answers 404
    /// `RESOURCE_NOT_EXISTS` to them).
    ///
    /// # Errors
    /// [`Error::Build`] without an APIv3 key; transport and API errors;
    /// [`Error::Signature`] when the download is not signed properly;
    /// [`Error::Certificates`] with the reason when its content is refused (does not
    /// decrypt, more than 16 certificates, serial mismatch, weak or non-RSA key).
    pub async fn refresh_certificates(&self) -> Result<Vec<String>> {
        self.refresh_until(Instant::now() + self.inner.limits.deadline)
            .await
    }

    async fn refresh_until(&self, deadline: Instant) -> Result<Vec<String>> {
        let key = self.inner.apiv3_key.clone().ok_or(BuildError::Missing(
            "apiv3_key (needed to decrypt certificates)",
        ))?;
        *self
            .inner
            .last_refresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(self.now());
        let req = Outgoing::raw(Method::GET, certificates::PATH.to_owned(), Bytes::new());
        let answer = match self.send_with_retries(&req, deadline).await?.success(&req) {
            Ok(a) => a,
            Err(e)
                if e.status() == StatusCode::NOT_FOUND
                    && matches!(e.code(), Some("RESOURCE_NOT_EXISTS" | "NOT_FOUND")) =>
            {
                tracing::debug!("no platform certificates for this merchant (public-key mode)");
                return Ok(Vec::new());
            }
            Err(e) => return Err(e.into()),
        };
        let rid = request_id(&answer.headers).map(str::to_owned);
        let sig = ResponseSignature::from_headers(&answer.headers)
            .map_err(|k| SignatureError::new(k, rid.clone()))?;
        let max_skew = self
            .inner
            .verifier
            .read()
            .map_or(wechatpay_core::DEFAULT_MAX_SKEW_SECS, |v| v.max_skew_secs());
        let certs =
            certificates::decrypt_and_verify(&sig, &answer.body, &key, self.now(), max_skew)
                .map_err(|e| match e {
                    certificates::CertificateListError::Signature(k) => {
                        Error::from(SignatureError::new(k, rid.clone()))
                    }
                    source => Error::from(CertificatesError {
                        source,
                        request_id: rid.clone(),
                    }),
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
}
