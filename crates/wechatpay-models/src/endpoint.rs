//! One description per endpoint: [`Endpoint`], implemented by each request type next to
//! its struct.
//!
//! The client sends any `Endpoint` with one generic `send`; the fluent chain and the
//! sandbox router take their paths from the same [`Endpoint::PATH`] constants, so the
//! four places an endpoint used to be spelled out cannot disagree.
//!
//! Implement it for your own type to call an endpoint this crate does not model yet:
//!
//! ```
//! use serde::Serialize;
//! use wechatpay_models::{Endpoint, ValidationErrors};
//!
//! /// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`
//! #[derive(Serialize)]
//! struct QueryTransaction {
//!     #[serde(default, skip_serializing)]
//!     out_trade_no: String,
//!     #[serde(default, skip_serializing)]
//!     mchid: String,
//! }
//!
//! impl Endpoint for QueryTransaction {
//!     const METHOD: http::Method = http::Method::GET;
//!     const PATH: &'static str = "/v3/pay/transactions/out-trade-no/{out_trade_no}";
//!     const BODY: wechatpay_models::BodyKind = wechatpay_models::BodyKind::Empty;
//!     type Response = serde_json::Value;
//!     fn path_params(&self) -> Vec<(&'static str, &str)> {
//!         vec![("out_trade_no", &self.out_trade_no)]
//!     }
//!     fn query(&self) -> Vec<(&'static str, &str)> {
//!         vec![("mchid", &self.mchid)]
//!     }
//!     fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
//!         Ok(())
//!     }
//! }
//!
//! let q = QueryTransaction { out_trade_no: "T|1".into(), mchid: "1230000109".into() };
//! assert_eq!(q.target().unwrap(), "/v3/pay/transactions/out-trade-no/T%7C1?mchid=1230000109");
//! assert!(q.body().unwrap().is_empty());
//! ```

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::validate::ValidationErrors;

/// How an endpoint's request body is encoded.
///
/// More kinds come with the endpoints that need them (a `multipart/form-data` upload
/// whose signature covers only its `meta` part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyKind {
    /// No body: `GET`, and downloads. Every field of the request is a path or query
    /// parameter.
    Empty,
    /// The request serialised as JSON; path parameters are `#[serde(default, skip_serializing)]` fields.
    Json,
}

/// The description of one API endpoint, implemented by its request type.
///
/// It says everything the client needs to send the request and the sandbox needs to
/// route it: method, path template, path and query parameters, body encoding, answer
/// type, whether the answer is signed, and the documented rules ([`validate_at`]).
///
/// [`validate_at`]: Endpoint::validate_at
pub trait Endpoint: Serialize {
    /// The HTTP method.
    const METHOD: http::Method;
    /// The path template, e.g. `/v3/payscore/partner/serviceorder/{out_order_no}/cancel`:
    /// each `{name}` is filled from [`path_params`](Endpoint::path_params).
    const PATH: &'static str;
    /// How the body is encoded. Default: JSON.
    const BODY: BodyKind = BodyKind::Json;
    /// Whether a 2xx answer carries WeChat Pay's signature (true for every JSON API;
    /// false for file downloads, whose integrity comes from a hash in a signed answer).
    const SIGNED_ANSWER: bool = true;
    /// The body field that WeChat Pay keeps unique per merchant and de-duplicates on
    /// (`out_order_no` for create and direct-complete, `out_refund_no` for refunds): a
    /// resend of the identical body cannot create a second order or refund, and gets the
    /// first one's success (原参重入). `None` (the default) for every other endpoint.
    ///
    /// The client resends such a request when an attempt's outcome is unknown (a timeout
    /// after sending, a connection lost mid-answer); see `ClientBuilder::resend_deduplicated`
    /// in the `wechatpay` crate.
    const DEDUPLICATED_BY: Option<&'static str> = None;
    /// What a verified answer decodes into. An empty answer (204) decodes as JSON `null`:
    /// `()` or `Option<T>` for endpoints that answer 204.
    type Response: DeserializeOwned + Send + 'static;

