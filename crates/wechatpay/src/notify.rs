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

pub use wechatpay_core::notify::NotifyError;
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
        let payload = |source| NotifyError::Payload {
            event_type: n.envelope.event_type.clone(),
            source,
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
