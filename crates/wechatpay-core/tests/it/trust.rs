//! What the protocol layer trusts and shows: the Authorization header, header length
//! bounds, the verifier's trusted keys and its preferred serial.

use super::*;

#[test]
fn the_authorization_header_is_set_sensitive_and_debug_hides_the_signature() {
    let key = PrivateKey::from_pem(&file("merchant_key.pem")).unwrap();
    let auth = SignableRequest::new("GET", "/v3/certificates", b"")
        .sign("1900000109", "SERIAL", &key, 1_764_146_249, "NONCE")
        .unwrap();
    let mut h = http::HeaderMap::new();
    auth.apply_to(&mut h);
    let v = &h[http::header::AUTHORIZATION];
    assert_eq!(v.to_str().unwrap(), auth.to_string());
    assert!(v.is_sensitive());
    let shown = format!("{auth:?}");
    assert!(
        shown.contains("mchid: \"1900000109\"") && shown.contains("** redacted **"),
        "{shown}"
    );
    assert!(!shown.contains(&auth.signature), "{shown}");
}

#[test]
fn header_lengths_are_bounded_exactly() {
    let v = vectors();
    let c = &cases(&v, "notifications")[0];
    let headers = |nonce: &str| {
        let mut h = http::HeaderMap::new();
        for (k, val) in c["headers"].as_object().unwrap() {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                val.as_str().unwrap().parse().unwrap(),
            );
        }
        h.insert("Wechatpay-Nonce", nonce.parse().unwrap());
        h
    };
    assert!(ResponseSignature::from_headers(&headers(&"n".repeat(128))).is_ok());
    assert!(matches!(
        ResponseSignature::from_headers(&headers(&"n".repeat(129))),
        Err(VerifyError::MalformedHeader {
            name: "Wechatpay-Nonce",
            ..
        })
    ));
}

#[test]
fn the_verifier_says_what_it_trusts() {
    let v = vectors();
    assert!(Verifier::new().is_empty());
    assert_eq!(Verifier::new().max_skew_secs(), 300);
    assert_eq!(Verifier::new().with_max_skew(42).max_skew_secs(), 42);
    let ver = verifier(&v);
    let id = s(&v, "platform_public_key_id");
    let serial = Certificate::from_pem(&file("platform_cert.pem")).unwrap();
    assert!(!ver.is_empty());
    assert!(ver.contains(id) && ver.contains(serial.serial()));
    assert!(!ver.contains("PUB_KEY_ID_0000"));
    let mut expected = vec![id, serial.serial()];
    expected.sort_unstable();
    assert_eq!(ver.serials(), expected);
}

#[test]
fn the_preferred_serial_is_the_public_key_else_the_newest_valid_certificate() {
    let cert = |path: &str| Certificate::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap();
    let newest = cert(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/high_bit_serial_cert.pem"
    ));
    let (platform, merchant) = (
        Certificate::from_pem(&file("platform_cert.pem")).unwrap(),
        Certificate::from_pem(&file("merchant_cert.pem")).unwrap(),
    );
    let mut ver = Verifier::new();
    for c in [&newest, &platform, &merchant] {
        ver.add_certificate(c.clone());
    }
    let at = |y: i32| {
        time::Date::from_calendar_date(y, time::Month::December, 1)
            .unwrap()
            .midnight()
            .assume_utc()
            .unix_timestamp()
    };
    assert_eq!(ver.preferred_serial(at(2026)), Some(newest.serial()));
    // Before the newest is valid, two certificates from 2025-01-01 tie: the smaller serial.
    assert_eq!(platform.not_before(), merchant.not_before());
    assert!(platform.serial() < merchant.serial());
    assert_eq!(ver.preferred_serial(at(2025)), Some(platform.serial()));
    // Whatever order the store keeps them in (each store hashes differently).
    for _ in 0..16 {
        let mut other = Verifier::new();
        for c in [&merchant, &platform] {
            other.add_certificate(c.clone());
        }
        assert_eq!(other.preferred_serial(at(2025)), Some(platform.serial()));
    }
    assert_eq!(ver.preferred_serial(at(2040)), None, "all expired");
    let serials: Vec<&str> = ver.certificates().iter().map(|c| c.serial()).collect();
    assert_eq!(
        serials,
        [platform.serial(), merchant.serial(), newest.serial()]
    );
    assert_eq!(
        ver.public_key(merchant.serial()).unwrap().to_pem(),
        file("merchant_pub.pem")
    );
    assert!(ver.public_key("PUB_KEY_ID_0000").is_none());

    let v = vectors();
    let id = s(&v, "platform_public_key_id");
    ver.add_public_key(id, PublicKey::from_pem(&file("platform_pub.pem")).unwrap());
    assert_eq!(ver.preferred_serial(at(2026)), Some(id));
    assert_eq!(ver.preferred_serial(at(2040)), Some(id));
    assert_eq!(
        ver.public_key(id).unwrap().to_pem(),
        file("platform_pub.pem")
    );
}
