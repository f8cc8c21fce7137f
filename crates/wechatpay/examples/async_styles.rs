//! The three ways to call an endpoint with the async client, against a local sandbox:
//! fluent chain, path chain, typed request.
//!
//! `cargo run -p wechatpay --example async_styles`

use wechatpay::Client;
use wechatpay_models::v3::payscore::partner::serviceorder::{DirectCompleteRequest, QueryRequest};
use wechatpay_models::v3::payscore::{PostDiscount, PostPayment, TimeRange};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A local WeChat Pay with fresh keys; in production leave out base_url and use your
    // own mchid, serial, key and WeChat Pay public key.
    let (sandbox, g) = wechatpay_sandbox::testing::start(|_| {}).await?;
    let c = &g.client;
    let client = Client::builder()
        .base_url(sandbox.base_url())
        .mchid(&c.mchid)
        .serial(&c.serial)
        .private_key_pem(&c.private_key_pem)
        .wechatpay_public_key(&c.public_key_id, &c.public_key_pem)
        .build()?;

    let ids = &c.ids;
    let now = wechatpay_sandbox::now();
    let order = |no: &str| {
        DirectCompleteRequest::default()
            .service_id(ids.service_id.as_str())
            .appid(ids.appid.as_str())
            .sub_mchid(ids.sub_mchid.as_str())
            .out_order_no(no)
            .service_introduction("共享充电宝")
            .post_payments(vec![PostPayment::new("使用时长", 300).description("3小时")])
            .total_amount(250)
            .time_range(TimeRange::from_unix(now - 3 * 3600, now - 60))
            .notify_url("http://127.0.0.1:9/payscore/notify")
            .openid(ids.openid.as_str())
            .post_discounts(vec![PostDiscount::new("新用户立减", "首单", 50)])
    };

    // 1. Fluent: one method per URL segment. The partner endpoint answers 204 → None.
    let answer = client
        .v3()
        .payscore()
        .partner()
        .serviceorder()
        .direct_complete()
        .post(&order("ASYNC1"))
        .await?;
    println!("fluent: {answer:?}");

    // 2. Path chain: any endpoint, any JSON; the raw answer is already verified.
    let raw = client
        .chain("v3/payscore/partner/serviceorder/direct-complete")
        .post(&order("ASYNC2"))
        .await?;
    println!(
        "chain: HTTP {} Request-ID {:?} verified by {:?}",
        raw.status(),
        raw.request_id(),
        raw.verified_by()
    );

    // 3. Typed: any request type describing its endpoint (`wechatpay::Endpoint`).
    client.send(&order("ASYNC3")).await?;
    let q = client
        .send(
            &QueryRequest::default()
                .service_id(ids.service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .out_order_no("ASYNC3"),
        )
        .await?;
    println!(
        "typed: {} is {:?} / {:?}",
        q.out_order_no, q.state, q.state_description
    );

    // Errors are typed: branch on the WeChat code.
    match client.send(&order("ASYNC3").attach("changed")).await {
        Err(e) => println!(
            "re-entry with other parameters: {} ({})",
            e.code().unwrap_or("-"),
            e
        ),
        Ok(_) => println!("unexpected success"),
    }
    sandbox.shutdown().await;
    Ok(())
}
