//! What an outside trial tried against the sandbox (issue 18, docs/reliability.md "Attacks
//! tried"), over sockets: a rebound host name, a notify_url that smuggles another host,
//! callbacks redirected or sent to a silent receiver, credentials and large bodies in the
//! request log, a bill link's host, cross-site bill downloads, bill files left behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wechatpay_models::Endpoint as _;
use wechatpay_models::v3::bill::TradeBillRequest;

use crate::lifecycle::helper;
use crate::support::{Env, env, env_with, unique};

fn url(env: &Env, path: &str) -> String {
    format!("{}{path}", env.sandbox.base_url())
}

#[tokio::test]
async fn a_rebound_host_name_gets_no_console_json_or_helper() {
    let env = env().await;
    let port = env.sandbox.addr().port();
    let http = reqwest::Client::new();
    let clock = || async {
        let v = crate::support::json(
            reqwest::get(url(&env, "/_sandbox/api/clock"))
                .await
                .unwrap(),
        )
        .await;
        v["offset_seconds"].as_i64().unwrap()
    };
    let before = clock().await;
    for host in [format!("attacker.example:{port}"), "127.0.0.1:1".into()] {
        for path in ["/_sandbox/", "/_sandbox/api/requests", "/_sandbox/orders"] {
            let r = http
                .get(url(&env, path))
                .header("Host", &host)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{host} {path}");
        }
        let r = http
            .post(url(&env, "/_sandbox/api/test-helpers/clock/advance"))
            .header("Host", &host)
            .header("Content-Type", "application/json")
            .body(json!({"seconds": 86_400}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{host}");
    }
    assert_eq!(clock().await, before, "the clock did not move");
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let r = http
            .get(url(&env, "/_sandbox/api/clock"))
            .header("Host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn a_notify_url_that_smuggles_another_host_is_refused_at_creation() {
    let env = env().await;
    let client = env.raw_client();
    for smuggled in [
        "https://10.200.0.1:9441\\@127.0.0.1/n",
        "http://127.0.0.1@10.200.0.1/n",
        "https://user:pw@example.com/n",
    ] {
        let mut order = env.order(&unique("SM"));
        order.notify_url = smuggled.into();
        let e = client.send(&order).await.unwrap_err();
        let api = e.as_api().unwrap_or_else(|| panic!("{e}"));
        assert_eq!(
            (api.status().as_u16(), api.code()),
            (400, Some("PARAM_ERROR")),
            "{smuggled}"
        );
    }
}

/// A receiver that answers every callback with `status` and `headers`; counts them.
async fn receiver(answer: String) -> (String, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}/notify"), hits)
}

/// Completes an order whose USER_PAID goes to `notify_url`, deducted at once.
async fn paid(env: &Env, notify_url: &str) {
    let mut order = env.order(&unique("CB"));
    order.notify_url = notify_url.into();
    env.builder().build().unwrap().send(&order).await.unwrap();
}

/// A callback and its attempts, as `/_sandbox/api/deliveries` lists them.
type Delivery = (serde_json::Value, Vec<serde_json::Value>);

/// Waits (at most 30 s) until `done` holds for the sandbox's deliveries.
async fn until(env: &Env, what: &str, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d: Vec<Delivery> = env
            .deliveries()
            .await
            .into_iter()
            .map(|d| {
                let attempts = d["attempts"].as_array().cloned().unwrap_or_default();
                (d["delivery"].clone(), attempts)
            })
            .collect();
        if done(&d) {
            return d;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {d:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_redirecting_receiver_is_a_failed_attempt_and_nothing_follows_it() {
    let env = env_with(|c| c.behaviour.deduction_delay_ms = 0).await;
    let (elsewhere, reached) = receiver("HTTP/1.1 204 No Content\r\n\r\n".into()).await;
    let (redirecting, _) = receiver(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere}\r\nContent-Length: 0\r\n\r\n"
    ))
    .await;
    paid(&env, &redirecting).await;
    let d = until(&env, "one attempt", |d| {
        d.iter()
            .any(|(_, a)| a.first().is_some_and(|a| !a["status"].is_null()))
    })
    .await;
    let (delivery, attempts) = &d[0];
    assert_eq!(attempts[0]["status"], 307);
    assert!(
        attempts[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("307")
    );
    assert_eq!(delivery["state"], "pending", "retried on the schedule");
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn a_silent_receiver_holds_no_more_callbacks_than_the_cap() {
    const CAP: usize = 3;
    const ORDERS: usize = 9;
    let env = env_with(|c| {
        c.behaviour.deduction_delay_ms = 0;
        c.behaviour.max_concurrent_callbacks = CAP;
        c.behaviour.callback_timeout_ms = 60_000;
    })
    .await;
    // Holds each callback until released, then acknowledges it; records the most held.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!("http://{}/notify", l.local_addr().unwrap());
    let (held, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (release, released) = tokio::sync::watch::channel(false);
    let (h, m) = (held.clone(), most.clone());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let now = h.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            let (h, mut released) = (h.clone(), released.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = s.read(&mut buf).await;
                let _ = released.wait_for(|r| *r).await;
                h.fetch_sub(1, Ordering::SeqCst);
                let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
            });
        }
    });
    for _ in 0..ORDERS {
        paid(&env, &notify_url).await;
    }
    // Every callback exists and has been taken up to the cap (without one, all would be
    // taken, and sent, at once).
    let d = until(&env, "all due, CAP sending", |d| {
        d.len() == ORDERS && d.iter().filter(|(x, _)| x["state"] == "sending").count() == CAP
    })
    .await;
    assert_eq!(
        d.iter().filter(|(x, _)| x["state"] == "pending").count(),
        ORDERS - CAP
    );
    release.send(true).unwrap();
    until(&env, "all delivered", |d| {
        d.iter().all(|(x, _)| x["state"] == "delivered")
    })
    .await;
    assert!(
        most.load(Ordering::SeqCst) <= CAP,
        "{} held at once",
        most.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn credentials_and_large_bodies_are_cut_in_the_request_log() {
    let env = env().await;
    let token = "Bearer sk_live_0123456789abcdefghijklmnopqrstuvwxyz";
    let r = reqwest::Client::new()
        .post(url(
            &env,
            "/v3/payscore/partner/serviceorder/direct-complete",
        ))
        .header("Authorization", token)
        .header("Content-Type", "application/json")
        .body(vec![b'x'; 60_000])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let row = &env.api("requests?limit=1").await["requests"][0];
    let auth = row["request_headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .unwrap()[1]
        .as_str()
        .unwrap();
    assert_eq!(auth, "Bearer sk_l…(44 characters)");
    let body = row["request_body"].as_str().unwrap();
    assert!(body.len() < 17_000, "{}", body.len());
    assert!(body.ends_with("…(60000 bytes in all; the rest is not logged)"));
    // Pages of the log are bounded too.
    let page = crate::support::json(
        reqwest::get(url(&env, "/_sandbox/api/requests?limit=100000"))
            .await
            .unwrap(),
    )
    .await;
    assert!(page["requests"].as_array().unwrap().len() <= 200);
}

#[tokio::test]
async fn bill_links_name_the_sandbox_expire_with_their_file_and_refuse_other_sites() {
    let env = env().await;
    let day = wechatpay_models::v3::bill::beijing_day(wechatpay_sandbox::now() - 2 * 86_400);
    env.sandbox.state().seed(&env.g.config, day, 3, 0).unwrap();
    let day = day.to_string();
    // Signed by hand so that the Host header can lie.
    let c = &env.g.client;
    let target = format!("{}?bill_date={day}", TradeBillRequest::PATH);
    let auth = wechatpay_core::SignableRequest::new("GET", &target, b"")
        .sign(
            &c.mchid,
            &c.serial,
            &env.merchant_key(),
            wechatpay_sandbox::now(),
            "N0NCE",
        )
        .unwrap();
    let link = crate::support::json(
        reqwest::Client::new()
            .get(url(&env, &target))
            .header("Host", "attacker.example")
            .header("Authorization", auth.to_string())
            .header("Accept", "application/json")
            .header("User-Agent", "sandbox-tests")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let download = link["download_url"].as_str().unwrap();
    assert!(
        download.starts_with(&format!("{}/v3/billdownload/file?", env.sandbox.base_url())),
        "{link}"
    );
    let dir = env.sandbox.state().bill_dir().to_path_buf();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    // Past the link's life the worker removes the file.
    helper(&env, "clock/advance", json!({"seconds": 301})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&dir).unwrap().count() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bill file stayed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The console's bill download refuses a request from another site (an <img> tag).
    let bill = url(&env, &format!("/_sandbox/bill?bill_date={day}"));
    let http = reqwest::Client::new();
    let r = http
        .get(&bill)
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .get(&bill)
        .header("Sec-Fetch-Site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
