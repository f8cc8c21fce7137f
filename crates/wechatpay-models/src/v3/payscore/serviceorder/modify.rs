use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AppId, Fen, OutOrderNo, ServiceId};
use crate::v3::payscore::{PostDiscount, PostPayment, ServiceOrder, partner};
use crate::validate::{Check, ValidationErrors};

/// `POST /v3/payscore/serviceorder/{out_order_no}/modify`: a direct merchant lowers the
/// amount of an order being collected (once). Answers `200` with the order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifyRequest {
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
    /// New total, lower than before.
    pub total_amount: Fen,
    /// Why, ≤ 50 characters.
    pub reason: String,
}

setters!(ModifyRequest { out_order_no: OutOrderNo, appid: AppId, service_id: ServiceId, post_payments: Vec<PostPayment>, total_amount: Fen, reason: String; post_discounts: Vec<PostDiscount> });

impl From<ModifyRequest> for partner::serviceorder::ModifyRequest {
    fn from(r: ModifyRequest) -> Self {
        Self {
            out_order_no: r.out_order_no,
            sub_mchid: Default::default(),
            service_id: Some(r.service_id),
            post_payments: r.post_payments,
            post_discounts: r.post_discounts,
            total_amount: r.total_amount,
            reason: r.reason,
        }
    }
}

impl Endpoint for ModifyRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/serviceorder/{out_order_no}/modify";
    type Response = ServiceOrder;

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("out_order_no", self.out_order_no.as_str())]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        partner::serviceorder::ModifyRequest::from(self.clone())
            .check(&mut c, ("/appid", self.appid.as_str()));
        c.finish()
    }
}
