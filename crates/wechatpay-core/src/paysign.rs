//! `paySign` for launching a payment from JSAPI, mini-programs and apps (调起支付签名).
//!
//! Same key and algorithm as request signing, over four lines:
//! `appId\ntimeStamp\nnonceStr\npackage\n`. `signType` is `RSA` and not signed.

use crate::error::SignError;
use crate::keys::PrivateKey;

/// The message that is signed.
#[must_use]
pub fn message(appid: &str, timestamp: &str, nonce: &str, package: &str) -> String {
    format!("{appid}\n{timestamp}\n{nonce}\n{package}\n")
}

/// The base64 `paySign` for JSAPI / mini-program (`package` = `prepay_id=…`) or APP
/// (fourth line = the prepay id).
///
/// # Errors
/// [`SignError`] when the crypto library refuses to sign.
pub fn pay_sign(
    key: &PrivateKey,
    appid: &str,
    timestamp: &str,
    nonce: &str,
    package: &str,
) -> Result<String, SignError> {
    key.sign(message(appid, timestamp, nonce, package).as_bytes())
}