    /// The value of each `{name}` in [`PATH`](Endpoint::PATH), unencoded. Default: none.
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        Vec::new()
    }

    /// Query parameters, in order, unencoded. Default: none.
    fn query(&self) -> Vec<(&'static str, &str)> {
        Vec::new()
    }

    /// Checks every documented rule that can be checked without the server, at `now`
    /// (unix seconds; take it from a clock, never from the system directly).
    ///
    /// # Errors
    /// [`ValidationErrors`] listing every violation, each naming its field and rule.
    fn validate_at(&self, now: i64) -> Result<(), ValidationErrors>;

    /// The request target as it is signed and sent: the path with each parameter
    /// percent-encoded (case kept), then `?query`.
    ///
    /// # Errors
    /// [`MissingPathParam`] when the template names a parameter that
    /// [`path_params`](Endpoint::path_params) does not give.
    fn target(&self) -> Result<String, MissingPathParam> {
        fill_template(Self::PATH, &self.path_params(), &self.query())
    }

    /// Reads a request as a server receives it: the JSON `body` (nothing for
    /// [`BodyKind::Empty`]), with the values of the path parameters and the query added as
    /// fields, deserialised into `Self`. The inverse of [`target`](Endpoint::target) and
    /// [`body`](Endpoint::body): path and query fields never travel in the body, so a
    /// name given both in the path or query and in the body is refused, as WeChat Pay
    /// refuses it (400 `PARAM_ERROR`).
    ///
    /// ```
    /// use wechatpay_models::Endpoint as _;
    /// use wechatpay_models::v3::payscore::partner::serviceorder::CancelRequest;
    ///
    /// let sent = CancelRequest::default()
    ///     .out_order_no("RENT1")
    ///     .sub_mchid("1900000109")
    ///     .reason("用户取消");
    /// let read = CancelRequest::decode(&[("out_order_no", "RENT1")], &[], &sent.body().unwrap()).unwrap();
    /// assert_eq!(read, sent);
    /// let repeated = br#"{"out_order_no":"RENT1","sub_mchid":"1900000109","reason":"x"}"#;
    /// let e = CancelRequest::decode(&[("out_order_no", "RENT1")], &[], repeated).unwrap_err();
    /// assert_eq!(e.field(), "out_order_no");
    /// ```
    ///
    /// # Errors
    /// [`DecodeRequestError`], naming the field at fault.
    fn decode(
        path_params: &[(&str, &str)],
        query: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Self, DecodeRequestError>
    where
        Self: Sized + DeserializeOwned,
    {
        let body = if Self::BODY == BodyKind::Empty || body.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_slice(body).map_err(DecodeRequestError::NotJson)?
        };
        Self::decode_json(path_params, query, body)
    }

    /// [`decode`](Endpoint::decode) for a body already parsed (a server that looked at the
    /// JSON before, say); `body` must be an object (ignored for [`BodyKind::Empty`]).
    ///
    /// # Errors
    /// As `decode`, except [`DecodeRequestError::NotJson`].
    fn decode_json(
        path_params: &[(&str, &str)],
        query: &[(&str, &str)],
        body: serde_json::Value,
    ) -> Result<Self, DecodeRequestError>
    where
        Self: Sized + DeserializeOwned,
    {
        let mut fields = match body {
            _ if Self::BODY == BodyKind::Empty => serde_json::Map::new(),
            serde_json::Value::Object(m) => m,
            _ => return Err(DecodeRequestError::NotAnObject),
        };
        for (name, value) in path_params.iter().chain(query) {
            if fields.contains_key(*name) {
                return Err(DecodeRequestError::Repeated {
                    field: (*name).to_owned(),
                });
            }
            fields.insert((*name).to_owned(), serde_json::Value::from(*value));
        }
        serde_path_to_error::deserialize(serde_json::Value::Object(fields)).map_err(|e| {
            DecodeRequestError::Field {
                field: e.path().to_string().trim_start_matches('.').to_owned(),
                source: e.into_inner(),
            }
        })
    }

    /// The exact body bytes that are signed and sent.
    ///
    /// # Errors
    /// The serialiser's error (a map with non-string keys, a failing `Serialize` impl).
    fn body(&self) -> Result<Vec<u8>, serde_json::Error> {
        match Self::BODY {
            BodyKind::Empty => Ok(Vec::new()),
            BodyKind::Json => serde_json::to_vec(self),
        }
    }
}

