//! Every applicable case of `tests/vectors/vectors.json` (copied byte for byte from the
//! independent vector set).

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use wechatpay_core::{
    ApiV3Key, Certificate, PrivateKey, PublicKey, ResponseSignature, SignableRequest, Verifier,
    VerifyError, certificates, notify, paysign,
};

mod properties;
mod trust;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/");

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}vectors.json")).unwrap()).unwrap()
}

fn file(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("field {k}"))
}

fn cases<'a>(v: &'a Value, k: &str) -> &'a Vec<Value> {
    let c = v[k].as_array().unwrap();
    assert!(!c.is_empty());
    c
}

fn verifier(v: &Value) -> Verifier {
    let mut ver = Verifier::new();
    ver.add_public_key(
        s(v, "platform_public_key_id"),
        PublicKey::from_pem(&file("platform_pub.pem")).unwrap(),
    );
    ver.add_certificate(Certificate::from_pem(&file("platform_cert.pem")).unwrap());
    ver
}

fn now(v: &Value) -> i64 {
    let t = &v["reference_time"];
    t.as_i64()
        .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
        .unwrap()
}

fn header_sig(h: &Value) -> ResponseSignature {
    let mut map = http::HeaderMap::new();
    for (k, val) in h.as_object().unwrap() {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            val.as_str().unwrap().parse().unwrap(),
        );
    }
    ResponseSignature::from_headers(&map).unwrap()
}

#[test]
fn request_signing() {
    let v = vectors();
    let key = PrivateKey::from_pem(&file("merchant_key.pem")).unwrap();
    let pkcs1 = PrivateKey::from_pem(&file("merchant_key_pkcs1.pem")).unwrap();
    for c in cases(&v, "request_signing") {
        let name = s(c, "name");
        let ts: i64 = s(c, "timestamp").parse().unwrap();
        let req = SignableRequest::new(s(c, "method"), s(c, "url"), s(c, "body").as_bytes());
        assert_eq!(
            String::from_utf8(req.message(ts, s(c, "nonce"))).unwrap(),
            s(c, "message"),
            "{name}"
        );
        let auth = req
            .sign(
                s(&v, "mchid"),
                s(&v, "merchant_serial"),
                &key,
                ts,
                s(c, "nonce"),
            )
            .unwrap();
        assert_eq!(auth.signature, s(c, "signature"), "{name}");
        assert_eq!(auth.to_string(), s(c, "authorization"), "{name}");
        assert_eq!(
            pkcs1.sign(&req.message(ts, s(c, "nonce"))).unwrap(),
            s(c, "signature"),
            "{name} pkcs1"
        );
        let parsed: wechatpay_core::Authorization = s(c, "authorization").parse().unwrap();
        assert_eq!(parsed, auth, "{name}");
        parsed
            .verify(
                &req,
                &PublicKey::from_pem(&file("merchant_pub.pem")).unwrap(),
            )
            .unwrap();
    }
}

#[test]
fn response_verification() {
    let v = vectors();
    let ver = verifier(&v);
    for c in cases(&v, "response_verification") {
        let name = s(c, "name");
        let sig = ResponseSignature {
            timestamp: s(c, "timestamp").into(),
            nonce: s(c, "nonce").into(),
            serial: s(c, "serial").into(),
            signature: s(c, "signature").into(),
        };
        assert_eq!(
            sig.message(s(c, "body").as_bytes()),
            s(c, "message").as_bytes(),
            "{name}"
        );
        let got = ver.verify(&sig, s(c, "body").as_bytes(), now(&v));
        match s(c, "reason") {
            "ok" => assert_eq!(got, Ok(()), "{name}"),
            "unknown_serial" => assert!(
                matches!(got, Err(VerifyError::UnknownSerial(_))),
                "{name}: {got:?}"
            ),
            "probe" => assert!(
                matches!(got, Err(VerifyError::BadSignature { probe: true, .. })),
                "{name}: {got:?}"
            ),
            "bad_signature" | "malformed_signature" => {
                assert!(
                    matches!(got, Err(VerifyError::BadSignature { probe: false, .. })),
                    "{name}: {got:?}"
                );
            }
            r => panic!("{name}: unexpected reason {r}"),
        }
        assert_eq!(got.is_ok(), c["valid"].as_bool().unwrap(), "{name}");
    }
}

