//! The send path: a typed request prepared (validated and encoded), sent, its answer
//! verified; each call over HTTP signing each attempt, reading the answer within its size limit,
//! retries with jittered backoff and `Retry-After` inside one deadline, failover to the
//! backup host, and resends of de-duplicated requests.
//!
//! Whether an attempt may be repeated depends on what is known of the first one:
//!
//! | attempt failed | sent? | repeated when |
//! | --- | --- | --- |
//! | connect error or connect timeout | no | always (and on the backup host) |
//! | timeout after sending, connection lost mid-answer | maybe | the method is idempotent, or WeChat Pay de-duplicates the body ([`Endpoint::DEDUPLICATED_BY`](wechatpay_models::Endpoint::DEDUPLICATED_BY)) |
//! | 429 / 5xx answer | yes | as above, after `Retry-After` when it fits the deadline |
//! | answer larger than the limit, any other answer | yes | never |

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use tokio::time::Instant;
use wechatpay_core::{SignError, SignableRequest};

use tracing::Instrument as _;
use wechatpay_models::Endpoint;

use super::Client;
use crate::error::{
    ApiError, BuildError, Outcome, Result, TransportError, TransportKind, printable,
};
use crate::response::Response;

/// The answer to a call, read within the limits.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) attempts: u32,
    /// Whether a de-duplicated request was sent again after an unknown outcome.
    pub(super) resent: bool,
}

impl Answer {
    /// The answer, if 2xx; else WeChat Pay's error for `req` (the one place a non-2xx
    /// becomes an [`ApiError`]).
    pub(super) fn success(self, req: &Outgoing) -> std::result::Result<Self, ApiError> {
        if self.status.is_success() {
            return Ok(self);
        }
        let e = ApiError::new(
            &req.method,
            &req.target,
            self.status,
            &self.headers,
            self.body,
        );
        Err(if self.resent { e.resent() } else { e })
    }
}

/// Why one attempt failed.
enum Failure {
    /// Signing failed; nothing was sent.
    Sign(SignError),
    /// The attempt failed in this way.
    Transport(TransportKind, Box<dyn std::error::Error + Send + Sync>),
}

/// The answer is larger than the limit.
#[derive(Debug, thiserror::Error)]
#[error("the answer ({status}) exceeds {limit} bytes{}", declared.map(|n| format!(" (Content-Length {n})")).unwrap_or_default())]
struct TooLarge {
    status: StatusCode,
    limit: usize,
    declared: Option<u64>,
}

/// The call's deadline passed before another attempt could start.
#[derive(Debug, thiserror::Error)]
#[error("the call's deadline of {0:?} has passed")]
struct DeadlinePassed(Duration);

impl Client {
    /// Validates and encodes a request, so that the future sending it owns everything.
    pub(crate) fn prepare<E: Endpoint>(&self, req: &E) -> Result<Prepared<E::Response>> {
        if self.inner.validate {
            req.validate_at(self.now())?;
        }
        Ok(Prepared {
            outgoing: Outgoing {
                method: E::METHOD,
                target: req.target().map_err(BuildError::from)?,
                body: Bytes::from(req.body().map_err(|e| BuildError::Serialize(Box::new(e)))?),
                signed: E::SIGNED_ANSWER,
                deduplicated_by: E::DEDUPLICATED_BY,
            },
            answer: std::marker::PhantomData,
        })
    }