/// Why a received request does not read as its endpoint's request
/// ([`Endpoint::decode`]). Each is WeChat Pay's `400 PARAM_ERROR`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeRequestError {
    /// The body is not JSON.
    #[error("the body is not valid JSON")]
    NotJson(#[source] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("the body is not a JSON object")]
    NotAnObject,
    /// A path or query parameter is also in the body.
    #[error("{field} is a path or query parameter and must not be in the body")]
    Repeated {
        /// The parameter.
        field: String,
    },
    /// A field is missing or has the wrong type.
    #[error("field {field} is missing or has the wrong type")]
    Field {
        /// Its JSON path, e.g. `post_payments[0].amount` (empty for the body as a whole).
        field: String,
        /// The deserialiser's reason.
        #[source]
        source: serde_json::Error,
    },
}

impl DecodeRequestError {
    /// The field at fault (empty when the body as a whole is).
    #[must_use]
    pub fn field(&self) -> &str {
        match self {
            Self::Repeated { field } | Self::Field { field, .. } => field,
            Self::NotJson(_) | Self::NotAnObject => "",
        }
    }
}

/// A path template names a parameter without a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPathParam(pub String);

impl fmt::Display for MissingPathParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "path parameter {{{}}} has no value", self.0)
    }
}

impl std::error::Error for MissingPathParam {}

/// Fills `{name}` segments of `template` from `params` (percent-encoded) and appends
/// `query` (percent-encoded; nothing when empty).
///
/// # Errors
/// [`MissingPathParam`] for a `{name}` without a value.
pub fn fill_template(
    template: &str,
    params: &[(&str, &str)],
    query: &[(&str, &str)],
) -> Result<String, MissingPathParam> {
    let mut out = String::with_capacity(template.len() + 32);
    for (i, seg) in template.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                let (_, v) = params
                    .iter()
                    .rev()
                    .find(|(k, _)| *k == name)
                    .ok_or_else(|| MissingPathParam(name.to_owned()))?;
                encode_into(&mut out, v);
            }
            None => out.push_str(seg),
        }
    }
    for (i, (k, v)) in query.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        encode_into(&mut out, k);
        out.push('=');
        encode_into(&mut out, v);
    }
    Ok(out)
}

/// Percent-encodes a path segment or query value: RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) stay as they are, every other byte becomes `%XX` (upper-case
/// hex). Case is kept, as WeChat Pay signs the path as sent.
///
/// Hidden: not part of the API ([`Endpoint::target`] encodes what it fills in); public
/// only so that the client's launch parameters and the sandbox's console share it.
#[doc(hidden)]
#[must_use]
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s);
    out
}

fn encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_case_and_are_percent_encoded() {
        assert_eq!(encode_segment("Ab-9_.~"), "Ab-9_.~");
        assert_eq!(encode_segment("a|b*c/d 中"), "a%7Cb%2Ac%2Fd%20%E4%B8%AD");
    }

    #[test]
    fn templates_fill_params_and_query() {
        assert_eq!(
            fill_template("/v3/a/{x}/b", &[("x", "X|1")], &[("k", "v w"), ("z", "1")]).unwrap(),
            "/v3/a/X%7C1/b?k=v%20w&z=1"
        );
        assert_eq!(
            fill_template("/v3/a/{x}", &[], &[]),
            Err(MissingPathParam("x".into()))
        );
    }
}
