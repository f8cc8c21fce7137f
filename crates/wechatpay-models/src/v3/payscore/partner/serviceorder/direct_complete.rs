use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AppId, Fen, MchId, OpenId, OutOrderNo, ServiceId};
use crate::v3::payscore::rules::{check_bill, check_location, check_time_range};
use crate::v3::payscore::{Location, PostDiscount, PostPayment, ServiceOrder, TimeRange};
use crate::validate::{Check, ValidationErrors};

/// At most this many discounts in a direct-complete order (current docs; older text said 30).
pub const MAX_DIRECT_COMPLETE_DISCOUNTS: usize = 5;

/// `POST /v3/payscore/partner/serviceorder/direct-complete` (创单结单合并): create and
/// complete a service order in one call after the service is over; WeChat Pay then
/// deducts the user's payment without a password.
///
/// The answer is `204 No Content` (a `200` with an order is also accepted). Then the order
/// is `DOING / MCH_COMPLETE / USER_PAYING` until the deduction succeeds and
/// `PAYSCORE.USER_PAID` arrives at `notify_url`; with a total of 0 it is `DONE` at once.
///
/// ```
/// use wechatpay_models::v3::payscore::{PostPayment, PostDiscount, TimeRange, Location};
/// use wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest;
///
/// let req = DirectCompleteRequest::default()
///     .service_id("00004000000000316792478207798186")
///     .appid("wx5eab6a02bba6831a")             // the service provider's
///     .sub_mchid("1290797494")
///     .out_order_no("RENT20251126000001")
///     .service_introduction("共享充电宝")
///     .post_payments(vec![PostPayment::new("使用时长", 300).description("3小时").count(3)])
///     .post_discounts(vec![PostDiscount::new("新用户立减", "首单", 50)])
///     .total_amount(250)                       // fen: 300 − 50
///     .time_range(TimeRange::new("20251126100000", "20251126130000"))
///     .location(Location::new("望京SOHO"))
///     .notify_url("https://example.com/payscore/notify")
///     .openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")  // under appid
///     .attach("order=1");
/// // 2025-11-26 16:00:00 Beijing time
/// use wechatpay_models::Endpoint;
/// req.validate_at(1_764_144_000).expect("a valid order");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectCompleteRequest {
    /// Pay Score service id, ≤ 32.
    pub service_id: ServiceId,
    /// Service provider's appid, ≤ 32.
    pub appid: AppId,
    /// Sub-merchant appid, ≤ 32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<AppId>,
    /// Sub-merchant number, ≤ 32.
    pub sub_mchid: MchId,
    /// Merchant order number, 1–32 of `[0-9A-Za-z_-|*]`, unique per sub-merchant.
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
    /// Service period: start in the past; end (optional, but send it: the service is
    /// over) after the start and not later than the call.
    pub time_range: TimeRange,
    /// Service place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Mark the deduction for profit sharing (分账).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profit_sharing: Option<bool>,
    /// Coupon tag, ≤ 32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_tag: Option<String>,
    /// Merchant data echoed back, ≤ 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Receives `PAYSCORE.USER_PAID`: https, no query, ≤ 255.
    pub notify_url: String,
    /// The user under `appid`, ≤ 128.
    pub openid: OpenId,
}

setters!(DirectCompleteRequest { service_id: ServiceId, appid: AppId, sub_mchid: MchId, out_order_no: OutOrderNo, service_introduction: String, post_payments: Vec<PostPayment>, total_amount: Fen, time_range: TimeRange, notify_url: String, openid: OpenId; sub_appid: AppId, post_discounts: Vec<PostDiscount>, location: Location, profit_sharing: bool, goods_tag: String, attach: String });

