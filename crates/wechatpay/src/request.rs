//! Typed requests: models that know their method, path and answer type.
//!
//! Implement [`WechatPayRequest`] for your own types to call endpoints this crate does not
//! model yet, then use [`Client::send`](crate::Client::send) as for the built-in ones:
//!
//! ```
//! use bytes::Bytes;
//! use wechatpay::{Result, WechatPayRequest};
//!
//! /// GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…
//! struct QueryTransaction { out_trade_no: String, mchid: String }
//!
//! impl WechatPayRequest for QueryTransaction {
//!     const METHOD: http::Method = http::Method::GET;
//!     type Response = serde_json::Value;
//!     fn path(&self) -> Result<String> {
//!         Ok(format!("/v3/pay/transactions/out-trade-no/{}?mchid={}",
//!             wechatpay::encode_segment(&self.out_trade_no), wechatpay::encode_segment(&self.mchid)))
//!     }
//!     fn body(&self) -> Result<Bytes> { Ok(Bytes::new()) }
//! }
//! ```

use bytes::Bytes;
use http::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;
use wechatpay_models::ValidationErrors;
use wechatpay_models::v3::payscore::{
    ServiceOrder, partner::serviceorder as partner, serviceorder as direct,
};

use crate::client::to_json;
use crate::error::Result;

/// An API operation: method, path (with query), body and answer type.
pub trait WechatPayRequest {
    /// HTTP method.
    const METHOD: Method;
    /// What the verified answer decodes into. An empty answer (204) decodes as JSON
    /// `null`: use `()` or `Option<T>` for endpoints that answer 204.
    type Response: DeserializeOwned + Send + 'static;
    /// `/v3/…` path with `?query`, percent-encoded.
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) when the path cannot be formed.
    fn path(&self) -> Result<String>;
    /// The exact body bytes (empty for GET).
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) when serialisation fails.
    fn body(&self) -> Result<Bytes>;
    /// Local checks of documented rules at `now` (unix seconds). Default: none.
    ///
    /// # Errors
    /// Every violation found.
    fn validate(&self, now: i64) -> Result<(), ValidationErrors> {
        let _ = now;
        Ok(())
    }
}

const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters stay;
/// case is kept).
#[must_use]
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Builds `?k=v&…` from pairs (empty when there are none).
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let q: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode_segment(k), encode_segment(v)))
        .collect();
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

impl WechatPayRequest for partner::DirectCompleteRequest {
    const METHOD: Method = Method::POST;
    /// 204 (documented) → `None`; 200 with an order → `Some`.
    type Response = Option<ServiceOrder>;
    fn path(&self) -> Result<String> {
        Ok(partner::DIRECT_COMPLETE_PATH.to_owned())
    }
    fn body(&self) -> Result<Bytes> {
        to_json(self)
    }
    fn validate(&self, now: i64) -> Result<(), ValidationErrors> {
        self.validate_at(now)
    }
}

impl WechatPayRequest for direct::DirectCompleteRequest {
    const METHOD: Method = Method::POST;
    type Response = ServiceOrder;
    fn path(&self) -> Result<String> {
        Ok(direct::DIRECT_COMPLETE_PATH.to_owned())
    }
    fn body(&self) -> Result<Bytes> {
        to_json(self)
    }
    fn validate(&self, now: i64) -> Result<(), ValidationErrors> {
        self.validate_at(now)
    }
}

impl WechatPayRequest for partner::CreateRequest {
    const METHOD: Method = Method::POST;
    type Response = ServiceOrder;
    fn path(&self) -> Result<String> {
        Ok(partner::SERVICEORDER_PATH.to_owned())
    }
    fn body(&self) -> Result<Bytes> {
        to_json(self)
    }
}

impl WechatPayRequest for partner::QueryRequest {
    const METHOD: Method = Method::GET;
    type Response = ServiceOrder;
    fn path(&self) -> Result<String> {
        Ok(format!(
            "{}{}",
            partner::SERVICEORDER_PATH,
            query_string(self.pairs())
        ))
    }
    fn body(&self) -> Result<Bytes> {
        Ok(Bytes::new())
    }
}

/// An operation on one order, `…/serviceorder/{out_order_no}/<action>`: the order number
/// goes in the path, never in the body.
#[derive(Debug, Clone, Copy)]
pub struct ForOrder<'a, B> {
    /// The merchant order number.
    pub out_order_no: &'a str,
    /// The body.
    pub body: &'a B,
}

impl<'a, B> ForOrder<'a, B> {
    /// `body` for order `out_order_no`.
    pub fn new(out_order_no: &'a str, body: &'a B) -> Self {
        Self { out_order_no, body }
    }
}

macro_rules! order_action {
    ($($body:ty => $action:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        impl WechatPayRequest for ForOrder<'_, $body> {
            const METHOD: Method = Method::POST;
            type Response = ();
            fn path(&self) -> Result<String> {
                Ok(format!("{}/{}/{}", partner::SERVICEORDER_PATH, encode_segment(self.out_order_no), $action))
            }
            fn body(&self) -> Result<Bytes> {
                to_json(self.body)
            }
        }
    )*};
}

order_action! {
    partner::CancelRequest => "cancel", "`POST …/{out_order_no}/cancel`, answers 204.";
    partner::CompleteRequest => "complete", "`POST …/{out_order_no}/complete`, answers 204.";
    partner::ModifyRequest => "modify", "`POST …/{out_order_no}/modify`, answers 204.";
    partner::PayRequest => "pay", "`POST …/{out_order_no}/pay`, answers 204.";
    partner::SyncRequest => "sync", "`POST …/{out_order_no}/sync`, answers 204.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_keep_case_and_are_percent_encoded() {
        assert_eq!(encode_segment("Ab-9_.~"), "Ab-9_.~");
        assert_eq!(encode_segment("a|b*c/d 中"), "a%7Cb%2Ac%2Fd%20%E4%B8%AD");
        let body = partner::PayRequest {
            sub_mchid: "1".into(),
            service_id: None,
        };
        assert_eq!(
            ForOrder::new("X|1", &body).path().unwrap(),
            "/v3/payscore/partner/serviceorder/X%7C1/pay"
        );
        assert!(
            !String::from_utf8(ForOrder::new("X|1", &body).body().unwrap().to_vec())
                .unwrap()
                .contains("out_order_no")
        );
    }
}
