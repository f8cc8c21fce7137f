//! The user's side, over loopback: authorization (lifecycle spec §2), need-confirm orders
//! (§3), their callbacks, the test helpers and the test clock.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use wechatpay::notify::{CallbackVerifier, Event};
use wechatpay_models::v3::payscore::partner::permissions::{
    ApplyPermissionsRequest, AuthorizationState, QueryPermissionsByCodeRequest,
    QueryPermissionsByOpenidRequest, TerminatePermissionsByCodeRequest,
    TerminatePermissionsRequest,
};
use wechatpay_models::v3::payscore::partner::serviceorder::{
    CompleteRequest, CreateRequest, QueryRequest,
};
use wechatpay_models::v3::payscore::{
    CollectionState, OrderState, PostPayment, RiskFund, StateDescription, TimeRange,
};
use wechatpay_sandbox::testing::Recorder;

use crate::support::{Env, env_with, unique};

/// POSTs to a test helper; (status, answer).
pub(crate) async fn helper(env: &Env, name: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!(
            "{}/_sandbox/api/test-helpers/{name}",
            env.sandbox.base_url()
        ))
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap(),
    )
}

/// A receiver that accepts what the SDK verifies.
async fn receiver(verifier: CallbackVerifier) -> Recorder {
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

async fn quick() -> Env {
    env_with(|c| c.behaviour.deduction_delay_ms = 60_000).await
}

/// §2.5, §2.7, §2.8: apply → the user authorizes (USER_OPEN_SERVICE) → orders are
/// allowed → the merchant terminates (USER_CLOSE_SERVICE) → orders get NO_AUTH.
#[tokio::test]
async fn authorization_opens_and_closes_the_service() {
    let env = quick().await;
    let client = env.raw_client();
    let verifier = client.callback_verifier().unwrap();
    let rec = receiver(verifier.clone()).await;
    let ids = env.g.client.ids.clone();
    let code = unique("AUTH");
    let user = format!("o{}", unique("user"));
    let token = client
        .send(
            &ApplyPermissionsRequest::default()
                .service_id(ids.service_id.as_str())
                .appid(ids.appid.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .authorization_code(&code)
                .notify_url(rec.url()),
        )
        .await
        .unwrap()
        .apply_permissions_token;
    assert!(token.len() > 200 && token.len() <= 300, "{}", token.len());
    let by_code = || {
        let req = QueryPermissionsByCodeRequest::default()
            .authorization_code(&code)
            .service_id(ids.service_id.as_str())
            .sub_mchid(ids.sub_mchid.as_str());
        let client = client.clone();
        async move { client.send(&req).await }
    };
    assert_eq!(
        by_code().await.unwrap().authorization_state,
        AuthorizationState::Unbinduser
    );
    // Not authorized yet: a no-confirm order for this user is refused.
    let mut order = env.order(&unique("AO"));
    order.openid = user.as_str().into();
    let e = client.send(&order).await.unwrap_err();
    assert_eq!(
        (e.code(), e.as_api().unwrap().message()),
        (Some("NO_AUTH"), Some("请检查服务授权状态"))
    );

    let (status, a) = helper(
        &env,
        "authorize",
        json!({"apply_permissions_token": token, "openid": user}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    let got = rec.wait_for(1, Duration::from_secs(10)).await;
    let n = verifier.verify(&got[0].headers, &got[0].body).unwrap();
    let Event::PayscoreUserOpenService(opened) = &n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(opened.authorization_code.as_deref(), Some(code.as_str()));
    assert_eq!(n.sub_mchid(), Some(ids.sub_mchid.as_str()));
    assert_eq!(n.openid(), Some(user.as_str()));
    assert!(opened.openorclose_unix().is_some());
    let q = client
        .send(
            &QueryPermissionsByOpenidRequest::default()
                .service_id(ids.service_id.as_str())
                .appid(ids.appid.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .openid(user.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(q.authorization_state, AuthorizationState::Available);
    assert!(q.authorization_success_time.is_some());
    // A code authorizes once.
    let (status, _) = helper(
        &env,
        "authorize",
        json!({"apply_permissions_token": token, "openid": user}),
    )
    .await;
    assert_eq!(status, 400);

    client.send(&order).await.unwrap();

    client
        .send(
            &TerminatePermissionsRequest::default()
                .service_id(ids.service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .appid(ids.appid.as_str())
                .openid(user.as_str())
                .reason("用户退租"),
        )
        .await
        .unwrap();
    let got = rec.wait_for(2, Duration::from_secs(10)).await;
    let n = verifier.verify(&got[1].headers, &got[1].body).unwrap();
    assert!(
        matches!(n.event, Event::PayscoreUserCloseService(_)),
        "{:?}",
        n.event
    );
    let closed = by_code().await.unwrap();
    assert_eq!(closed.authorization_state, AuthorizationState::Unavailable);
    assert!(closed.cancel_authorization_time.is_some());
    let mut next = env.order(&unique("AN"));
    next.openid = user.as_str().into();
    assert_eq!(
        client.send(&next).await.unwrap_err().code(),
        Some("NO_AUTH")
    );
    // §2.8: terminating what is not AVAILABLE.
    let e = client
        .send(
            &TerminatePermissionsByCodeRequest::default()
                .authorization_code(&code)
                .service_id(ids.service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .reason("again"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("INVALID_ORDER_STATE"));
}

/// §2.8 errors, and the token's hour on the test clock.
#[tokio::test]
async fn authorization_errors_and_an_expired_token() {
    let env = quick().await;
    let client = env.raw_client();
    let ids = env.g.client.ids.clone();
    let code = unique("C");
    let apply = |sub_appid: Option<&str>| {
        let mut r = ApplyPermissionsRequest::default()
            .service_id(ids.service_id.as_str())
            .appid(ids.appid.as_str())
            .sub_mchid(ids.sub_mchid.as_str())
            .authorization_code(&code);
        r.sub_appid = sub_appid.map(Into::into);
        r
    };
    let token = client
        .send(&apply(None))
        .await
        .unwrap()
        .apply_permissions_token;
    // The same parameters again: a fresh token; other parameters: refused.
    let again = client
        .send(&apply(None))
        .await
        .unwrap()
        .apply_permissions_token;
    assert_ne!(token, again);
    let e = client
        .send(&apply(Some(ids.sub_appid.as_str())))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("INVALID_REQUEST"), "{e}");
    // A need-confirm service has no pre-authorization.
    let mut wrong = apply(None);
    wrong.service_id = ids.confirm_service_id.as_str().into();
    wrong.authorization_code = unique("W");
    assert_eq!(
        client.send(&wrong).await.unwrap_err().code(),
        Some("NO_AUTH")
    );
    let e = client
        .send(
            &QueryPermissionsByCodeRequest::default()
                .authorization_code("NOSUCHCODE")
                .service_id(ids.service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str()),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.as_api().unwrap().status().as_u16()),
        (Some("ORDER_NOT_EXIST"), 404)
    );
    let e = client
        .send(
            &QueryPermissionsByOpenidRequest::default()
                .service_id(ids.service_id.as_str())
                .appid(ids.appid.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .openid("oNEVERAUTHORIZED"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.as_api().unwrap().message()),
        (Some("NO_AUTH"), Some("请检查服务授权状态"))
    );

    let (status, clock) = helper(&env, "clock/advance", json!({"seconds": 3601})).await;
    assert_eq!(status, 200, "{clock}");
    assert!(clock["offset_seconds"].as_i64().unwrap() >= 3601);
    let (status, a) = helper(
        &env,
        "authorize",
        json!({"apply_permissions_token": again, "openid": "oLATE"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(a["error"].as_str().unwrap().contains("expired"), "{a}");
}

/// §3.1, §3.6, §3.9: create (CREATED + package) → the user confirms (USER_CONFIRM,
/// OnAccept resolved) → complete → deduction → USER_PAID.
#[tokio::test]
async fn a_need_confirm_order_from_create_to_paid() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 60_000).await;
    let client = env.raw_client();
    let verifier = client.callback_verifier().unwrap();
    let rec = receiver(verifier.clone()).await;
    let ids = env.g.client.ids.clone();
    let no = unique("NC");
    let create = CreateRequest::default()
        .service_id(ids.confirm_service_id.as_str())
        .appid(ids.appid.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(&no)
        .service_introduction("充电宝租借")
        .risk_fund(RiskFund::new("DEPOSIT", 9900))
        .time_range(TimeRange::on_accept())
        .notify_url(rec.url());
    let created = client.send(&create).await.unwrap();
    assert_eq!(created.state, Some(OrderState::Created));
    let package = created.package.clone().unwrap();
    // §3.9: complete before the user confirmed.
    let complete = CompleteRequest::default()
        .out_order_no(&no)
        .service_id(ids.confirm_service_id.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .post_payments(vec![PostPayment::new("租金", 300)])
        .total_amount(300);
    let e = client.send(&complete).await.unwrap_err();
    assert_eq!(e.code(), Some("INVALID_REQUEST"));
    assert!(e.request_id().unwrap().ends_with("-271302332"), "{e}");
    // The family decides: no-confirm create on this service is NO_AUTH.
    let no_confirm = create
        .clone()
        .need_user_confirm(false)
        .openid(ids.openid.as_str());
    let mut nc = no_confirm.clone();
    nc.out_order_no = unique("NX").into();
    nc.time_range = TimeRange::from_unix(
        wechatpay_sandbox::now() + 60,
        wechatpay_sandbox::now() + 3600,
    );
    assert_eq!(client.send(&nc).await.unwrap_err().code(), Some("NO_AUTH"));

    let (status, c) = helper(
        &env,
        "confirm-order",
        json!({"package": package, "openid": ids.openid}),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    let got = rec.wait_for(1, Duration::from_secs(10)).await;
    let n = verifier.verify(&got[0].headers, &got[0].body).unwrap();
    let Event::PayscoreUserConfirm(o) = &n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(
        (o.state.clone(), o.state_description.clone()),
        (Some(OrderState::Doing), Some(StateDescription::UserConfirm))
    );
    assert_ne!(o.time_range.as_ref().unwrap().start_time, "OnAccept");
    assert_eq!(n.out_order_no(), Some(no.as_str()));

    client.send(&complete).await.unwrap();
    // The deduction is due in 60 s of business time: move the test clock.
    let (status, _) = helper(&env, "clock/advance", json!({"seconds": 61})).await;
    assert_eq!(status, 200);
    let got = rec.wait_for(2, Duration::from_secs(10)).await;
    let n = verifier.verify(&got[1].headers, &got[1].body).unwrap();
    assert!(
        matches!(n.event, Event::PayscoreUserPaid(_)),
        "{:?}",
        n.event
    );
    let q = client
        .send(
            &QueryRequest::default()
                .service_id(ids.confirm_service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .out_order_no(no.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(q.collection.unwrap().state, Some(CollectionState::UserPaid));
}

/// §3.2, §3.9: a package is valid one hour; a re-entry gets a fresh one.
#[tokio::test]
async fn a_package_expires_after_an_hour_of_business_time() {
    let env = quick().await;
    let client = env.raw_client();
    let ids = env.g.client.ids.clone();
    let create = CreateRequest::default()
        .service_id(ids.confirm_service_id.as_str())
        .appid(ids.appid.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(unique("PE"))
        .service_introduction("充电宝租借")
        .risk_fund(RiskFund::new("DEPOSIT", 9900))
        .time_range(TimeRange::on_accept())
        .notify_url("http://127.0.0.1:9/n");
    let first = client.send(&create).await.unwrap();
    let (status, _) = helper(&env, "clock/advance", json!({"seconds": 3601})).await;
    assert_eq!(status, 200);
    let (status, a) = helper(
        &env,
        "confirm-order",
        json!({"package": first.package, "openid": ids.openid}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(a["error"].as_str().unwrap().contains("expired"), "{a}");
    let again = client.send(&create).await.unwrap();
    assert_eq!(again.order_id, first.order_id, "the same order");
    assert_ne!(again.package, first.package, "a fresh package");
    let (status, a) = helper(
        &env,
        "confirm-order",
        json!({"package": again.package, "openid": ids.openid}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
}

/// The deduction outcome of a user, set by a helper.
#[tokio::test]
async fn a_deduction_can_be_made_to_fail() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 10).await;
    let ids = env.g.client.ids.clone();
    let (status, _) = helper(
        &env,
        "deduction-outcome",
        json!({"openid": ids.openid, "outcome": "fail"}),
    )
    .await;
    assert_eq!(status, 200);
    let no = unique("DF");
    env.raw_client().send(&env.order(&no)).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let row = loop {
        let row = env.order_record(&no).await.unwrap();
        if !row["deduction_error"].is_null() || tokio::time::Instant::now() > deadline {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!row["deduction_error"].is_null(), "{row}");
    assert_eq!(row["order"]["collection"]["state"], "USER_PAYING");
}

/// §3.4, §3.5: the detail page's sign is checked with the provider's APIv2 key, and a
/// wrong one is explained.
#[tokio::test]
async fn launch_signatures_are_checked_and_explained() {
    let env = quick().await;
    let key = wechatpay_core::apiv2::ApiV2Key::new(&env.g.client.apiv2_key).unwrap();
    let page = wechatpay::launch::detail(
        &env.g.client.mchid,
        env.g.client.ids.service_id.as_str(),
        "RENT1",
        &key,
        wechatpay_sandbox::now(),
        "abcdefABCDEF0123456789",
    );
    let mut body = page.extra_data();
    body["business_type"] = json!("wxpayScoreDetail");
    let (status, a) = helper(&env, "check-launch", body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(a["valid"], true, "{a}");
    let (_, a) = helper(
        &env,
        "check-launch",
        json!({"business_type": "wxpayScoreDetail", "query_string": page.query_string()}),
    )
    .await;
    assert_eq!(a["valid"], true, "the JSAPI/APP form: {a}");

    body["out_order_no"] = json!("RENT2");
    let (_, a) = helper(&env, "check-launch", body.clone()).await;
    assert_eq!(a["valid"], false);
    assert_eq!(a["page_message"], "商户签名校验失败");
    assert!(
        a["string_to_sign"]
            .as_str()
            .unwrap()
            .contains("out_order_no=RENT2"),
        "{a}"
    );
    let apiv3 = wechatpay_core::apiv2::ApiV2Key::new(&env.g.client.apiv3_key).unwrap();
    let wrong_key = wechatpay::launch::detail(&env.g.client.mchid, "1", "RENT1", &apiv3, 1, "n");
    let mut body = wrong_key.extra_data();
    body["business_type"] = json!("wxpayScoreDetail");
    body.as_object_mut().unwrap().remove("nonce_str");
    let (_, a) = helper(&env, "check-launch", body).await;
    assert_eq!(a["valid"], false);
    let problems = a["problems"].to_string();
    assert!(
        problems.contains("nonce_str is missing") && problems.contains("APIv2 key"),
        "{a}"
    );
}

/// §2.1: the direct-merchant twin (no sub-merchant, the openid in the path).
#[tokio::test]
async fn the_direct_merchant_twin_authorizes_and_terminates() {
    use wechatpay_models::v3::payscore::permissions as d;
    let env = quick().await;
    let client = env.raw_client();
    let ids = env.g.client.ids.clone();
    let code = unique("DAUTH");
    let token = client
        .send(
            &d::ApplyPermissionsRequest::default()
                .service_id(ids.service_id.as_str())
                .appid(ids.appid.as_str())
                .authorization_code(&code),
        )
        .await
        .unwrap()
        .apply_permissions_token;
    let user = format!("o{}", unique("direct"));
    let (status, a) = helper(
        &env,
        "authorize",
        json!({"apply_permissions_token": token, "openid": user}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    let query = d::QueryPermissionsByOpenidRequest {
        openid: user.as_str().into(),
        service_id: ids.service_id.as_str().into(),
        appid: ids.appid.as_str().into(),
    };
    let p = client.send(&query).await.unwrap();
    assert_eq!(p.authorization_state, AuthorizationState::Available);
    assert_eq!(p.sub_mchid, None, "no sub-merchant fields");
    let by_code = client
        .send(&d::QueryPermissionsByCodeRequest {
            authorization_code: code.clone(),
            service_id: ids.service_id.as_str().into(),
        })
        .await
        .unwrap();
    assert_eq!(
        by_code.openid.as_ref().map(|o| o.as_str()),
        Some(user.as_str())
    );
    client
        .send(&d::TerminatePermissionsByOpenidRequest {
            openid: user.as_str().into(),
            service_id: ids.service_id.as_str().into(),
            appid: ids.appid.as_str().into(),
            reason: "退租".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        client.send(&query).await.unwrap().authorization_state,
        AuthorizationState::Unavailable
    );
}

/// §3.9: a CREATED order can be cancelled; one left 30 days is EXPIRED; §2.8 PARAM_ERROR.
#[tokio::test]
async fn created_orders_are_cancelled_or_expire() {
    use wechatpay_models::v3::payscore::partner::serviceorder::CancelRequest;
    let env = quick().await;
    let client = env.raw_client();
    let ids = env.g.client.ids.clone();
    let create = |no: &str| {
        CreateRequest::default()
            .service_id(ids.confirm_service_id.as_str())
            .appid(ids.appid.as_str())
            .sub_mchid(ids.sub_mchid.as_str())
            .out_order_no(no)
            .service_introduction("充电宝租借")
            .risk_fund(RiskFund::new("DEPOSIT", 9900))
            .time_range(TimeRange::on_accept())
            .notify_url("http://127.0.0.1:9/n")
    };
    let query = |no: &str| {
        QueryRequest::default()
            .service_id(ids.confirm_service_id.as_str())
            .sub_mchid(ids.sub_mchid.as_str())
            .out_order_no(no)
    };
    let (a, b) = (unique("CC"), unique("CE"));
    client.send(&create(&a)).await.unwrap();
    client.send(&create(&b)).await.unwrap();
    client
        .send(
            &CancelRequest::default()
                .out_order_no(&a)
                .sub_mchid(ids.sub_mchid.as_str())
                .reason("用户取消"),
        )
        .await
        .unwrap();
    assert_eq!(
        client.send(&query(&a)).await.unwrap().state,
        Some(OrderState::Revoked)
    );
    let (status, _) = helper(&env, "clock/advance", json!({"seconds": 30 * 86_400})).await;
    assert_eq!(status, 200);
    assert_eq!(
        client.send(&query(&b)).await.unwrap().state,
        Some(OrderState::Expired)
    );
    // A pre-authorization with a code outside [0-9A-Za-z_-|*].
    let e = client
        .send(
            &ApplyPermissionsRequest::default()
                .service_id(ids.service_id.as_str())
                .appid(ids.appid.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .authorization_code("bad code!"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("PARAM_ERROR"));
}
