//! The callback envelope and its AEAD resource, as parsed after the signature verified:
//! any JSON, any nonce, associated data and ciphertext. Never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_core::ApiV3Key;
use wechatpay_core::notify::Envelope;

fuzz_target!(|data: &[u8]| {
    let key = ApiV3Key::new("0123456789abcdef0123456789abcdef").unwrap();
    if let Ok(n) = serde_json::from_slice::<Envelope>(data) {
        let _ = n.resource.decrypt(&key);
    }
    // The raw AEAD entry points with arbitrary parts.
    let parts: Vec<&[u8]> = data.splitn(3, |&b| b == 0).collect();
    if let [nonce, aad, rest] = parts[..] {
        let (nonce, aad) = (String::from_utf8_lossy(nonce), String::from_utf8_lossy(aad));
        let _ = key.open(&nonce, &aad, rest);
        let _ = key.decrypt(&nonce, &aad, &String::from_utf8_lossy(rest));
    }
});
