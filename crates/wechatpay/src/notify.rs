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
use wechatpay_models::v3::payscore::partner::permissions::ServiceAuthorization;
use wechatpay_models::v3::refund::domestic::RefundNotice;
use wechatpay_models::{MchId, OpenId, ServiceId};

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

impl Client {
    /// A verifier for callbacks: it decrypts with the APIv3 key and trusts what the client
    /// trusts. Build it at start-up, so that a missing APIv3 key fails then, not at the
    /// first callback.
    ///
    /// # Errors
    /// [`BuildError::Missing`](crate::BuildError::Missing) without an APIv3 key.
    pub fn callback_verifier(&self) -> Result<CallbackVerifier, crate::error::BuildError> {
        let key = self
            .apiv3_key()
            .cloned()
            .ok_or(crate::error::BuildError::Missing(
                "apiv3_key (callbacks are encrypted with it)",
            ))?;
        Ok(CallbackVerifier {
            client: self.clone(),
            key,
        })
    }
}

impl CallbackVerifier {
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
/// `PAYSCORE.USER_CONFIRM`: the user confirmed a need-confirm order.
pub const PAYSCORE_USER_CONFIRM: &str = "PAYSCORE.USER_CONFIRM";
/// `PAYSCORE.USER_OPEN_SERVICE`: the user authorized the service.
pub const PAYSCORE_USER_OPEN_SERVICE: &str = "PAYSCORE.USER_OPEN_SERVICE";
/// `PAYSCORE.USER_CLOSE_SERVICE`: the user's authorization ended.
pub const PAYSCORE_USER_CLOSE_SERVICE: &str = "PAYSCORE.USER_CLOSE_SERVICE";

/// `REFUND.SUCCESS`: the money went back.
pub const REFUND_SUCCESS: &str = "REFUND.SUCCESS";
/// `REFUND.ABNORMAL`: the refund could not reach the user's account; handle it in the
/// merchant console or with apply-abnormal-refund.
pub const REFUND_ABNORMAL: &str = "REFUND.ABNORMAL";
/// `REFUND.CLOSED`: the refund was closed; apply again with a new `out_refund_no`.
pub const REFUND_CLOSED: &str = "REFUND.CLOSED";

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
    /// `PAYSCORE.USER_CONFIRM`: the order, `DOING` / `USER_CONFIRM`.
    PayscoreUserConfirm(Box<ServiceOrder>),
    /// `PAYSCORE.USER_OPEN_SERVICE`: the user authorized the service.
    PayscoreUserOpenService(ServiceAuthorization),
    /// `PAYSCORE.USER_CLOSE_SERVICE`: the user's authorization ended.
    PayscoreUserCloseService(ServiceAuthorization),
    /// `REFUND.SUCCESS`, `REFUND.ABNORMAL` or `REFUND.CLOSED` (see
    /// [`Notification::event_type`] or the notice's `refund_status`).
    Refund(Box<RefundNotice>),
    /// Any other event type, verified and decrypted, as JSON.
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
        let text = n.plaintext.as_str();
        let event = match n.envelope.event_type.as_str() {
            PAYSCORE_USER_PAID => {
                Event::PayscoreUserPaid(Box::new(serde_json::from_str(text).map_err(payload)?))
            }
            PAYSCORE_USER_CONFIRM => {
                Event::PayscoreUserConfirm(Box::new(serde_json::from_str(text).map_err(payload)?))
            }
            PAYSCORE_USER_OPEN_SERVICE => {
                Event::PayscoreUserOpenService(serde_json::from_str(text).map_err(payload)?)
            }
            PAYSCORE_USER_CLOSE_SERVICE => {
                Event::PayscoreUserCloseService(serde_json::from_str(text).map_err(payload)?)
            }
            REFUND_SUCCESS | REFUND_ABNORMAL | REFUND_CLOSED => {
                Event::Refund(Box::new(serde_json::from_str(text).map_err(payload)?))
            }
            _ => Event::Other(serde_json::from_str(text).map_err(payload)?),
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

    /// The order, for `PAYSCORE.USER_PAID` and `PAYSCORE.USER_CONFIRM`.
    #[must_use]
    pub fn service_order(&self) -> Option<&ServiceOrder> {
        match &self.event {
            Event::PayscoreUserPaid(o) | Event::PayscoreUserConfirm(o) => Some(o),
            _ => None,
        }
    }

    /// The authorization, for `PAYSCORE.USER_OPEN_SERVICE` and `PAYSCORE.USER_CLOSE_SERVICE`.
    #[must_use]
    pub fn service_authorization(&self) -> Option<&ServiceAuthorization> {
        match &self.event {
            Event::PayscoreUserOpenService(a) | Event::PayscoreUserCloseService(a) => Some(a),
            _ => None,
        }
    }

    /// The sub-merchant the event belongs to: route by it (all sub-merchants share the
    /// service provider's `notify_url`).
    #[must_use]
    pub fn sub_mchid(&self) -> Option<&str> {
        self.service_order()
            .and_then(|o| o.sub_mchid.as_ref())
            .or_else(|| self.service_authorization()?.sub_mchid.as_ref())
            .or_else(|| self.refund()?.sub_mchid.as_ref())
            .map(MchId::as_str)
            .or_else(|| self.other_str("sub_mchid"))
    }

    /// The refund, for `REFUND.*` events.
    #[must_use]
    pub fn refund(&self) -> Option<&RefundNotice> {
        match &self.event {
            Event::Refund(r) => Some(r),
            _ => None,
        }
    }

    /// The merchant order number (order events).
    #[must_use]
    pub fn out_order_no(&self) -> Option<&str> {
        self.service_order()
            .map(|o| o.out_order_no.as_str())
            .or_else(|| self.other_str("out_order_no"))
    }

    /// The service id.
    #[must_use]
    pub fn service_id(&self) -> Option<&str> {
        self.service_order()
            .and_then(|o| o.service_id.as_ref())
            .or_else(|| self.service_authorization()?.service_id.as_ref())
            .map(ServiceId::as_str)
            .or_else(|| self.other_str("service_id"))
    }

    /// The user: `openid`, else `sub_openid`.
    #[must_use]
    pub fn openid(&self) -> Option<&str> {
        let (openid, sub_openid) = match &self.event {
            Event::PayscoreUserPaid(o) | Event::PayscoreUserConfirm(o) => {
                (o.openid.as_ref(), o.sub_openid.as_ref())
            }
            Event::PayscoreUserOpenService(a) | Event::PayscoreUserCloseService(a) => {
                (a.openid.as_ref(), a.sub_openid.as_ref())
            }
            Event::Refund(_) => return None,
            Event::Other(_) => {
                return self
                    .other_str("openid")
                    .or_else(|| self.other_str("sub_openid"));
            }
        };
        openid.or(sub_openid).map(OpenId::as_str)
    }

    fn other_str(&self, key: &str) -> Option<&str> {
        match &self.event {
            Event::Other(v) => v.get(key)?.as_str(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use wechatpay_core::notify::{EncryptedResource, Envelope, VerifiedNotification};

    use super::*;

    fn decoded(event_type: &str, plaintext: &str) -> Notification {
        Notification::decode(VerifiedNotification {
            envelope: Envelope {
                id: "EV-1".into(),
                create_time: "2025-03-01T10:00:05+08:00".into(),
                resource_type: "encrypt-resource".into(),
                event_type: event_type.into(),
                summary: "授权成功".into(),
                resource: EncryptedResource {
                    original_type: None,
                    algorithm: "AEAD_AES_256_GCM".into(),
                    ciphertext: String::new(),
                    associated_data: String::new(),
                    nonce: String::new(),
                },
            },
            plaintext: plaintext.into(),
        })
        .unwrap()
    }

    /// Lifecycle spec §2.7: the partner plaintext, under both id spellings (S4 and S11).
    #[test]
    fn authorization_callbacks_route_by_sub_mchid_under_either_spelling() {
        let s4 = r#"{"appid":"wxd678efh567hg6787","mchid":"1900000001","sub_appid":"wxd678efh567hg6999","sub_mchid":"1900000109","service_id":"2002000000000558128851361561536","openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","user_service_status":"USER_OPEN_SERVICE","openorclose_time":"20250301100005","authorization_code":"1234323JKHDFE1243252"}"#;
        let s11 = s4
            .replace("\"mchid\"", "\"mch_id\"")
            .replace("\"sub_mchid\"", "\"sub_mch_id\"");
        for text in [s4, s11.as_str()] {
            let n = decoded(PAYSCORE_USER_OPEN_SERVICE, text);
            let Event::PayscoreUserOpenService(a) = &n.event else {
                panic!("{:?}", n.event)
            };
            assert_eq!(a.mchid.as_ref().map(MchId::as_str), Some("1900000001"));
            assert_eq!(n.sub_mchid(), Some("1900000109"));
            assert_eq!(n.service_id(), Some("2002000000000558128851361561536"));
            assert_eq!(n.openid(), Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
            // 2025-03-01 10:00:05 Beijing
            assert_eq!(a.openorclose_unix(), Some(1_740_794_405));
        }
        let closed = decoded(PAYSCORE_USER_CLOSE_SERVICE, s4);
        assert!(matches!(closed.event, Event::PayscoreUserCloseService(_)));
    }

    /// Lifecycle spec §3.6: the real USER_CONFIRM capture decodes as an order.
    #[test]
    fn user_confirm_is_an_order_and_unknown_events_stay_json() {
        let text = r#"{"appid":"wx0708325fba9","mchid":"156415191","service_id":"0000400000493379273041555","out_order_no":"201912052688130837476270080","service_introduction":"智慧零售","state":"DOING","state_description":"USER_CONFIRM","total_amount":0,"risk_fund":{"name":"ESTIMATE_ORDER_COST","amount":20000,"description":""},"time_range":{"start_time":"20191205135948"},"location":{"start_location":"开始服务地址"},"attach":"","notify_url":"https://xx.com/xxx","order_id":"1000000000201912051179181160016","need_collection":true,"openid":"oP1qG5BrYSZjZo2WUgrhQylci-3I"}"#;
        let n = decoded(PAYSCORE_USER_CONFIRM, text);
        assert_eq!(n.out_order_no(), Some("201912052688130837476270080"));
        assert_eq!(n.openid(), Some("oP1qG5BrYSZjZo2WUgrhQylci-3I"));
        assert_eq!(
            n.service_order().unwrap().state_description,
            Some(wechatpay_models::v3::payscore::StateDescription::UserConfirm)
        );
        let other = decoded(
            "PAYSCORE.SOMETHING_NEW",
            r#"{"sub_mchid":"1900000109","x":1}"#,
        );
        assert!(matches!(other.event, Event::Other(_)));
        assert_eq!(other.sub_mchid(), Some("1900000109"));
    }
}