#[test]
fn freshness_is_enforced_and_configurable() {
    let v = vectors();
    let c = &cases(&v, "response_verification")[0];
    let sig = ResponseSignature {
        timestamp: s(c, "timestamp").into(),
        nonce: s(c, "nonce").into(),
        serial: s(c, "serial").into(),
        signature: s(c, "signature").into(),
    };
    let ts: i64 = s(c, "timestamp").parse().unwrap();
    let body = s(c, "body").as_bytes();
    let ver = verifier(&v);
    assert!(ver.verify(&sig, body, ts + 300).is_ok());
    assert!(ver.verify(&sig, body, ts - 300).is_ok());
    assert!(matches!(
        ver.verify(&sig, body, ts + 301),
        Err(VerifyError::StaleTimestamp { skew_secs: 301, .. })
    ));
    assert!(matches!(
        ver.verify(&sig, body, ts - 301),
        Err(VerifyError::StaleTimestamp {
            skew_secs: -301,
            ..
        })
    ));
    assert!(
        verifier(&v)
            .with_max_skew(1000)
            .verify(&sig, body, ts + 900)
            .is_ok()
    );
}

#[test]
fn expired_platform_certificate_is_rejected() {
    let v = vectors();
    let c = cases(&v, "response_verification")
        .iter()
        .find(|c| s(c, "name") == "valid_200_platform_cert")
        .unwrap();
    let sig = ResponseSignature {
        timestamp: "2051222500".into(),
        nonce: s(c, "nonce").into(),
        serial: s(c, "serial").into(),
        signature: s(c, "signature").into(),
    };
    assert_eq!(
        verifier(&v).verify(&sig, s(c, "body").as_bytes(), 2_051_222_500),
        Err(VerifyError::CertificateExpired(s(c, "serial").into()))
    );
}

#[test]
fn aead_aes_256_gcm() {
    let v = vectors();
    for c in cases(&v, "aead_aes_256_gcm") {
        let name = s(c, "name");
        let key = ApiV3Key::new(s(c, "key")).unwrap();
        let got = key.decrypt(s(c, "nonce"), s(c, "associated_data"), s(c, "ciphertext"));
        match s(c, "reason") {
            "ok" => {
                assert_eq!(&got.unwrap()[..], s(c, "plaintext").as_bytes(), "{name}");
                let again = key
                    .encrypt(
                        s(c, "nonce"),
                        s(c, "associated_data"),
                        s(c, "plaintext").as_bytes(),
                    )
                    .unwrap();
                assert_eq!(again, s(c, "ciphertext"), "{name}: GCM is deterministic");
            }
            "tag_mismatch" => assert_eq!(
                got.unwrap_err(),
                wechatpay_core::DecryptError::Failed,
                "{name}"
            ),
            "too_short" => assert_eq!(
                got.unwrap_err(),
                wechatpay_core::DecryptError::TooShort,
                "{name}"
            ),
            r => panic!("{name}: unexpected reason {r}"),
        }
    }
}

#[test]
fn notifications() {
    let v = vectors();
    let ver = verifier(&v);
    let key = ApiV3Key::new(file("apiv3_key.txt")).unwrap();
    for c in cases(&v, "notifications") {
        let name = s(c, "name");
        let sig = header_sig(&c["headers"]);
        assert_eq!(
            sig.message(s(c, "body").as_bytes()),
            s(c, "message").as_bytes(),
            "{name}"
        );
        let got = notify::verify_and_decrypt(&sig, s(c, "body").as_bytes(), &ver, &key, now(&v));
        // What a receiver answers: 401 for signatures, 500 when it cannot decrypt, with a
        // FAIL body carrying the reason (and the raw-body hint for a plain bad signature).
        if let Err(e) = &got {
            let status = match s(c, "reason") {
                "decrypt_failed" => 500,
                _ => 401,
            };
            assert_eq!(e.status().as_u16(), status, "{name}");
            let body: Value = serde_json::from_str(&e.response_body()).unwrap();
            assert_eq!(body["code"], "FAIL");
            assert_eq!(body["message"], e.to_string());
            assert_eq!(
                e.to_string().contains("pass the raw body bytes"),
                s(c, "reason") == "bad_signature",
                "{name}: {e}"
            );
        }
        match s(c, "reason") {
            "ok" => {
                let n = got.unwrap();
                assert_eq!(n.plaintext, s(c, "plaintext"), "{name}");
                assert_eq!(n.envelope.event_type, "PAYSCORE.USER_PAID");
            }
            "bad_signature" => assert!(
                matches!(
                    got,
                    Err(notify::NotifyError::Signature(VerifyError::BadSignature {
                        probe: false,
                        ..
                    }))
                ),
                "{name}"
            ),
            "probe" => assert!(
                matches!(
                    got,
                    Err(notify::NotifyError::Signature(VerifyError::BadSignature {
                        probe: true,
                        ..
                    }))
                ),
                "{name}"
            ),
            "decrypt_failed" => assert!(
                matches!(got, Err(notify::NotifyError::Decrypt(_))),
                "{name}: {got:?}"
            ),
            r => panic!("{name}: unexpected reason {r}"),
        }
    }
}

