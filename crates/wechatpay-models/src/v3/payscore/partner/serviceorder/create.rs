use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AppId, MchId, OpenId, OutOrderNo, ServiceId};
use crate::v3::payscore::rules::{
    check_lines, check_location, check_start_not_past, check_time_formats,
};
use crate::v3::payscore::{
    Location, PostDiscount, PostPayment, RISK_FUND_NAMES, RiskFund, ServiceOrder, TimeRange,
};
use crate::validate::{Check, Rule, ValidationErrors};

use super::complete::MAX_DISCOUNTS;

/// `POST /v3/payscore/partner/serviceorder`: create a service order before the service
/// starts. Answers `200` with the order.
///
/// Need-confirm (需确认, the default): the order is `CREATED` with a `package` (valid one
/// hour) for the confirm page (`wechatpay::launch::use_order`); it becomes `DOING` when the
/// user confirms (`PAYSCORE.USER_CONFIRM`). No-confirm (免确认,
/// `.need_user_confirm(false).openid(…)`): the user must have authorized the service; the
/// order is `DOING` at once.
///
/// ```
/// use wechatpay_models::Endpoint;
/// use wechatpay_models::v3::payscore::{RiskFund, TimeRange};
/// use wechatpay_models::v3::payscore::partner::serviceorder::CreateRequest;
///
/// let req = CreateRequest::default()
///     .service_id("500001")
///     .appid("wxd678efh567hg6787")
///     .sub_mchid("1900000109")
///     .out_order_no("RENT1")
///     .service_introduction("共享充电宝")
///     .risk_fund(RiskFund::new("DEPOSIT", 9900))
///     .time_range(TimeRange::on_accept())
///     .notify_url("https://example.com/payscore/notify");
/// req.validate_at(1_764_144_000).unwrap();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRequest {
    /// Service id.
    pub service_id: ServiceId,
    /// Service provider's appid.
    pub appid: AppId,
    /// Sub-merchant number.
    pub sub_mchid: MchId,
    /// Sub-merchant appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<AppId>,
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
    /// User under `appid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<OpenId>,
    /// User under `sub_appid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_openid: Option<OpenId>,
    /// `false` for no-confirm (免确认) orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_user_confirm: Option<bool>,
}

setters!(CreateRequest { service_id: ServiceId, appid: AppId, sub_mchid: MchId, out_order_no: OutOrderNo, service_introduction: String, risk_fund: RiskFund, time_range: TimeRange, notify_url: String; sub_appid: AppId, post_payments: Vec<PostPayment>, post_discounts: Vec<PostDiscount>, location: Location, attach: String, openid: OpenId, sub_openid: OpenId, need_user_confirm: bool });

impl CreateRequest {
    /// The rules of both modes; `sub_mchid` is `None` for a direct merchant.
    pub(crate) fn check(&self, c: &mut Check, sub_mchid: Option<(&str, &str)>, now: i64) {
        c.required_max("/service_id", self.service_id.as_str(), 32);
        c.required_max("/appid", self.appid.as_str(), 32);
        if let Some((field, value)) = sub_mchid {
            c.required_max(field, value, 32);
        }
        c.opt_max("/sub_appid", self.sub_appid.as_ref().map(AppId::as_str), 32);
        c.out_order_no("/out_order_no", self.out_order_no.as_str());
        c.required_max("/service_introduction", &self.service_introduction, 20);
        check_lines(
            c,
            self.post_payments.as_deref().unwrap_or_default(),
            self.post_discounts.as_deref().unwrap_or_default(),
            MAX_DISCOUNTS,
        );
        if !RISK_FUND_NAMES.contains(&self.risk_fund.name.as_str()) {
            c.push(
                "/risk_fund/name",
                Rule::OneOf,
                "must be DEPOSIT, ADVANCE, CASH_DEPOSIT or ESTIMATE_ORDER_COST",
                Some(self.risk_fund.name.clone().into()),
            );
        }
        if self.risk_fund.amount.0 < 0 {
            c.push(
                "/risk_fund/amount",
                Rule::NonNegative,
                "must be >= 0 fen",
                Some(self.risk_fund.amount.0.into()),
            );
        }
        c.opt_max(
            "/risk_fund/description",
            self.risk_fund.description.as_deref(),
            30,
        );
        // OnAccept only for orders the user confirms (lifecycle spec §3.2).
        let confirm = self.need_user_confirm != Some(false);
        check_time_formats(c, &self.time_range, confirm);
        check_start_not_past(c, &self.time_range.start_time, now);
        check_location(c, self.location.as_ref());
        c.opt_max("/attach", self.attach.as_deref(), 256);
        c.notify_url("/notify_url", &self.notify_url, 255);
        c.opt_max("/openid", self.openid.as_ref().map(OpenId::as_str), 128);
        c.opt_max(
            "/sub_openid",
            self.sub_openid.as_ref().map(OpenId::as_str),
            128,
        );
        if self.need_user_confirm == Some(false)
            && self.openid.is_some() == self.sub_openid.is_some()
        {
            c.push(
                "/openid",
                Rule::Required,
                "exactly one of openid and sub_openid is required when need_user_confirm is false",
                None,
            );
        }
        c.no_four_byte_chars_in(self);
    }
}

impl Endpoint for CreateRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/partner/serviceorder";
    const DEDUPLICATED_BY: Option<&'static str> = Some("out_order_no");
    type Response = ServiceOrder;

    /// Lengths, `out_order_no` charset, `risk_fund.name`, time formats (`OnAccept` allowed),
    /// the bill lines' rules, `notify_url`, and for a no-confirm order
    /// (`need_user_confirm = false`) exactly one of `openid` and `sub_openid`.
    fn validate_at(&self, now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        self.check(&mut c, Some(("/sub_mchid", self.sub_mchid.as_str())), now);
        c.finish()
    }
}
