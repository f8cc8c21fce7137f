//! The partner service-order family and its state machine; deduction outcomes; the
//! blocking client; inspection endpoints.

use std::time::Duration;

use wechatpay_models::v3::payscore::partner::serviceorder::{
    CancelRequest, CompleteRequest, CreateRequest, ModifyRequest, PayRequest, QueryRequest,
    SyncDetail, SyncRequest,
};
use wechatpay_models::v3::payscore::{
    CollectionState, OrderState, PaidType, PostPayment, RiskFund, ServiceOrder, StateDescription,
    TimeRange,
};
use wechatpay_sandbox::testing::Recorder;

use crate::support::{Env, env, env_with, unique};

async fn query(env: &Env, no: &str) -> ServiceOrder {
    let ids = &env.g.client.ids;
    env.raw_client()
        .send(
            &QueryRequest::default()
                .service_id(ids.service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .out_order_no(no),
        )
        .await
        .unwrap()
}

fn create(env: &Env, no: &str) -> CreateRequest {
    let ids = &env.g.client.ids;
    let now = wechatpay_sandbox::now();
    CreateRequest {
        service_id: ids.service_id.as_str().into(),
        appid: ids.appid.as_str().into(),
        sub_mchid: ids.sub_mchid.as_str().into(),
        sub_appid: None,
        out_order_no: no.into(),
        service_introduction: "租借服务".into(),
        post_payments: None,
        post_discounts: None,
        risk_fund: RiskFund {
            name: "DEPOSIT".into(),
            amount: 10_000.into(),
            description: None,
        },
        time_range: TimeRange {
            // Not earlier than the call (spec §8 G3).
            start_time: wechatpay_sandbox_time(now + 60),
            start_time_remark: None,
            end_time: None,
            end_time_remark: None,
        },
        location: None,
        attach: None,
        notify_url: "http://127.0.0.1:9/notify".into(),
        openid: Some(ids.openid.as_str().into()),
        sub_openid: None,
        need_user_confirm: Some(false),
    }
}

fn wechatpay_sandbox_time(t: i64) -> String {
    wechatpay_models::validate::payscore_time(t)
}

fn sub(env: &Env) -> wechatpay_models::MchId {
    env.g.client.ids.sub_mchid.as_str().into()
}

#[tokio::test]
async fn create_complete_modify_pay_through_the_state_machine() {
    let env = env().await;
    let client = env.raw_client();
    let svc = env.g.client.ids.service_id.clone();
    let no = unique("SM");
    let created = client.send(&create(&env, &no)).await.unwrap();
    assert_eq!(
        (created.state, created.state_description),
        (Some(OrderState::Doing), Some(StateDescription::UserConfirm))
    );

    let complete = CompleteRequest::default()
        .out_order_no(&no)
        .service_id(svc.as_str())
        .sub_mchid(sub(&env))
        .post_payments(vec![PostPayment::new("租金", 800)])
        .total_amount(800);
    client.send(&complete).await.unwrap();
    let o = query(&env, &no).await;
    assert_eq!(o.state_description, Some(StateDescription::MchComplete));
    assert_eq!(
        o.collection.as_ref().unwrap().state,
        Some(CollectionState::UserPaying)
    );

    let modify = |total: i64| {
        ModifyRequest::default()
            .out_order_no(&no)
            .sub_mchid(sub(&env))
            .post_payments(vec![PostPayment::new("租金", total)])
            .total_amount(total)
            .reason("优惠")
            .service_id(svc.as_str())
    };
    let e = client.send(&modify(900)).await.unwrap_err();
    assert_eq!(e.code(), Some("PARAM_ERROR"), "only lower: {e}");
    client.send(&modify(600)).await.unwrap();
    let e = client.send(&modify(500)).await.unwrap_err();
    assert_eq!(e.code(), Some("INVALID_ORDER_STATE"), "only once: {e}");
    assert_eq!(
        query(&env, &no)
            .await
            .collection
            .unwrap()
            .paying_amount
            .map(|f| f.0),
        Some(600)
    );

    client
        .send(&PayRequest::default().out_order_no(&no).sub_mchid(sub(&env)))
        .await
        .unwrap();
    let done = wait_until(&env, &no, |o| o.state == Some(OrderState::Done)).await;
    let col = done.collection.unwrap();
    assert_eq!(
        (
            col.paid_amount.map(|f| f.0),
            col.details[0].paid_type.clone()
        ),
        (Some(600), Some(PaidType::Newton))
    );

    let cancel = CancelRequest::default()
        .out_order_no(&no)
        .sub_mchid(sub(&env))
        .reason("x");
    assert_eq!(
        client.send(&cancel).await.unwrap_err().code(),
        Some("ORDER_DONE")
    );
    assert_eq!(
        client.send(&complete).await.unwrap_err().code(),
        Some("ORDER_DONE")
    );
    assert_eq!(
        client
            .send(&PayRequest::default().out_order_no(&no).sub_mchid(sub(&env)))
            .await
            .unwrap_err()
            .code(),
        Some("ORDER_DONE")
    );
}

#[tokio::test]
async fn cancelled_orders_cannot_be_completed_and_unknown_orders_do_not_exist() {
    let env = env().await;
    let client = env.raw_client();
    let no = unique("CX");
    client.send(&create(&env, &no)).await.unwrap();
    client
        .send(
            &CancelRequest::default()
                .out_order_no(&no)
                .sub_mchid(sub(&env))
                .reason("用户取消"),
        )
        .await
        .unwrap();
    assert_eq!(query(&env, &no).await.state, Some(OrderState::Revoked));
    let complete = |no: &str| {
        CompleteRequest::default()
            .out_order_no(no)
            .service_id(env.g.client.ids.service_id.as_str())
            .sub_mchid(sub(&env))
            .post_payments(vec![PostPayment::new("租金", 1)])
            .total_amount(1)
    };
    // Spec §8 G6: complete on a REVOKED order is an illegal state.
    assert_eq!(
        client.send(&complete(&no)).await.unwrap_err().code(),
        Some("INVALID_REQUEST")
    );
    let e = client.send(&complete("NOSUCH")).await.unwrap_err();
    assert_eq!(
        (e.code(), e.as_api().unwrap().status().as_u16()),
        (Some("ORDER_NOT_EXIST"), 404)
    );
    // Wrong sub_mchid is the classic cause of "order not found".
    let ids = &env.g.client.ids;
    let e = client
        .send(
            &QueryRequest::default()
                .service_id(ids.service_id.as_str())
                .sub_mchid("1900000999")
                .out_order_no(no.as_str()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ORDER_NOT_EXIST"));
}

async fn wait_until(env: &Env, no: &str, done: impl Fn(&ServiceOrder) -> bool) -> ServiceOrder {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let o = query(env, no).await;
        if done(&o) || tokio::time::Instant::now() > deadline {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_failing_user_stays_paying_until_sync_reports_a_merchant_payment() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 10).await;
    let client = env.raw_client();
    let ids = env.g.client.ids.clone();
    let no = unique("FU");
    let mut req = env.order(&no);
    req.openid = ids.failing_openid.as_str().into();
    client.send(&req).await.unwrap();
    // The deduction ran (it records its failure) and the order is still collecting.
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
    client
        .send(
            &SyncRequest::default()
                .out_order_no(&no)
                .service_id(ids.service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .detail(SyncDetail {
                    paid_time: wechatpay_sandbox_time(wechatpay_sandbox::now()),
                }),
        )
        .await
        .unwrap();
    let o = query(&env, &no).await;
    assert_eq!(o.state, Some(OrderState::Done));
    let d = &o.collection.unwrap().details[0];
    assert_eq!(
        (d.paid_type.clone(), d.transaction_id.is_none()),
        (Some(PaidType::Mch), true)
    );
}

#[tokio::test]
async fn zero_total_is_done_at_once_without_a_callback() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 10).await;
    let rec = Recorder::start(0).await.unwrap();
    let mut req = env.order(&unique("Z"));
    req.notify_url = rec.url().to_owned();
    req.post_payments[0].amount = 50.into();
    req.total_amount = 0.into();
    env.raw_client().send(&req).await.unwrap();
    let o = query(&env, req.out_order_no.as_str()).await;
    assert_eq!(
        (o.state, o.need_collection),
        (Some(OrderState::Done), Some(false))
    );
    assert!(
        env.orders()
            .await
            .iter()
            .all(|o| o["deduction_due_ms"].is_null()),
        "no deduction scheduled"
    );
    assert!(env.deliveries().await.is_empty(), "no callback queued");
    assert!(rec.received().is_empty());
}

#[tokio::test]
async fn inspection_endpoints_list_orders_and_attempts() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 10).await;
    let rec = Recorder::start(1).await.unwrap();
    let mut req = env.order(&unique("I"));
    req.notify_url = rec.url().to_owned();
    env.raw_client().send(&req).await.unwrap();
    rec.wait_for(2, Duration::from_secs(10)).await;
    let base = env.sandbox.base_url();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let d = loop {
        let d = crate::support::json(
            reqwest::get(format!("{base}/_sandbox/api/deliveries"))
                .await
                .unwrap(),
        )
        .await;
        if d["deliveries"][0]["delivery"]["state"] == "delivered"
            || tokio::time::Instant::now() > deadline
        {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let first = &d["deliveries"][0];
    assert_eq!(first["delivery"]["state"], "delivered");
    assert_eq!(first["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(first["attempts"][0]["status"], 500);
    let o = crate::support::json(
        reqwest::get(format!("{base}/_sandbox/api/orders"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(o["orders"][0]["out_order_no"], req.out_order_no.as_str());
    let page = reqwest::get(format!("{base}/_sandbox/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("WeChat Pay sandbox"));
}

#[test]
fn the_blocking_client_works_against_the_sandbox() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = rt.block_on(env());
    let client = env.builder().build_blocking().unwrap();
    let no = unique("BL");
    assert_eq!(
        client
            .v3()
            .payscore()
            .partner()
            .serviceorder()
            .direct_complete()
            .post(&env.order(&no))
            .unwrap(),
        None
    );
    let ids = &env.g.client.ids;
    let o = client
        .send(
            &QueryRequest::default()
                .service_id(ids.service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .out_order_no(no.as_str()),
        )
        .unwrap();
    assert_eq!(o.state, Some(OrderState::Doing));
    let e = client.send(&env.order(&no).attach("x")).unwrap_err();
    assert_eq!(e.code(), Some("INVALID_REQUEST"));
}