    /// Sends, verifies, and logs one DEBUG event for the call.
    pub(crate) async fn execute_parts(&self, req: Outgoing) -> Result<Response> {
        let path = req.target.split('?').next().unwrap_or_default().to_owned();
        let span = tracing::debug_span!("wechatpay", method = %req.method, path = %path);
        let this = self.clone();
        async move {
            let started = tokio::time::Instant::now();
            let deadline = started + this.inner.limits.deadline;
            this.maybe_refresh_periodically(deadline).await;
            let result = this.exchange(&req, deadline).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            match &result {
                Ok(r) => tracing::debug!(
                    method = %req.method,
                    path = %path,
                    status = r.status.as_u16(),
                    latency_ms,
                    attempts = r.attempts,
                    request_id = %printable(r.request_id().unwrap_or("-"), 100),
                    "WeChat Pay call"
                ),
                Err(e) => tracing::debug!(
                    method = %req.method,
                    path = %path,
                    status = e.as_api().map_or(0, |a| a.status().as_u16()),
                    latency_ms,
                    attempts = match e {
                        crate::Error::Transport(t) => t.attempts(),
                        _ => 0,
                    },
                    request_id = %printable(e.request_id().unwrap_or("-"), 100),
                    error = %wechatpay_core::ErrorChain(e),
                    "WeChat Pay call failed"
                ),
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn exchange(&self, req: &Outgoing, deadline: tokio::time::Instant) -> Result<Response> {
        let answer = self.send_with_retries(req, deadline).await?.success(req)?;
        let verified_by = if req.signed {
            Some(self.verify(&answer.headers, &answer.body, deadline).await?)
        } else {
            None
        };
        Ok(Response {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
            verified_by,
            attempts: answer.attempts,
        })
    }

    pub(super) async fn send_with_retries(
        &self,
        req: &Outgoing,
        deadline: Instant,
    ) -> Result<Answer> {
        let limits = &self.inner.limits;
        let idempotent = matches!(
            req.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        let resendable =
            idempotent || (limits.resend_deduplicated && req.deduplicated_by.is_some());
        let mut host = 0;
        let mut attempt = 0u32;
        let mut sent = Outcome::NotSent;
        let mut resent = false;
        loop {
            attempt += 1;
            let base = &self.inner.base_urls[host];
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = if remaining.is_zero() {
                Err(Failure::Transport(
                    TransportKind::Timeout,
                    Box::new(DeadlinePassed(limits.deadline)),
                ))
            } else {
                let timeout = limits.attempt_timeout.min(remaining);
                self.send_once(base, req, timeout).await
            };
            let retries_left = attempt <= limits.max_retries && !remaining.is_zero();
            let wait = match outcome {
                Ok((status, headers, body)) => {
                    let answer = Answer {
                        status,
                        headers,
                        body,
                        attempts: attempt,
                        resent,
                    };
                    let retryable =
                        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    if !(retryable && resendable && retries_left) {
                        return Ok(answer);
                    }
                    let wait = self
                        .retry_after(&answer.headers)
                        .unwrap_or_else(|| backoff(limits.retry_backoff, attempt));
                    if Instant::now() + wait >= deadline {
                        return Ok(answer);
                    }
                    tracing::debug!(
                        status = status.as_u16(),
                        attempt,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "retrying after a retryable answer"
                    );
                    if !idempotent {
                        resent = true;
                    }
                    wait
                }
                Err(Failure::Sign(e)) => return Err(BuildError::Sign(e).into()),
                Err(Failure::Transport(kind, source)) => {
                    let not_sent = kind == TransportKind::Connect;
                    if !not_sent {
                        sent = if req.method == Method::GET {
                            Outcome::ReadOnly
                        } else {
                            Outcome::MaybeProcessed
                        };
                    }
                    let wait = backoff(limits.retry_backoff, attempt);
                    let again = retries_left
                        && (not_sent || (resendable && kind != TransportKind::TooLarge))
                        && Instant::now() + wait < deadline;
                    if !again {
                        return Err(TransportError {
                            kind,
                            host: base.split("://").nth(1).unwrap_or(base).to_owned(),
                            attempts: attempt,
                            outcome: sent,
                            source,
                        }
                        .into());
                    }
                    if not_sent && host + 1 < self.inner.base_urls.len() {
                        host += 1;
                        tracing::warn!(backup = %self.inner.base_urls[host], "primary host unreachable; failing over");
                    }
                    if !not_sent && !idempotent {
                        resent = true;
                        tracing::warn!(
                            attempt,
                            key = req.deduplicated_by.unwrap_or("-"),
                            "outcome unknown; resending the identical body (WeChat Pay de-duplicates it)"
                        );
                    }
                    tracing::debug!(error = %wechatpay_core::ErrorChain(source.as_ref()), attempt, "retrying after a transport error");
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// `Retry-After`, in seconds or as an HTTP date, as a wait from now.
    fn retry_after(&self, h: &HeaderMap) -> Option<Duration> {
        let v = h.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        let at = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822)
            .ok()?
            .unix_timestamp();
        Some(Duration::from_secs(
            u64::try_from(at - self.now()).unwrap_or(0),
        ))
    }

    async fn send_once(
        &self,
        base: &str,
        req: &Outgoing,
        timeout: Duration,
    ) -> Result<(StatusCode, HeaderMap, Bytes), Failure> {
        let inner = &self.inner;
        let mut built = self
            .signed_request(
                req.method.clone(),
                &format!("{base}{}", req.target),
                req.body.clone(),
                "application/json",
            )
            .map_err(|e| match e {
                SignOrBuild::Sign(e) => Failure::Sign(e),
                SignOrBuild::Build(e) => Failure::Transport(TransportKind::Other, Box::new(e)),
            })?;
        *built.timeout_mut() = Some(timeout);
        let transport = |e: reqwest::Error| Failure::Transport(classify(&e), Box::new(e));
        let mut resp = inner.http.execute(built).await.map_err(transport)?;
        let status = resp.status();
        let limit = inner.limits.max_response_bytes;
        let too_large = |declared| {
            Failure::Transport(
                TransportKind::TooLarge,
                Box::new(TooLarge {
                    status,
                    limit,
                    declared,
                }),
            )
        };
        let declared = resp.content_length();
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large(declared));
        }
        let headers = std::mem::take(resp.headers_mut());
        let mut body = BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large(declared));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body.freeze()))
    }
}

/// Why a request could not be prepared.
pub(super) enum SignOrBuild {
    Sign(SignError),
    Build(reqwest::Error),
}

impl Client {
    /// A request to `url`, signed over exactly the path and query the HTTP library will
    /// send, with this client's headers.
    pub(super) fn signed_request(
        &self,
        method: Method,
        url: &str,
        body: Bytes,
        accept: &'static str,
    ) -> Result<reqwest::Request, SignOrBuild> {
        let inner = &self.inner;
        let mut built = inner
            .http
            .request(method.clone(), url)
            .body(body.clone())
            .build()
            .map_err(SignOrBuild::Build)?;
        let u = built.url();
        let signed_target = match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        };
        let nonce = inner.nonce.nonce();
        let auth = SignableRequest::new(method.as_str(), &signed_target, &body)
            .sign(
                &inner.mchid,
                &inner.serial,
                &inner.key,
                inner.clock.now(),
                &nonce,
            )
            .map_err(SignOrBuild::Sign)?;
        let h = built.headers_mut();
        auth.apply_to(h);
        h.insert(header::ACCEPT, HeaderValue::from_static(accept));
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
        Ok(built)
    }
}

/// What a failed exchange means for the request.
pub(super) fn classify(e: &reqwest::Error) -> TransportKind {
    if e.is_connect() {
        // Includes a connect timeout: no connection, nothing sent.
        return TransportKind::Connect;
    }
    if e.is_timeout() {
        return TransportKind::Timeout;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_closed() || h.is_canceled())
        {
            return TransportKind::Closed;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return TransportKind::Closed;
        }
        source = s.source();
    }
    if e.is_body() || e.is_decode() {
        TransportKind::Closed
    } else {
        TransportKind::Other
    }
}

