//! PEM and DER keys and certificates from files and configuration: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_core::{Certificate, PrivateKey, PublicKey};

fuzz_target!(|data: &[u8]| {
    let _ = PublicKey::from_spki_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PrivateKey::from_pem(text);
        let _ = PublicKey::from_pem(text);
        let _ = Certificate::from_pem(text);
    }
});
