//! The sandbox is neither stricter nor looser than WeChat Pay where the sources say
//! otherwise. Each test names its source (spec files in `shared/spec/`: SDC =
//! payscore-direct-complete.md, PROTO = apiv3-protocol.md, LIFE = payscore-lifecycle.md).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wechatpay_models::v3::payscore::partner::serviceorder::{
    CancelRequest, CompleteRequest, ModifyRequest, QueryRequest,
};
use wechatpay_models::v3::payscore::{OrderState, PostPayment};

use crate::support::{Env, env, env_with, unique};

const DIRECT_COMPLETE: &str = "/v3/payscore/partner/serviceorder/direct-complete";

/// Sends `body` to `path`, signed by the merchant: (status, headers, answer JSON).
async fn post(env: &Env, path: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    env.raw(
        "POST",
        path,
        &env.merchant_key(),
        &env.g.client.serial,
        wechatpay_sandbox::now(),
        &unique("n"),
        &bytes,
        &bytes,
    )
    .await
}

fn order_json(env: &Env, no: &str) -> Value {
    serde_json::to_value(env.order(no)).unwrap()
}

fn sub(env: &Env) -> &str {
    env.g.client.ids.sub_mchid.as_str()
}

/// SDC §8 G2 (WxJava #3664): modify without service_id → 403 NO_AUTH 商户暂无权限使用此服务.
#[tokio::test]
async fn modify_without_service_id_is_no_auth() {
    let env = env().await;
    let no = unique("MS");
    env.raw_client().send(&env.order(&no)).await.unwrap();
    let e = env
        .raw_client()
        .send(
            &ModifyRequest::default()
                .out_order_no(&no)
                .sub_mchid(sub(&env))
                .post_payments(vec![PostPayment::new("使用时长", 100)])
                .total_amount(100)
                .reason("优惠"),
        )
        .await
        .unwrap_err();
    let api = e.as_api().unwrap();
    assert_eq!(
        (api.status().as_u16(), api.code(), api.message()),
        (403, Some("NO_AUTH"), Some("商户暂无权限使用此服务"))
    );
}

/// SDC §8 G3: create with a start earlier than the call → PARAM_ERROR; OnAccept is fine.
#[tokio::test]
async fn create_refuses_a_start_in_the_past() {
    let env = env().await;
    let ids = &env.g.client.ids;
    let now = wechatpay_sandbox::now();
    let create = |no: &str, start: String, confirm: bool| {
        // Lifecycle spec §3.2: each service is one family.
        let service = if confirm {
            &ids.confirm_service_id
        } else {
            &ids.service_id
        };
        let mut b = json!({
            "service_id": service, "appid": ids.appid, "sub_mchid": ids.sub_mchid,
            "out_order_no": no, "service_introduction": "租借服务",
            "risk_fund": {"name": "DEPOSIT", "amount": 10000},
            "time_range": {"start_time": start},
            "notify_url": "http://127.0.0.1:9/n", "need_user_confirm": confirm,
        });
        if !confirm {
            b["openid"] = json!(ids.openid);
        }
        b
    };
    let t = wechatpay_models::validate::payscore_time;
    let (status, _, b) = post(
        &env,
        "/v3/payscore/partner/serviceorder",
        &create(&unique("CP"), t(now - 3600), false),
    )
    .await;
    assert_eq!(status, 400, "{b}");
    assert_eq!(b["code"], "PARAM_ERROR");
    assert_eq!(b["detail"]["field"], "/time_range/start_time", "{b}");
    let (status, _, b) = post(
        &env,
        "/v3/payscore/partner/serviceorder",
        &create(&unique("CA"), "OnAccept".into(), true),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["state"], "CREATED");
}

