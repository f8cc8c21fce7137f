//! Sans-IO implementation of the WeChat Pay APIv3 security layer.
//!
//! This crate holds the protocol and nothing else: no HTTP client, no runtime, no web
//! framework. The [`wechatpay`](https://docs.rs/wechatpay) client and the
//! `wechatpay-sandbox` emulator both build on it, so both sides of every exchange share
//! one implementation.
//!
//! | What | Where |
//! | --- | --- |
//! | Request signing (`WECHATPAY2-SHA256-RSA2048`) | [`sign`]: [`SignableRequest`], [`Authorization`] |
//! | Response and callback verification | [`verify`]: [`ResponseSignature`], [`Verifier`] |
//! | `AEAD_AES_256_GCM` (callbacks, certificates) | [`ApiV3Key`] |
//! | Callback envelopes | [`notify`] |
//! | Platform certificate download | [`certificates`] |
//! | Bill files: gunzip, size limit, SHA-1 check while streaming | [`file`](mod@file) |
//! | RSA-OAEP sensitive fields, JSAPI `paySign` | [`PublicKey::encrypt_oaep`], [`paysign`] |
//! | APIv2 HMAC-SHA256 `sign` (Pay Score front-end launches) | [`apiv2`] |
//! | Time and nonces | [`Clock`], [`NonceSource`] |
//!
//! # Example: sign a request and verify it
//!
//! ```
//! use wechatpay_core::{PrivateKey, SignableRequest};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = PrivateKey::from_pem(include_str!("../../../tests/vectors/merchant_key.pem"))?;
//! let request = SignableRequest::new("GET", "/v3/certificates", b"");
//! let auth = request.sign("1900000109", "4096EE819812D60B81028D52CCC299E81E260B72", &key,
//!                         1764146249, "xuzl4MzrcJkruEgsEHCzRw1ohS8kz247")?;
//! assert!(auth.to_string().starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\""));
//! auth.verify(&request, &key.public_key()?)?;
//! # Ok(())
//! # }
//! ```
//!
//! The [`manual`] module explains the protocol and the reasons behind the defaults.

pub mod aead;
pub mod apiv2;
pub mod certificates;
mod clock;
pub mod digest;
mod error;
pub mod file;
mod gcm;
mod keys;
pub mod manual;
pub mod notify;
pub mod paysign;
pub mod sign;
pub mod sm4gcm;
pub mod verify;

pub use aead::ApiV3Key;
pub use clock::{Clock, FixedClock, FixedNonce, NonceSource, RandomNonce, SystemClock};
pub use error::{
    AuthorizationError, DecryptError, ErrorChain, KeyError, KeyProblem, SignError, VerifyError,
};
pub use keys::{Certificate, PrivateKey, PublicKey, RsaOperations, rsa_operations};
pub use sign::{Authorization, SignableRequest};
pub use verify::{ResponseSignature, Verifier};

/// The only signature type WeChat Pay APIv3 uses for RSA: the `Authorization` scheme and
/// the value of `Wechatpay-Signature-Type`.
pub const SIGNATURE_TYPE: &str = "WECHATPAY2-SHA256-RSA2048";

/// The default tolerance, in seconds, between a signed timestamp and the local clock.
pub const DEFAULT_MAX_SKEW_SECS: u64 = 300;

/// Header names used by the protocol, in their canonical spelling.
pub mod headers {
    /// Response/callback signing time (unix seconds).
    pub const TIMESTAMP: &str = "Wechatpay-Timestamp";
    /// Response/callback signing nonce.
    pub const NONCE: &str = "Wechatpay-Nonce";
    /// Response/callback signature (base64).
    pub const SIGNATURE: &str = "Wechatpay-Signature";
    /// Certificate serial or `PUB_KEY_ID_…` of the key that signed (or that the client trusts).
    pub const SERIAL: &str = "Wechatpay-Serial";
    /// `WECHATPAY2-SHA256-RSA2048`.
    pub const SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";
    /// WeChat Pay's request id.
    pub const REQUEST_ID: &str = "Request-ID";
}
