//! Callbacks to queue: the envelope WeChat Pay would send, its resource encrypted with the
//! provider's APIv3 key, saved in the transaction that causes it (the worker delivers it).

use wechatpay_core::RandomNonce;
use wechatpay_core::notify::{EncryptedResource, Envelope};

use crate::AppState;
use crate::store::{Delivery, StoreError};
use crate::util::{random_digits, rfc3339_beijing};

/// Why a callback, and the change that causes it, could not be queued (the worker logs it
/// and tries again on its next tick).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallbackError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("service provider {0} is no longer configured")]
    ProviderGone(String),
    #[error("cannot encrypt the callback")]
    Encrypt(#[source] wechatpay_core::DecryptError),
    #[error("cannot serialise the callback")]
    Json(#[from] serde_json::Error),
}

/// A callback to queue: `event_type` about `about` (an order's `out_order_no` or an
/// authorization's code) for provider `sp_mchid`, its resource `plaintext` encrypted
/// with the provider's APIv3 key. It is saved in the transaction that causes it.
pub(crate) fn callback(
    s: &AppState,
    sp_mchid: &str,
    about: &str,
    notify_url: String,
    event: (&str, &str),
    plaintext: &impl serde::Serialize,
) -> Result<Delivery, CallbackError> {
    let (event_type, summary) = event;
    let w = s.world();
    let now = s.now_ms();
    let provider = w
        .providers
        .get(sp_mchid)
        .ok_or_else(|| CallbackError::ProviderGone(sp_mchid.to_owned()))?;
    let resource = EncryptedResource::encrypt(
        &provider.apiv3_key,
        Some(if event_type.starts_with("REFUND.") {
            "refund"
        } else {
            "payscore"
        }),
        &w.behaviour.callback_associated_data,
        &RandomNonce::alphanumeric(12),
        &serde_json::to_vec(plaintext)?,
    )
    .map_err(CallbackError::Encrypt)?;
    let envelope = Envelope {
        id: format!("EV-{}", random_digits(20)),
        create_time: rfc3339_beijing(now / 1000),
        resource_type: "encrypt-resource".into(),
        event_type: event_type.into(),
        summary: summary.into(),
        resource,
    };
    Ok(Delivery {
        id: 0,
        event_id: envelope.id.clone(),
        sp_mchid: sp_mchid.to_owned(),
        out_order_no: about.to_owned(),
        notify_url,
        event_type: envelope.event_type.clone(),
        body: serde_json::to_string(&envelope)?,
        attempts: 0,
        state: "pending".into(),
        next_attempt_ms: Some(now),
        created_ms: now,
    })
}
