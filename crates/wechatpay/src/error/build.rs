//! Clients and requests that could not be built or signed: nothing was sent.

use wechatpay_core::KeyError;

/// The client or a request could not be built, or the request could not be signed.
/// Nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A required builder setting is missing.
    #[error("client configuration lacks {0}")]
    Missing(&'static str),
    /// A key, certificate or APIv3 key is unusable.
    #[error("unusable {what}")]
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
    /// The body could not be serialised (the JSON library's reason is the source).
    #[error("cannot serialise the request body")]
    Serialize(#[source] Box<dyn std::error::Error + Send + Sync>),
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
