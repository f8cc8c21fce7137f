use wechatpay::{Client, ClientBuilder};
use wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest;
use wechatpay_models::v3::payscore::{Location, PostDiscount, PostPayment, TimeRange};
use wechatpay_sandbox::{Config, Generated, Sandbox, testing};

pub(crate) struct Env {
    pub(crate) sandbox: Sandbox,
    pub(crate) g: Generated,
}

pub(crate) async fn env() -> Env {
    env_with(|_| {}).await
}

pub(crate) async fn env_with(tweak: impl FnOnce(&mut Config)) -> Env {
    let (sandbox, g) = testing::start(tweak).await.unwrap();
    Env { sandbox, g }
}

impl Env {
    /// The orders the sandbox keeps, from its own JSON API (`/_sandbox/api/orders`).
    pub(crate) async fn sandbox_orders(&self) -> Vec<serde_json::Value> {
        let url = format!("{}/_sandbox/api/orders?limit=1000", self.sandbox.base_url());
        let body = reqwest::get(url).await.unwrap().bytes().await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["orders"].as_array().unwrap().clone()
    }

    pub(crate) fn builder(&self) -> ClientBuilder {
        let c = &self.g.client;
        Client::builder()
            .base_url(self.sandbox.base_url())
            .mchid(&c.mchid)
            .serial(&c.serial)
            .private_key_pem(&c.private_key_pem)
            .wechatpay_public_key(&c.public_key_id, &c.public_key_pem)
            .apiv3_key(&c.apiv3_key)
            .max_retries(0)
    }

    pub(crate) fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    /// A valid order of 250 fen (300 − 50) for the paying user, ended a minute ago.
    pub(crate) fn order(&self, out_order_no: &str, notify_url: &str) -> DirectCompleteRequest {
        let ids = &self.g.client.ids;
        let now = wechatpay_sandbox::now();
        DirectCompleteRequest::default()
            .service_id(ids.service_id.as_str())
            .appid(ids.appid.as_str())
            .sub_mchid(ids.sub_mchid.as_str())
            .out_order_no(out_order_no)
            .service_introduction("共享充电宝")
            .post_payments(vec![
                PostPayment::new("使用时长", 300)
                    .description("3小时")
                    .count(3),
            ])
            .total_amount(250)
            .time_range(TimeRange::from_unix(now - 3 * 3600, now - 60))
            .notify_url(notify_url)
            .openid(ids.openid.as_str())
            .sub_appid(ids.sub_appid.as_str())
            .post_discounts(vec![PostDiscount::new("新用户立减", "首单优惠", 50)])
            .location(Location::new("望京SOHO T1"))
    }
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}{}", wechatpay_core::RandomNonce::alphanumeric(12))
}
