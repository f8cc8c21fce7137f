//! The three call styles with the blocking client, against a local sandbox.
//!
//! `cargo run -p wechatpay --example blocking --features blocking`

use wechatpay_models::v3::payscore::partner::serviceorder::{DirectCompleteRequest, QueryRequest};
use wechatpay_models::v3::payscore::{PostPayment, TimeRange};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A sandbox with fresh keys, on its own runtime thread (the blocking client must not
    // run inside one).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let (sandbox, g) = wechatpay_sandbox::testing::start(|_| {})
                .await
                .expect("sandbox");
            tx.send((sandbox.base_url(), g.client)).expect("send");
            std::future::pending::<()>().await;
        });
    });
    let (base_url, c) = rx.recv()?;

    let client = wechatpay::Client::builder()
        .base_url(base_url)
        .mchid(&c.mchid)
        .serial(&c.serial)
        .private_key_pem(&c.private_key_pem)
        .wechatpay_public_key(&c.public_key_id, &c.public_key_pem)
        .build_blocking()?;

    let now = wechatpay_sandbox::now();
    let ids = &c.ids;
    let req = DirectCompleteRequest::default()
        .service_id(ids.service_id.as_str())
        .appid(ids.appid.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no("BLOCKING0001")
        .service_introduction("共享充电宝")
        .post_payments(vec![PostPayment::new("使用时长", 300)])
        .total_amount(300)
        .time_range(TimeRange::from_unix(now - 3600, now - 60))
        .notify_url("http://127.0.0.1:9/payscore/notify")
        .openid(ids.openid.as_str());
    // 1. Fluent.
    client
        .v3()
        .payscore()
        .partner()
        .serviceorder()
        .direct_complete()
        .post(&req)?;
    // 2. Path chain, with query parameters.
    let raw = client
        .chain("v3/payscore/partner/serviceorder")
        .query("service_id", ids.service_id.as_str())
        .query("sub_mchid", ids.sub_mchid.as_str())
        .query("out_order_no", "BLOCKING0001")
        .get()?;
    println!("chain: HTTP {} {}", raw.status(), raw.text());
    // 3. Typed.
    let order = client.send(
        &QueryRequest::default()
            .service_id(ids.service_id.as_str())
            .sub_mchid(ids.sub_mchid.as_str())
            .out_order_no("BLOCKING0001"),
    )?;
    println!("typed: order {} is {:?}", order.out_order_no, order.state);
    Ok(())
}
