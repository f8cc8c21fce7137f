use serde::{Deserialize, Serialize};

use super::complete::MAX_DISCOUNTS;
use crate::endpoint::Endpoint;
use crate::ids::{Fen, MchId, OutOrderNo, ServiceId};
use crate::v3::payscore::rules::check_bill;
use crate::v3::payscore::{PostDiscount, PostPayment};
use crate::validate::{Check, Rule, ValidationErrors};

/// `POST /v3/payscore/partner/serviceorder/{out_order_no}/modify`: lower the amount of an
/// order being collected (once). Answers `204`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifyRequest {
    /// Merchant order number (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub out_order_no: OutOrderNo,
    /// Sub-merchant number.
    pub sub_mchid: MchId,
    /// Service id: optional in the documents, required in practice (validation asks for
    /// it; WeChat Pay answers `NO_AUTH` without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
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

setters!(ModifyRequest { out_order_no: OutOrderNo, sub_mchid: MchId, post_payments: Vec<PostPayment>, total_amount: Fen, reason: String; service_id: ServiceId, post_discounts: Vec<PostDiscount> });

impl ModifyRequest {
    /// The rules of both modes, with `who` the merchant's field (`/sub_mchid` here,
    /// `/appid` for a direct merchant) and its value.
    pub(crate) fn check(&self, c: &mut Check, who: (&str, &str)) {
        c.out_order_no("/out_order_no", self.out_order_no.as_str());
        c.required_max(who.0, who.1, 32);
        match &self.service_id {
            Some(id) => c.required_max("/service_id", id.as_str(), 32),
            // Optional in the documents, but WeChat Pay answers NO_AUTH without it
            // (spec §8 G2, WxJava #3664).
            None => c.push(
                "/service_id",
                Rule::Required,
                "is required in practice: WeChat Pay answers NO_AUTH 商户暂无权限使用此服务 without it",
                None,
            ),
        }
        c.required_max("/reason", &self.reason, 50);
        check_bill(
            c,
            &self.post_payments,
            self.post_discounts.as_deref().unwrap_or_default(),
            self.total_amount,
            MAX_DISCOUNTS,
        );
        c.no_four_byte_chars_in(self);
    }
}

impl Endpoint for ModifyRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/partner/serviceorder/{out_order_no}/modify";
    type Response = ();

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("out_order_no", self.out_order_no.as_str())]
    }

    /// R1, R2, R4–R6, R8 and the reason.
    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        self.check(&mut c, ("/sub_mchid", self.sub_mchid.as_str()));
        c.finish()
    }
}
