//! Receiving callbacks (notifications).
//!
//! Hand the raw headers and body to [`Client::verify_notification`](crate::Client::verify_notification):
//! it checks the signature and timestamp, decrypts the resource with the APIv3 key and
//! decodes it. Then answer:
//!
//! * **success**: HTTP 200 or 204 (no body needed), within 5 seconds — WeChat decides by
//!   the status;
//! * **failure**: the status and body of [`NotifyError::status`] and
//!   [`NotifyError::response_body`] (4xx/5xx with `{"code":"FAIL","message":…}`), and
//!   WeChat Pay calls again later (15 s, 15 s, 30 s, 3 min, 30 min …).
//!
//! Callbacks arrive at least once: de-duplicate on `out_order_no` + `event_type`.
//! `examples/axum_receiver.rs` is a complete receiver.

use http::StatusCode;
use wechatpay_core::{DecryptError, VerifyError};
use wechatpay_models::v3::payscore::ServiceOrder;

/// `PAYSCORE.USER_PAID`: the deduction succeeded.
pub const PAYSCORE_USER_PAID: &str = "PAYSCORE.USER_PAID";

/// A verified, decrypted callback.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Event id.
    pub id: String,
    /// RFC 3339 creation time.
    pub create_time: String,
    /// e.g. `PAYSCORE.USER_PAID`.
    pub event_type: String,
    /// e.g. `支付成功`.
    pub summary: String,
    /// The decrypted resource, as received.
    pub plaintext: String,
    /// The decoded resource.
    pub event: Event,
}

/// The decoded resource of a callback.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// `PAYSCORE.USER_PAID`: the order, normally `DONE` with `collection.state` `USER_PAID`.
    PayscoreUserPaid(Box<ServiceOrder>),
    /// Any other event type, as JSON.
    Other(serde_json::Value),
}

impl Notification {
    pub(crate) fn decode(
        n: wechatpay_core::notify::VerifiedNotification,
    ) -> Result<Self, NotifyError> {
        let payload = |e: serde_json::Error| NotifyError::Payload {
            event_type: n.envelope.event_type.clone(),
            message: e.to_string(),
        };
        let event = if n.envelope.event_type == PAYSCORE_USER_PAID {
            Event::PayscoreUserPaid(Box::new(
                serde_json::from_str(&n.plaintext).map_err(payload)?,
            ))
        } else {
            Event::Other(serde_json::from_str(&n.plaintext).map_err(payload)?)
        };
        Ok(Self {
            id: n.envelope.id,
            create_time: n.envelope.create_time,
            event_type: n.envelope.event_type,
            summary: n.envelope.summary,
            plaintext: n.plaintext,
            event,
        })
    }

    /// The order, for `PAYSCORE.USER_PAID`.
    #[must_use]
    pub fn service_order(&self) -> Option<&ServiceOrder> {
        match &self.event {
            Event::PayscoreUserPaid(o) => Some(o),
            Event::Other(_) => None,
        }
    }
}

/// Why a callback was rejected. Each kind asks for a retry with a non-2xx answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The client has no APIv3 key to decrypt with.
    #[error("no APIv3 key configured: set ClientBuilder::apiv3_key to receive callbacks")]
    NoApiV3Key,
    /// Signature headers missing, stale, from an unknown key, or not verifying (including
    /// `WECHATPAY/SIGNTEST/` probes).
    #[error("callback signature: {0}")]
    Signature(#[from] VerifyError),
    /// The body is not a notification envelope.
    #[error("callback envelope: {0}")]
    Envelope(String),
    /// The resource does not decrypt with the APIv3 key.
    #[error("callback resource: {0}")]
    Decrypt(#[from] DecryptError),
    /// The decrypted resource is not the expected JSON.
    #[error("callback {event_type} payload: {message}")]
    Payload {
        /// The event type.
        event_type: String,
        /// What failed.
        message: String,
    },
}

impl From<wechatpay_core::notify::NotifyError> for NotifyError {
    fn from(e: wechatpay_core::notify::NotifyError) -> Self {
        use wechatpay_core::notify::NotifyError as E;
        match e {
            E::Signature(s) => Self::Signature(s),
            E::Decrypt(d) => Self::Decrypt(d),
            E::Envelope(m) => Self::Envelope(m),
            other => Self::Envelope(other.to_string()),
        }
    }
}

impl NotifyError {
    /// The status to answer: 401 for signature failures, 400 for bad bodies, 500 when
    /// this side cannot decrypt (a configuration problem worth a retry after fixing).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            NotifyError::Signature(_) => StatusCode::UNAUTHORIZED,
            NotifyError::Envelope(_) | NotifyError::Payload { .. } => StatusCode::BAD_REQUEST,
            NotifyError::NoApiV3Key | NotifyError::Decrypt(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body to answer with: `{"code":"FAIL","message":"…"}`.
    #[must_use]
    pub fn response_body(&self) -> String {
        wechatpay_core::notify::failure_body(&self.to_string())
    }
}
