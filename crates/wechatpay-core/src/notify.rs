//! Callbacks (notifications): the envelope WeChat Pay POSTs to `notify_url`, its
//! verification and decryption, and the answers a receiver gives.
//!
//! A receiver must:
//! 1. verify the signature headers over the **raw** body ([`Verifier::verify`]);
//! 2. check `resource.algorithm` is `AEAD_AES_256_GCM` and decrypt with the APIv3 key;
//! 3. answer **200 or 204** within 5 seconds when it has taken the event; otherwise answer
//!    4xx/5xx with [`failure_body`] (`{"code":"FAIL","message":…}`) and WeChat Pay retries.
//!
//! A `WECHATPAY/SIGNTEST/` probe fails step 1 like any bad signature; answer it with an
//! error status, never with success.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::aead::{ALGORITHM, ApiV3Key};
use crate::error::{DecryptError, VerifyError};
use crate::verify::{ResponseSignature, Verifier};

/// The callback body: `{"id","create_time","resource_type","event_type","summary","resource"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Event id, e.g. `EV-2018022511223320873`; de-duplicate on it.
    pub id: String,
    /// RFC 3339 creation time.
    pub create_time: String,
    /// `encrypt-resource`.
    pub resource_type: String,
    /// e.g. `PAYSCORE.USER_PAID`.
    pub event_type: String,
    /// Human summary, e.g. `支付成功`.
    #[serde(default)]
    pub summary: String,
    /// The encrypted payload.
    pub resource: EncryptedResource,
}

/// An `AEAD_AES_256_GCM` encrypted object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedResource {
    /// e.g. `payscore` (absent in some official examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_type: Option<String>,
    /// `AEAD_AES_256_GCM`.
    pub algorithm: String,
    /// base64 ciphertext‖tag.
    pub ciphertext: String,
    /// Associated data, possibly empty.
    #[serde(default)]
    pub associated_data: String,
    /// 12-character nonce.
    pub nonce: String,
}

impl EncryptedResource {
    /// Decrypts with the APIv3 key after checking the algorithm.
    ///
    /// # Errors
    /// [`DecryptError::Algorithm`] or any decryption failure.
    pub fn decrypt(&self, key: &ApiV3Key) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        if self.algorithm != ALGORITHM {
            return Err(DecryptError::Algorithm(self.algorithm.clone()));
        }
        key.decrypt(&self.nonce, &self.associated_data, &self.ciphertext)
    }

    /// Encrypts `plaintext` (the emulator side).
    ///
    /// # Errors
    /// [`DecryptError::NonceLength`] when `nonce` is not 12 bytes.
    pub fn encrypt(
        key: &ApiV3Key,
        original_type: Option<&str>,
        associated_data: &str,
        nonce: &str,
        plaintext: &[u8],
    ) -> Result<Self, DecryptError> {
        Ok(Self {
            original_type: original_type.map(str::to_owned),
            algorithm: ALGORITHM.to_owned(),
            ciphertext: key.encrypt(nonce, associated_data, plaintext)?,
            associated_data: associated_data.to_owned(),
            nonce: nonce.to_owned(),
        })
    }
}

/// A callback that passed verification, with its decrypted resource.
#[derive(Debug, Clone)]
pub struct VerifiedNotification {
    /// The envelope as received.
    pub envelope: Envelope,
    /// The decrypted resource (UTF-8 JSON).
    pub plaintext: String,
}

/// Why a callback was rejected. Each kind asks for a non-2xx answer
/// ([`status`](NotifyError::status), [`response_body`](NotifyError::response_body)), so
/// that WeChat Pay calls again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The signature headers are missing, stale, from an unknown key, or do not verify
    /// (including `WECHATPAY/SIGNTEST/` probes).
    #[error("callback signature refused{hint}", hint = raw_body_hint(.0))]
    Signature(#[from] VerifyError),
    /// The body is not a callback envelope.
    #[error("callback body is not a notification envelope")]
    Envelope(#[source] serde_json::Error),
    /// The resource could not be decrypted.
    #[error("callback resource does not decrypt")]
    Decrypt(#[from] DecryptError),
    /// The decrypted resource is not the JSON its event type promises.
    #[error("callback {event_type} payload is not the expected JSON")]
    Payload {
        /// The event type.
        event_type: String,
        /// What failed.
        #[source]
        source: serde_json::Error,
    },
}

/// For a signature that does not verify, the usual cause after a wrong key.
fn raw_body_hint(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::BadSignature { probe: false, .. } => {
            " (pass the raw body bytes exactly as received: parsing and re-serialising the JSON changes them; otherwise the key is wrong)"
        }
        _ => "",
    }
}

impl NotifyError {
    /// The status to answer: 401 for signature failures, 400 for bad bodies, 500 when
    /// this side cannot decrypt (a configuration problem worth a retry after fixing).
    #[must_use]
    pub fn status(&self) -> http::StatusCode {
        match self {
            NotifyError::Signature(_) => http::StatusCode::UNAUTHORIZED,
            NotifyError::Envelope(_) | NotifyError::Payload { .. } => http::StatusCode::BAD_REQUEST,
            NotifyError::Decrypt(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the callback was one of WeChat Pay's signature probes: a signature that
    /// begins `WECHATPAY/SIGNTEST/`, sent to check that the receiver verifies. It is
    /// refused like any bad signature (answer [`status`](NotifyError::status)); this only
    /// lets a receiver log it apart, as a check rather than an attack.
    #[must_use]
    pub fn is_signature_probe(&self) -> bool {
        matches!(
            self,
            NotifyError::Signature(VerifyError::BadSignature { probe: true, .. })
        )
    }

    /// The body to answer with: `{"code":"FAIL","message":"…"}`.
    #[must_use]
    pub fn response_body(&self) -> String {
        failure_body(&self.to_string())
    }
}

/// Verifies and decrypts a callback from its signature headers and raw body.
///
/// # Errors
/// [`NotifyError::Signature`] first (nothing is parsed before the signature verifies),
/// then [`NotifyError::Envelope`] and [`NotifyError::Decrypt`].
pub fn verify_and_decrypt(
    signature: &ResponseSignature,
    body: &[u8],
    verifier: &Verifier,
    key: &ApiV3Key,
    now: i64,
) -> Result<VerifiedNotification, NotifyError> {
    verifier.verify(signature, body, now)?;
    let envelope: Envelope = serde_json::from_slice(body).map_err(NotifyError::Envelope)?;
    let plaintext = envelope.resource.decrypt(key)?;
    let plaintext = String::from_utf8(plaintext.to_vec()).map_err(|_| DecryptError::Utf8)?;
    Ok(VerifiedNotification {
        envelope,
        plaintext,
    })
}

/// The body to send with a 4xx/5xx answer so that WeChat Pay retries:
/// `{"code":"FAIL","message":"…"}`.
#[must_use]
pub fn failure_body(message: &str) -> String {
    serde_json::json!({ "code": "FAIL", "message": message }).to_string()
}

/// Whether a receiver's HTTP status acknowledges a callback: 200 or 204.
#[must_use]
pub fn is_acknowledged(status: u16) -> bool {
    matches!(status, 200 | 204)
}
