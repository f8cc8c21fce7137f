//! A callback receiver with axum: verify, decrypt, answer 204 — or 4xx/5xx with
//! `{"code":"FAIL","message":…}` so that WeChat Pay retries.
//!
//! Runs against a local sandbox: it sends one order whose `notify_url` is this receiver and
//! waits for `PAYSCORE.USER_PAID`.
//!
//! `cargo run -p wechatpay --example axum_receiver`

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::sync::mpsc;
use wechatpay::Client;
use wechatpay::notify::{CallbackVerifier, Event};
use wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest;
use wechatpay_models::v3::payscore::{PostPayment, TimeRange};

#[derive(Clone)]
struct App {
    callbacks: CallbackVerifier,
    paid: mpsc::Sender<String>,
}

/// The handler: raw headers and raw body in, status (and failure body) out.
async fn notify(State(app): State<App>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    match app.callbacks.verify(&headers, &body) {
        Ok(n) => {
            if let Event::PayscoreUserPaid(order) = &n.event {
                // Record the payment idempotently (callbacks arrive at least once), then ack.
                let _ = app
                    .paid
                    .send(format!(
                        "{} paid: {:?}",
                        order.out_order_no,
                        order.collection.as_ref().and_then(|c| c.paid_amount)
                    ))
                    .await;
            }
            (StatusCode::NO_CONTENT, String::new())
        }
        // Bad signature, stale, undecryptable: ask for a retry.
        Err(e) => (e.status(), e.response_body()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (sandbox, g) =
        wechatpay_sandbox::testing::start(|c| c.behaviour.deduction_delay_ms = 200).await?;
    let c = &g.client;
    let client = Client::builder()
        .base_url(sandbox.base_url())
        .mchid(&c.mchid)
        .serial(&c.serial)
        .private_key_pem(&c.private_key_pem)
        .wechatpay_public_key(&c.public_key_id, &c.public_key_pem)
        .apiv3_key(&c.apiv3_key)
        .build()?;

    let (paid, mut rx) = mpsc::channel(8);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let notify_url = format!("http://{}/payscore/notify", listener.local_addr()?);
    let app = Router::new()
        .route("/payscore/notify", post(notify))
        .with_state(App {
            // Built at start-up: a missing APIv3 key fails here, not at the first callback.
            callbacks: client.callback_verifier()?,
            paid,
        });
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("receiver at {notify_url}");

    let ids = &c.ids;
    let now = wechatpay_sandbox::now();
    let req = DirectCompleteRequest::default()
        .service_id(ids.service_id.as_str())
        .appid(ids.appid.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no("RECEIVER0001")
        .service_introduction("共享充电宝")
        .post_payments(vec![PostPayment::new("使用时长", 300)])
        .total_amount(300)
        .time_range(TimeRange::from_unix(now - 3600, now - 60))
        .notify_url(notify_url)
        .openid(ids.openid.as_str());
    client.send(&req).await?;
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await?;
    println!("callback: {}", got.unwrap_or_default());
    sandbox.shutdown().await;
    Ok(())
}
