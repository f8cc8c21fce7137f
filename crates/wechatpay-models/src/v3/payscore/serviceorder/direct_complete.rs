use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AppId, Fen, OpenId, OutOrderNo, ServiceId};
use crate::v3::payscore::rules::{check_bill, check_location, check_time_range};
use crate::v3::payscore::{Location, PostDiscount, PostPayment, ServiceOrder, TimeRange};
use crate::validate::{Check, ValidationErrors};

/// `POST /v3/payscore/serviceorder/direct-complete` for a direct merchant. Answers `200`
/// with the order ([`ServiceOrder`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectCompleteRequest {
    /// Service id.
    pub service_id: ServiceId,
    /// The merchant's appid.
    pub appid: AppId,
    /// Merchant order number.
    pub out_order_no: OutOrderNo,
    /// Shown to the user, ≤ 20 characters.
    pub service_introduction: String,
    /// 1–100 bill lines.
    pub post_payments: Vec<PostPayment>,
    /// At most 5 discounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_discounts: Option<Vec<PostDiscount>>,
    /// Σ payments − Σ discounts, in fen.
    pub total_amount: Fen,
    /// Service period.
    pub time_range: TimeRange,
    /// Service place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Profit sharing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profit_sharing: Option<bool>,
    /// Coupon tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_tag: Option<String>,
    /// Merchant data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Callback URL.
    pub notify_url: String,
    /// The user under `appid`.
    pub openid: OpenId,
}

setters!(DirectCompleteRequest { service_id: ServiceId, appid: AppId, out_order_no: OutOrderNo, service_introduction: String, post_payments: Vec<PostPayment>, total_amount: Fen, time_range: TimeRange, notify_url: String, openid: OpenId; post_discounts: Vec<PostDiscount>, location: Location, profit_sharing: bool, goods_tag: String, attach: String });

impl Endpoint for DirectCompleteRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/serviceorder/direct-complete";
    const DEDUPLICATED_BY: Option<&'static str> = Some("out_order_no");
    type Response = ServiceOrder;

    /// The same rules as the partner request, without the sub-merchant fields.
    fn validate_at(&self, now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required_max("/service_id", self.service_id.as_str(), 32);
        c.required_max("/appid", self.appid.as_str(), 32);
        c.out_order_no("/out_order_no", self.out_order_no.as_str());
        c.required_max("/service_introduction", &self.service_introduction, 20);
        check_bill(
            &mut c,
            &self.post_payments,
            self.post_discounts.as_deref().unwrap_or_default(),
            self.total_amount,
            crate::v3::payscore::partner::serviceorder::MAX_DIRECT_COMPLETE_DISCOUNTS,
        );
        check_time_range(&mut c, &self.time_range, now, false);
        check_location(&mut c, self.location.as_ref());
        c.opt_max("/goods_tag", self.goods_tag.as_deref(), 32);
        c.opt_max("/attach", self.attach.as_deref(), 256);
        c.notify_url("/notify_url", &self.notify_url, 255);
        c.required_max("/openid", self.openid.as_str(), 128);
        c.no_four_byte_chars_in(self);
        c.finish()
    }
}
