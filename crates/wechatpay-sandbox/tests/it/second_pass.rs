//! The second fidelity pass: answers an outside probe found to differ from the spec, each
//! checked over HTTP against the spec's section.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wechatpay::TransportKind;
use wechatpay::notify::Event;
use wechatpay_models::Endpoint as _;
use wechatpay_models::v3::payscore::partner::permissions::{self as pp, AuthorizationState};
use wechatpay_models::v3::payscore::partner::serviceorder as so;
use wechatpay_models::v3::payscore::permissions as dp;
use wechatpay_models::v3::payscore::{OrderState, PostPayment, RiskFund, TimeRange};
use wechatpay_models::v3::refund::domestic::{
    AbnormalRefundTo, ApplyAbnormalRefundRequest, QueryRefundRequest, RefundRequest,
    RefundRequestAmount, RefundStatus,
};
use wechatpay_sandbox::testing::Recorder;

use crate::support::{env, unique};

/// An appid no provider of the sandbox has.
const FOREIGN_APPID: &str = "wx0000000000000000";

fn no_auth<T: std::fmt::Debug>(what: &str, r: wechatpay::Result<T>) {
    let e = r.expect_err(what);
    let api = e.as_api().unwrap_or_else(|| panic!("{what}: {e}"));
    assert_eq!(
        (api.status().as_u16(), api.code(), api.message()),
        (403, Some("NO_AUTH"), Some("商户信息不合法")),
        "{what}: {e}"
    );
}

/// LIFE §2.8: the queries and terminations by openid refuse an appid that is not bound to
/// the merchant (and end nothing); the queries by code refuse a service the merchant has
/// not opened.
#[tokio::test]
async fn permissions_refuse_an_unbound_appid_and_an_unopened_service() {
    let env = env().await;
    let client = env.raw_client();
    let ids = &env.g.client.ids;
    let (svc, sub, openid) = (
        ids.service_id.as_str(),
        ids.sub_mchid.as_str(),
        ids.openid.as_str(),
    );
    let search = |appid: &str| {
        pp::QueryPermissionsByOpenidRequest::default()
            .service_id(svc)
            .appid(appid)
            .sub_mchid(sub)
            .openid(openid)
    };
    no_auth("partner search", client.send(&search(FOREIGN_APPID)).await);
    let terminate = pp::TerminatePermissionsRequest::default()
        .service_id(svc)
        .sub_mchid(sub)
        .appid(FOREIGN_APPID)
        .openid(openid)
        .reason("退租");
    no_auth("partner terminate", client.send(&terminate).await);
    let direct_query = dp::QueryPermissionsByOpenidRequest::default()
        .openid(openid)
        .service_id(svc)
        .appid(FOREIGN_APPID);
    no_auth("direct query", client.send(&direct_query).await);
    let direct_terminate = dp::TerminatePermissionsByOpenidRequest::default()
        .openid(openid)
        .service_id(svc)
        .appid(FOREIGN_APPID)
        .reason("退租");
    no_auth("direct terminate", client.send(&direct_terminate).await);

    // Nothing was ended: under the bound appid the user is still authorized.
    let p = client.send(&search(ids.appid.as_str())).await.unwrap();
    assert_eq!(p.authorization_state, AuthorizationState::Available);

    // By code, for a service this merchant has not opened: NO_AUTH, not ORDER_NOT_EXIST.
    let code = p.authorization_code.unwrap();
    let by_code = pp::QueryPermissionsByCodeRequest::default()
        .authorization_code(&code)
        .service_id("999999")
        .sub_mchid(sub);
    no_auth("partner by code", client.send(&by_code).await);
    let by_code = dp::QueryPermissionsByCodeRequest::default()
        .authorization_code(&code)
        .service_id("999999");
    no_auth("direct by code", client.send(&by_code).await);
}

