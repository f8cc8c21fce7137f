//! Platform certificates from a misbehaving server: one download at a time for an unknown
//! serial, and downloads refused with their real reason.

use wechatpay::Error;
use wechatpay_core::{ApiV3Key, Certificate, PrivateKey, certificates};

use crate::misbehaving::{Reply, Server, client, signed};
use crate::support::{Env, env, unique};

#[tokio::test]
async fn an_unknown_serial_downloads_once_at_a_time_and_names_the_failure() {
    let env = env().await;
    let unknown = Reply::Signed {
        status: 204,
        body: Vec::new(),
        headers: Vec::new(),
        serial: Some("PUB_KEY_ID_0000000000000000000000000000000000".into()),
    };
    let server = Server::start_with(
        &env,
        vec![unknown],
        Some(signed(
            500,
            r#"{"code":"SYSTEM_ERROR","message":"系统错误"}"#,
        )),
    )
    .await;
    let client = client(&env, &server).build().unwrap();
    let calls = (0..4).map(|i| {
        let (client, req) = (
            client.clone(),
            env.order(&unique(&format!("US{i}")), "https://example.com/n"),
        );
        tokio::spawn(async move { client.send(&req).await })
    });
    let mut named = 0;
    for call in calls {
        let err = call.await.unwrap().unwrap_err();
        let Error::Signature(s) = &err else {
            panic!("{err}")
        };
        assert!(matches!(
            s.kind(),
            wechatpay_core::VerifyError::UnknownSerial(_)
        ));
        assert!(err.to_string().contains("may have been processed"), "{err}");
        if let Some(refresh) = s.refresh_error() {
            named += 1;
            assert_eq!(refresh.as_api().map(|a| a.status().as_u16()), Some(500));
            assert!(
                err.to_string()
                    .contains("downloading the platform certificates failed"),
                "{err}"
            );
            // The whole chain, as `{:#}` prints it, names the reason once.
            let mut chain = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(e) = source {
                chain.push_str(&format!(": {e}"));
                source = e.source();
            }
            assert_eq!(chain.matches("SYSTEM_ERROR").count(), 1, "{chain}");
            assert_eq!(chain.matches("is not a trusted").count(), 1, "{chain}");
        }
    }
    assert_eq!(server.hits_on("/v3/certificates"), 1, "one download");
    assert_eq!(named, 1, "the caller that downloaded sees why it failed");
}

/// A certificate download body listing `pems`, encrypted with the client's APIv3 key.
fn download(env: &Env, pems: &[(String, String)]) -> Vec<u8> {
    let key = ApiV3Key::new(&env.g.client.apiv3_key).unwrap();
    let data: Vec<_> = pems
        .iter()
        .enumerate()
        .map(|(i, (serial, pem))| {
            let nonce = format!("nonce{i:07}");
            serde_json::json!({
                "serial_no": serial,
                "effective_time": "2025-01-01T00:00:00+08:00",
                "expire_time": "2030-01-01T00:00:00+08:00",
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "nonce": nonce,
                    "associated_data": "certificate",
                    "ciphertext": key.encrypt(&nonce, "certificate", pem.as_bytes()).unwrap(),
                }
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "data": data })).unwrap()
}

async fn refresh_with(env: &Env, body: Vec<u8>) -> wechatpay::Result<Vec<String>> {
    let platform = &env.g.client.platform_certificate_serial;
    let server = Server::start_with(
        env,
        vec![signed(204, "")],
        Some(Reply::Signed {
            status: 200,
            body,
            headers: Vec::new(),
            serial: Some(platform.clone()),
        }),
    )
    .await;
    client(env, &server)
        .build()
        .unwrap()
        .refresh_certificates()
        .await
}

#[tokio::test]
async fn certificate_downloads_are_refused_with_their_real_reason() {
    let env = env().await;
    let c = &env.g.client;
    let platform = (
        c.platform_certificate_serial.clone(),
        c.platform_certificate_pem.clone(),
    );

    // Too many certificates: refused, nothing saved.
    let too_many = certificates::MAX_CERTIFICATES + 1;
    let err = refresh_with(&env, download(&env, &vec![platform.clone(); too_many]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Certificates(_)), "{err}");
    assert!(
        wechatpay_core::ErrorChain(&err)
            .to_string()
            .contains(&format!("{too_many} certificates")),
        "{err}"
    );

    // A weak and a non-RSA certificate: the reason, not "signature does not verify".
    for (file, why) in [
        ("rsa1024_cert.pem", "shorter than 2048 bits"),
        ("ec_cert.pem", "not an RSA key"),
    ] {
        let pem = std::fs::read_to_string(format!(
            "{}/../wechatpay-core/tests/data/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let err = refresh_with(
            &env,
            download(&env, &[platform.clone(), ("01".into(), pem)]),
        )
        .await
        .unwrap_err();
        assert!(
            wechatpay_core::ErrorChain(&err).to_string().contains(why),
            "{file}: {err}"
        );
    }

    // A listed serial that is not the certificate's.
    let err = refresh_with(
        &env,
        download(
            &env,
            &[(
                "0123456789ABCDEF0123456789ABCDEF01234567".into(),
                platform.1.clone(),
            )],
        ),
    )
    .await
    .unwrap_err();
    assert!(
        wechatpay_core::ErrorChain(&err)
            .to_string()
            .contains("listed serial"),
        "{err}"
    );

    // An expired certificate beside the valid one is never kept.
    let old_key = PrivateKey::generate().unwrap();
    let old_serial = wechatpay_sandbox::hex_serial();
    let expired = wechatpay_sandbox::self_signed_certificate(
        &old_key,
        &old_serial,
        "Tenpay.com Root CA",
        "Tenpay.com",
        wechatpay_sandbox::now() - 6 * 365 * 86_400,
    )
    .unwrap();
    assert!(
        !Certificate::from_pem(&expired)
            .unwrap()
            .is_valid_at(wechatpay_sandbox::now())
    );
    let kept = refresh_with(
        &env,
        download(&env, &[platform.clone(), (old_serial.clone(), expired)]),
    )
    .await
    .unwrap();
    assert_eq!(kept, vec![platform.0.clone()]);
}
