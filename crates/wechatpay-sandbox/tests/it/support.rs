use wechatpay::{Client, ClientBuilder};
use wechatpay_core::{PrivateKey, SignableRequest};
use wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest;
use wechatpay_models::v3::payscore::{PostDiscount, PostPayment, TimeRange};
use wechatpay_sandbox::{Config, Generated, Sandbox, testing};

pub(crate) struct Env {
    pub(crate) sandbox: Sandbox,
    pub(crate) g: Generated,
}

pub(crate) async fn env_with(tweak: impl FnOnce(&mut Config)) -> Env {
    let (sandbox, g) = testing::start(tweak).await.unwrap();
    Env { sandbox, g }
}

pub(crate) async fn env() -> Env {
    env_with(|c| c.behaviour.deduction_delay_ms = 60_000).await
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}{}", wechatpay_core::RandomNonce::alphanumeric(12))
}

impl Env {
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

    /// A client that sends whatever it is given (server-side rules under test).
    pub(crate) fn raw_client(&self) -> Client {
        self.builder().validate_requests(false).build().unwrap()
    }

    pub(crate) fn order(&self, no: &str) -> DirectCompleteRequest {
        let ids = &self.g.client.ids;
        let now = wechatpay_sandbox::now();
        DirectCompleteRequest::default()
            .service_id(ids.service_id.as_str())
            .appid(ids.appid.as_str())
            .sub_mchid(ids.sub_mchid.as_str())
            .out_order_no(no)
            .service_introduction("共享充电宝")
            .post_payments(vec![PostPayment::new("使用时长", 300).description("3小时")])
            .total_amount(250)
            .time_range(TimeRange::from_unix(now - 3600, now - 60))
            .notify_url("http://127.0.0.1:9/notify")
            .openid(ids.openid.as_str())
            .sub_appid(ids.sub_appid.as_str())
            .post_discounts(vec![PostDiscount::new("新用户立减", "首单", 50)])
    }

    /// `GET /_sandbox/api/{what}`: the sandbox's own JSON API, as a script would read it.
    pub(crate) async fn api(&self, what: &str) -> serde_json::Value {
        json(
            reqwest::get(format!("{}/_sandbox/api/{what}", self.sandbox.base_url()))
                .await
                .unwrap(),
        )
        .await
    }

    /// Every order the sandbox keeps (its record: `order`, `query_id`, `deduction_error` …).
    pub(crate) async fn orders(&self) -> Vec<serde_json::Value> {
        self.api("orders?limit=1000").await["orders"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The sandbox's record of order `no`.
    pub(crate) async fn order_record(&self, no: &str) -> Option<serde_json::Value> {
        self.orders()
            .await
            .into_iter()
            .find(|o| o["out_order_no"] == no)
    }

    /// The callbacks, newest first, each `{"delivery": …, "attempts": […]}`.
    pub(crate) async fn deliveries(&self) -> Vec<serde_json::Value> {
        self.api("deliveries").await["deliveries"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Sends a request signed by hand: `key` signs `signed_body`, `sent_body` goes out.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        key: &PrivateKey,
        serial: &str,
        timestamp: i64,
        nonce: &str,
        signed_body: &[u8],
        sent_body: &[u8],
    ) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
        let c = &self.g.client;
        let auth = SignableRequest::new(method, path, signed_body)
            .sign(&c.mchid, serial, key, timestamp, nonce)
            .unwrap();
        let r = self.send(method, path, &auth, sent_body).await;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.unwrap();
        (
            status,
            headers,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Sends `sent_target` signed over `signed_target` and `signed_body` (a GET when
    /// `sent_body` is empty), with nonce `N0NCE`; the answer's status.
    pub(crate) async fn send_signed(
        &self,
        sent_target: &str,
        signed_target: &str,
        signed_body: &[u8],
        sent_body: &[u8],
    ) -> u16 {
        let c = &self.g.client;
        let ts = wechatpay_sandbox::now();
        let method = if sent_body.is_empty() { "GET" } else { "POST" };
        let auth = SignableRequest::new(method, signed_target, signed_body)
            .sign(&c.mchid, &c.serial, &self.merchant_key(), ts, "N0NCE")
            .unwrap();
        self.send(method, sent_target, &auth, sent_body)
            .await
            .status()
            .as_u16()
    }

    /// Sends `body` to `target` with this Authorization and the headers WeChat Pay wants.
    async fn send(
        &self,
        method: &str,
        target: &str,
        auth: &wechatpay_core::Authorization,
        body: &[u8],
    ) -> reqwest::Response {
        reqwest::Client::new()
            .request(
                method.parse().unwrap(),
                format!("{}{target}", self.sandbox.base_url()),
            )
            .header("Authorization", auth.to_string())
            .header("Accept", "application/json")
            .header("User-Agent", "sandbox-tests")
            .header("Content-Type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    pub(crate) fn merchant_key(&self) -> PrivateKey {
        PrivateKey::from_pem(&self.g.client.private_key_pem).unwrap()
    }
}

pub(crate) async fn json(r: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}