/// SDC §6.3 (cancel while USER_PAYING: sources disagree; the spec recommends allowing it,
/// switchable) and SDC §8 G7 (refused in the field): when allowed, the revoked order
/// no longer says money is being collected; when switched off, it is refused.
#[tokio::test]
async fn cancel_while_paying_leaves_a_consistent_order_or_is_refused() {
    let env = env().await;
    let no = unique("CW");
    env.raw_client().send(&env.order(&no)).await.unwrap();
    env.raw_client()
        .send(
            &CancelRequest::default()
                .out_order_no(&no)
                .sub_mchid(sub(&env))
                .reason("用户取消"),
        )
        .await
        .unwrap();
    let o = env
        .raw_client()
        .send(
            &QueryRequest::default()
                .service_id(env.g.client.ids.service_id.as_str())
                .sub_mchid(sub(&env))
                .out_order_no(no.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(o.state, Some(OrderState::Revoked));
    assert_eq!(o.need_collection, Some(false));
    assert!(
        o.collection.is_none(),
        "nothing was paid: {:?}",
        o.collection
    );

    let env = env_with(|c| {
        c.behaviour.deduction_delay_ms = 60_000;
        c.behaviour.cancel_while_paying = false;
    })
    .await;
    let no = unique("CR");
    env.raw_client().send(&env.order(&no)).await.unwrap();
    let e = env
        .raw_client()
        .send(
            &CancelRequest::default()
                .out_order_no(&no)
                .sub_mchid(sub(&env))
                .reason("用户取消"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.as_api().unwrap().message(),
        Some("当前订单状态不满足撤销条件")
    );
}

/// SDC §6.1 and LIFE §3.3: query takes `query_id` instead of `out_order_no`.
#[tokio::test]
async fn query_answers_by_query_id() {
    let env = env().await;
    let no = unique("QI");
    env.raw_client().send(&env.order(&no)).await.unwrap();
    let row = env.order_record(&no).await.unwrap();
    let query_id = row["query_id"].as_str().unwrap();
    assert!(!query_id.is_empty());
    let o = env
        .raw_client()
        .send(
            &QueryRequest::default()
                .sub_mchid(sub(&env))
                .query_id(query_id),
        )
        .await
        .unwrap();
    assert_eq!(o.out_order_no.as_str(), no);
    let e = env
        .raw_client()
        .send(
            &QueryRequest::default()
                .sub_mchid(sub(&env))
                .query_id("nosuchqueryid"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ORDER_NOT_EXIST"));
}

/// SDC §8 G6: complete on a REVOKED order → INVALID_REQUEST 当前订单状态不合法
/// (internal 271302333, SDC §5).
#[tokio::test]
async fn complete_on_a_revoked_order_is_an_illegal_state() {
    let env = env().await;
    let no = unique("CV");
    env.raw_client().send(&env.order(&no)).await.unwrap();
    env.raw_client()
        .send(
            &CancelRequest::default()
                .out_order_no(&no)
                .sub_mchid(sub(&env))
                .reason("用户取消"),
        )
        .await
        .unwrap();
    let e = env
        .raw_client()
        .send(
            &CompleteRequest::default()
                .out_order_no(&no)
                .service_id(env.g.client.ids.service_id.as_str())
                .sub_mchid(sub(&env))
                .post_payments(vec![PostPayment::new("租金", 1)])
                .total_amount(1),
        )
        .await
        .unwrap_err();
    let api = e.as_api().unwrap();
    assert_eq!(
        (api.code(), api.message()),
        (Some("INVALID_REQUEST"), Some("当前订单状态不合法"))
    );
    assert!(api.request_id().unwrap().ends_with("-271302333"), "{e}");
}

/// SDC §2.3, §2.4: a payment line without `amount` counts as 0 when it has a
/// `description`; one with neither is refused, and so is a discount line without `amount`.
#[tokio::test]
async fn an_amount_left_out_counts_as_zero_only_on_an_explained_payment_line() {
    let env = env().await;
    let mut b = order_json(&env, &unique("AM"));
    b.as_object_mut().unwrap().remove("post_discounts");
    b["post_payments"][0]
        .as_object_mut()
        .unwrap()
        .remove("amount");
    b["total_amount"] = 0.into();
    let (status, _, a) = post(&env, DIRECT_COMPLETE, &b).await;
    assert_eq!(status, 204, "explained, counted as 0: {a}");

    let mut b = order_json(&env, &unique("AM"));
    let line = b["post_payments"][0].as_object_mut().unwrap();
    line.remove("amount");
    line.remove("description");
    let (status, _, a) = post(&env, DIRECT_COMPLETE, &b).await;
    assert_eq!(status, 400, "{a}");
    assert_eq!(a["detail"]["field"], "/post_payments/0/amount", "{a}");

    let mut b = order_json(&env, &unique("AM"));
    b["post_discounts"][0]
        .as_object_mut()
        .unwrap()
        .remove("amount");
    let (status, _, a) = post(&env, DIRECT_COMPLETE, &b).await;
    assert_eq!(status, 400, "{a}");
    assert_eq!(a["detail"]["field"], "/post_discounts/0/amount", "{a}");
}

/// SDC §2.5: `end_time` is optional in S1 (the partner page's transcription).
#[tokio::test]
async fn direct_complete_without_end_time_is_accepted() {
    let env = env().await;
    let mut b = order_json(&env, &unique("NE"));
    b["time_range"].as_object_mut().unwrap().remove("end_time");
    let (status, _, a) = post(&env, DIRECT_COMPLETE, &b).await;
    assert_eq!(status, 204, "{a}");
}

/// PROTO §8.1: the current rules do not allow `null`; the field is named.
#[tokio::test]
async fn null_is_refused_naming_the_field() {
    let env = env().await;
    let mut b = order_json(&env, &unique("NU"));
    b["attach"] = Value::Null;
    let (status, _, a) = post(&env, DIRECT_COMPLETE, &b).await;
    assert_eq!(status, 400, "{a}");
    assert_eq!(a["detail"]["field"], "/attach", "{a}");
}

/// PROTO §8.1 and SDC §5: `message` is WeChat's Chinese text; the sandbox's diagnosis is in
/// `detail`; Request-IDs end in the internal error number (SDC §5), never 0 for errors.
#[tokio::test]
async fn messages_are_wechats_and_diagnosis_is_in_detail() {
    let env = env().await;
    let mut b = order_json(&env, &unique("WM"));
    b.as_object_mut().unwrap().remove("service_id");
    let (_, h, a) = post(&env, DIRECT_COMPLETE, &b).await;
    assert_eq!(a["message"], "参数错误", "{a}");
    assert_eq!(a["detail"]["field"], "/service_id", "{a}");
    assert!(
        a["detail"]["issue"]
            .as_str()
            .unwrap()
            .contains("missing field")
    );
    let rid = h["Request-ID"].to_str().unwrap();
    assert!(rid.ends_with("-268435464"), "{rid}");

    let mut b = order_json(&env, &unique("WT"));
    b["total_amount"] = json!(1);
    let (_, _, a) = post(&env, DIRECT_COMPLETE, &b).await;
    assert_eq!(a["message"], "最终总金额计算非法", "{a}");
    assert!(
        a["detail"]["issue"].as_str().unwrap().starts_with("[R1]"),
        "{a}"
    );

    // No message carries the sandbox's English, and no error Request-ID ends like success.
    let no = unique("WX");
    for (status, h, a) in [
        post(
            &env,
            "/v3/payscore/partner/serviceorder/NOSUCH/pay",
            &json!({"sub_mchid": sub(&env)}),
        )
        .await,
        post(&env, DIRECT_COMPLETE, &json!({})).await,
        post(
            &env,
            &format!("/v3/payscore/partner/serviceorder/{no}/cancel"),
            &json!({"sub_mchid": sub(&env), "reason": "x"}),
        )
        .await,
    ] {
        let m = a["message"].as_str().unwrap();
        assert!(!m.chars().any(|c| c.is_ascii_alphabetic()), "{status}: {m}");
        assert!(!h["Request-ID"].to_str().unwrap().ends_with("-0"), "{a}");
    }
    let (status, h, _) = post(&env, DIRECT_COMPLETE, &order_json(&env, &unique("OK"))).await;
    assert_eq!(status, 204);
    assert!(h["Request-ID"].to_str().unwrap().ends_with("-0"));
}

/// PROTO §3.1: JSON answers are `application/json; charset=utf-8`; a 204 has
/// `Content-Length: 0`.
#[tokio::test]
async fn answers_carry_wechats_headers() {
    let env = env().await;
    let (status, h, _) = post(&env, DIRECT_COMPLETE, &order_json(&env, &unique("HD"))).await;
    assert_eq!(status, 204);
    assert_eq!(h["content-length"], "0");
    let (status, h, _) = post(&env, DIRECT_COMPLETE, &json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(h["content-type"], "application/json; charset=utf-8");
}

/// PROTO §1 and the field report behind wechatpay-java PR #187: idle keep-alive
/// connections are closed after about 8 s (here the switch is set to 1 s).
#[tokio::test]
async fn idle_connections_are_closed() {
    let env = env_with(|c| c.behaviour.idle_timeout_secs = 1).await;
    let mut s = tokio::net::TcpStream::connect(env.sandbox.addr())
        .await
        .unwrap();
    s.write_all(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 404"));
    let idle_since = std::time::Instant::now();
    let eof = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("the server closes an idle connection")
        .unwrap();
    assert_eq!(eof, 0, "closed, not answered");
    assert!(
        idle_since.elapsed() >= Duration::from_millis(900),
        "closed by the idle timer: {:?}",
        idle_since.elapsed()
    );
}

/// SDC §2.1 notify_url is https; the sandbox also takes http:// for loopback receivers
/// and says so in the message (and in the README).
#[tokio::test]
async fn plain_http_notify_urls_are_for_loopback_only() {
    let env = env().await;
    let mut b = order_json(&env, &unique("HU"));
    b["notify_url"] = json!("http://example.com/notify");
    let (status, _, a) = post(&env, DIRECT_COMPLETE, &b).await;
    assert_eq!(status, 400, "{a}");
    assert!(
        a["detail"]["issue"].as_str().unwrap().contains("loopback"),
        "{a}"
    );
    let (status, _, _) = post(&env, DIRECT_COMPLETE, &order_json(&env, &unique("HL"))).await;
    assert_eq!(status, 204, "http://127.0.0.1 is accepted");
}

/// Deliveries are at least once; every attempt that may have reached the receiver is on
/// record, because it is recorded before it is made.
#[tokio::test]
async fn an_attempt_is_on_record_while_it_is_being_made() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 10).await;
    // A receiver that takes the callback and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let (got, mut arrived) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 1];
        let _ = s.read(&mut buf).await;
        let _ = got.send(()).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(s);
    });
    let mut order = env.order(&unique("AT"));
    order.notify_url = url;
    env.raw_client().send(&order).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), arrived.recv())
        .await
        .expect("the callback reaches the receiver");
    let deliveries = env.deliveries().await;
    let attempts = deliveries[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert!(attempts[0]["status"].is_null());
    assert!(
        attempts[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("no outcome recorded: the sandbox stopped during this attempt"),
        "{}",
        attempts[0]
    );
}

/// Every endpoint with a path parameter and a JSON body: the parameter repeated in the
/// body is 400 PARAM_ERROR naming it, and nothing is carried out (SDC §2.7, G1).
#[tokio::test]
async fn a_path_parameter_repeated_in_the_body_is_refused_on_every_endpoint() {
    use wechatpay_models::Endpoint as _;
    use wechatpay_models::v3::payscore::partner::permissions as pp;
    use wechatpay_models::v3::payscore::partner::serviceorder as so;
    use wechatpay_models::v3::payscore::permissions as dp;
    use wechatpay_models::v3::payscore::serviceorder as ds;

    let env = env().await;
    let no = unique("RP");
    env.raw_client().send(&env.order(&no)).await.unwrap();
    let ids = env.g.client.ids.clone();
    let (svc, sub) = (ids.service_id.as_str(), ids.sub_mchid.as_str());
    let order_body = |extra: serde_json::Value| {
        let mut b = serde_json::json!({"sub_mchid": sub, "service_id": svc, "reason": "r"});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let lines =
        serde_json::json!({"post_payments": [{"name": "x", "amount": 1}], "total_amount": 1});
    let direct_body = |extra: serde_json::Value| {
        let mut b =
            serde_json::json!({"appid": ids.appid.as_str(), "service_id": svc, "reason": "r"});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let cases = [
        (
            so::CancelRequest::PATH,
            "out_order_no",
            order_body(serde_json::json!({})),
        ),
        (
            so::CompleteRequest::PATH,
            "out_order_no",
            order_body(lines.clone()),
        ),
        (
            so::ModifyRequest::PATH,
            "out_order_no",
            order_body(lines.clone()),
        ),
        (
            so::PayRequest::PATH,
            "out_order_no",
            order_body(serde_json::json!({})),
        ),
        (
            so::SyncRequest::PATH,
            "out_order_no",
            order_body(
                serde_json::json!({"type": "Order_Paid", "detail": {"paid_time": "20250301"}}),
            ),
        ),
        (
            ds::CancelRequest::PATH,
            "out_order_no",
            direct_body(serde_json::json!({})),
        ),
        (
            ds::CompleteRequest::PATH,
            "out_order_no",
            direct_body(lines.clone()),
        ),
        (
            ds::ModifyRequest::PATH,
            "out_order_no",
            direct_body(lines.clone()),
        ),
        (
            ds::PayRequest::PATH,
            "out_order_no",
            direct_body(serde_json::json!({})),
        ),
        (
            ds::SyncRequest::PATH,
            "out_order_no",
            direct_body(
                serde_json::json!({"type": "Order_Paid", "detail": {"paid_time": "20250301"}}),
            ),
        ),
        (
            pp::TerminatePermissionsByCodeRequest::PATH,
            "authorization_code",
            order_body(serde_json::json!({})),
        ),
        (
            dp::TerminatePermissionsByCodeRequest::PATH,
            "authorization_code",
            serde_json::json!({"service_id": svc, "reason": "r"}),
        ),
        (
            dp::TerminatePermissionsByOpenidRequest::PATH,
            "openid",
            serde_json::json!({"service_id": svc, "appid": ids.appid.as_str(), "reason": "r"}),
        ),
    ];
    let client = env.raw_client();
    for (path, name, mut body) in cases {
        let value = if name == "out_order_no" {
            no.as_str()
        } else {
            "CODE1"
        };
        body[name] = value.into();
        let e = client
            .chain(path)
            .param(name, value)
            .send_bytes(http::Method::POST, serde_json::to_vec(&body).unwrap())
            .await
            .unwrap_err();
        let api = e.as_api().unwrap_or_else(|| panic!("{path}: {e}"));
        assert_eq!(
            (api.status().as_u16(), api.code()),
            (400, Some("PARAM_ERROR")),
            "{path}: {e}"
        );
        let field = api.detail().and_then(|d| d.field.clone());
        assert_eq!(
            field.as_deref(),
            Some(format!("/{name}").as_str()),
            "{path}: {e}"
        );
    }
    // The order was neither cancelled, completed, modified nor paid.
    let q = so::QueryRequest::default()
        .service_id(svc)
        .sub_mchid(sub)
        .out_order_no(no.as_str());
    let order = client.send(&q).await.unwrap();
    assert_eq!(
        order.state,
        Some(wechatpay_models::v3::payscore::OrderState::Doing),
        "{order:?}"
    );
}
