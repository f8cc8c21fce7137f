//! Small helpers: ids and times as WeChat Pay writes them.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

pub(crate) use wechatpay_core::certificates::rfc3339_beijing;
pub(crate) use wechatpay_models::validate::payscore_time;

/// Upper-case hex of `n` random bytes.
pub(crate) fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    let _ = SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// A random decimal string of `n` digits (not starting with 0).
pub(crate) fn random_digits(n: usize) -> String {
    let mut b = vec![0u8; n];
    let _ = SystemRandom::new().fill(&mut b);
    b.iter()
        .enumerate()
        .map(|(i, x)| char::from(if i == 0 { b'1' + x % 9 } else { b'0' + x % 10 }))
        .collect()
}

/// `Request-ID` in the current format: hex, `-`, business error number (0 on success).
pub(crate) fn request_id(code: u32) -> String {
    format!("{}-{code}", random_hex(22))
}

/// The start of a Beijing-time day, unix ms.
pub(crate) fn beijing_midnight_ms(day: time::Date) -> i64 {
    (day.midnight().assume_utc().unix_timestamp() - 8 * 3600) * 1000
}

/// A fresh opaque token: base64url, about 230 characters, like the documented examples
/// of `apply_permissions_token` and `package`.
pub(crate) fn token() -> String {
    let mut b = [0u8; 172];
    let _ = aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut b);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b)
}
