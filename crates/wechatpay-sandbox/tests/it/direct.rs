//! The direct-merchant (普通商户) service-order family: the partner family's rules and state
//! machine at the paths without `/partner`, answering 200 with the order, for the merchant's
//! own `appid`.

use wechatpay_models::v3::payscore::partner::serviceorder::SyncDetail;
use wechatpay_models::v3::payscore::serviceorder::{
    CancelRequest, CompleteRequest, CreateRequest, ModifyRequest, PayRequest, QueryRequest,
    SyncRequest,
};
use wechatpay_models::v3::payscore::{
    CollectionState, OrderState, PaidType, PostPayment, RiskFund, StateDescription, TimeRange,
};

use crate::support::{Env, env, unique};

/// A no-confirm order of the authorized user, under the merchant's appid.
fn create(env: &Env, no: &str) -> CreateRequest {
    let ids = &env.g.client.ids;
    let now = wechatpay_sandbox::now();
    CreateRequest::default()
        .service_id(ids.service_id.as_str())
        .appid(ids.appid.as_str())
        .out_order_no(no)
        .service_introduction("租借服务")
        .risk_fund(RiskFund::new("DEPOSIT", 10_000))
        .time_range(TimeRange {
            start_time: wechatpay_models::validate::payscore_time(now + 60),
            ..TimeRange::default()
        })
        .notify_url("http://127.0.0.1:9/notify")
        .openid(ids.openid.as_str())
        .need_user_confirm(false)
}

fn complete(env: &Env, no: &str, total: i64) -> CompleteRequest {
    let ids = &env.g.client.ids;
    CompleteRequest::default()
        .out_order_no(no)
        .appid(ids.appid.as_str())
        .service_id(ids.service_id.as_str())
        .post_payments(vec![PostPayment::new("租金", total)])
        .total_amount(total)
}

#[tokio::test]
async fn a_direct_merchant_creates_completes_modifies_and_syncs_an_order() {
    let env = env().await;
    let client = env.builder().build().unwrap();
    let ids = &env.g.client.ids;
    let no = unique("DF");

    let created = client.send(&create(&env, &no)).await.unwrap();
    assert_eq!(
        (created.state, created.state_description, created.sub_mchid),
        (
            Some(OrderState::Doing),
            Some(StateDescription::UserConfirm),
            None
        )
    );

    // The fluent chain reaches the same endpoints.
    let completed = client
        .v3()
        .payscore()
        .serviceorder()
        .out_order_no(&no)
        .complete()
        .post(&complete(&env, &no, 800))
        .await
        .unwrap();
    assert_eq!(
        completed.collection.and_then(|c| c.state),
        Some(CollectionState::UserPaying)
    );

    let modified = client
        .send(
            &ModifyRequest::default()
                .out_order_no(&no)
                .appid(ids.appid.as_str())
                .service_id(ids.service_id.as_str())
                .post_payments(vec![PostPayment::new("租金", 600)])
                .total_amount(600)
                .reason("优惠"),
        )
        .await
        .unwrap();
    assert_eq!(modified.total_amount.map(|f| f.0), Some(600));

    let synced = client
        .send(
            &SyncRequest::default()
                .out_order_no(&no)
                .appid(ids.appid.as_str())
                .service_id(ids.service_id.as_str())
                .detail(SyncDetail {
                    paid_time: wechatpay_models::validate::payscore_time(wechatpay_sandbox::now()),
                }),
        )
        .await
        .unwrap();
    assert_eq!(synced.state, Some(OrderState::Done));

    let queried = client
        .send(
            &QueryRequest::default()
                .service_id(ids.service_id.as_str())
                .appid(ids.appid.as_str())
                .out_order_no(&no),
        )
        .await
        .unwrap();
    let col = queried.collection.unwrap();
    assert_eq!(
        (
            col.paid_amount.map(|f| f.0),
            col.details[0].paid_type.clone()
        ),
        (Some(600), Some(PaidType::Mch))
    );
}

#[tokio::test]
async fn a_direct_merchant_cancels_and_collects_and_another_appid_finds_nothing() {
    let env = env().await;
    let client = env.builder().build().unwrap();
    let ids = &env.g.client.ids;

    let no = unique("DC");
    client.send(&create(&env, &no)).await.unwrap();
    let cancel = CancelRequest::default()
        .out_order_no(&no)
        .appid(ids.appid.as_str())
        .service_id(ids.service_id.as_str())
        .reason("用户取消");
    let mut elsewhere = cancel.clone();
    elsewhere.appid = "wx0000000000000000".into();
    let e = client.send(&elsewhere).await.unwrap_err();
    assert_eq!(e.code(), Some("ORDER_NOT_EXIST"), "{e}");
    let cancelled = client.send(&cancel).await.unwrap();
    assert_eq!(
        (cancelled.out_order_no.as_str(), cancelled.state),
        (no.as_str(), Some(OrderState::Revoked))
    );

    let no = unique("DP");
    client.send(&create(&env, &no)).await.unwrap();
    client.send(&complete(&env, &no, 300)).await.unwrap();
    let collecting = client
        .send(
            &PayRequest::default()
                .out_order_no(&no)
                .appid(ids.appid.as_str())
                .service_id(ids.service_id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(collecting.out_order_no.as_str(), no);

    // The partner paths do not see a direct merchant's order (no sub-merchant).
    let e = client
        .send(
            &wechatpay_models::v3::payscore::partner::serviceorder::QueryRequest::default()
                .sub_mchid(ids.sub_mchid.as_str())
                .out_order_no(&no),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ORDER_NOT_EXIST"), "{e}");
}

#[tokio::test]
async fn a_direct_request_breaking_a_rule_is_refused_locally_naming_the_field() {
    let env = env().await;
    let mut req = complete(&env, "DR1", 300);
    req.total_amount = 299.into();
    req.appid = "".into();
    let e = env.builder().build().unwrap().send(&req).await.unwrap_err();
    let wechatpay::Error::Validation(v) = &e else {
        panic!("{e:?}")
    };
    assert!(v.has_field("/total_amount") && v.has_field("/appid"), "{v}");
}