#[test]
fn certificates_download() {
    let v = vectors();
    let key = ApiV3Key::new(s(&v, "apiv3_key")).unwrap();
    for c in cases(&v, "certificates_download") {
        let sig = header_sig(&c["headers"]);
        let body = s(c, "body").as_bytes();
        let certs = certificates::decrypt_and_verify(&sig, body, &key, now(&v), 300).unwrap();
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].serial(), s(c, "expected_serial_no"));
        assert_eq!(certs[0].to_pem(), s(c, "expected_certificate_pem"));
        assert_eq!(
            certificates::rfc3339_beijing(certs[0].not_before()),
            s(c, "expected_effective_time")
        );
        assert_eq!(
            certificates::rfc3339_beijing(certs[0].not_after()),
            s(c, "expected_expire_time")
        );
        // A tampered body no longer verifies, and a wrong APIv3 key cannot decrypt.
        let tampered = String::from_utf8_lossy(body).replace("2035-01-01", "2036-01-01");
        assert!(matches!(
            certificates::decrypt_and_verify(&sig, tampered.as_bytes(), &key, now(&v), 300),
            Err(certificates::CertificateListError::Signature(_))
        ));
        let wrong = ApiV3Key::generate().unwrap();
        assert!(matches!(
            certificates::decrypt_and_verify(&sig, body, &wrong, now(&v), 300),
            Err(certificates::CertificateListError::Decrypt { .. })
        ));
        // At most MAX_CERTIFICATES entries are decrypted.
        let mut list: Value = serde_json::from_slice(body).unwrap();
        let entry = list["data"][0].clone();
        let max = certificates::MAX_CERTIFICATES;
        list["data"] = Value::Array(vec![entry.clone(); max]);
        let full = serde_json::to_vec(&list).unwrap();
        assert_eq!(certificates::decrypt(&full, &key).unwrap().len(), max);
        list["data"].as_array_mut().unwrap().push(entry);
        let over = serde_json::to_vec(&list).unwrap();
        assert!(matches!(
            certificates::decrypt(&over, &key),
            Err(certificates::CertificateListError::TooMany(n)) if n == max + 1
        ));
    }
}

#[test]
fn oaep() {
    let v = vectors();
    for c in cases(&v, "oaep") {
        let private = PrivateKey::from_pem(&file(s(c, "private_key_file"))).unwrap();
        assert_eq!(
            &private.decrypt_oaep(s(c, "ciphertext")).unwrap()[..],
            s(c, "plaintext").as_bytes()
        );
        let public = PublicKey::from_pem(&file(s(c, "public_key_file"))).unwrap();
        let ct = public.encrypt_oaep(s(c, "plaintext").as_bytes()).unwrap();
        assert_ne!(ct, s(c, "ciphertext"), "OAEP is randomized");
        assert_eq!(
            &private.decrypt_oaep(&ct).unwrap()[..],
            s(c, "plaintext").as_bytes()
        );
        let other = PrivateKey::from_pem(&file("other_key.pem")).unwrap();
        assert!(other.decrypt_oaep(&ct).is_err());
    }
}

#[test]
fn jsapi_pay_sign() {
    let v = vectors();
    let key = PrivateKey::from_pem(&file("merchant_key.pem")).unwrap();
    for c in cases(&v, "jsapi_pay_sign") {
        let (a, t, n, p) = (
            s(c, "appid"),
            s(c, "timestamp"),
            s(c, "nonce"),
            s(c, "package"),
        );
        assert_eq!(paysign::message(a, t, n, p), s(c, "message"));
        assert_eq!(
            paysign::pay_sign(&key, a, t, n, p).unwrap(),
            s(c, "pay_sign")
        );
    }
}

