//! Errors of the client. Each variant wraps a context struct with accessors.
//!
//! `Display` gives what the caller needs to act, for its own layer only; the cause is its
//! `source()` (print the whole chain with [`wechatpay_core::ErrorChain`]).
//! Text that came from the server is escaped (no control characters) and shortened.
//!
//! Which errors are safe to retry: [`Error::is_not_sent`] (nothing reached WeChat Pay) and
//! [`Error::maybe_processed`] (the outcome is unknown: query before sending again).

use std::fmt;

mod build;
mod download;
mod transport;

pub use build::BuildError;
pub use download::DownloadError;
pub(crate) use transport::Outcome;
pub use transport::{TransportError, TransportKind};

use bytes::Bytes;
use http::{Method, StatusCode};
use wechatpay_core::VerifyError;
use wechatpay_models::{ApiErrorDetail, ValidationErrors};

/// `Result<T, wechatpay::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// WeChat Pay answered with a non-2xx status (`PARAM_ERROR`, `NO_AUTH`, …).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A 2xx answer failed signature verification: never use it as data. The request
    /// reached WeChat Pay and may have been processed.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The request did not complete (connect, timeout, connection lost, answer too large).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A verified answer could not be decoded into the expected type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A platform certificate download was refused (it did not decrypt, verify, or hold
    /// acceptable certificates).
    #[error(transparent)]
    Certificates(#[from] CertificatesError),
    /// The client or request could not be built, or the request could not be signed.
    /// Raised before anything is sent.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The request breaks documented rules; nothing was sent.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// A download failed or did not verify: discard what was read.
    #[error(transparent)]
    Download(#[from] DownloadError),
}

impl Error {
    /// The WeChat Pay error, when the server answered non-2xx.
    #[must_use]
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The WeChat Pay error code (`PARAM_ERROR`, …), when there is one.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.as_api().and_then(ApiError::code)
    }

    /// Whether the last attempt timed out after the request was sent.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(t) if t.kind == TransportKind::Timeout)
    }

    /// Whether the last attempt could not connect (or timed out connecting).
    #[must_use]
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Transport(t) if t.kind == TransportKind::Connect)
    }

    /// Whether an answer failed signature verification.
    #[must_use]
    pub fn is_signature(&self) -> bool {
        matches!(self, Error::Signature(_))
    }

    /// Nothing reached WeChat Pay: the request was refused locally (validation, build,
    /// signing) or no attempt could connect. Safe to send again as it is.
    #[must_use]
    pub fn is_not_sent(&self) -> bool {
        match self {
            Error::Validation(_) | Error::Build(_) => true,
            Error::Transport(t) => t.is_not_sent(),
            _ => false,
        }
    }

    /// The request may have been processed, but its outcome is unknown: a timeout after
    /// sending, a connection lost before the whole answer arrived, an answer too large to
    /// read, a 2xx whose signature does not verify or whose body does not decode, a 5xx
    /// answer to a request that changes something (WeChat Pay's `SYSTEM_ERROR` does not
    /// say whether it was carried out). Never for a request that only reads (GET).
    /// **Query before sending again** (for an order: query by `out_order_no`), unless the
    /// endpoint de-duplicates identical bodies ([`Endpoint::DEDUPLICATED_BY`]), where the
    /// client has already resent it within the deadline.
    ///
    /// [`Endpoint::DEDUPLICATED_BY`]: wechatpay_models::Endpoint::DEDUPLICATED_BY
    #[must_use]
    pub fn maybe_processed(&self) -> bool {
        match self {
            Error::Transport(t) => t.maybe_processed(),
            Error::Api(e) => e.status().is_server_error() && *e.method() != Method::GET,
            Error::Signature(_) | Error::Decode(_) => true,
            _ => false,
        }
    }

    /// The `Request-ID` of the answer, when one was received. Quote it to WeChat support.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id(),
            Error::Signature(e) => e.request_id(),
            Error::Decode(e) => e.request_id(),
            Error::Certificates(e) => e.request_id(),
            _ => None,
        }
    }
}

