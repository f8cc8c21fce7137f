//! Errors of the client. Each variant wraps a context struct; `Display` never prints the
//! source (use `std::error::Error::source` or `{:#}` with anyhow).

use std::fmt;

use bytes::Bytes;
use http::StatusCode;
use wechatpay_core::{KeyError, VerifyError};
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
    /// A 2xx answer failed signature verification: never use it as data.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The request did not complete (connect, timeout, I/O).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A verified answer could not be decoded into the expected type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The client or request could not be built (bad key, bad URL, unfilled path
    /// parameter …). Raised before anything is sent.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The request breaks documented rules; nothing was sent.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
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

    /// Whether the request timed out (it may or may not have been processed: query
    /// before retrying a non-idempotent call).
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(t) if t.kind == TransportKind::Timeout)
    }

    /// Whether the connection could not be made (the request was not sent).
    #[must_use]
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Transport(t) if t.kind == TransportKind::Connect)
    }

    /// Whether an answer failed signature verification.
    #[must_use]
    pub fn is_signature(&self) -> bool {
        matches!(self, Error::Signature(_))
    }

    /// The `Request-ID` of the answer, when one was received. Quote it to WeChat support.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id(),
            Error::Signature(e) => e.request_id.as_deref(),
            Error::Decode(e) => e.request_id.as_deref(),
            _ => None,
        }
    }
}

/// A non-2xx answer from WeChat Pay.
#[derive(Debug, Clone)]
pub struct ApiError(Box<ApiErrorInner>);

#[derive(Debug, Clone)]
pub(crate) struct ApiErrorInner {
    pub(crate) status: StatusCode,
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) detail: Option<ApiErrorDetail>,
    pub(crate) request_id: Option<String>,
    pub(crate) body: Bytes,
}

impl ApiError {
    pub(crate) fn from_parts(status: StatusCode, request_id: Option<String>, body: Bytes) -> Self {
        let parsed: Option<wechatpay_models::ApiErrorBody> = serde_json::from_slice(&body).ok();
        let (code, message, detail) = match parsed {
            Some(b) => (Some(b.code), Some(b.message), b.detail),
            None => (None, None, None),
        };
        Self(Box::new(ApiErrorInner {
            status,
            code,
            message,
            detail,
            request_id,
            body,
        }))
    }

    /// HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// WeChat error code, e.g. `PARAM_ERROR`; `None` when the body was not JSON (404/405).
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// Human message.
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
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeChat Pay answered {}", self.0.status.as_u16())?;
        if let Some(c) = &self.0.code {
            write!(f, " {c}")?;
        }
        if let Some(m) = self.0.message.as_deref().filter(|m| !m.is_empty()) {
            write!(f, ": {m}")?;
        }
        if let Some(d) = &self.0.detail
            && let Some(field) = &d.field
        {
            write!(f, " (field {field}")?;
            if let Some(issue) = &d.issue {
                write!(f, ": {issue}")?;
            }
            f.write_str(")")?;
        }
        if let Some(id) = &self.0.request_id {
            write!(f, " [Request-ID {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A 2xx answer that failed verification.
#[derive(Debug, Clone, thiserror::Error)]
#[error("response rejected: {kind}")]
pub struct SignatureError {
    pub(crate) kind: VerifyError,
    pub(crate) request_id: Option<String>,
}

impl SignatureError {
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
}

/// Kinds of transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be made; the request was not sent.
    Connect,
    /// Connect or total timeout elapsed.
    Timeout,
    /// Anything else (the request may have been sent).
    Other,
}

/// The request did not complete.
#[derive(Debug, thiserror::Error)]
#[error("{} to {host} failed{}", match kind { TransportKind::Connect => "connection", TransportKind::Timeout => "request (timed out)", TransportKind::Other => "request" }, if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() })]
pub struct TransportError {
    pub(crate) kind: TransportKind,
    pub(crate) host: String,
    pub(crate) attempts: u32,
    #[source]
    pub(crate) source: Box<dyn std::error::Error + Send + Sync>,
}

impl TransportError {
    /// What kind of failure.
    #[must_use]
    pub fn kind(&self) -> TransportKind {
        self.kind
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

/// The client or a request could not be built, or the request could not be signed.
/// Nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A required builder setting is missing.
    #[error("client configuration lacks {0}")]
    Missing(&'static str),
    /// A key, certificate or APIv3 key is unusable.
    #[error("{what} is unusable")]
    Key {
        /// Which setting.
        what: &'static str,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// A setting or request parameter has a bad value.
    #[error("{field}: {reason}")]
    Invalid {
        /// The setting or parameter.
        field: String,
        /// Why.
        reason: String,
    },
    /// The HTTP client or the blocking client's runtime could not start.
    #[error("cannot start the {what}")]
    Runtime {
        /// `HTTP client` or `runtime`.
        what: &'static str,
        /// The library's reason.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A `{param}` in a path has no value.
    #[error("path parameter {{{0}}} has no value; call .param({0:?}, value)")]
    UnfilledParam(String),
    /// A fluent chain and the request it sends name different values for one path
    /// parameter.
    #[error("path parameter {name} is {chain:?} in the chain but {request:?} in the request")]
    ParamMismatch {
        /// The parameter.
        name: &'static str,
        /// The value given to the chain.
        chain: String,
        /// The value in the request.
        request: String,
    },
    /// The body could not be serialised.
    #[error("cannot serialise the request body")]
    Serialize(#[source] serde_json::Error),
    /// The request could not be signed.
    #[error("cannot sign the request")]
    Sign(#[source] wechatpay_core::SignError),
}

impl BuildError {
    /// The setting or parameter at fault, when there is one: `"mchid"`, `"base_url"`,
    /// `"private key"`, a path parameter's name …
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            BuildError::Missing(f) => Some(f),
            BuildError::Key { what, .. } => Some(what),
            BuildError::Invalid { field, .. } => Some(field),
            BuildError::UnfilledParam(name) => Some(name),
            BuildError::ParamMismatch { name, .. } => Some(name),
            BuildError::Runtime { .. } | BuildError::Serialize(_) | BuildError::Sign(_) => None,
        }
    }

    /// The key error, when a key, certificate or APIv3 key was unusable.
    #[must_use]
    pub fn key_error(&self) -> Option<&KeyError> {
        match self {
            BuildError::Key { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<wechatpay_models::MissingPathParam> for BuildError {
    fn from(e: wechatpay_models::MissingPathParam) -> Self {
        BuildError::UnfilledParam(e.0)
    }
}
