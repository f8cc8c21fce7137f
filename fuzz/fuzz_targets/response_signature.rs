//! Response and callback headers, then verification: any header set and body, against a
//! verifier that trusts the test vectors' platform key. Never panics; never accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_core::{PublicKey, ResponseSignature, Verifier};

fn verifier() -> &'static Verifier {
    static V: std::sync::OnceLock<Verifier> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let mut v = Verifier::new();
        let key =
            PublicKey::from_pem(include_str!("../../tests/vectors/platform_pub.pem")).unwrap();
        v.add_public_key("PUB_KEY_ID_0114232134912410000000000000", key);
        v
    })
}

fuzz_target!(|data: &[u8]| {
    // Header lines until an empty line, then the body.
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or(data.len());
    let (head, body) = (&data[..split], data.get(split + 2..).unwrap_or_default());
    let mut h = http::HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(&line[..colon]),
            http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        h.append(name, value);
    }
    if let Ok(sig) = ResponseSignature::from_headers(&h) {
        let _ = sig.message(body);
        // Random bytes never carry a valid RSA signature.
        assert!(verifier().verify(&sig, body, 1_764_146_249).is_err());
    }
});
