use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AppId, OpenId, OutOrderNo, ServiceId};
use crate::v3::payscore::{
    Location, PostDiscount, PostPayment, RiskFund, ServiceOrder, TimeRange, partner,
};
use crate::validate::{Check, ValidationErrors};

/// `POST /v3/payscore/serviceorder`: a direct merchant creates a service order before the
/// service starts. Answers `200` with the order (with a `package` for a need-confirm order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRequest {
    /// Service id.
    pub service_id: ServiceId,
    /// The merchant's appid.
    pub appid: AppId,
    /// Merchant order number.
    pub out_order_no: OutOrderNo,
    /// Shown to the user, ≤ 20 characters.
    pub service_introduction: String,
    /// Expected bill lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_payments: Option<Vec<PostPayment>>,
    /// Expected discounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_discounts: Option<Vec<PostDiscount>>,
    /// Risk fund.
    pub risk_fund: RiskFund,
    /// Service period (start may be `OnAccept` for need-confirm orders).
    pub time_range: TimeRange,
    /// Service place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Merchant data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Callback URL.
    pub notify_url: String,
    /// User under `appid`: required for a no-confirm order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<OpenId>,
    /// `false` for no-confirm (免确认) orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_user_confirm: Option<bool>,
}

setters!(CreateRequest { service_id: ServiceId, appid: AppId, out_order_no: OutOrderNo, service_introduction: String, risk_fund: RiskFund, time_range: TimeRange, notify_url: String; post_payments: Vec<PostPayment>, post_discounts: Vec<PostDiscount>, location: Location, attach: String, openid: OpenId, need_user_confirm: bool });

impl From<CreateRequest> for partner::serviceorder::CreateRequest {
    fn from(r: CreateRequest) -> Self {
        Self {
            service_id: r.service_id,
            appid: r.appid,
            sub_mchid: Default::default(),
            sub_appid: None,
            out_order_no: r.out_order_no,
            service_introduction: r.service_introduction,
            post_payments: r.post_payments,
            post_discounts: r.post_discounts,
            risk_fund: r.risk_fund,
            time_range: r.time_range,
            location: r.location,
            attach: r.attach,
            notify_url: r.notify_url,
            openid: r.openid,
            sub_openid: None,
            need_user_confirm: r.need_user_confirm,
        }
    }
}

impl Endpoint for CreateRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/serviceorder";
    const DEDUPLICATED_BY: Option<&'static str> = Some("out_order_no");
    type Response = ServiceOrder;

    fn validate_at(&self, now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        partner::serviceorder::CreateRequest::from(self.clone()).check(&mut c, None, now);
        c.finish()
    }
}
