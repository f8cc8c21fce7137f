//! The `Authorization` header parser the sandbox runs on every request: never panics, and
//! what it accepts prints back to a header it accepts again, equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_core::Authorization;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = text.parse::<Authorization>() {
        let again: Authorization = a
            .to_string()
            .parse()
            .expect("a printed Authorization parses");
        assert_eq!(again.to_string(), a.to_string());
    }
});
