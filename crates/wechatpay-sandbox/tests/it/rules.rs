//! Every documented rule, enforced by the server (the client's own checks are off).

use wechatpay_models::v3::payscore::{Location, PostDiscount, PostPayment, TimeRange};

use crate::support::{Env, env, env_with, unique};

type Mutation =
    Box<dyn Fn(&mut wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest)>;

async fn param_error(
    env: &Env,
    req: &wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest,
    field: &str,
) -> String {
    let e = env.raw_client().send(req).await.unwrap_err();
    let api = e.as_api().unwrap_or_else(|| panic!("{e}"));
    assert_eq!(
        (api.status().as_u16(), api.code()),
        (400, Some("PARAM_ERROR")),
        "{api}"
    );
    assert_eq!(
        api.detail().and_then(|d| d.field.as_deref()),
        Some(field),
        "{api}"
    );
    api.message().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn every_rule_is_enforced_with_the_field_named() {
    let env = env().await;
    let now = wechatpay_sandbox::now();
    let cases: Vec<(&str, Mutation)> = vec![
        ("/total_amount", Box::new(|r| r.total_amount = 300.into())), // R1
        (
            "/post_payments/0/amount",
            Box::new(|r| {
                r.post_payments[0].amount = (-1).into();
                r.total_amount = (-51).into();
            }),
        ), // R2
        ("/post_payments", Box::new(|r| r.post_payments.clear())),    // R4
        (
            "/post_discounts",
            Box::new(|r| {
                r.post_discounts = Some(
                    (0..6)
                        .map(|i| PostDiscount::new(format!("d{i}"), "x", 0))
                        .collect(),
                )
            }),
        ), // R4
        (
            "/post_payments/1/name",
            Box::new(|r| r.post_payments.push(PostPayment::new("使用时长", 0))),
        ), // R5
        (
            "/post_discounts/1/name",
            Box::new(|r| {
                r.post_discounts
                    .as_mut()
                    .unwrap()
                    .push(PostDiscount::new("新用户立减", "x", 0))
            }),
        ), // R5
        (
            "/service_introduction",
            Box::new(|r| {
                r.service_introduction = "一二三四五六七八九十一二三四五六七八九十一".into()
            }),
        ), // R6
        ("/attach", Box::new(|r| r.attach = Some("a".repeat(257)))),  // R6
        (
            "/location/start_location",
            Box::new(|r| r.location = Some(Location::new("地".repeat(51)))),
        ), // R6
        (
            "/time_range/end_time",
            Box::new(move |r| r.time_range = TimeRange::from_unix(now - 60, now + 3600)),
        ), // R7
        (
            "/time_range/end_time",
            Box::new(move |r| r.time_range = TimeRange::from_unix(now - 60, now - 120)),
        ), // R7
        (
            "/time_range/start_time",
            Box::new(|r| r.time_range.start_time = "2025-11-26".into()),
        ), // R7
        (
            "/post_payments/0/count",
            Box::new(|r| r.post_payments[0].count = Some(0)),
        ), // R8
        (
            "/out_order_no",
            Box::new(|r| r.out_order_no = "has@at".into()),
        ),
        ("/openid", Box::new(|r| r.openid = "".into())),
        (
            "/notify_url",
            Box::new(|r| r.notify_url = "http://127.0.0.1:9/n?x=1".into()),
        ),
        ("/attach", Box::new(|r| r.attach = Some("🚲".into()))),
    ];
    for (field, mutate) in cases {
        let mut req = env.order(&unique("R"));
        mutate(&mut req);
        param_error(&env, &req, field).await;
    }
    assert!(env.orders().await.is_empty(), "no bad order was stored");
}

#[tokio::test]
async fn the_total_formula_message_is_wechats() {
    let env = env().await;
    let mut req = env.order(&unique("F"));
    req.post_payments[0].count = Some(3); // count is informational: 300 stays 300
    req.total_amount = 900.into();
    assert!(
        param_error(&env, &req, "/total_amount")
            .await
            .contains("最终总金额计算非法")
    );
}

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_fields() {
    let env = env().await;
    let client = env.raw_client();
    let chain = || client.chain("v3/payscore/partner/serviceorder/direct-complete");
    let e = chain()
        .send_bytes(http::Method::POST, "{not json")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("PARAM_ERROR"));
    let mut v = serde_json::to_value(env.order(&unique("J"))).unwrap();
    v["total_amount"] = "250".into();
    let e = chain().post(&v).await.unwrap_err();
    assert_eq!(
        e.as_api().unwrap().detail().unwrap().field.as_deref(),
        Some("/total_amount")
    );
    v["total_amount"] = 250.into();
    v.as_object_mut().unwrap().remove("openid");
    let e = chain().post(&v).await.unwrap_err();
    assert_eq!(
        e.as_api().unwrap().detail().unwrap().field.as_deref(),
        Some("/openid"),
        "{e}"
    );
    let e = chain()
        .send_bytes(http::Method::POST, vec![b'x'; 70 * 1024])
        .await
        .unwrap_err();
    assert_eq!(e.as_api().unwrap().status(), 413);
}

