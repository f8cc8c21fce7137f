//! The APIv2 signature (签名生成算法), HMAC-SHA256 form: what the Pay Score front-end
//! launches still use (`wxpayScoreDetail`, and the legacy signed `wxpayScoreUse`).
//!
//! 1. Take every parameter except `sign` whose value is non-empty.
//! 2. Sort by name, ASCII ascending, and join as `k1=v1&k2=v2…` with raw values.
//! 3. Append `&key=<APIv2 key>`.
//! 4. `sign = UPPERCASE_HEX(HMAC-SHA256(key = APIv2 key, message = that string))`.
//!
//! The key is the merchant's **APIv2** key (API密钥, 32 bytes): in partner mode the
//! service provider's. It is neither the APIv3 key nor the API private key; using either
//! makes the Pay Score page say “商户签名校验失败”.
//!
//! ```
//! use wechatpay_core::apiv2::{ApiV2Key, sign};
//! let key = ApiV2Key::new("192006250b4c09247ec02edce69f6a2d")?;
//! let params = [("appid", "wxd930ea5d5a258f4f"), ("mch_id", "10000100"),
//!               ("device_info", "1000"), ("body", "test"), ("nonce_str", "ibuaiVcKdpRxkhJA")];
//! assert_eq!(sign(&params, &key), "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6");
//! # Ok::<(), wechatpay_core::KeyError>(())
//! ```

use std::fmt;

use aws_lc_rs::{constant_time, hmac};
use zeroize::Zeroizing;

use crate::error::KeyError;

/// The merchant's APIv2 key (API密钥): 32 bytes. A type of its own, so that it cannot be
/// swapped with the APIv3 key. `Debug` never shows it; it is zeroized on drop.
#[derive(Clone)]
pub struct ApiV2Key(Zeroizing<String>);

impl fmt::Debug for ApiV2Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV2Key(** redacted **)")
    }
}

impl ApiV2Key {
    /// Takes the key as set in the merchant console: 32 printable ASCII characters
    /// (surrounding whitespace, as left by a text file, is trimmed).
    ///
    /// # Errors
    /// [`KeyError::ApiV2Key`] when it is not 32 printable ASCII characters.
    pub fn new(key: impl AsRef<str>) -> Result<Self, KeyError> {
        let k = key.as_ref().trim();
        if k.len() != 32 || !k.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError::ApiV2Key(k.chars().count()));
        }
        Ok(Self(Zeroizing::new(k.to_owned())))
    }

    /// Generates a random 32-character alphanumeric key.
    #[must_use]
    pub fn generate() -> Self {
        Self(Zeroizing::new(crate::RandomNonce::alphanumeric(32)))
    }

    /// The key text (to write a generated key to a configuration file).
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `stringA`: the non-empty parameters except `sign`, sorted by name, as `k=v&…` with raw
/// values (without the key).
#[must_use]
pub fn string_a(params: &[(&str, &str)]) -> String {
    let mut p: Vec<&(&str, &str)> = params
        .iter()
        .filter(|(k, v)| *k != "sign" && !v.is_empty())
        .collect();
    p.sort_by(|a, b| a.0.cmp(b.0));
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The whole string that is signed: [`string_a`] `+ "&key=" +` the key. Contains the key:
/// never log it.
#[must_use]
pub fn string_to_sign(params: &[(&str, &str)], key: &ApiV2Key) -> Zeroizing<String> {
    Zeroizing::new(format!("{}&key={}", string_a(params), key.0.as_str()))
}

/// The HMAC-SHA256 `sign` of `params`: 64 upper-case hex characters.
#[must_use]
pub fn sign(params: &[(&str, &str)], key: &ApiV2Key) -> String {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key.0.as_bytes());
    let tag = hmac::sign(&k, string_to_sign(params, key).as_bytes());
    tag.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

/// Whether `params` carry a `sign` that matches (compared in constant time, case of the
/// hex digits ignored).
#[must_use]
pub fn verify(params: &[(&str, &str)], key: &ApiV2Key) -> bool {
    let Some((_, given)) = params.iter().find(|(k, _)| *k == "sign") else {
        return false;
    };
    let expected = sign(params, key);
    constant_time::verify_slices_are_equal(
        expected.as_bytes(),
        given.to_ascii_uppercase().as_bytes(),
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_text_comes_back_only_when_asked() {
        let text = "192006250b4c09247ec02edce69f6a2d";
        assert_eq!(ApiV2Key::new(text).unwrap().expose(), text);
    }

    /// Lifecycle spec §3.5 / §7.1: the official APIv2 vector.
    #[test]
    fn the_official_vector() {
        let key = ApiV2Key::new("192006250b4c09247ec02edce69f6a2d").unwrap();
        let params = [
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ];
        assert_eq!(
            string_a(&params),
            "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA"
        );
        let s = sign(&params, &key);
        assert_eq!(
            s,
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
        let mut signed = params.to_vec();
        signed.push(("sign", &s));
        assert!(verify(&signed, &key));
        signed[0].1 = "wxd930ea5d5a258f4x";
        assert!(!verify(&signed, &key));
    }

    #[test]
    fn empty_values_and_sign_are_left_out_and_the_key_never_shows() {
        assert_eq!(
            string_a(&[("b", "2"), ("a", ""), ("sign", "X"), ("c", "3")]),
            "b=2&c=3"
        );
        let key = ApiV2Key::new("192006250b4c09247ec02edce69f6a2d").unwrap();
        assert_eq!(format!("{key:?}"), "ApiV2Key(** redacted **)");
        assert!(ApiV2Key::new("short").is_err());
    }
}
