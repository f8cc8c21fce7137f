//! The request log behind the console: every API request with its answer, and for a
//! signature that does not verify, the string the sandbox expected and the likely mistake.

use serde_json::Value;
use wechatpay_core::SignableRequest;

use crate::support::{Env, env, json, unique};

async fn log(env: &Env) -> Vec<Value> {
    let r = reqwest::get(format!("{}/_sandbox/api/requests", env.sandbox.base_url()))
        .await
        .unwrap();
    json(r).await["requests"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_request_is_logged_with_its_answer() {
    let env = env().await;
    let no = unique("LOG");
    let client = env.builder().build().unwrap();
    client.send(&env.order(&no)).await.unwrap();
    let rows = log(&env).await;
    let r = &rows[0];
    assert_eq!(r["method"], "POST");
    assert_eq!(
        r["target"],
        "/v3/payscore/partner/serviceorder/direct-complete"
    );
    assert_eq!(r["status"], 204);
    assert_eq!(r["signature"], "verified");
    assert_eq!(r["mchid"], env.g.client.mchid.as_str());
    assert_eq!(r["serial"], env.g.client.serial.as_str());
    assert_eq!(r["out_order_no"], no.as_str());
    assert!(r["request_body"].as_str().unwrap().contains(&no));
    assert!(r["request_id"].as_str().unwrap().ends_with("-0"), "{r}");
    // The Authorization header is there, its signature cut short.
    let auth = r["request_headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .unwrap()[1]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(auth.contains("(344 characters)"), "{auth}");
    assert!(auth.len() < 300, "{auth}");
    // A request that names its order in the path is filed under it too.
    let cancel = wechatpay_models::v3::payscore::partner::serviceorder::CancelRequest::default()
        .out_order_no(&no)
        .sub_mchid(env.g.client.ids.sub_mchid.as_str())
        .reason("用户取消");
    let _ = client.send(&cancel).await;
    let latest = &log(&env).await[0];
    assert_eq!(
        latest["target"],
        format!("/v3/payscore/partner/serviceorder/{no}/cancel")
    );
    assert_eq!(latest["out_order_no"], no.as_str());
    // And one that names it in the query.
    let ids = &env.g.client.ids;
    let query = wechatpay_models::v3::payscore::partner::serviceorder::QueryRequest::default()
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(&no);
    client.send(&query).await.unwrap();
    let latest = &log(&env).await[0];
    assert_eq!(
        (latest["method"].as_str(), latest["out_order_no"].as_str()),
        (Some("GET"), Some(no.as_str()))
    );
    let one = reqwest::get(format!(
        "{}/_sandbox/api/requests/{}",
        env.sandbox.base_url(),
        r["id"]
    ))
    .await
    .unwrap();
    assert_eq!(json(one).await["id"], r["id"]);
    let none = reqwest::get(format!(
        "{}/_sandbox/api/requests/999999",
        env.sandbox.base_url()
    ))
    .await
    .unwrap();
    assert_eq!(none.status(), 404);
}

#[tokio::test]
async fn a_wrong_signature_shows_the_expected_string_and_the_likely_mistake() {
    let env = env().await;
    let ids = &env.g.client.ids;
    let path = "/v3/payscore/partner/serviceorder";
    let target = format!(
        "{path}?out_order_no=Q1&service_id={}&sub_mchid={}",
        ids.service_id, ids.sub_mchid
    );
    assert_eq!(env.send_signed(&target, path, b"", b"").await, 401);
    let r = &log(&env).await[0];
    assert_eq!(r["signature"], "failed");
    assert_eq!(r["code"], "SIGN_ERROR");
    let (_, html) = page(&env, &format!("/_sandbox/requests/{}", r["id"])).await;
    assert!(
        html.contains("<span class=\"nl\">\\n</span>"),
        "line ends visible: {html}"
    );
    assert!(
        !html.contains("id=\"issue\""),
        "a bad signature has its own diagnosis"
    );
    assert_eq!(r["out_order_no"], "Q1");
    let d = &r["diagnosis"];
    let expected = d["expected_string_to_sign"].as_str().unwrap();
    assert!(
        expected.starts_with(&format!("GET\n{target}\n")),
        "{expected}"
    );
    assert!(expected.ends_with("\nN0NCE\n\n"), "{expected}");
    assert!(
        d["likely"].as_str().unwrap().contains("query string"),
        "{d}"
    );

    // Bytes that differ from those signed match no usual mistake.
    let body = serde_json::to_vec(&env.order(&unique("SB"))).unwrap();
    let mut sent = body.clone();
    sent.extend_from_slice(b" ");
    let dc = "/v3/payscore/partner/serviceorder/direct-complete";
    assert_eq!(env.send_signed(dc, dc, &body, &sent).await, 401);
    let r = &log(&env).await[0];
    assert!(
        r["diagnosis"]["likely"]
            .as_str()
            .unwrap()
            .starts_with("none of the usual mistakes"),
        "{r}"
    );
    assert_eq!(
        r["request_body"].as_str().unwrap().as_bytes(),
        &sent[..],
        "the body as received"
    );
}

async fn page(env: &Env, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}{path}", env.sandbox.base_url()))
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status == 200 {
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
    }
    (status, r.text().await.unwrap())
}

#[tokio::test]
async fn orders_are_found_by_filter_and_escaped() {
    let env = env().await;
    let client = env.builder().build().unwrap();
    let a = unique("FA");
    let mut first = env.order(&a);
    first.attach = Some("<img src=x onerror=alert(1)>".into());
    client.send(&first).await.unwrap();
    let openid = env.g.client.ids.openid.as_str();

    let (status, html) = page(&env, &format!("/_sandbox/orders?openid={openid}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&a), "{html}");
    let (_, html) = page(&env, "/_sandbox/orders?openid=oNobody").await;
    assert!(!html.contains(&a) && html.contains("No orders match."));
    let today = wechatpay_models::v3::bill::beijing_day(wechatpay_sandbox::now());
    let (_, html) = page(&env, &format!("/_sandbox/orders?state=DOING&day={today}")).await;
    assert!(
        html.contains(&a),
        "created today, collecting (DOING): {html}"
    );
    let (_, html) = page(&env, "/_sandbox/orders?day=2001-01-01").await;
    assert!(!html.contains(&a));
    let (status, _) = page(&env, "/_sandbox/orders?day=yesterday").await;
    assert_eq!(status, 400);

    // The order page escapes what came from the request.
    let id = html_link_id(
        &page(&env, &format!("/_sandbox/orders?openid={openid}"))
            .await
            .1,
        &a,
    );
    let (status, html) = page(&env, &format!("/_sandbox/orders/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img src=x"), "{html}");
}

/// The order id in `/_sandbox/orders/{id}` of the link whose text is `no`.
fn html_link_id(html: &str, no: &str) -> i64 {
    let end = html.find(&format!("\">{no}</a>")).unwrap();
    let start = html[..end].rfind("/_sandbox/orders/").unwrap() + "/_sandbox/orders/".len();
    html[start..end].parse().unwrap()
}

async fn post_helper(env: &Env, name: &str, body: Value, extra: &[(&str, String)]) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .post(format!(
            "{}/_sandbox/api/test-helpers/{name}",
            env.sandbox.base_url()
        ))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    for (k, v) in extra {
        r = r.header(*k, v);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), json(r).await)
}

#[tokio::test]
async fn helpers_refuse_other_sites_and_resend_callbacks() {
    let env = crate::support::env_with(|c| {
        c.behaviour.deduction_delay_ms = 10;
        c.behaviour.callback_time_scale = 0.001;
    })
    .await;
    let body = serde_json::json!({"seconds": 0});
    let evil = [("Origin", "http://evil.example".to_owned())];
    assert_eq!(
        post_helper(&env, "clock/advance", body.clone(), &evil)
            .await
            .0,
        403
    );
    let cross = [("Sec-Fetch-Site", "cross-site".to_owned())];
    assert_eq!(
        post_helper(&env, "clock/advance", body.clone(), &cross)
            .await
            .0,
        403
    );
    let own = [
        ("Origin", env.sandbox.base_url()),
        ("Sec-Fetch-Site", "same-origin".to_owned()),
    ];
    assert_eq!(post_helper(&env, "clock/advance", body, &own).await.0, 200);

    let receiver = wechatpay_sandbox::testing::Recorder::start(0)
        .await
        .unwrap();
    let mut order = env.order(&unique("RS"));
    order.notify_url = receiver.url().into();
    env.builder().build().unwrap().send(&order).await.unwrap();
    let got = receiver
        .wait_for(1, std::time::Duration::from_secs(10))
        .await;
    let envelope: Value = serde_json::from_slice(&got[0].body).unwrap();
    let event_id = envelope["id"].as_str().unwrap().to_owned();
    let (status, a) = post_helper(
        &env,
        "resend-callback",
        serde_json::json!({"event_id": event_id}),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{a}");
    let again = receiver
        .wait_for(2, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(again[1].body, got[0].body, "the same callback, sent again");
    let (status, _) = post_helper(
        &env,
        "resend-callback",
        serde_json::json!({"event_id": "EV-none"}),
        &[],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn home_authorizations_and_refunds_pages_render() {
    let env = env().await;
    let (status, html) = page(&env, "/_sandbox/").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Business time (test clock)") && html.contains("clock/advance"),
        "{html}"
    );
    let (status, html) = page(&env, "/_sandbox/authorizations").await;
    assert_eq!(status, 200);
    // The users of sandbox.toml have authorized: each row can be revoked.
    let openid = env.g.client.ids.openid.as_str();
    assert!(
        html.contains(openid) && html.contains("AVAILABLE"),
        "{html}"
    );
    assert!(html.contains("test-helpers/revoke-authorization"), "{html}");
    let (status, html) = page(&env, "/_sandbox/refunds").await;
    assert_eq!(status, 200);
    assert!(html.contains("No refunds yet."), "{html}");
}

#[tokio::test]
async fn listening_beyond_loopback_needs_a_console_token() {
    let e = wechatpay_sandbox::testing::start(|c| c.listen = "0.0.0.0:0".into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("set console_token"), "{e}");
    let short = wechatpay_sandbox::testing::start(|c| c.console_token = Some("short".into()))
        .await
        .unwrap_err();
    assert!(short.to_string().contains("at least 16"), "{short}");
    let (sandbox, _) = wechatpay_sandbox::testing::start(|c| {
        c.listen = "0.0.0.0:0".into();
        c.console_token = Some("a-long-enough-console-token".into());
    })
    .await
    .unwrap();
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_days_trade_bill_downloads_from_the_console() {
    let env = crate::support::env_with(|c| c.behaviour.deduction_delay_ms = 10).await;
    let no = unique("BILL");
    env.builder()
        .build()
        .unwrap()
        .send(&env.order(&no))
        .await
        .unwrap();
    let base = env.sandbox.base_url();
    let tx = format!("{base}/_sandbox/api/transactions");
    for _ in 0..200 {
        let t = json(reqwest::get(&tx).await.unwrap()).await;
        if t["transactions"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let today = wechatpay_models::v3::bill::beijing_day(wechatpay_sandbox::now());
    let r = reqwest::get(format!("{base}/_sandbox/bill?bill_date={today}"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"tradebill-"),
        "{disposition}"
    );
    let text = r.text().await.unwrap();
    assert!(text.starts_with("\u{feff}交易时间"), "{text}");
    assert!(text.contains("wxzff|") && text.contains(&no), "{text}");
    let none = reqwest::get(format!("{base}/_sandbox/bill?bill_date=2001-01-01"))
        .await
        .unwrap();
    assert_eq!(none.status(), 400);
    assert_eq!(json(none).await["code"], "NO_STATEMENT_EXIST");
}

#[tokio::test]
async fn seeded_orders_are_in_the_console() {
    let env = env().await;
    let day = wechatpay_models::v3::bill::beijing_day(wechatpay_sandbox::now() - 86_400);
    let n = env
        .sandbox
        .state()
        .seed(&env.g.config, day, 2_010, 0)
        .unwrap();
    assert_eq!(n.payments, 2_010);
    // Users cycle through 1,000: oSEEDUSER0005 has orders 5, 1005 and 2005.
    let (_, html) = page(
        &env,
        &format!("/_sandbox/orders?openid=oSEEDUSER0005&day={day}&state=DONE"),
    )
    .await;
    assert_eq!(
        html.matches("href=\"/_sandbox/orders/").count(),
        3,
        "{html}"
    );
    assert!(html.matches("<td>DONE ").count() >= 3, "{html}");
    // 50 a page, newest first, each page's cursor leading to the next.
    let (_, first) = page(&env, "/_sandbox/orders").await;
    assert_eq!(first.matches("href=\"/_sandbox/orders/").count(), 50);
    let next = first
        .split("id=\"older\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let (_, second) = page(&env, &next).await;
    assert_eq!(second.matches("href=\"/_sandbox/orders/").count(), 50);
    let ids = |h: &str| -> Vec<String> {
        h.split("href=\"/_sandbox/orders/")
            .skip(1)
            .map(|x| x.split('"').next().unwrap().to_owned())
            .collect()
    };
    assert!(
        ids(&first).iter().all(|i| !ids(&second).contains(i)),
        "no order on two pages"
    );
}

#[tokio::test]
async fn other_refusals_show_the_sandboxs_diagnosis() {
    let env = env().await;
    let c = &env.g.client;
    // A timestamp 10 minutes old: refused before the signature is checked.
    let ts = wechatpay_sandbox::now() - 600;
    let dc = "/v3/payscore/partner/serviceorder/direct-complete";
    let auth = SignableRequest::new("POST", dc, b"{}")
        .sign(&c.mchid, &c.serial, &env.merchant_key(), ts, "N")
        .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}{dc}", env.sandbox.base_url()))
        .header("Authorization", auth.to_string())
        .header("Accept", "application/json")
        .header("User-Agent", "console-tests")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let row = &log(&env).await[0];
    let (_, html) = page(&env, &format!("/_sandbox/requests/{}", row["id"])).await;
    assert!(
        html.contains("id=\"issue\"") && html.contains("behind the server&#39;s clock"),
        "{html}"
    );
}

/// Signature probes (payscore-provider-notes.md): with `signature_probe_percent`, a
/// callback is preceded by the same envelope signed `WECHATPAY/SIGNTEST/…`. A receiver
/// built on the SDK refuses it (and the SDK says it was a probe); one that acknowledges it
/// is marked in the JSON and on the order page as not verifying signatures. The real
/// callbacks are delivered either way.
#[tokio::test]
async fn signature_probes_find_a_receiver_that_does_not_verify() {
    use std::sync::Arc;
    use wechatpay_sandbox::testing::Recorder;

    let env = crate::support::env_with(|c| {
        c.behaviour.deduction_delay_ms = 0;
        c.behaviour.signature_probe_percent = 100;
    })
    .await;
    let client = env.builder().build().unwrap();
    let verifier = client.callback_verifier().unwrap();
    let v = verifier.clone();
    let careful = Recorder::start_with(
        0,
        Arc::new(move |h, b| match v.verify(h, b) {
            Ok(_) => axum::http::StatusCode::NO_CONTENT,
            Err(e) => e.status(),
        }),
    )
    .await
    .unwrap();
    let careless = Recorder::start(0).await.unwrap();
    let (a, b) = (unique("PRA"), unique("PRB"));
    for (no, rec) in [(&a, &careful), (&b, &careless)] {
        let mut order = env.order(no);
        order.notify_url = rec.url().into();
        client.send(&order).await.unwrap();
    }
    let got = careful
        .wait_for(2, std::time::Duration::from_secs(10))
        .await;
    let probe = verifier.verify(&got[0].headers, &got[0].body).unwrap_err();
    assert!(probe.is_signature_probe(), "{probe}");
    assert_eq!(got[0].status, 401);
    assert!(verifier.verify(&got[1].headers, &got[1].body).is_ok());
    assert_eq!(got[1].status, 204);
    assert_eq!(
        careless
            .wait_for(2, std::time::Duration::from_secs(10))
            .await
            .len(),
        2
    );

    let deliveries = env.deliveries().await;
    let probe_of = |no: &str| {
        deliveries
            .iter()
            .find(|d| d["delivery"]["out_order_no"] == no)
            .map(|d| d["probe"].clone())
            .unwrap()
    };
    assert_eq!(
        (
            probe_of(&a)["status"].as_i64(),
            probe_of(&a)["verifies"].as_bool()
        ),
        (Some(401), Some(true))
    );
    assert_eq!(
        (
            probe_of(&b)["status"].as_i64(),
            probe_of(&b)["verifies"].as_bool()
        ),
        (Some(204), Some(false))
    );
    let openid = env.g.client.ids.openid.clone();
    let list = page(&env, &format!("/_sandbox/orders?openid={openid}"))
        .await
        .1;
    let (_, html) = page(
        &env,
        &format!("/_sandbox/orders/{}", html_link_id(&list, &b)),
    )
    .await;
    assert!(
        html.contains("this receiver does not verify signatures"),
        "{html}"
    );
    let (_, html) = page(
        &env,
        &format!("/_sandbox/orders/{}", html_link_id(&list, &a)),
    )
    .await;
    assert!(html.contains("it verifies signatures"), "{html}");
}
