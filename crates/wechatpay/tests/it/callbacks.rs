//! PAYSCORE.USER_PAID end to end: the sandbox deducts, encrypts, signs and delivers; the
//! SDK verifies and decrypts it.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use wechatpay::notify::{Event, NotifyError};
use wechatpay_models::v3::payscore::{
    CollectionState, OrderState, PaidType, partner::serviceorder::QueryRequest,
};
use wechatpay_sandbox::testing::Recorder;

use crate::support::{env, unique};

#[tokio::test]
async fn user_paid_callback_is_verified_and_decrypted_by_the_sdk() {
    let env = env().await;
    let client = env.client();
    let verifier = client.callback_verifier().unwrap();
    let check = verifier.clone();
    // The receiver answers 204 only when the SDK accepts the callback.
    let rec = Recorder::start_with(
        0,
        Arc::new(move |h, b| match check.verify(h, b) {
            Ok(_) => StatusCode::NO_CONTENT,
            Err(e) => e.status(),
        }),
    )
    .await
    .unwrap();
    let req = env.order(&unique("CB"), rec.url());
    client.send(&req).await.unwrap();

    let got = rec.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "one delivery, acknowledged at once");
    assert_eq!(got[0].status, StatusCode::NO_CONTENT);
    let n = verifier.verify(&got[0].headers, &got[0].body).unwrap();
    assert_eq!(n.event_type, "PAYSCORE.USER_PAID");
    assert_eq!(n.summary, "支付成功");
    let Event::PayscoreUserPaid(order) = &n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(order.out_order_no, req.out_order_no);
    assert_eq!(order.state, Some(OrderState::Done));
    let col = order.collection.as_ref().unwrap();
    assert_eq!(col.state, Some(CollectionState::UserPaid));
    assert_eq!(col.paid_amount.map(|f| f.0), Some(250));
    assert_eq!(col.details[0].paid_type, Some(PaidType::Newton));
    assert!(col.details[0].transaction_id.is_some());

    // The query agrees.
    let ids = &env.g.client.ids;
    let q = client
        .send(
            &QueryRequest::default()
                .service_id(ids.service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .out_order_no(req.out_order_no.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(q.state, Some(OrderState::Done));

    // A tampered body, a stale one, and one without a key each fail with their own kind.
    let mut tampered = got[0].body.to_vec();
    let i = tampered.iter().position(|&b| b == b'E').unwrap();
    tampered[i] = b'F';
    let e = verifier.verify(&got[0].headers, &tampered).unwrap_err();
    assert!(matches!(e, NotifyError::Signature(_)), "{e}");
    assert!(
        e.to_string().contains("raw body bytes exactly as received"),
        "{e}"
    );
    let mut renamed = got[0].headers.clone();
    renamed.remove("Wechatpay-Nonce");
    let e = verifier.verify(&renamed, &got[0].body).unwrap_err();
    assert_eq!(
        wechatpay_core::ErrorChain(&e).to_string(),
        "callback signature refused: missing header Wechatpay-Nonce"
    );
    let mut garbled = got[0].headers.clone();
    garbled.insert("Wechatpay-Nonce", "随机".parse().unwrap());
    let e = verifier.verify(&garbled, &got[0].body).unwrap_err();
    assert_eq!(
        wechatpay_core::ErrorChain(&e).to_string(),
        "callback signature refused: malformed header Wechatpay-Nonce: not printable ASCII"
    );
    let late = env
        .builder()
        .clock(wechatpay_core::FixedClock(wechatpay_sandbox::now() + 3600))
        .build()
        .unwrap()
        .callback_verifier()
        .unwrap();
    let e = late.verify(&got[0].headers, &got[0].body).unwrap_err();
    assert!(
        matches!(
            e,
            NotifyError::Signature(wechatpay_core::VerifyError::StaleTimestamp { .. })
        ),
        "{e}"
    );
    assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
    assert!(e.response_body().starts_with(r#"{"code":"FAIL""#));
    let c = &env.g.client;
    let keyless = wechatpay::Client::builder()
        .mchid(&c.mchid)
        .serial(&c.serial)
        .private_key_pem(&c.private_key_pem)
        .wechatpay_public_key(&c.public_key_id, &c.public_key_pem)
        .build()
        .unwrap();
    let e = keyless.callback_verifier().unwrap_err();
    assert!(e.to_string().contains("apiv3_key"), "{e}");
    let wrong_key = env
        .builder()
        .apiv3_key("0123456789abcdef0123456789abcdef")
        .build()
        .unwrap()
        .callback_verifier()
        .unwrap();
    assert!(matches!(
        wrong_key.verify(&got[0].headers, &got[0].body),
        Err(NotifyError::Decrypt(_))
    ));
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_until_it_acknowledges() {
    let env = env().await;
    let rec = Recorder::start(2).await.unwrap();
    env.client()
        .send(&env.order(&unique("R"), rec.url()))
        .await
        .unwrap();
    let got = rec.wait_for(3, Duration::from_secs(10)).await;
    let statuses: Vec<u16> = got.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses, [500, 500, 204]);
    // Each retry is signed anew.
    assert_ne!(
        got[0].headers["Wechatpay-Nonce"],
        got[1].headers["Wechatpay-Nonce"]
    );
    assert_eq!(got[0].body, got[2].body, "the same event each time");
}