#[test]
fn emulator_side_round_trips_through_the_client_side() {
    let platform = PrivateKey::from_pem(&file("platform_key.pem")).unwrap();
    let v = vectors();
    let sig = ResponseSignature::sign(
        &platform,
        s(&v, "platform_public_key_id"),
        now(&v),
        "n0nce",
        b"",
    )
    .unwrap();
    let mut h = http::HeaderMap::new();
    sig.apply_to(&mut h);
    let back = ResponseSignature::from_headers(&h).unwrap();
    assert!(
        verifier(&v).verify(&back, b"", now(&v)).is_ok(),
        "204 with empty body verifies"
    );
    assert!(verifier(&v).verify(&back, b"x", now(&v)).is_err());

    let key = ApiV3Key::new(s(&v, "apiv3_key")).unwrap();
    let cert = Certificate::from_pem(&file("platform_cert.pem")).unwrap();
    let body =
        certificates::encrypt(std::slice::from_ref(&cert), &key, || "abcdefghijkl".into()).unwrap();
    let sig =
        ResponseSignature::sign(&platform, cert.serial(), now(&v), "n", body.as_bytes()).unwrap();
    let certs =
        certificates::decrypt_and_verify(&sig, body.as_bytes(), &key, now(&v), 300).unwrap();
    assert_eq!(certs[0].serial(), cert.serial());
}

#[test]
fn missing_headers_are_named() {
    let mut h = http::HeaderMap::new();
    h.insert("Wechatpay-Timestamp", "1".parse().unwrap());
    assert_eq!(
        ResponseSignature::from_headers(&h),
        Err(VerifyError::MissingHeader("Wechatpay-Nonce"))
    );
    h.insert(
        "Wechatpay-Signature-Type",
        "WECHATPAY2-SM2-WITH-SM3".parse().unwrap(),
    );
    assert!(matches!(
        ResponseSignature::from_headers(&h),
        Err(VerifyError::UnsupportedSignatureType(_))
    ));
}

/// Lifecycle spec §7.4: the partner REFUND.SUCCESS plaintext of §4.6 under AES-256-GCM,
/// with `associated_data` `""` (the official examples) and `"refund"` (S12 prose): same
/// ciphertext prefix, different tag, so the received `associated_data` must be passed
/// verbatim.
#[test]
fn refund_callback_aead_vector() {
    use aws_lc_rs::digest::{SHA256, digest};
    let plaintext = r#"{"sp_mchid":"1900000001","sub_mchid":"1900000109","transaction_id":"4200002501202503011000000001","out_trade_no":"1217752501201407033233368018","refund_id":"50300000012025030100000000001","out_refund_no":"RF20250301001","refund_status":"SUCCESS","success_time":"2025-03-01T12:30:05+08:00","user_received_account":"支付用户零钱","amount":{"total":2500,"refund":500,"payer_total":2500,"payer_refund":500}}"#;
    assert_eq!(plaintext.len(), 409);
    let key = wechatpay_core::ApiV3Key::new("0123456789abcdef0123456789abcdef").unwrap();
    let short = |b64: &str| {
        digest(&SHA256, b64.as_bytes()).as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    for (aad, expected) in [("", "764e0b3e76358fde"), ("refund", "03d0465013d25a61")] {
        let b64 = key
            .encrypt("0123456789ab", aad, plaintext.as_bytes())
            .unwrap();
        assert!(
            b64.starts_with("4ouUShyn+3OcYQGHkTVFF3K25P8n+FtJCK28bKun9MpCFgNb"),
            "{b64}"
        );
        assert_eq!(short(&b64), expected);
        assert_eq!(
            key.decrypt_to_string("0123456789ab", aad, &b64).unwrap(),
            plaintext
        );
        let other = if aad.is_empty() { "refund" } else { "" };
        assert!(key.decrypt("0123456789ab", other, &b64).is_err());
    }
}

#[test]
fn receivers_answer_by_the_kind_of_failure() {
    let envelope = serde_json::from_str::<Value>("not json").unwrap_err();
    assert_eq!(
        notify::NotifyError::Envelope(envelope).status().as_u16(),
        400
    );
    assert_eq!(
        notify::NotifyError::Decrypt(wechatpay_core::DecryptError::Failed)
            .status()
            .as_u16(),
        500
    );
    assert_eq!(
        notify::failure_body("签名错误"),
        r#"{"code":"FAIL","message":"签名错误"}"#
    );
    for (status, ack) in [
        (200, true),
        (204, true),
        (201, false),
        (202, false),
        (500, false),
    ] {
        assert_eq!(notify::is_acknowledged(status), ack, "{status}");
    }
}
