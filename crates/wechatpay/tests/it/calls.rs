//! The three call styles, async: fluent, path chain, typed.

use std::time::Duration;

use wechatpay_models::v3::payscore::partner::serviceorder::{CancelRequest, QueryRequest};
use wechatpay_models::v3::payscore::{CollectionState, OrderState, StateDescription};

use crate::support::{env, env_with, unique};

#[tokio::test]
async fn fluent_direct_complete_gets_a_verified_204_and_the_order_is_collecting() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 60_000).await;
    let client = env.client();
    let req = env.order(&unique("F"), "http://127.0.0.1:9/notify");
    let answer = client
        .v3()
        .payscore()
        .partner()
        .serviceorder()
        .direct_complete()
        .post(&req)
        .await
        .unwrap();
    assert_eq!(answer, None, "204 carries no order");

    let ids = &env.g.client.ids;
    let q = QueryRequest::default()
        .service_id(ids.service_id.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(req.out_order_no.as_str());
    let order = client
        .v3()
        .payscore()
        .partner()
        .serviceorder()
        .get(&q)
        .await
        .unwrap();
    assert_eq!(order.state, Some(OrderState::Doing));
    assert_eq!(order.state_description, Some(StateDescription::MchComplete));
    let col = order.collection.unwrap();
    assert_eq!(col.state, Some(CollectionState::UserPaying));
    assert_eq!(col.paying_amount.map(|f| f.0), Some(250));
    assert_eq!(order.total_amount.map(|f| f.0), Some(250));
    assert_eq!(order.need_collection, Some(true));
}

#[tokio::test]
async fn partner_answering_200_gives_the_order() {
    let env = env_with(|c| c.behaviour.partner_direct_complete_status = 200).await;
    let req = env.order(&unique("T"), "http://127.0.0.1:9/notify");
    let order = env
        .client()
        .send(&req)
        .await
        .unwrap()
        .expect("200 carries the order");
    assert_eq!(order.out_order_no.as_str(), req.out_order_no.as_str());
    assert_eq!(order.state, Some(OrderState::Doing));
}

#[tokio::test]
async fn path_chain_reaches_any_endpoint_with_params_and_query() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 60_000).await;
    let client = env.client();
    let no = unique("C|*");
    let req = env.order(&no, "http://127.0.0.1:9/notify");
    let r = client
        .chain("v3/payscore/partner/serviceorder/direct-complete")
        .post(&req)
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().is_empty());
    assert!(r.request_id().is_some());
    assert_eq!(r.verified_by(), Some(env.g.client.public_key_id.as_str()));

    let ids = &env.g.client.ids;
    let cancel = client
        .chain("/v3/payscore/partner/serviceorder/{out_order_no}/cancel")
        .param("out_order_no", &no)
        .post(&serde_json::json!({"sub_mchid": ids.sub_mchid, "reason": "用户取消"}))
        .await
        .unwrap();
    assert_eq!(cancel.status(), 204);

    let order: serde_json::Value = client
        .chain("v3/payscore/partner/serviceorder")
        .query("service_id", &ids.service_id)
        .query("out_order_no", &no)
        .query("sub_mchid", &ids.sub_mchid)
        .get()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(order["state"], "REVOKED");
    assert_eq!(
        order["out_order_no"],
        no.as_str(),
        "the path parameter kept its case and characters"
    );

    let err = client
        .chain("v3/payscore/partner/serviceorder/{out_order_no}/pay")
        .post(&serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, wechatpay::Error::Build(wechatpay::BuildError::UnfilledParam(ref p)) if p == "out_order_no"),
        "{err}"
    );
}

