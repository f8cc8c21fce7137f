//! Refunds of Pay Score deductions over loopback (lifecycle spec §4): the full life with
//! its callback, re-entry, and the errors of §4.5.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use wechatpay::notify::Event;
use wechatpay_models::v3::payscore::partner::serviceorder::QueryRequest;
use wechatpay_models::v3::refund::domestic::{
    QueryRefundRequest, RefundRequest, RefundRequestAmount, RefundStatus,
};
use wechatpay_sandbox::testing::Recorder;

use crate::lifecycle::helper;
use crate::support::{Env, env, unique};

/// A paid order: direct-complete, then the deduction falls due on the test clock.
/// Returns (out_order_no, transaction_id, amount).
pub(crate) async fn paid_order(env: &Env, client: &wechatpay::Client) -> (String, String, i64) {
    let no = unique("RF");
    client.send(&env.order(&no)).await.unwrap();
    let (status, _) = helper(env, "clock/advance", json!({"seconds": 61})).await;
    assert_eq!(status, 200);
    let ids = &env.g.client.ids;
    let q = QueryRequest::default()
        .service_id(ids.service_id.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(no.as_str());
    for _ in 0..200 {
        let o = client.send(&q).await.unwrap();
        if let Some(d) = o.collection.as_ref().and_then(|c| c.details.first())
            && let Some(t) = &d.transaction_id
        {
            return (no, t.as_str().to_owned(), d.amount.get());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the deduction did not happen");
}

#[tokio::test]
async fn a_refund_lives_from_processing_to_success_with_its_callback() {
    let env = env().await;
    let client = env.builder().build().unwrap();
    let verifier = client.callback_verifier().unwrap();
    let v = verifier.clone();
    let rec = Recorder::start_with(
        0,
        Arc::new(move |h, b| match v.verify(h, b) {
            Ok(_) => axum::http::StatusCode::NO_CONTENT,
            Err(e) => e.status(),
        }),
    )
    .await
    .unwrap();
    let (_, tx, amount) = paid_order(&env, &client).await;
    assert_eq!(amount, 250);
    let sub = env.g.client.ids.sub_mchid.clone();
    let req = RefundRequest::default()
        .sub_mchid(sub.as_str())
        .transaction_id(tx.as_str())
        .out_refund_no(unique("R|1*@"))
        .amount(RefundRequestAmount::default().refund(100).total(amount))
        .reason("归还后多收费用")
        .notify_url(rec.url());
    let r = client.send(&req).await.unwrap();
    assert_eq!(r.status, Some(RefundStatus::Processing));
    assert_eq!((r.amount.refund.get(), r.amount.total.get()), (100, 250));
    assert_eq!(r.transaction_id, tx);
    assert_eq!(r.out_trade_no.len(), 28);
    // Re-entry: the same body gets the same refund; another body is refused.
    let again = client.send(&req).await.unwrap();
    assert_eq!(again.refund_id, r.refund_id);
    let mut other = req.clone();
    other.amount.refund = 101.into();
    let e = client.send(&other).await.unwrap_err();
    assert_eq!(e.code(), Some("INVALID_REQUEST"));

    helper(&env, "clock/advance", json!({"seconds": 11})).await;
    let got = rec.wait_for(1, Duration::from_secs(10)).await;
    let n = verifier.verify(&got[0].headers, &got[0].body).unwrap();
    assert_eq!(n.event_type, "REFUND.SUCCESS");
    let Event::Refund(notice) = &n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(notice.out_refund_no, req.out_refund_no);
    assert_eq!(notice.refund_status, Some(RefundStatus::Success));
    assert_eq!(notice.amount.refund.get(), 100);
    assert_eq!(n.sub_mchid(), Some(sub.as_str()));
    let envelope: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(envelope["resource"]["original_type"], "refund");

    let q = client
        .send(
            &QueryRefundRequest::default()
                .out_refund_no(&req.out_refund_no)
                .sub_mchid(sub.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(q.status, Some(RefundStatus::Success));
    assert!(q.success_time.is_some());
}

#[tokio::test]
async fn refunds_are_refused_as_wechat_pay_refuses_them() {
    let env = env().await;
    let client = env.raw_client();
    let (no, tx, amount) = paid_order(&env, &client).await;
    let sub = env.g.client.ids.sub_mchid.clone();
    let refund = |n: i64| {
        RefundRequest::default()
            .sub_mchid(sub.as_str())
            .transaction_id(tx.as_str())
            .out_refund_no(unique("R"))
            .amount(RefundRequestAmount::default().refund(n).total(amount))
    };

    // out_order_no is not an out_trade_no (L8).
    let mut by_order = refund(10);
    by_order.transaction_id = None;
    by_order.out_trade_no = Some(no.clone());
    let e = client.send(&by_order).await.unwrap_err();
    let a = e.as_api().unwrap();
    assert_eq!(
        (a.status().as_u16(), e.code(), a.message()),
        (404, Some("RESOURCE_NOT_EXISTS"), Some("订单不存在"))
    );
    // Without sub_mchid (L8).
    let mut no_sub = refund(10);
    no_sub.sub_mchid = None;
    assert_eq!(
        client.send(&no_sub).await.unwrap_err().code(),
        Some("RESOURCE_NOT_EXISTS")
    );
    // amount.total is the deduction's amount.
    let mut wrong_total = refund(10);
    wrong_total.amount.total = (amount + 1).into();
    assert_eq!(
        client.send(&wrong_total).await.unwrap_err().code(),
        Some("INVALID_REQUEST")
    );
    // More than is left.
    client.send(&refund(200)).await.unwrap();
    let e = client.send(&refund(51)).await.unwrap_err();
    assert_eq!(e.code(), Some("INVALID_REQUEST"));
    assert!(e.to_string().contains("50 fen"), "{e}");
    // Forced errors of §4.5.
    let (s, _) = helper(&env, "refund-error", json!({"code": "NOT_ENOUGH"})).await;
    assert_eq!(s, 200);
    let e = client.send(&refund(1)).await.unwrap_err();
    assert_eq!(
        (e.as_api().unwrap().status().as_u16(), e.code()),
        (403, Some("NOT_ENOUGH"))
    );
    client.send(&refund(1)).await.unwrap();
    // An unknown refund.
    let e = client
        .send(
            &QueryRefundRequest::default()
                .out_refund_no("NOPE")
                .sub_mchid(sub.as_str()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.as_api().unwrap().message(), Some("退款单不存在"));
    // Refunds are possible for one year, on the test clock.
    helper(&env, "clock/advance", json!({"seconds": 366 * 86_400})).await;
    let e = client.send(&refund(1)).await.unwrap_err();
    assert!(e.to_string().contains("one year"), "{e}");
}

#[tokio::test]
async fn at_most_fifty_partial_refunds_and_outcomes_can_be_forced() {
    let env = env().await;
    let client = env.builder().build().unwrap();
    let (_, tx, amount) = paid_order(&env, &client).await;
    let sub = env.g.client.ids.sub_mchid.clone();
    let mut first = None;
    for _ in 0..50 {
        let r = RefundRequest::default()
            .sub_mchid(sub.as_str())
            .transaction_id(tx.as_str())
            .out_refund_no(unique("P"))
            .amount(RefundRequestAmount::default().refund(1).total(amount));
        client.send(&r).await.unwrap();
        first.get_or_insert(r.out_refund_no);
    }
    let r = RefundRequest::default()
        .sub_mchid(sub.as_str())
        .transaction_id(tx.as_str())
        .out_refund_no(unique("P"))
        .amount(RefundRequestAmount::default().refund(1).total(amount));
    let e = client.send(&r).await.unwrap_err();
    assert!(e.to_string().contains("50 refunds"), "{e}");
    // A forced ABNORMAL outcome settles now.
    let first = first.unwrap();
    let (s, a) = helper(
        &env,
        "refund-outcome",
        json!({"out_refund_no": first, "outcome": "ABNORMAL"}),
    )
    .await;
    assert_eq!(s, 200, "{a}");
    let q = QueryRefundRequest::default()
        .out_refund_no(&first)
        .sub_mchid(sub.as_str());
    for _ in 0..200 {
        if client.send(&q).await.unwrap().status == Some(RefundStatus::Abnormal) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the refund did not become ABNORMAL");
}

/// The ledger pages of the inspection page: keyset pages of 50, newest first, no row twice.
#[tokio::test]
async fn the_ledger_is_paged_by_time() {
    let env = env().await;
    let day = wechatpay_models::v3::bill::beijing_day(wechatpay_sandbox::now() - 86_400);
    let n = env
        .sandbox
        .state()
        .seed(&env.g.config, day, 120, 10)
        .unwrap();
    assert_eq!((n.payments, n.refunds), (120, 12));
    let http = reqwest::Client::new();
    let mut seen = std::collections::HashSet::new();
    let mut before: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let q = before.map(|b| format!("?before={b}")).unwrap_or_default();
        let v: Value = serde_json::from_slice(
            &http
                .get(format!(
                    "{}/_sandbox/api/transactions{q}",
                    env.sandbox.base_url()
                ))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        let rows = v["transactions"].as_array().unwrap();
        sizes.push(rows.len());
        for r in rows {
            assert!(seen.insert(r["transaction_id"].as_str().unwrap().to_owned()));
        }
        match v["next"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(sizes, [50, 50, 20]);
}
