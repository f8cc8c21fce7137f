use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{Fen, MchId, OutOrderNo, ServiceId};
use crate::v3::payscore::rules::{check_bill, check_location, check_time_range};
use crate::v3::payscore::{Location, PostDiscount, PostPayment, TimeRange};
use crate::validate::{Check, ValidationErrors};

/// At most this many discounts in a complete or modify request.
pub(crate) const MAX_DISCOUNTS: usize = 30;

/// `POST /v3/payscore/partner/serviceorder/{out_order_no}/complete`: complete an order
/// created earlier, with the final bill; WeChat Pay then deducts. Answers `204`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteRequest {
    /// Merchant order number (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub out_order_no: OutOrderNo,
    /// Sub-merchant number.
    pub sub_mchid: MchId,
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

setters!(CompleteRequest { out_order_no: OutOrderNo, sub_mchid: MchId, service_id: ServiceId, post_payments: Vec<PostPayment>, total_amount: Fen; post_discounts: Vec<PostDiscount>, time_range: TimeRange, location: Location, profit_sharing: bool, goods_tag: String });

impl CompleteRequest {
    /// The rules of both modes, with `who` the merchant's field (`/sub_mchid` here,
    /// `/appid` for a direct merchant) and its value.
    pub(crate) fn check(&self, c: &mut Check, who: (&str, &str), now: i64) {
        c.out_order_no("/out_order_no", self.out_order_no.as_str());
        c.required_max(who.0, who.1, 32);
        c.required_max("/service_id", self.service_id.as_str(), 32);
        check_bill(
            c,
            &self.post_payments,
            self.post_discounts.as_deref().unwrap_or_default(),
            self.total_amount,
            MAX_DISCOUNTS,
        );
        if let Some(t) = &self.time_range {
            check_time_range(c, t, now, false);
        }
        check_location(c, self.location.as_ref());
        c.opt_max("/goods_tag", self.goods_tag.as_deref(), 32);
        c.no_four_byte_chars_in(self);
    }
}

impl Endpoint for CompleteRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/partner/serviceorder/{out_order_no}/complete";
    type Response = ();

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("out_order_no", self.out_order_no.as_str())]
    }

    /// R1, R2, R4–R8 (at most 30 discounts here), lengths, no 4-byte UTF-8.
    fn validate_at(&self, now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        self.check(&mut c, ("/sub_mchid", self.sub_mchid.as_str()), now);
        c.finish()
    }
}