/// LIFE §4.2, §4.3, §4.5: a refund `notify_url` may have 256 characters (257 is refused);
/// the answer carries `amount.from`, empty or not; more than the payment in one request is
/// INVALID_REQUEST, as it is across several.
#[tokio::test]
async fn refunds_take_a_256_character_notify_url_answer_from_and_refuse_over_refunds_as_business_rules()
 {
    let env = env().await;
    let client = env.raw_client();
    let (_, tx, amount) = crate::refunds::paid_order(&env, &client).await;
    let refund = |refund: i64, url: String| {
        RefundRequest::default()
            .sub_mchid(env.g.client.ids.sub_mchid.as_str())
            .transaction_id(tx.as_str())
            .out_refund_no(unique("RN"))
            .amount(RefundRequestAmount::default().refund(refund).total(amount))
            .notify_url(url)
    };
    let url = |len: usize| {
        let base = "https://example.com/refund/";
        format!("{base}{}", "n".repeat(len - base.len()))
    };
    let long = refund(10, url(257));
    let e = client.send(&long).await.unwrap_err();
    let api = e.as_api().unwrap();
    assert_eq!(api.code(), Some("PARAM_ERROR"), "{e}");
    assert_eq!(
        api.detail().and_then(|d| d.field.as_deref()),
        Some("/notify_url")
    );

    // The answer as JSON, to see the field itself.
    let ok = client
        .chain(RefundRequest::PATH)
        .post(&refund(10, url(256)))
        .await
        .unwrap();
    let body: serde_json::Value = ok.json().unwrap();
    assert_eq!(body["amount"]["from"], serde_json::json!([]), "{body}");

    let e = client.send(&refund(amount + 1, url(40))).await.unwrap_err();
    assert_eq!(e.code(), Some("INVALID_REQUEST"), "{e}");
}

/// A receiver that acknowledges what the SDK verifies.
async fn receiver(verifier: wechatpay::notify::CallbackVerifier) -> Recorder {
    Recorder::start_with(
        0,
        Arc::new(move |h, b| match verifier.verify(h, b) {
            Ok(_) => axum::http::StatusCode::NO_CONTENT,
            Err(e) => e.status(),
        }),
    )
    .await
    .unwrap()
}