/// The wait before retry `attempt + 1`: `first × 2^(attempt − 1)`, at most 64 × `first`,
/// jittered to between half and all of it so that clients do not retry in step.
fn backoff(first: Duration, attempt: u32) -> Duration {
    let full = first.saturating_mul(1 << (attempt.saturating_sub(1)).min(6));
    let jitter = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(attempt);
        h.finish() % 1000
    };
    let half = full / 2;
    half + half.mul_f64(f64_from_permille(jitter))
}

#[allow(clippy::cast_precision_loss)]
fn f64_from_permille(n: u64) -> f64 {
    n as f64 / 1000.0
}

/// A request ready to go: method, exact target and body, and what the endpoint says about
/// its answer.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    pub(crate) target: String,
    pub(crate) body: Bytes,
    /// Whether a 2xx answer is signed (always, for raw calls: an unsigned answer is
    /// accepted only for a download the client asked for, [`Client::download`]).
    pub(crate) signed: bool,
    /// [`Endpoint::DEDUPLICATED_BY`].
    pub(crate) deduplicated_by: Option<&'static str>,
}

impl Outgoing {
    /// A raw call: nothing is known about the endpoint, so its answer must be signed.
    pub(crate) fn raw(method: Method, target: String, body: Bytes) -> Self {
        Self {
            method,
            target,
            body,
            signed: true,
            deduplicated_by: None,
        }
    }
}

/// A validated, encoded typed request, ready to send (owned, so a `'static` future can
/// take it).
pub(crate) struct Prepared<T> {
    outgoing: Outgoing,
    answer: std::marker::PhantomData<fn() -> T>,
}

impl<T: serde::de::DeserializeOwned> Prepared<T> {
    pub(crate) async fn send(self, client: &Client) -> Result<T> {
        client.execute_parts(self.outgoing).await?.json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let first = Duration::from_millis(100);
        for attempt in 1..10 {
            let full = first * (1 << (attempt - 1).min(6));
            let b = backoff(first, attempt);
            assert!(b >= full / 2 && b <= full, "{attempt}: {b:?}");
        }
    }
}
