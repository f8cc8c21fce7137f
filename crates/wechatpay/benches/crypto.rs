#![allow(missing_docs, clippy::unwrap_used)]
//! What the SDK costs on top of the cryptography: each SDK operation next to the bare
//! aws-lc-rs primitive on the same bytes, in the same run, so the overhead is a ratio.
//!
//! `cargo bench -p wechatpay --bench crypto`

use std::hint::black_box;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair, ParsedPublicKey, RsaKeyPair};
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use wechatpay_core::notify::{EncryptedResource, Envelope};
use wechatpay_core::{ApiV3Key, PrivateKey, ResponseSignature, SignableRequest, Verifier};
use wechatpay_models::Endpoint;
use wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest;
use wechatpay_models::v3::payscore::{Location, PostDiscount, PostPayment, TimeRange};

const NOW: i64 = 1_764_144_000;

fn keys() -> (PrivateKey, RsaKeyPair) {
    let k = PrivateKey::generate().unwrap();
    let bare = RsaKeyPair::from_pkcs8(&k.pkcs8_der().unwrap()).unwrap();
    (k, bare)
}

fn body_1kb() -> Vec<u8> {
    let mut s = String::from(
        r#"{"service_id":"00004000000000316792478207798186","appid":"wx5eab6a02bba6831a","items":["#,
    );
    while s.len() < 1000 {
        s.push_str(r#"{"name":"使用时长","amount":100},"#);
    }
    s.push_str(r#"{}]}"#);
    s.into_bytes()
}

fn order() -> DirectCompleteRequest {
    DirectCompleteRequest::default()
        .service_id("00004000000000316792478207798186")
        .appid("wx5eab6a02bba6831a")
        .sub_mchid("1290797494")
        .out_order_no("RENT20251126000001")
        .service_introduction("共享充电宝")
        .post_payments(vec![
            PostPayment::new("使用时长", 300)
                .description("3小时")
                .count(3),
        ])
        .total_amount(250)
        .time_range(TimeRange::new("20251126100000", "20251126130000"))
        .notify_url("https://example.com/payscore/notify")
        .openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        .sub_appid("wx304ac9e80264dabe")
        .post_discounts(vec![PostDiscount::new("新用户立减", "首单优惠", 50)])
        .location(Location::new("望京SOHO T1"))
}

fn signing(c: &mut Criterion) {
    let (key, bare) = keys();
    let body = body_1kb();
    let mut g = c.benchmark_group("sign_1kb_request");
    g.bench_function("bare_aws_lc_rsa_sign", |b| {
        let req = SignableRequest::new(
            "POST",
            "/v3/payscore/partner/serviceorder/direct-complete",
            &body,
        );
        let msg = req.message(NOW, "xuzl4MzrcJkruEgsEHCzRw1ohS8kz247");
        let rng = SystemRandom::new();
        let mut sig = vec![0u8; bare.public_modulus_len()];
        b.iter(|| {
            bare.sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                black_box(&msg),
                &mut sig,
            )
            .unwrap();
            black_box(base64::engine::general_purpose::STANDARD.encode(&sig))
        });
    });
    g.bench_function("sdk_sign_authorization", |b| {
        b.iter(|| {
            let req = SignableRequest::new(
                "POST",
                "/v3/payscore/partner/serviceorder/direct-complete",
                black_box(&body),
            );
            black_box(
                req.sign(
                    "1900000109",
                    "4096EE819812D60B81028D52CCC299E81E260B72",
                    &key,
                    NOW,
                    "xuzl4MzrcJkruEgsEHCzRw1ohS8kz247",
                )
                .unwrap()
                .to_string(),
            )
        });
    });
    g.bench_function("sdk_direct_complete_build_validate_serialise_sign", |b| {
        b.iter(|| {
            let o = order();
            o.validate_at(NOW).unwrap();
            let bytes = serde_json::to_vec(&o).unwrap();
            let req = SignableRequest::new(
                "POST",
                "/v3/payscore/partner/serviceorder/direct-complete",
                &bytes,
            );
            black_box(
                req.sign(
                    "1900000109",
                    "4096EE819812D60B81028D52CCC299E81E260B72",
                    &key,
                    NOW,
                    "xuzl4MzrcJkruEgsEHCzRw1ohS8kz247",
                )
                .unwrap()
                .to_string(),
            )
        });
    });
    // Everything the client does for one call except the network: build, validate,
    // serialise, sign, then verify the signed 204 and decode it.
    let platform = PrivateKey::generate().unwrap();
    let mut trust = Verifier::new();
    trust.add_public_key(
        "PUB_KEY_ID_0119000001092025010195539798365202",
        platform.public_key().unwrap(),
    );
    let answer = ResponseSignature::sign(
        &platform,
        "PUB_KEY_ID_0119000001092025010195539798365202",
        NOW,
        "5HU8IDZKF0JzZQMfqoiW95WlYlnDs5WP",
        b"",
    )
    .unwrap();
    g.bench_function("sdk_direct_complete_client_cpu", |b| {
        b.iter(|| {
            let o = order();
            o.validate_at(NOW).unwrap();
            let bytes = serde_json::to_vec(&o).unwrap();
            let req = SignableRequest::new(
                "POST",
                "/v3/payscore/partner/serviceorder/direct-complete",
                &bytes,
            );
            let auth = req
                .sign(
                    "1900000109",
                    "4096EE819812D60B81028D52CCC299E81E260B72",
                    &key,
                    NOW,
                    "xuzl4MzrcJkruEgsEHCzRw1ohS8kz247",
                )
                .unwrap()
                .to_string();
            trust.verify(black_box(&answer), b"", NOW).unwrap();
            black_box((
                auth,
                serde_json::from_slice::<Option<serde_json::Value>>(b"null").unwrap(),
            ))
        });
    });
    g.finish();
}

fn verification(c: &mut Criterion) {
    let (key, bare) = keys();
    let body = br#"{"out_order_no":"RENT20251126000001","state":"DOING","state_description":"MCH_COMPLETE"}"#;
    let sig = ResponseSignature::sign(
        &key,
        "PUB_KEY_ID_0119000001092025010195539798365202",
        NOW,
        "5HU8IDZKF0JzZQMfqoiW95WlYlnDs5WP",
        body,
    )
    .unwrap();
    let mut verifier = Verifier::new();
    verifier.add_public_key(
        "PUB_KEY_ID_0119000001092025010195539798365202",
        key.public_key().unwrap(),
    );
    let mut g = c.benchmark_group("verify_response");
    g.bench_function("bare_aws_lc_rsa_verify", |b| {
        let spki = bare.public_key().as_ref().to_vec();
        let pk = ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, spki).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&sig.signature)
            .unwrap();
        let msg = sig.message(body);
        b.iter(|| pk.verify_sig(black_box(&msg), black_box(&raw)).unwrap());
    });
    g.bench_function("sdk_verify", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&sig), black_box(body), NOW)
                .unwrap()
        })
    });
    g.finish();

    let apiv3 = ApiV3Key::new("Av4mVSbkMpNfhx2oRC7zrW5DHAtOc3eJ").unwrap();
    let plaintext = serde_json::to_vec(&order()).unwrap();
    let resource =
        EncryptedResource::encrypt(&apiv3, Some("payscore"), "", "umy3zzu5dSxb", &plaintext)
            .unwrap();
    let envelope = Envelope {
        id: "EV-20251126163847681119".into(),
        create_time: "2025-11-26T16:38:47+08:00".into(),
        resource_type: "encrypt-resource".into(),
        event_type: "PAYSCORE.USER_PAID".into(),
        summary: "支付成功".into(),
        resource,
    };
    let cb_body = serde_json::to_vec(&envelope).unwrap();
    let cb_sig = ResponseSignature::sign(
        &key,
        "PUB_KEY_ID_0119000001092025010195539798365202",
        NOW,
        "v9PqU02OIHL0XLgtvXaHju9luBeZgMkj",
        &cb_body,
    )
    .unwrap();
    let mut g = c.benchmark_group("callback");
    g.bench_function("bare_aws_lc_verify_and_aes_gcm_open", |b| {
        let spki = bare.public_key().as_ref().to_vec();
        let pk = ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, spki).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&cb_sig.signature)
            .unwrap();
        let msg = cb_sig.message(&cb_body);
        let ct = base64::engine::general_purpose::STANDARD
            .decode(&envelope.resource.ciphertext)
            .unwrap();
        let aes = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, b"Av4mVSbkMpNfhx2oRC7zrW5DHAtOc3eJ").unwrap(),
        );
        b.iter(|| {
            pk.verify_sig(&msg, &raw).unwrap();
            let mut buf = ct.clone();
            let n = Nonce::try_assume_unique_for_key(b"umy3zzu5dSxb").unwrap();
            black_box(
                aes.open_in_place(n, Aad::from(b""), &mut buf)
                    .unwrap()
                    .len(),
            )
        });
    });
    g.bench_function("sdk_verify_and_decrypt", |b| {
        b.iter(|| {
            black_box(
                wechatpay_core::notify::verify_and_decrypt(
                    &cb_sig,
                    black_box(&cb_body),
                    &verifier,
                    &apiv3,
                    NOW,
                )
                .unwrap(),
            )
        });
    });
    g.bench_function("bare_aes_gcm_open", |b| {
        let ct = base64::engine::general_purpose::STANDARD
            .decode(&envelope.resource.ciphertext)
            .unwrap();
        let aes = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, b"Av4mVSbkMpNfhx2oRC7zrW5DHAtOc3eJ").unwrap(),
        );
        b.iter(|| {
            let mut buf = ct.clone();
            let n = Nonce::try_assume_unique_for_key(b"umy3zzu5dSxb").unwrap();
            black_box(
                aes.open_in_place(n, Aad::from(b""), &mut buf)
                    .unwrap()
                    .len(),
            )
        });
    });
    g.bench_function("sdk_aes_gcm_decrypt", |b| {
        b.iter(|| {
            black_box(
                apiv3
                    .decrypt("umy3zzu5dSxb", "", black_box(&envelope.resource.ciphertext))
                    .unwrap(),
            )
        });
    });
    g.finish();
}

criterion_group!(benches, signing, verification);
criterion_main!(benches);