/// LIFE §3.9, §3.6: modify on a CREATED order is INVALID_REQUEST 当前订单状态不合法; the
/// USER_CONFIRM callback carries total_amount (0 before completion).
#[tokio::test]
async fn a_created_order_cannot_be_modified_and_its_confirmation_states_the_total() {
    let env = env().await;
    let client = env.raw_client();
    let verifier = client.callback_verifier().unwrap();
    let rec = receiver(verifier.clone()).await;
    let ids = &env.g.client.ids;
    let no = unique("MC");
    let created = client
        .send(
            &so::CreateRequest::default()
                .service_id(ids.confirm_service_id.as_str())
                .appid(ids.appid.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .out_order_no(&no)
                .service_introduction("充电宝租借")
                .risk_fund(RiskFund::new("DEPOSIT", 9900))
                .time_range(TimeRange::on_accept())
                .notify_url(rec.url()),
        )
        .await
        .unwrap();
    let modify = so::ModifyRequest::default()
        .out_order_no(&no)
        .sub_mchid(ids.sub_mchid.as_str())
        .service_id(ids.confirm_service_id.as_str())
        .post_payments(vec![PostPayment::new("租金", 100)])
        .total_amount(100)
        .reason("优惠");
    let e = client.send(&modify).await.unwrap_err();
    let api = e.as_api().unwrap();
    assert_eq!(
        (api.code(), api.message()),
        (Some("INVALID_REQUEST"), Some("当前订单状态不合法")),
        "{e}"
    );

    let (status, c) = crate::lifecycle::helper(
        &env,
        "confirm-order",
        json!({"package": created.package.unwrap(), "openid": ids.openid}),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    let got = rec.wait_for(1, Duration::from_secs(10)).await;
    let n = verifier.verify(&got[0].headers, &got[0].body).unwrap();
    let Event::PayscoreUserConfirm(o) = &n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(o.total_amount.map(|f| f.get()), Some(0));
}

/// LIFE §2.3, §2.7: a direct merchant's USER_OPEN_SERVICE has no sub-merchant fields.
#[tokio::test]
async fn a_direct_merchants_authorization_callback_has_no_sub_fields() {
    let env = env().await;
    let client = env.raw_client();
    let verifier = client.callback_verifier().unwrap();
    let rec = receiver(verifier.clone()).await;
    let ids = &env.g.client.ids;
    let token = client
        .send(
            &dp::ApplyPermissionsRequest::default()
                .service_id(ids.service_id.as_str())
                .appid(ids.appid.as_str())
                .authorization_code(unique("DCB"))
                .notify_url(rec.url()),
        )
        .await
        .unwrap()
        .apply_permissions_token;
    let user = format!("o{}", unique("direct"));
    let (status, a) = crate::lifecycle::helper(
        &env,
        "authorize",
        json!({"apply_permissions_token": token, "openid": user}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    let got = rec.wait_for(1, Duration::from_secs(10)).await;
    let n = verifier.verify(&got[0].headers, &got[0].body).unwrap();
    let Event::PayscoreUserOpenService(a) = &n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(a.openid.as_ref().map(|o| o.as_str()), Some(user.as_str()));
    assert_eq!((&a.sub_mchid, &a.sub_appid), (&None, &None), "{a:?}");
}

/// Polls refund `no` until it is `status` (at most 4 s).
async fn until_refund(client: &wechatpay::Client, sub: &str, no: &str, status: RefundStatus) {
    let q = QueryRefundRequest::default()
        .out_refund_no(no)
        .sub_mchid(sub);
    for _ in 0..200 {
        if client.send(&q).await.unwrap().status == Some(status.clone()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("refund {no} did not become {status}");
}

/// LIFE §4.1, §4.4: an ABNORMAL refund is sent again to the user's bank card, its
/// sensitive fields encrypted by the SDK; it is PROCESSING, then SUCCESS with its
/// callback; a field that does not decrypt, or a refund that is not ABNORMAL, is refused.
#[tokio::test]
async fn an_abnormal_refund_goes_again_to_a_bank_card() {
    let env = env().await;
    let client = env.builder().build().unwrap();
    let verifier = client.callback_verifier().unwrap();
    let rec = receiver(verifier.clone()).await;
    let sub = env.g.client.ids.sub_mchid.clone();
    let (_, tx, amount) = crate::refunds::paid_order(&env, &client).await;
    let no = unique("AB");
    let refund = client
        .send(
            &RefundRequest::default()
                .sub_mchid(sub.as_str())
                .transaction_id(tx.as_str())
                .out_refund_no(&no)
                .amount(RefundRequestAmount::default().refund(100).total(amount))
                .notify_url(rec.url()),
        )
        .await
        .unwrap();
    let (status, a) = crate::lifecycle::helper(
        &env,
        "refund-outcome",
        json!({"out_refund_no": no, "outcome": "ABNORMAL"}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    until_refund(&client, sub.as_str(), &no, RefundStatus::Abnormal).await;

    let again = ApplyAbnormalRefundRequest::default()
        .refund_id(&refund.refund_id)
        .sub_mchid(sub.as_str())
        .out_refund_no(&no)
        .kind(AbnormalRefundTo::UserBankCard)
        .bank_type("ICBC_DEBIT")
        .bank_account(client.encrypt_sensitive("6222020000000000000").unwrap())
        .real_name("not a ciphertext");
    let e = client.send(&again).await.unwrap_err();
    let api = e.as_api().unwrap();
    assert_eq!(
        (api.code(), api.message()),
        (Some("PARAM_ERROR"), Some("平台私钥解密失败")),
        "{e}"
    );

    let again = again.real_name(client.encrypt_sensitive("张三").unwrap());
    let r = client
        .v3()
        .refund()
        .domestic()
        .refunds()
        .refund_id(&refund.refund_id)
        .apply_abnormal_refund()
        .post(&again)
        .await
        .unwrap();
    assert_eq!(r.status, Some(RefundStatus::Processing));
    let (status, _) = crate::lifecycle::helper(&env, "clock/advance", json!({"seconds": 11})).await;
    assert_eq!(status, 200);
    until_refund(&client, sub.as_str(), &no, RefundStatus::Success).await;
    let got = rec.wait_for(2, Duration::from_secs(10)).await;
    let n = verifier.verify(&got[1].headers, &got[1].body).unwrap();
    assert_eq!(n.event_type, "REFUND.SUCCESS");

    let e = client.send(&again).await.unwrap_err();
    assert_eq!(e.code(), Some("INVALID_REQUEST"), "{e}");
}

/// Faults on demand (issue 20, item 13): the next requests matching a method and a path
/// pattern fail as asked, and the request log says which fault was applied.
#[tokio::test]
async fn faults_on_demand_make_the_next_matching_requests_fail() {
    let env = env().await;
    let client = env.builder().build().unwrap();
    let ids = &env.g.client.ids;
    let no = unique("FT");
    client.send(&env.order(&no)).await.unwrap();
    let cancel = so::CancelRequest::default()
        .out_order_no(&no)
        .sub_mchid(ids.sub_mchid.as_str())
        .reason("用户取消");
    let query = so::QueryRequest::default()
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(&no);
    let fault = |body: serde_json::Value| crate::lifecycle::helper(&env, "fault", body);
    let cancel_path = "/v3/payscore/partner/serviceorder/*/cancel";
    let transport_kind = |e: &wechatpay::Error| match e {
        wechatpay::Error::Transport(t) => Some(t.kind()),
        _ => None,
    };

    // WeChat's error answer, before anything is done; the next request is served again.
    let (status, a) = fault(json!({"method": "POST", "path": cancel_path, "kind": "error"})).await;
    assert_eq!(status, 200, "{a}");
    let e = client.send(&cancel).await.unwrap_err();
    let api = e.as_api().unwrap();
    assert_eq!(
        (api.status().as_u16(), api.code()),
        (500, Some("SYSTEM_ERROR")),
        "{e}"
    );
    // Closed before: no answer, nothing done.
    fault(json!({"path": cancel_path, "kind": "close-before"})).await;
    let e = client.send(&cancel).await.unwrap_err();
    assert_eq!(transport_kind(&e), Some(TransportKind::Closed), "{e}");
    assert_ne!(
        client.send(&query).await.unwrap().state,
        Some(OrderState::Revoked)
    );
    // Carried out, then closed without the answer: only a query tells.
    fault(json!({"path": cancel_path, "kind": "drop-after"})).await;
    let e = client.send(&cancel).await.unwrap_err();
    assert_eq!(transport_kind(&e), Some(TransportKind::Closed), "{e}");
    assert!(e.maybe_processed(), "{e}");
    assert_eq!(
        client.send(&query).await.unwrap().state,
        Some(OrderState::Revoked)
    );
    let log = env.api("requests?limit=2").await;
    let dropped = &log["requests"][1];
    assert_eq!(dropped["method"], "POST", "{log}");
    let said = dropped["diagnosis"]["fault"].as_str().unwrap_or_default();
    assert!(said.contains("carries the request out"), "{log}");
    // Held past the client's timeout.
    fault(json!({"method": "GET", "path": "/v3/payscore/partner/serviceorder", "kind": "delay", "ms": 2000})).await;
    let impatient = env
        .builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let e = impatient.send(&query).await.unwrap_err();
    assert_eq!(transport_kind(&e), Some(TransportKind::Timeout), "{e}");
    // Nothing is left waiting, and a rule can be cleared.
    assert_eq!(env.api("faults").await["faults"], json!([]));
    fault(json!({"path": "*", "kind": "close-before", "times": 5})).await;
    let (status, a) = crate::lifecycle::helper(&env, "faults/clear", json!({})).await;
    assert_eq!((status, a["removed"].as_u64()), (200, Some(1)));
    client.send(&query).await.unwrap();
}
