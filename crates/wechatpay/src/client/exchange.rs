//! One call over HTTP: signing each attempt, retries with backoff, failover to the backup
//! host.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use wechatpay_core::{SignError, SignableRequest};

use super::Client;
use crate::error::{BuildError, Result, TransportError, TransportKind};

/// Why one attempt failed.
enum AttemptError {
    /// Signing failed; nothing was sent.
    Sign(SignError),
    /// The HTTP exchange failed.
    Http(reqwest::Error),
}

impl From<reqwest::Error> for AttemptError {
    fn from(e: reqwest::Error) -> Self {
        AttemptError::Http(e)
    }
}

impl Client {
    pub(super) async fn send_with_retries(
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
                Err(AttemptError::Sign(e)) => return Err(BuildError::Sign(e).into()),
                Err(AttemptError::Http(e)) => {
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
    ) -> Result<(StatusCode, HeaderMap, Bytes), AttemptError> {
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
        let auth = SignableRequest::new(method.as_str(), &signed_target, body)
            .sign(
                &inner.mchid,
                &inner.serial,
                &inner.key,
                inner.clock.now(),
                &nonce,
            )
            .map_err(AttemptError::Sign)?;
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
}