/// Server-supplied text made safe to print on a terminal or in a log: control characters
/// are escaped (no clear-screen, forged lines or window titles) and the text is cut after
/// `max` characters (marked `…`). Errors apply it to what the server sent; use it when you
/// print [`ApiError::message`] or a header yourself.
#[must_use]
pub fn printable(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The `Request-ID` header of an answer.
pub(crate) fn request_id(h: &http::HeaderMap) -> Option<&str> {
    h.get(wechatpay_core::headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
}

/// A non-2xx answer from WeChat Pay.
#[derive(Debug, Clone)]
pub struct ApiError(Box<ApiErrorInner>);

#[derive(Debug, Clone)]
pub(crate) struct ApiErrorInner {
    status: StatusCode,
    method: Method,
    path: String,
    code: Option<String>,
    message: Option<String>,
    detail: Option<ApiErrorDetail>,
    request_id: Option<String>,
    location: Option<String>,
    resent: bool,
    body: Bytes,
}

impl ApiError {
    /// The answer `status` with `headers` and `body` to `method path`.
    pub(crate) fn new(
        method: &Method,
        path: &str,
        status: StatusCode,
        headers: &http::HeaderMap,
        body: Bytes,
    ) -> Self {
        let parsed: Option<wechatpay_models::ApiErrorBody> = serde_json::from_slice(&body).ok();
        let (code, message, detail) = match parsed {
            Some(b) => (Some(b.code), Some(b.message), b.detail),
            None => (None, None, None),
        };
        let text = |name: http::header::HeaderName| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        Self(Box::new(ApiErrorInner {
            status,
            method: method.clone(),
            path: path.split('?').next().unwrap_or_default().to_owned(),
            code,
            message,
            detail,
            request_id: request_id(headers).map(str::to_owned),
            location: status
                .is_redirection()
                .then(|| text(http::header::LOCATION))
                .flatten(),
            resent: false,
            body,
        }))
    }

    /// Marks the answer as one to a resend after an attempt whose outcome was unknown.
    pub(crate) fn resent(mut self) -> Self {
        self.0.resent = true;
        self
    }

    /// HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The method of the request.
    #[must_use]
    pub fn method(&self) -> &Method {
        &self.0.method
    }

    /// The path of the request (without the query).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// WeChat error code, e.g. `PARAM_ERROR`; `None` when the body was not JSON (a 404
    /// or 405 for a path or method that does not exist).
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// Human message, as the server sent it (print it through `Display`, which escapes
    /// control characters).
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }

    /// Which parameter, when the server says.
    #[must_use]
    pub fn detail(&self) -> Option<&ApiErrorDetail> {
        self.0.detail.as_ref()
    }

    /// `Request-ID` header.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// For a 3xx: where the server tried to redirect (never followed).
    #[must_use]
    pub fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }

    /// Whether this answers a resend of a de-duplicated request whose first attempt had
    /// an unknown outcome: the first attempt may well have been processed.
    #[must_use]
    pub fn after_resend(&self) -> bool {
        self.0.resent
    }

    /// The raw body.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.0.body
    }

    /// Whether retrying the very same request may succeed (429, 5xx).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.0.status == StatusCode::TOO_MANY_REQUESTS || self.0.status.is_server_error()
    }

    /// A re-entry refusal: the same `out_order_no` (or `out_refund_no`) was already used.
    fn is_reentry(&self) -> bool {
        self.0.code.as_deref() == Some("INVALID_REQUEST")
            && self
                .0
                .message
                .as_deref()
                .is_some_and(|m| m.contains("重入"))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.0;
        write!(
            f,
            "WeChat Pay answered {} to {} {}",
            e.status.as_u16(),
            e.method,
            printable(&e.path, 200)
        )?;
        if let Some(c) = &e.code {
            write!(f, ": {}", printable(c, 64))?;
        }
        if let Some(m) = e.message.as_deref().filter(|m| !m.is_empty()) {
            write!(f, " {}", printable(m, 300))?;
        }
        if let Some(d) = &e.detail {
            match (&d.field, &d.issue) {
                (Some(field), issue) => {
                    write!(f, " (field {}", printable(field, 100))?;
                    if let Some(issue) = issue {
                        write!(f, ": {}", printable(issue, 200))?;
                    }
                    f.write_str(")")?;
                }
                (None, Some(issue)) => write!(f, " ({})", printable(issue, 200))?,
                (None, None) => {}
            }
        }
        if e.status.is_redirection() {
            write!(
                f,
                " — a redirect to {}, not followed: WeChat Pay APIs never redirect (check base_url and proxies)",
                e.location
                    .as_deref()
                    .map_or_else(|| "nowhere".to_owned(), |l| printable(l, 200))
            )?;
        } else if e.code.is_none() && matches!(e.status.as_u16(), 404 | 405) {
            f.write_str(" — no such endpoint or method: check the path, the method and base_url")?;
        }
        if e.resent {
            f.write_str(if self.is_reentry() {
                "; this answers a resend: the first attempt was processed — query the order"
            } else {
                "; this answers a resend after an attempt with an unknown outcome, which may have been processed — query before acting"
            })?;
        }
        if let Some(id) = &e.request_id {
            write!(f, " [Request-ID {}]", printable(id, 100))?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A 2xx answer that failed verification. The request reached WeChat Pay and may have
/// been processed: query before resending.
#[derive(Debug)]
pub struct SignatureError {
    pub(crate) kind: VerifyError,
    pub(crate) request_id: Option<String>,
    pub(crate) refresh: Option<Box<Error>>,
}

impl SignatureError {
    pub(crate) fn new(kind: VerifyError, request_id: Option<String>) -> Self {
        Self {
            kind,
            request_id,
            refresh: None,
        }
    }

    /// What failed.
    #[must_use]
    pub fn kind(&self) -> &VerifyError {
        &self.kind
    }

    /// `Request-ID` of the rejected answer.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Why downloading the platform certificates (tried once for an unknown serial)
    /// failed.
    #[must_use]
    pub fn refresh_error(&self) -> Option<&Error> {
        self.refresh.as_deref()
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "answer rejected: {}", self.kind)?;
        if self.refresh.is_some() {
            // Why: the source, not repeated here.
            f.write_str("; downloading the platform certificates failed")?;
        }
        f.write_str(
            "; the request reached WeChat Pay and may have been processed — query before resending",
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " [Request-ID {}]", printable(id, 100))?;
        }
        Ok(())
    }
}

