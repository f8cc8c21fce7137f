use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AppId, Fen, OutOrderNo, ServiceId};
use crate::v3::payscore::{Location, PostDiscount, PostPayment, ServiceOrder, TimeRange, partner};
use crate::validate::{Check, ValidationErrors};

/// `POST /v3/payscore/serviceorder/{out_order_no}/complete`: a direct merchant completes an
/// order with its final bill; WeChat Pay then deducts. Answers `200` with the order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteRequest {
    /// Merchant order number (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub out_order_no: OutOrderNo,
    /// The merchant's appid.
    pub appid: AppId,
    /// Service id.
    pub service_id: ServiceId,
    /// 1–100 bill lines.
    pub post_payments: Vec<PostPayment>,
    /// Up to 30 discounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_discounts: Option<Vec<PostDiscount>>,
    /// Σ payments − Σ discounts.
    pub total_amount: Fen,
    /// Actual service period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    /// Service place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Profit sharing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profit_sharing: Option<bool>,
    /// Coupon tag, ≤ 32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_tag: Option<String>,
}

setters!(CompleteRequest { out_order_no: OutOrderNo, appid: AppId, service_id: ServiceId, post_payments: Vec<PostPayment>, total_amount: Fen; post_discounts: Vec<PostDiscount>, time_range: TimeRange, location: Location, profit_sharing: bool, goods_tag: String });

impl From<CompleteRequest> for partner::serviceorder::CompleteRequest {
    fn from(r: CompleteRequest) -> Self {
        Self {
            out_order_no: r.out_order_no,
            sub_mchid: Default::default(),
            service_id: r.service_id,
            post_payments: r.post_payments,
            post_discounts: r.post_discounts,
            total_amount: r.total_amount,
            time_range: r.time_range,
            location: r.location,
            profit_sharing: r.profit_sharing,
            goods_tag: r.goods_tag,
        }
    }
}

impl Endpoint for CompleteRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/serviceorder/{out_order_no}/complete";
    type Response = ServiceOrder;

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("out_order_no", self.out_order_no.as_str())]
    }

    /// As the partner call: R1, R2, R4–R8 (at most 30 discounts), lengths, no 4-byte UTF-8.
    fn validate_at(&self, now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        partner::serviceorder::CompleteRequest::from(self.clone()).check(
            &mut c,
            ("/appid", self.appid.as_str()),
            now,
        );
        c.finish()
    }
}
