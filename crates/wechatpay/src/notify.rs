//! Receiving callbacks (notifications).
//!
//! Build a [`CallbackVerifier`] at start-up with
//! [`Client::callback_verifier`](crate::Client::callback_verifier) (it fails then if the
//! APIv3 key is missing), and hand it the raw headers and body of each callback: it checks
//! the signature and timestamp, decrypts the resource with the APIv3 key and decodes it.
//! Then answer:
//!
//! * **success**: HTTP 200 or 204 (no body needed), within 5 seconds — WeChat decides by
//!   the status;
//! * **failure**: the status and body of [`NotifyError::status`] and
//!   [`NotifyError::response_body`] (4xx/5xx with `{"code":"FAIL","message":…}`), and
//!   WeChat Pay calls again later (15 s, 15 s, 30 s, 3 min, 30 min …).
//!
//! Callbacks arrive at least once: de-duplicate on `out_order_no` + `event_type`.
//! `examples/axum_receiver.rs` is a complete receiver.

use std::fmt;

use http::HeaderMap;
pub use wechatpay_core::notify::NotifyError;
use wechatpay_core::{ApiV3Key, ResponseSignature};
use wechatpay_models::v3::payscore::ServiceOrder;

use crate::Client;

/// Verifies, decrypts and decodes callbacks for one merchant. Cheap to clone; it shares
/// the client's trust store (so downloaded certificates count) and clock.
#[derive(Clone)]
pub struct CallbackVerifier {
    client: Client,
    key: ApiV3Key,
}

impl fmt::Debug for CallbackVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackVerifier")
            .field("mchid", &self.client.mchid())
            .finish_non_exhaustive()
    }
}

impl CallbackVerifier {
    pub(crate) fn new(client: Client, key: ApiV3Key) -> Self {
        Self { client, key }
    }

    /// Verifies a callback from its headers and **raw** body bytes (exactly as received:
    /// parsing and re-serialising the JSON breaks the signature), decrypts it and decodes
    /// it (`PAYSCORE.USER_PAID` into a [`ServiceOrder`]).
    ///
    /// # Errors
    /// A [`NotifyError`] of its own kind for each failure; answer with its
    /// [`status`](NotifyError::status) and [`response_body`](NotifyError::response_body).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Notification, NotifyError> {
        let sig = ResponseSignature::from_headers(headers)?;
        let n = {
            let v = self
                .client
                .inner
                .verifier
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            wechatpay_core::notify::verify_and_decrypt(
                &sig,
                body,
                &v,
                &self.key,
                self.client.now(),
            )?
        };
        Notification::decode(n)
    }
}

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