impl Endpoint for DirectCompleteRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/partner/serviceorder/direct-complete";
    const DEDUPLICATED_BY: Option<&'static str> = Some("out_order_no");
    /// 204 (documented) → `None`; 200 with an order → `Some`.
    type Response = Option<ServiceOrder>;

    /// Every documented rule that can be checked without the server (R1, R2, R4–R8,
    /// required fields, lengths, `out_order_no` charset, `notify_url`, no 4-byte UTF-8).
    fn validate_at(&self, now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required_max("/service_id", self.service_id.as_str(), 32);
        c.required_max("/appid", self.appid.as_str(), 32);
        c.opt_max("/sub_appid", self.sub_appid.as_ref().map(AppId::as_str), 32);
        c.required_max("/sub_mchid", self.sub_mchid.as_str(), 32);
        c.out_order_no("/out_order_no", self.out_order_no.as_str());
        c.required_max("/service_introduction", &self.service_introduction, 20);
        check_bill(
            &mut c,
            &self.post_payments,
            self.post_discounts.as_deref().unwrap_or_default(),
            self.total_amount,
            MAX_DIRECT_COMPLETE_DISCOUNTS,
        );
        // end_time is optional (S1); when given it must be after start_time and not
        // later than the call.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::payscore::partner::serviceorder::sample::{NOW, direct_complete as order};
    use crate::validate::Rule;

    #[test]
    fn a_valid_order_passes_and_serialises_without_nulls() {
        order().validate_at(NOW).unwrap();
        let json = serde_json::to_string(&order()).unwrap();
        assert!(!json.contains("null"));
        assert!(json.contains(r#""total_amount":39900"#));
    }

    #[test]
    fn every_violation_is_reported_with_field_and_rule() {
        let mut o = order();
        o.total_amount = Fen(40000); // R1
        o.out_order_no = "bad@no".into(); // charset
        o.service_introduction = "一二三四五六七八九十一二三四五六七八九十一".into(); // 21 chars
        o.time_range = TimeRange::new("20251126120000", "20251126110000"); // end < start
        o.post_payments
            .push(PostPayment::new("就餐费用", 0).count(101)); // R5, R8
        o.attach = Some("😀".into());
        let e = o.validate_at(NOW).unwrap_err();
        for (field, rule) in [
            ("/total_amount", Rule::TotalAmount),
            ("/out_order_no", Rule::Charset),
            ("/service_introduction", Rule::Length),
            ("/time_range/end_time", Rule::Time),
            ("/post_payments/1/name", Rule::UniqueNames),
            ("/post_payments/1/count", Rule::Count),
            ("/attach", Rule::FourByteUtf8),
        ] {
            assert!(
                e.violations()
                    .iter()
                    .any(|v| v.field == field && v.rule == rule),
                "{field} {rule}: {e}"
            );
        }
        assert_eq!(e.violations().len(), 7, "{e}");
    }

    #[test]
    fn times_must_be_in_the_past() {
        let mut o = order();
        o.time_range = TimeRange::new("20251126150000", "20251126170000");
        let e = o.validate_at(NOW).unwrap_err();
        assert!(
            e.has_field("/time_range/end_time") && !e.has_field("/time_range/start_time"),
            "{e}"
        );
        o.time_range = TimeRange::new("20251126", "20251126150000");
        o.validate_at(NOW).unwrap();
        // S1 marks end_time optional.
        o.time_range.end_time = None;
        o.validate_at(NOW).unwrap();
    }

    #[test]
    fn zero_total_and_repeatable_names_are_legal() {
        let mut o = order();
        o.post_payments = vec![
            PostPayment::new("商品信息", 0),
            PostPayment::new("商品信息", 0),
        ];
        o.post_discounts = None;
        o.total_amount = Fen(0);
        o.validate_at(NOW).unwrap();
        o.post_discounts = Some(
            (0..6)
                .map(|i| PostDiscount::new(format!("d{i}"), "x", 0))
                .collect(),
        );
        assert!(o.validate_at(NOW).unwrap_err().has(Rule::ItemCount));
    }
}