impl std::error::Error for SignatureError {
    /// The certificate download that failed, when one did (the verification failure
    /// itself is in the message).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.refresh
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A verified answer that does not decode into the expected type.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode the answer at {path}")]
pub struct DecodeError {
    pub(crate) path: String,
    pub(crate) request_id: Option<String>,
    pub(crate) body: Bytes,
    #[source]
    pub(crate) source: serde_json::Error,
}

impl DecodeError {
    /// JSON path of the failure (`.collection.details[0].amount`).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw (verified) body.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// `Request-ID` of the answer.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

/// A platform certificate download that was refused, with the real reason.
#[derive(Debug, thiserror::Error)]
#[error("platform certificate download refused")]
pub struct CertificatesError {
    #[source]
    pub(crate) source: wechatpay_core::certificates::CertificateListError,
    pub(crate) request_id: Option<String>,
}

impl CertificatesError {
    /// Why, from the protocol layer.
    #[must_use]
    pub fn reason(&self) -> &wechatpay_core::certificates::CertificateListError {
        &self.source
    }

    /// `Request-ID` of the download.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_escaped_and_shortened() {
        assert_eq!(printable("a\u{1b}[2Jb\nc", 100), "a\\u{1b}[2Jb\\nc");
        assert_eq!(printable(&"x".repeat(10), 4), "xxxx…");
        let body = Bytes::from_static(
            b"{\"code\":\"X\\u001b]0;pwned\\u0007\",\"message\":\"\\u001b[2Jfake line\\nerror: ok\"}",
        );
        let e = ApiError::new(
            &Method::POST,
            "/v3/x",
            StatusCode::BAD_REQUEST,
            &http::HeaderMap::new(),
            body,
        );
        let shown = e.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains("\\u{1b}[2Jfake line\\nerror: ok"), "{shown}");
    }

    #[test]
    fn a_404_names_method_path_and_request_id() {
        let mut h = http::HeaderMap::new();
        h.insert("Request-ID", "08F1-1".parse().unwrap());
        let e = ApiError::new(
            &Method::POST,
            "/v3/v3/payscore/x?a=1",
            StatusCode::NOT_FOUND,
            &h,
            Bytes::new(),
        );
        assert_eq!(
            e.to_string(),
            "WeChat Pay answered 404 to POST /v3/v3/payscore/x — no such endpoint or method: check the path, the method and base_url [Request-ID 08F1-1]"
        );
    }
}
