//! The `/v3/certificates` answer: parsed and decrypted with an APIv3 key. Never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_core::{ApiV3Key, certificates};

fuzz_target!(|data: &[u8]| {
    let key = ApiV3Key::new("0123456789abcdef0123456789abcdef").unwrap();
    let _ = certificates::decrypt(data, &key);
});
