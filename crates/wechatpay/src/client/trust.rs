//! Trusting WeChat Pay's keys: verifying answers, and downloading platform certificates
//! (periodically, and once when an unknown serial appears).

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use wechatpay_core::{ResponseSignature, VerifyError, certificates};

use super::Client;
use crate::error::{ApiError, BuildError, Result, SignatureError};
use crate::response::request_id;

impl Client {
    /// Verifies a signed answer; on an unknown serial, refreshes the platform certificates
    /// once (when enabled) and tries again.
    pub(super) async fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<String, VerifyError> {
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

    pub(super) async fn maybe_refresh_periodically(&self) {
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
    /// [`Error::Build`](crate::Error::Build) without an APIv3 key; transport and API errors; [`Error::Signature`](crate::Error::Signature)
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
}