#[tokio::test]
async fn typed_requests_and_the_family_state_machine() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 60_000).await;
    let client = env.client();
    let ids = &env.g.client.ids;
    let no = unique("S");
    client
        .send(&env.order(&no, "http://127.0.0.1:9/notify"))
        .await
        .unwrap();
    let node = || {
        client
            .v3()
            .payscore()
            .partner()
            .serviceorder()
            .out_order_no(&no)
    };
    node()
        .cancel()
        .post(
            &CancelRequest::default()
                .out_order_no(&no)
                .sub_mchid(ids.sub_mchid.as_str())
                .reason("用户取消"),
        )
        .await
        .unwrap();
    let again = node()
        .cancel()
        .post(
            &CancelRequest::default()
                .out_order_no(&no)
                .sub_mchid(ids.sub_mchid.as_str())
                .reason("用户取消"),
        )
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("ORDER_CANCELED"), "{again}");
    let missing = client
        .v3()
        .payscore()
        .partner()
        .serviceorder()
        .get(
            &QueryRequest::default()
                .service_id(ids.service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .out_order_no("NOPE"),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ORDER_NOT_EXIST"));
    assert_eq!(missing.as_api().unwrap().status(), 404);
}

#[tokio::test]
async fn api_errors_carry_status_code_message_detail_and_request_id() {
    let env = env().await;
    let client = env.builder().validate_requests(false).build().unwrap();
    let mut req = env.order(&unique("E"), "http://127.0.0.1:9/notify");
    req.total_amount = 999.into();
    let err = client.send(&req).await.unwrap_err();
    let api = err.as_api().expect("an API error");
    assert_eq!(api.status(), 400);
    assert_eq!(api.code(), Some("PARAM_ERROR"));
    assert!(
        api.message().unwrap().contains("最终总金额计算非法"),
        "{api}"
    );
    assert_eq!(
        api.detail().unwrap().field.as_deref(),
        Some("/total_amount")
    );
    assert!(
        api.request_id()
            .is_some_and(|id| id.ends_with("-268435464")),
        "{api}"
    );
    assert!(!api.body().is_empty());
    assert!(err.to_string().contains("PARAM_ERROR"), "{err}");
}

#[tokio::test]
async fn local_validation_stops_bad_orders_before_sending() {
    let env = env().await;
    let mut req = env.order(&unique("V"), "http://127.0.0.1:9/notify");
    req.total_amount = 999.into();
    req.service_introduction = "这是一个超过二十个字符的服务介绍这是一个超过二十个字符的".into();
    let err = env.client().send(&req).await.unwrap_err();
    let wechatpay::Error::Validation(v) = &err else {
        panic!("{err}")
    };
    assert!(
        v.has_field("/total_amount") && v.has_field("/service_introduction"),
        "{v}"
    );
    assert!(env.sandbox_orders().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn connection_failures_are_transport_errors_and_are_retried() {
    let env = env().await;
    let client = env
        .builder()
        .base_url("http://127.0.0.1:9")
        .max_retries(2)
        .retry_backoff(Duration::from_millis(1))
        .build()
        .unwrap();
    let err = client
        .send(&env.order(&unique("X"), "http://127.0.0.1:9/notify"))
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
}

#[tokio::test]
async fn direct_merchant_twin_answers_200_with_the_order() {
    use wechatpay_models::v3::payscore::{
        PostPayment, TimeRange, serviceorder::DirectCompleteRequest,
    };
    let env = env().await;
    let ids = &env.g.client.ids;
    let now = wechatpay_sandbox::now();
    let req = DirectCompleteRequest::default()
        .service_id(ids.service_id.as_str())
        .appid(ids.appid.as_str())
        .out_order_no(unique("D"))
        .service_introduction("停车服务")
        .post_payments(vec![PostPayment::new("停车费", 0)])
        .total_amount(0)
        .time_range(TimeRange::from_unix(now - 600, now - 60))
        .notify_url("http://127.0.0.1:9/notify")
        .openid(ids.openid.as_str());
    let order = env
        .client()
        .v3()
        .payscore()
        .serviceorder()
        .direct_complete()
        .post(&req)
        .await
        .unwrap();
    assert_eq!(
        order.state,
        Some(OrderState::Done),
        "a zero total is done at once"
    );
    assert_eq!(order.need_collection, Some(false));
}
