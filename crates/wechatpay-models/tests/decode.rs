//! `Endpoint::decode` reads back what `target` and `body` write, for a request of every
//! endpoint with path or query parameters; and a path parameter repeated in the body is
//! refused, naming it (WeChat Pay answers 400 PARAM_ERROR).

#![allow(clippy::unwrap_used, missing_docs)]

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use wechatpay_models::v3::bill::{SubMerchantFundFlowBillRequest, TradeBillRequest};
use wechatpay_models::v3::payscore::PostPayment;
use wechatpay_models::v3::payscore::partner::permissions::{
    QueryPermissionsByCodeRequest, QueryPermissionsByOpenidRequest,
    TerminatePermissionsByCodeRequest, TerminatePermissionsRequest,
};
use wechatpay_models::v3::payscore::partner::serviceorder::{
    CancelRequest, CompleteRequest, ModifyRequest, PayRequest, QueryRequest, SyncDetail,
    SyncRequest,
};
use wechatpay_models::v3::payscore::permissions as direct;
use wechatpay_models::v3::refund::domestic::QueryRefundRequest;
use wechatpay_models::{BodyKind, Endpoint};

/// `%XX` back to bytes.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

type Pairs = Vec<(String, String)>;

/// What a server sees of `req`: path parameters (by the template), query, body.
fn received<E: Endpoint>(req: &E) -> (Pairs, Pairs, Vec<u8>) {
    let target = req.target().unwrap();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let params = E::PATH
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(t, v)| {
            let name = t.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_owned(), unescape(v)))
        })
        .collect();
    let query = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (unescape(k), unescape(v))
        })
        .collect();
    (params, query, req.body().unwrap())
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Decodes what the server sees back into `req`; then, for every path parameter, the same
/// body with that parameter added is refused, naming it.
fn check<E: Endpoint + DeserializeOwned + PartialEq + Debug>(req: &E) -> usize {
    let (params, query, body) = received(req);
    let read = E::decode(&pairs(&params), &pairs(&query), &body).unwrap();
    assert_eq!(&read, req, "{}", E::PATH);
    // A GET has no body to repeat a parameter in.
    for (name, value) in params.iter().filter(|_| E::BODY == BodyKind::Json) {
        let mut with: serde_json::Map<String, serde_json::Value> = if body.is_empty() {
            serde_json::Map::new()
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        assert!(!with.contains_key(name), "{name} is not sent in the body");
        with.insert(name.clone(), value.as_str().into());
        let repeated = serde_json::to_vec(&with).unwrap();
        let e = E::decode(&pairs(&params), &pairs(&query), &repeated).unwrap_err();
        assert_eq!(e.field(), name, "{}: {e}", E::PATH);
    }
    params.len()
}

#[test]
fn every_request_reads_back_and_refuses_a_path_parameter_in_its_body() {
    let lines = || vec![PostPayment::new("租金|1", 300)];
    let with_path_params = [
        check(
            &CancelRequest::default()
                .out_order_no("RENT|1 中")
                .sub_mchid("1900000109")
                .reason("用户取消"),
        ),
        check(
            &CompleteRequest::default()
                .out_order_no("RENT1")
                .service_id("500001")
                .sub_mchid("1900000109")
                .post_payments(lines())
                .total_amount(300),
        ),
        check(
            &ModifyRequest::default()
                .out_order_no("RENT1")
                .sub_mchid("1900000109")
                .post_payments(lines())
                .total_amount(300)
                .reason("改价"),
        ),
        check(
            &PayRequest::default()
                .out_order_no("RENT1")
                .sub_mchid("1900000109"),
        ),
        check(
            &SyncRequest::default()
                .out_order_no("RENT1")
                .service_id("500001")
                .sub_mchid("1900000109")
                .detail(SyncDetail {
                    paid_time: "20250301".into(),
                }),
        ),
        check(
            &TerminatePermissionsByCodeRequest::default()
                .authorization_code("CODE/1")
                .service_id("500001")
                .sub_mchid("1900000109")
                .reason("解约"),
        ),
        check(
            &QueryPermissionsByCodeRequest::default()
                .authorization_code("CODE1")
                .service_id("500001")
                .sub_mchid("1900000109"),
        ),
        check(&direct::TerminatePermissionsByCodeRequest {
            authorization_code: "CODE1".into(),
            service_id: "500001".into(),
            reason: "解约".into(),
        }),
        check(&direct::TerminatePermissionsByOpenidRequest {
            openid: "oUser1".into(),
            service_id: "500001".into(),
            appid: "wx1".into(),
            reason: "解约".into(),
        }),
        check(&direct::QueryPermissionsByCodeRequest {
            authorization_code: "CODE1".into(),
            service_id: "500001".into(),
        }),
        check(
            &QueryRefundRequest::default()
                .out_refund_no("RF1")
                .sub_mchid("1900000109"),
        ),
    ];
    assert!(
        with_path_params.iter().all(|&n| n == 1),
        "{with_path_params:?}"
    );
    // Query-only requests read back too.
    check(
        &QueryRequest::default()
            .service_id("500001")
            .sub_mchid("1900000109")
            .out_order_no("RENT 1&2"),
    );
    check(
        &QueryRequest::default()
            .sub_mchid("1900000109")
            .query_id("Q1"),
    );
    check(
        &QueryPermissionsByOpenidRequest::default()
            .service_id("500001")
            .appid("wx1")
            .sub_mchid("1900000109")
            .openid("oUser1"),
    );
    check(
        &TerminatePermissionsRequest::default()
            .service_id("500001")
            .sub_mchid("1900000109")
            .appid("wx1")
            .openid("oUser1")
            .reason("解约"),
    );
    check(
        &TradeBillRequest::default()
            .bill_date("2025-03-01")
            .tar_type("GZIP")
            .bill_type("REFUND"),
    );
    check(
        &SubMerchantFundFlowBillRequest::default()
            .sub_mchid("1900000109")
            .bill_date("2025-03-01"),
    );
}

#[test]
fn a_body_that_is_not_an_object_or_lacks_a_field_names_it() {
    let params = [("out_order_no", "RENT1")];
    let e = CancelRequest::decode(&params, &[], b"[1]").unwrap_err();
    assert_eq!(e.to_string(), "the body is not a JSON object");
    let e = CancelRequest::decode(&params, &[], b"{").unwrap_err();
    assert_eq!(e.to_string(), "the body is not valid JSON");
    let e = CancelRequest::decode(&params, &[], br#"{"sub_mchid":"1"}"#).unwrap_err();
    assert_eq!(
        e.field(),
        "",
        "a missing field has no path below the body: {e}"
    );
    let e = ModifyRequest::decode(
        &params,
        &[],
        br#"{"sub_mchid":"1","post_payments":[{"name":"x","amount":"3"}],"total_amount":3,"reason":"r"}"#,
    )
    .unwrap_err();
    assert_eq!(e.field(), "post_payments[0].amount", "{e}");
}
