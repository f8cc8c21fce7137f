//! A Pay Score user pays actively after a failed deduction (issue 20, item 15): the
//! USER_PAID callback, the ledger, and a `JSAPI` row in the trade bill beside the `AUTH`
//! rows, keyed by `out_order_no`.

use std::time::Duration;

use serde_json::{Value, json};
use wechatpay::notify::Event;
use wechatpay_models::v3::bill::TradeBillRequest;
use wechatpay_models::v3::bill::trade::TradeKind;
use wechatpay_models::v3::payscore::OrderState;
use wechatpay_models::v3::refund::domestic::{RefundRequest, RefundRequestAmount};
use wechatpay_sandbox::testing::Recorder;

use crate::bills::{helper, paid_day, to_bill_time, try_helper};
use crate::support::{Env, env_with, unique};

/// The sandbox's record of an order once `done` says so (the worker deducts in the
/// background).
async fn record_when(env: &Env, no: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..500 {
        let found = env
            .sandbox_orders()
            .await
            .into_iter()
            .find(|o| o["out_order_no"] == no);
        if let Some(o) = found.filter(|o| done(o)) {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("order {no} never got there");
}

#[tokio::test]
async fn the_user_pays_actively_after_a_failed_deduction() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 60_000).await;
    let client = env.client();
    let verifier = client.callback_verifier().unwrap();
    let ids = env.g.client.ids.clone();
    let rec = Recorder::start(0).await.unwrap();
    let order_of = |no: &str| json!({"sub_mchid": ids.sub_mchid.as_str(), "out_order_no": no});

    helper(
        &env,
        "deduction-outcome",
        json!({"openid": ids.openid.as_str(), "outcome": "fail"}),
    )
    .await;
    let active = unique("ACT");
    client.send(&env.order(&active, rec.url())).await.unwrap();
    // Not in the user's list of orders to pay before a deduction failed.
    let (status, a) = try_helper(&env, "user-pays", order_of(&active)).await;
    assert_eq!(status, 400, "{a}");
    assert!(a["error"].as_str().unwrap().contains("no deduction"), "{a}");
    helper(&env, "clock/advance", json!({"seconds": 61})).await;
    record_when(&env, &active, |o| !o["deduction_error"].is_null()).await;

    let (status, a) = try_helper(&env, "user-pays", order_of(&active)).await;
    assert_eq!(status, 200, "{a}");
    let got = rec.wait_for(1, Duration::from_secs(10)).await;
    let n = verifier.verify(&got[0].headers, &got[0].body).unwrap();
    let Event::PayscoreUserPaid(order) = &n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(order.state, Some(OrderState::Done));
    let detail = &order.collection.as_ref().unwrap().details[0];
    let paid_tx = detail.transaction_id.clone().unwrap();
    let (status, _) = try_helper(&env, "user-pays", order_of(&active)).await;
    assert_eq!(status, 400, "paid once only");

    // A deduction that succeeds, the same day: an AUTH row.
    helper(
        &env,
        "deduction-outcome",
        json!({"openid": ids.openid.as_str(), "outcome": "success"}),
    )
    .await;
    let deducted = unique("AUT");
    client
        .send(&env.order(&deducted, "http://127.0.0.1:9/n"))
        .await
        .unwrap();
    helper(&env, "clock/advance", json!({"seconds": 61})).await;
    record_when(&env, &deducted, |o| o["order"]["state"] == "DONE").await;

    let day = paid_day(detail.paid_time.as_deref().unwrap());
    to_bill_time(&env, &day).await;
    let link = client
        .send(&TradeBillRequest::default().bill_date(&day))
        .await
        .unwrap();
    let mut rows = client.download_bill(&link).await.unwrap().trade_rows();
    let mut got = Vec::new();
    while let Some(r) = rows.next_row().await.unwrap() {
        got.push(r);
    }
    let kinds: Vec<(TradeKind, &str)> = got.iter().map(|r| (r.kind(), r.order_no())).collect();
    assert_eq!(
        kinds,
        [
            (TradeKind::Jsapi, active.as_str()),
            (TradeKind::PayscoreDeduction, deducted.as_str())
        ]
    );
    let jsapi = &got[0];
    assert_eq!(jsapi.out_trade_no, active, "商户订单号 is the out_order_no");
    assert_eq!(jsapi.transaction_id, paid_tx.as_str());
    assert_eq!(jsapi.settlement_total.get(), 250);
    assert!(jsapi.attach.is_empty() && jsapi.payscore.is_none());

    // Refunded by its transaction id, like any payment.
    let refund = client
        .send(
            &RefundRequest::default()
                .sub_mchid(ids.sub_mchid.as_str())
                .transaction_id(paid_tx.as_str())
                .out_refund_no(unique("RF"))
                .amount(RefundRequestAmount::default().refund(100).total(250)),
        )
        .await
        .unwrap();
    assert_eq!(refund.amount.refund.get(), 100);
}