#[tokio::test]
async fn risk_cap_and_permissions() {
    let env = env_with(|c| {
        c.behaviour.deduction_delay_ms = 60_000;
        c.services.push(wechatpay_sandbox::config::ServiceConfig {
            service_id: "NOPERMISSION".into(),
            risk_cap: 100_000,
            providers: vec![c.providers[0].mchid.clone()],
            direct_complete: false,
            need_confirm: false,
        });
    })
    .await;
    let ids = env.g.client.ids.clone();
    let client = env.raw_client();
    let mut req = env.order(&unique("C"));
    req.post_payments[0].amount = 20_051.into();
    req.total_amount = 20_001.into(); // cap is 20_000
    let e = client.send(&req).await.unwrap_err();
    assert_eq!(e.code(), Some("INVALID_REQUEST"));
    assert!(
        e.as_api()
            .unwrap()
            .message()
            .unwrap()
            .contains("服务风险金额")
    );

    let cases: Vec<(&str, Mutation)> = vec![
        ("NO_AUTH", Box::new(|r| r.sub_mchid = "1999999999".into())),
        (
            "APPID_MCHID_NOT_MATCH",
            Box::new(|r| r.appid = "wx0000000000000000".into()),
        ),
        (
            "NO_AUTH",
            Box::new(|r| r.sub_appid = Some("wx1111111111111111".into())),
        ),
        ("NO_AUTH", Box::new(|r| r.service_id = "UNKNOWN".into())),
        (
            "NO_AUTH",
            Box::new(|r| r.service_id = "NOPERMISSION".into()),
        ),
    ];
    for (code, mutate) in cases {
        let mut req = env.order(&unique("P"));
        mutate(&mut req);
        let e = client.send(&req).await.unwrap_err();
        assert_eq!(e.code(), Some(code), "{e}");
    }
    let mut req = env.order(&unique("U"));
    req.openid = ids.unauthorised_openid.as_str().into();
    let e = client.send(&req).await.unwrap_err();
    assert_eq!(
        (e.code(), e.as_api().unwrap().status().as_u16()),
        (Some("NO_AUTH"), 403)
    );
}

#[tokio::test]
async fn duplicates_reenter_with_same_parameters_and_fail_with_others() {
    let env = env_with(|c| {
        c.behaviour.deduction_delay_ms = 60_000;
        c.providers[0]
            .sub_merchants
            .push(wechatpay_sandbox::config::SubMerchantConfig {
                sub_mchid: "1900000999".into(),
                sub_appids: vec![],
            });
    })
    .await;
    let client = env.raw_client();
    let no = unique("D");
    let req = env.order(&no);
    client.send(&req).await.unwrap();
    client.send(&req).await.unwrap();
    let e = client.send(&req.clone().attach("other")).await.unwrap_err();
    assert_eq!(e.code(), Some("INVALID_REQUEST"));
    assert!(e.request_id().unwrap().ends_with("-271316598"));
    // The key is (sub_mchid, out_order_no): another sub-merchant may use the same number.
    let mut other = env.order(&no);
    other.sub_mchid = "1900000999".into();
    other.sub_appid = None;
    client.send(&other).await.unwrap();
    assert_eq!(env.orders().await.len(), 2);
}

#[tokio::test]
async fn thirty_discounts_when_configured_as_the_old_docs_say() {
    let env = env_with(|c| c.behaviour.max_post_discounts = 30).await;
    let mut req = env.order(&unique("O"));
    req.post_payments[0].amount = 300.into();
    req.post_discounts = Some(
        (0..6)
            .map(|i| PostDiscount::new(format!("d{i}"), "x", 0))
            .collect(),
    );
    req.total_amount = 300.into();
    env.raw_client().send(&req).await.unwrap();
}
