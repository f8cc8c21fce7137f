//! Answers that must be rejected: a small server that checks the request signature like
//! WeChat Pay, then answers with one defect at a time.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use wechatpay::Error;
use wechatpay_core::{
    Authorization, PrivateKey, PublicKey, ResponseSignature, SignableRequest, VerifyError,
};

use crate::support::env;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Defect {
    None,
    TamperedBody,
    OtherKey,
    UnknownSerial,
    StaleTimestamp,
    MissingSignature,
    Probe,
}

#[derive(Clone)]
struct Evil {
    defect: Defect,
    merchant: PublicKey,
    platform: PrivateKey,
    key_id: String,
}

async fn evil(
    State(e): State<Evil>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth: Authorization = headers["authorization"].to_str().unwrap().parse().unwrap();
    let target = uri.path_and_query().unwrap().as_str();
    if auth
        .verify(
            &SignableRequest::new(method.as_str(), target, &body),
            &e.merchant,
        )
        .is_err()
    {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"code":"SIGN_ERROR","message":"错误的签名，验签失败"}"#,
        )
            .into_response();
    }
    let answer = br#"{"out_order_no":"X1","state":"DONE"}"#.to_vec();
    let now = wechatpay_sandbox::now();
    let (key, serial, ts) = match e.defect {
        Defect::OtherKey => (PrivateKey::generate().unwrap(), e.key_id.clone(), now),
        Defect::UnknownSerial => (
            e.platform.clone(),
            "PUB_KEY_ID_0000000000000000000000000000000000".into(),
            now,
        ),
        Defect::StaleTimestamp => (e.platform.clone(), e.key_id.clone(), now - 301),
        _ => (e.platform.clone(), e.key_id.clone(), now),
    };
    let mut sig = ResponseSignature::sign(&key, &serial, ts, "nonce123", &answer).unwrap();
    if e.defect == Defect::Probe {
        sig.signature = format!("WECHATPAY/SIGNTEST/{}", sig.signature);
    }
    let mut h = HeaderMap::new();
    sig.apply_to(&mut h);
    if e.defect == Defect::MissingSignature {
        h.remove("Wechatpay-Signature");
    }
    let body = if e.defect == Defect::TamperedBody {
        br#"{"out_order_no":"X1","state":"REVOKED"}"#.to_vec()
    } else {
        answer
    };
    (StatusCode::OK, h, body).into_response()
}

async fn call(defect: Defect) -> Result<serde_json::Value, Error> {
    let env = env().await;
    let c = &env.g.client;
    let platform = PrivateKey::from_pem(&env.g.config.platform.private_key).unwrap();
    let state = Evil {
        defect,
        merchant: PrivateKey::from_pem(&c.private_key_pem)
            .unwrap()
            .public_key()
            .unwrap(),
        platform,
        key_id: c.public_key_id.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(evil).with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = env
        .builder()
        .base_url(format!("http://{addr}"))
        .build()
        .unwrap();
    client.chain("v3/anything").get().await?.json()
}

fn kind(r: Result<serde_json::Value, Error>) -> VerifyError {
    match r {
        Err(Error::Signature(s)) => s.kind().clone(),
        other => panic!("expected a signature error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_correct_answer_is_data() {
    assert_eq!(call(Defect::None).await.unwrap()["state"], "DONE");
}

#[tokio::test]
async fn tampered_body_is_rejected() {
    assert!(matches!(
        kind(call(Defect::TamperedBody).await),
        VerifyError::BadSignature { probe: false, .. }
    ));
}

#[tokio::test]
async fn answer_signed_with_another_key_is_rejected() {
    assert!(matches!(
        kind(call(Defect::OtherKey).await),
        VerifyError::BadSignature { .. }
    ));
}

#[tokio::test]
async fn unknown_serial_is_rejected() {
    assert!(matches!(
        kind(call(Defect::UnknownSerial).await),
        VerifyError::UnknownSerial(_)
    ));
}

#[tokio::test]
async fn stale_timestamp_is_rejected() {
    assert!(matches!(
        kind(call(Defect::StaleTimestamp).await),
        VerifyError::StaleTimestamp { .. }
    ));
}

#[tokio::test]
async fn missing_headers_are_rejected() {
    assert_eq!(
        kind(call(Defect::MissingSignature).await),
        VerifyError::MissingHeader("Wechatpay-Signature")
    );
}

#[tokio::test]
async fn signtest_probes_are_rejected() {
    assert!(matches!(
        kind(call(Defect::Probe).await),
        VerifyError::BadSignature { probe: true, .. }
    ));
}

#[tokio::test]
async fn a_client_trusting_another_key_rejects_the_sandbox() {
    let env = env().await;
    let other = PrivateKey::generate()
        .unwrap()
        .public_key()
        .unwrap()
        .to_pem();
    let c = &env.g.client;
    let client = wechatpay::Client::builder()
        .base_url(env.sandbox.base_url())
        .mchid(&c.mchid)
        .serial(&c.serial)
        .private_key_pem(&c.private_key_pem)
        .wechatpay_public_key(&c.public_key_id, &other)
        .build()
        .unwrap();
    let err = client
        .send(&env.order(&crate::support::unique("W"), "http://127.0.0.1:9/n"))
        .await
        .unwrap_err();
    assert!(err.is_signature(), "{err}");
    assert!(
        env.sandbox_orders().await.len() == 1,
        "the server processed it; the client refuses the answer"
    );
}

#[tokio::test]
async fn platform_certificates_are_downloaded_verified_and_trusted() {
    let env = env().await;
    let c = &env.g.client;
    // Trusts nothing at start: only the APIv3 key. The first answer names an unknown serial,
    // which triggers a download; the download verifies with the certificate it carries.
    let client = wechatpay::Client::builder()
        .base_url(env.sandbox.base_url())
        .mchid(&c.mchid)
        .serial(&c.serial)
        .private_key_pem(&c.private_key_pem)
        .apiv3_key(&c.apiv3_key)
        .wechatpay_serial(&c.platform_certificate_serial)
        .build()
        .unwrap();
    assert!(client.trusted_serials().is_empty());
    // Error answers are not verified, so they do not need a key.
    let r = client
        .chain("v3/payscore/partner/serviceorder")
        .query("sub_mchid", &c.ids.sub_mchid)
        .query("out_order_no", "NONE")
        .get()
        .await
        .unwrap_err();
    assert_eq!(r.code(), Some("ORDER_NOT_EXIST"));
    // A 2xx from an unknown certificate serial triggers the download, then verifies.
    let req = env.order(&crate::support::unique("P"), "http://127.0.0.1:9/n");
    let resp = client
        .chain("v3/payscore/partner/serviceorder/direct-complete")
        .post(&req)
        .await
        .unwrap();
    assert_eq!(
        resp.verified_by(),
        Some(c.platform_certificate_serial.as_str())
    );
    assert_eq!(
        client.trusted_serials(),
        vec![c.platform_certificate_serial.clone()]
    );
    assert_eq!(
        client.refresh_certificates().await.unwrap(),
        vec![c.platform_certificate_serial.clone()]
    );
}

#[tokio::test]
async fn public_key_merchants_get_no_certificates_and_that_is_fine() {
    let env = crate::support::env_with(|c| c.platform.certificate = None).await;
    let serials = env.client().refresh_certificates().await.unwrap();
    assert!(serials.is_empty());
}
