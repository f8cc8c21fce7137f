//! The console in a real browser: headless Chromium driven through WebDriver
//! (`chromium` and `chromium-driver`, Debian's packages). Where chromedriver is missing the
//! tests say so and pass, unless `WECHATPAY_BROWSER=required` (as in `.ci/run`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{env, unique};

/// A chromedriver process and a headless Chromium session; both end on drop.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Starts chromedriver and a browser, or `None` (with a message) where there is none.
pub(crate) async fn browser() -> Option<Browser> {
    let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = match Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("WECHATPAY_BROWSER").as_deref() != Ok("required"),
                "WECHATPAY_BROWSER=required but {driver} does not start: {e} (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "skipped: {driver} not found ({e}); install chromium and chromium-driver to run the browser tests"
            );
            return None;
        }
    };
    let b = Browser {
        client: connect(port).await,
        driver: child,
    };
    b.client.set_window_size(1280, 900).await.unwrap();
    Some(b)
}

async fn connect(port: u16) -> Client {
    let mut caps = serde_json::Map::new();
    let mut options = json!({ "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    if let Ok(bin) = std::env::var("CHROME_BIN") {
        options["binary"] = json!(bin);
    } else if std::path::Path::new("/usr/bin/chromium").exists() {
        options["binary"] = json!("/usr/bin/chromium");
    }
    caps.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{port}");
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    // chromedriver takes a moment to listen.
    let mut last = None;
    for _ in 0..100 {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return c,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot start a browser session: {last:?}");
}

/// The text of the element `loc` finds.
async fn text(c: &Client, loc: Locator<'_>) -> String {
    c.find(loc).await.unwrap().text().await.unwrap()
}

/// Clicks the button of the action form posting to `helper`, accepts its confirmation
/// (checking that it mentions `asks`), and returns the answer the form shows.
async fn submit(c: &Client, helper: &str, asks: &str) -> String {
    let form = format!("form[action$='/{helper}']");
    c.find(Locator::Css(&format!("{form} button")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let confirm = c.get_alert_text().await.unwrap();
    assert!(confirm.contains(asks), "{confirm}");
    c.accept_alert().await.unwrap();
    let out = c
        .find(Locator::Css(&format!("{form} output")))
        .await
        .unwrap();
    let mut answer = String::new();
    for _ in 0..100 {
        answer = out.text().await.unwrap();
        if answer != "sending…" && !answer.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answer
}

#[tokio::test]
async fn a_sign_error_shows_the_expected_string_to_sign() {
    let Some(b) = browser().await else { return };
    let env = env().await;
    let ids = &env.g.client.ids;
    let path = "/v3/payscore/partner/serviceorder";
    let target = format!(
        "{path}?out_order_no=BR1&service_id={}&sub_mchid={}",
        ids.service_id, ids.sub_mchid
    );
    assert_eq!(env.send_signed(&target, path, b"", b"").await, 401);

    let c = &b.client;
    c.goto(&format!("{}/_sandbox/requests", env.sandbox.base_url()))
        .await
        .unwrap();
    let first = c.find(Locator::Css("#requests tbody tr a")).await.unwrap();
    assert_eq!(first.text().await.unwrap(), format!("GET {target}"));
    first.click().await.unwrap();
    let sig = c
        .wait()
        .for_element(Locator::Id("signature"))
        .await
        .unwrap();
    assert_eq!(sig.text().await.unwrap(), "failed");
    let expected = text(c, Locator::Id("expected")).await;
    let lines: Vec<&str> = expected.lines().collect();
    assert_eq!(lines[0], "GET\\n");
    assert_eq!(lines[1], format!("{target}\\n"));
    assert_eq!(lines[3], "N0NCE\\n");
    let likely = text(c, Locator::Id("likely")).await;
    assert!(likely.contains("query string was left out"), "{likely}");
    b.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn script_in_a_request_is_shown_as_text() {
    let Some(b) = browser().await else { return };
    let env = env().await;
    let mut order = env.order(&unique("XSS"));
    order.attach = Some("<script>window.pwned = 1</script>".into());
    env.builder().build().unwrap().send(&order).await.unwrap();
    let c = &b.client;
    c.goto(&format!("{}/_sandbox/requests", env.sandbox.base_url()))
        .await
        .unwrap();
    c.find(Locator::Css("#requests tbody tr a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let body = c
        .wait()
        .for_element(Locator::Id("request-body"))
        .await
        .unwrap();
    assert!(
        body.text()
            .await
            .unwrap()
            .contains("<script>window.pwned = 1</script>")
    );
    let pwned = c
        .execute("return typeof window.pwned", vec![])
        .await
        .unwrap();
    assert_eq!(pwned, json!("undefined"));
    // And on the order's page, where attach is part of the order.
    c.goto(&format!("{}/_sandbox/orders", env.sandbox.base_url()))
        .await
        .unwrap();
    c.find(Locator::LinkText(order.out_order_no.as_str()))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let shown = c
        .wait()
        .for_element(Locator::Id("order"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("<script>window.pwned = 1</script>"),
        "{shown}"
    );
    let pwned = c
        .execute("return typeof window.pwned", vec![])
        .await
        .unwrap();
    assert_eq!(pwned, json!("undefined"));
    b.client.clone().close().await.unwrap();
}

/// After a flow whose callback failed once and then was acknowledged, the order is found
/// by filter and its page shows both attempts and the decrypted resource.
#[tokio::test]
async fn an_order_page_shows_its_callback_attempts_and_plaintext() {
    let Some(b) = browser().await else { return };
    let env = crate::support::env_with(|c| {
        c.behaviour.deduction_delay_ms = 10;
        c.behaviour.callback_time_scale = 0.001;
    })
    .await;
    let receiver = wechatpay_sandbox::testing::Recorder::start(1)
        .await
        .unwrap();
    let no = unique("WEB");
    let mut order = env.order(&no);
    order.notify_url = receiver.url().into();
    env.builder().build().unwrap().send(&order).await.unwrap();
    receiver.wait_for(2, Duration::from_secs(20)).await;

    let c = &b.client;
    let base = env.sandbox.base_url();
    c.goto(&format!(
        "{base}/_sandbox/orders?state=DONE&openid={}",
        env.g.client.ids.openid
    ))
    .await
    .unwrap();
    c.find(Locator::LinkText(&no))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let plain = c
        .wait()
        .for_element(Locator::Css(".callback .plaintext"))
        .await
        .unwrap();
    let plaintext = plain.text().await.unwrap();
    assert!(
        plaintext.contains(&format!("\"out_order_no\": \"{no}\"")),
        "{plaintext}"
    );
    assert!(plaintext.contains("\"state\": \"DONE\""), "{plaintext}");
    let attempts = c
        .find_all(Locator::Css(".callback .attempts tr"))
        .await
        .unwrap();
    assert_eq!(attempts.len(), 3, "a header and two attempts");
    let second = attempts[2].text().await.unwrap();
    assert!(
        second.starts_with("2 ") && second.contains(" 204 "),
        "{second}"
    );
    let timeline = text(c, Locator::Id("timeline")).await;
    assert!(timeline.contains("deduction 250 fen"), "{timeline}");
    if let Ok(path) = std::env::var("WECHATPAY_SCREENSHOT") {
        std::fs::write(path, c.screenshot().await.unwrap()).unwrap();
    }
    b.client.clone().close().await.unwrap();
}

/// A need-confirm order: the console's "User confirms" button asks first, then the
/// sandbox sends USER_CONFIRM to the order's notify_url.
#[tokio::test]
async fn user_confirms_from_the_console() {
    use wechatpay_models::v3::payscore::partner::serviceorder::CreateRequest;
    use wechatpay_models::v3::payscore::{RiskFund, TimeRange};
    let Some(b) = browser().await else { return };
    let env = env().await;
    let receiver = wechatpay_sandbox::testing::Recorder::start(0)
        .await
        .unwrap();
    let ids = &env.g.client.ids;
    let no = unique("CF");
    let create = CreateRequest::default()
        .service_id(ids.confirm_service_id.as_str())
        .appid(ids.appid.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(&no)
        .service_introduction("充电宝租借")
        .risk_fund(RiskFund::new("DEPOSIT", 9900))
        .time_range(TimeRange::on_accept())
        .notify_url(receiver.url());
    env.builder().build().unwrap().send(&create).await.unwrap();

    let c = &b.client;
    c.goto(&format!(
        "{}/_sandbox/orders?state=CREATED",
        env.sandbox.base_url()
    ))
    .await
    .unwrap();
    c.find(Locator::LinkText(&no))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("form[action$='/confirm-order'] button"))
        .await
        .unwrap();
    let answer = submit(c, "confirm-order", "confirms this order").await;
    assert!(
        answer.starts_with("200") && answer.contains("\"USER_CONFIRM\""),
        "{answer}"
    );
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let envelope: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(envelope["event_type"], "PAYSCORE.USER_CONFIRM");
    b.client.clone().close().await.unwrap();
}

/// Faults on demand from the console: the form on the Requests page adds one, the page
/// lists it while it waits, and the failed request's page says which fault it was.
#[tokio::test]
async fn a_fault_is_added_from_the_console() {
    let Some(b) = browser().await else { return };
    let env = env().await;
    let c = &b.client;
    let requests = format!("{}/_sandbox/requests", env.sandbox.base_url());
    c.goto(&requests).await.unwrap();
    let path = "/v3/payscore/partner/serviceorder/*/cancel";
    c.find(Locator::Css("form[action$='/fault'] input[name=path]"))
        .await
        .unwrap()
        .send_keys(path)
        .await
        .unwrap();
    let answer = submit(c, "fault", "fail as chosen").await;
    assert!(answer.starts_with("200"), "{answer}");
    c.goto(&requests).await.unwrap();
    let waiting = text(c, Locator::Css("#faults + ul")).await;
    assert!(
        waiting.contains(&format!("any {path}")) && waiting.contains("500 SYSTEM_ERROR"),
        "{waiting}"
    );

    let ids = &env.g.client.ids;
    let cancel = wechatpay_models::v3::payscore::partner::serviceorder::CancelRequest::default()
        .out_order_no(unique("FC"))
        .sub_mchid(ids.sub_mchid.as_str())
        .reason("用户取消");
    let e = env
        .builder()
        .build()
        .unwrap()
        .send(&cancel)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("SYSTEM_ERROR"), "{e}");
    c.goto(&requests).await.unwrap();
    assert!(c.find(Locator::Id("faults")).await.is_err(), "used up");
    c.find(Locator::Css("#requests tbody tr a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let said = c.wait().for_element(Locator::Id("fault")).await.unwrap();
    assert!(
        said.text()
            .await
            .unwrap()
            .contains("answers 500 SYSTEM_ERROR"),
        "{:?}",
        said.text().await
    );
    b.client.clone().close().await.unwrap();
}

/// A failed deduction shows on the order's page, with a "User pays" button that pays it
/// (issue 20, item 15).
#[tokio::test]
async fn the_user_pays_a_failed_order_from_the_console() {
    let Some(b) = browser().await else { return };
    let env = env().await;
    let ids = &env.g.client.ids;
    crate::lifecycle::helper(
        &env,
        "deduction-outcome",
        json!({"openid": ids.openid, "outcome": "fail"}),
    )
    .await;
    let no = unique("UP");
    env.builder()
        .build()
        .unwrap()
        .send(&env.order(&no))
        .await
        .unwrap();
    crate::lifecycle::helper(&env, "clock/advance", json!({"seconds": 61})).await;
    for _ in 0..500 {
        let row = env.order_record(&no).await.unwrap();
        if !row["deduction_error"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = &b.client;
    c.goto(&format!("{}/_sandbox/orders", env.sandbox.base_url()))
        .await
        .unwrap();
    c.find(Locator::LinkText(&no))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let failed = c
        .wait()
        .for_element(Locator::Id("deduction-error"))
        .await
        .unwrap();
    assert!(failed.text().await.unwrap().contains("扣款失败"));
    let answer = submit(c, "user-pays", "list of orders to pay").await;
    assert!(
        answer.starts_with("200") && answer.contains("\"USER_PAID\""),
        "{answer}"
    );
    let row = env.order_record(&no).await.unwrap();
    assert_eq!(row["order"]["state"], "DONE", "{row}");
    b.client.clone().close().await.unwrap();
}
