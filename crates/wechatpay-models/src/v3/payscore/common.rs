// Types shared by the partner and direct-merchant Pay Score APIs.

use serde::{Deserialize, Serialize};

use crate::enums::api_enum;
use crate::ids::{AppId, Fen, MchId, OpenId, OrderId, OutOrderNo, ServiceId, TransactionId};
use crate::validate::{Check, Item, Rule, parse_payscore_time, payscore_time};

/// The one payment name that may repeat within an order (smart retail).
pub const REPEATABLE_PAYMENT_NAME: &str = "商品信息";

/// A line of the bill (后付费项目). `amount` is the **line total**, not a unit price;
/// `count` is informational and never multiplied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostPayment {
    /// Item name, ≤ 20 characters, unique within the order (except `商品信息`).
    pub name: String,
    /// Line total in fen, ≥ 0 (omitted on the wire means 0).
    #[serde(default)]
    pub amount: Fen,
    /// Billing explanation, ≤ 30 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Quantity, 1–100 (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl PostPayment {
    /// A line named `name` totalling `amount` fen.
    #[must_use]
    pub fn new(name: impl Into<String>, amount: impl Into<Fen>) -> Self {
        Self {
            name: name.into(),
            amount: amount.into(),
            description: None,
            count: None,
        }
    }

    /// Sets the billing explanation (≤ 30 characters).
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Sets the informational quantity (1–100).
    #[must_use]
    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }
}

/// A merchant discount (商户优惠), subtracted once from the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostDiscount {
    /// Discount name, ≤ 20 characters, unique within the order.
    pub name: String,
    /// Conditions, ≤ 30 characters.
    #[serde(default)]
    pub description: String,
    /// Line total of the discount in fen, ≥ 0.
    #[serde(default)]
    pub amount: Fen,
    /// Quantity, 1–100 (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl PostDiscount {
    /// A discount of `amount` fen.
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        amount: impl Into<Fen>,
    ) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            amount: amount.into(),
            count: None,
        }
    }

    /// Sets the informational quantity (1–100).
    #[must_use]
    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }
}

/// The service period, `yyyyMMddHHmmss` or `yyyyMMdd` in Beijing time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// When the service started.
    pub start_time: String,
    /// ≤ 20 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_remark: Option<String>,
    /// When it ended (required for direct-complete: the service is over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// ≤ 20 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_remark: Option<String>,
}

impl TimeRange {
    /// A period from `start` to `end`.
    #[must_use]
    pub fn new(start: impl Into<String>, end: impl Into<String>) -> Self {
        Self {
            start_time: start.into(),
            start_time_remark: None,
            end_time: Some(end.into()),
            end_time_remark: None,
        }
    }

    /// A period given as unix seconds, formatted in Beijing time.
    #[must_use]
    pub fn from_unix(start: i64, end: i64) -> Self {
        Self::new(payscore_time(start), payscore_time(end))
    }

    /// Sets the start remark (≤ 20 characters).
    #[must_use]
    pub fn start_time_remark(mut self, r: impl Into<String>) -> Self {
        self.start_time_remark = Some(r.into());
        self
    }

    /// Sets the end remark (≤ 20 characters).
    #[must_use]
    pub fn end_time_remark(mut self, r: impl Into<String>) -> Self {
        self.end_time_remark = Some(r.into());
        self
    }
}

/// Where the service took place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// ≤ 50 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_location: Option<String>,
    /// ≤ 50 characters; omit when equal to the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_location: Option<String>,
}

impl Location {
    /// A start location.
    #[must_use]
    pub fn new(start: impl Into<String>) -> Self {
        Self {
            start_location: Some(start.into()),
            end_location: None,
        }
    }

    /// Sets the end location.
    #[must_use]
    pub fn end(mut self, end: impl Into<String>) -> Self {
        self.end_location = Some(end.into());
        self
    }
}

/// Risk fund of a created order (订单风险金).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFund {
    /// `DEPOSIT`, `ADVANCE`, `CASH_DEPOSIT` or `ESTIMATE_ORDER_COST`.
    pub name: String,
    /// Amount in fen.
    pub amount: Fen,
    /// ≤ 30 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

api_enum! {
    /// `state` of a service order.
    OrderState {
        /// Created, awaiting user confirmation.
        Created = "CREATED",
        /// In progress (see `state_description`).
        Doing = "DOING",
        /// Finished and paid (or nothing to pay).
        Done = "DONE",
        /// Cancelled.
        Revoked = "REVOKED",
        /// Expired unconfirmed.
        Expired = "EXPIRED",
    }
}

api_enum! {
    /// `state_description` while `state` is `DOING`.
    StateDescription {
        /// The user confirmed.
        UserConfirm = "USER_CONFIRM",
        /// The merchant completed the order; WeChat is collecting.
        MchComplete = "MCH_COMPLETE",
    }
}

api_enum! {
    /// `collection.state`.
    CollectionState {
        /// Deduction pending.
        UserPaying = "USER_PAYING",
        /// Paid.
        UserPaid = "USER_PAID",
    }
}

api_enum! {
    /// How a collection detail was paid.
    PaidType {
        /// Pay Score deduction (免密代扣).
        Newton = "NEWTON",
        /// Through the merchant's own channel (reported with `sync`).
        Mch = "MCH",
    }
}

/// A service order, as query answers it and `PAYSCORE.USER_PAID` carries it.
///
/// Read the status as the triple `state` + `state_description` + `collection.state`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceOrder {
    /// Service provider's (or merchant's) appid.
    #[serde(default, alias = "sp_appid", skip_serializing_if = "Option::is_none")]
    pub appid: Option<AppId>,
    /// Service provider's (or merchant's) number.
    #[serde(default, alias = "sp_mchid", skip_serializing_if = "Option::is_none")]
    pub mchid: Option<MchId>,
    /// Sub-merchant appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<AppId>,
    /// Sub-merchant number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<MchId>,
    /// Merchant order number.
    #[serde(default)]
    pub out_order_no: OutOrderNo,
    /// Service id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
    /// Shown to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_introduction: Option<String>,
    /// Order state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<OrderState>,
    /// Sub-state while `DOING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_description: Option<StateDescription>,
    /// Bill lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_payments: Vec<PostPayment>,
    /// Discounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_discounts: Vec<PostDiscount>,
    /// Risk fund (absent for direct-complete orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_fund: Option<RiskFund>,
    /// Total in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<Fen>,
    /// Whether WeChat collects money for this order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_collection: Option<bool>,
    /// Collection progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<Collection>,
    /// Service period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    /// Service place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Merchant data, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Callback URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// User under the service provider's appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<OpenId>,
    /// User under the sub-merchant's appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_openid: Option<OpenId>,
    /// WeChat's order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// Promotions (some pages put them here rather than in `collection.details`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotion_detail: Vec<PromotionDetail>,
    /// `package` for need-confirm orders (create only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// `collection`: what WeChat has collected for the order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    /// `USER_PAYING` or `USER_PAID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<CollectionState>,
    /// Total to collect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<Fen>,
    /// Still to collect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paying_amount: Option<Fen>,
    /// Collected so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_amount: Option<Fen>,
    /// Each payment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<CollectionDetail>,
    /// Promotions (modify answers put them here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotion_detail: Vec<PromotionDetail>,
}

/// One payment of a collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectionDetail {
    /// From 1.
    #[serde(default)]
    pub seq: u32,
    /// Amount in fen.
    #[serde(default)]
    pub amount: Fen,
    /// `NEWTON` or `MCH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_type: Option<PaidType>,
    /// `yyyyMMddHHmmss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_time: Option<String>,
    /// WeChat transaction id (Pay Score payments with amount > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<TransactionId>,
    /// Paying bank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    /// Promotions applied to this payment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotion_detail: Vec<PromotionDetail>,
}

/// A coupon or instant discount applied by WeChat Pay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromotionDetail {
    /// Coupon id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_id: Option<String>,
    /// Coupon name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `GLOBAL` or `SINGLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `CASH` or `NOCASH`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Discount in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Fen>,
    /// Stock id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_id: Option<String>,
    /// WeChat Pay's share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechatpay_contribute: Option<Fen>,
    /// The merchant's share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_contribute: Option<Fen>,
    /// Others' share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_contribute: Option<Fen>,
    /// `CNY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// R1, R2, R4, R5, R6 (for lines), R8: the money and item rules shared by
/// direct-complete, complete and modify.
pub(crate) fn check_bill(
    c: &mut Check,
    payments: &[PostPayment],
    discounts: &[PostDiscount],
    total: Fen,
    max_discounts: usize,
) {
    if payments.is_empty() || payments.len() > 100 {
        c.push(
            "/post_payments",
            Rule::ItemCount,
            format!("must have 1 to 100 items, got {}", payments.len()),
            None,
        );
    }
    if discounts.len() > max_discounts {
        c.push(
            "/post_discounts",
            Rule::ItemCount,
            format!(
                "must have at most {max_discounts} items, got {}",
                discounts.len()
            ),
            None,
        );
    }
    let mut sum = Some(Fen::ZERO);
    let mut seen = std::collections::HashSet::new();
    for (i, p) in payments.iter().enumerate() {
        c.required_max(Item("post_payments", i, "name"), &p.name, 20);
        c.opt_max(
            Item("post_payments", i, "description"),
            p.description.as_deref(),
            30,
        );
        if p.amount.0 < 0 {
            c.push(
                Item("post_payments", i, "amount"),
                Rule::NonNegative,
                "must be >= 0 fen",
                Some(p.amount.0.into()),
            );
        }
        check_count(c, Item("post_payments", i, "count"), p.count);
        if p.name != REPEATABLE_PAYMENT_NAME && !p.name.is_empty() && !seen.insert(p.name.as_str())
        {
            c.push(
                Item("post_payments", i, "name"),
                Rule::UniqueNames,
                format!("payment name {:?} repeats (only 商品信息 may)", p.name),
                Some(p.name.clone().into()),
            );
        }
        sum = sum.and_then(|s| s.checked_add(p.amount));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, d) in discounts.iter().enumerate() {
        c.required_max(Item("post_discounts", i, "name"), &d.name, 20);
        c.required_max(Item("post_discounts", i, "description"), &d.description, 30);
        if d.amount.0 < 0 {
            c.push(
                Item("post_discounts", i, "amount"),
                Rule::NonNegative,
                "must be >= 0 fen",
                Some(d.amount.0.into()),
            );
        }
        check_count(c, Item("post_discounts", i, "count"), d.count);
        if !d.name.is_empty() && !seen.insert(d.name.as_str()) {
            c.push(
                Item("post_discounts", i, "name"),
                Rule::UniqueNames,
                format!("discount name {:?} repeats", d.name),
                Some(d.name.clone().into()),
            );
        }
        sum = sum.and_then(|s| s.checked_sub(d.amount));
    }
    if total.0 < 0 {
        c.push(
            "/total_amount",
            Rule::NonNegative,
            "must be >= 0 fen",
            Some(total.0.into()),
        );
    }
    match sum {
        Some(s) if s == total => {}
        Some(s) => c.push(
            "/total_amount",
            Rule::TotalAmount,
            format!("must equal sum(post_payments.amount) - sum(post_discounts.amount) = {} fen, got {} (count is informational and never multiplied)", s.0, total.0),
            Some(total.0.into()),
        ),
        None => c.push("/total_amount", Rule::TotalAmount, "amounts overflow", Some(total.0.into())),
    }
}

fn check_count(c: &mut Check, field: Item<'_>, count: Option<u32>) {
    if let Some(n) = count.filter(|n| !(1..=100).contains(n)) {
        c.push(
            field,
            Rule::Count,
            "must be within 1 to 100",
            Some(n.into()),
        );
    }
}

/// R7 for a finished service: valid formats, `start_time < now`, and when `end_required`,
/// `start_time < end_time <= now`. `now` is unix seconds.
pub(crate) fn check_time_range(c: &mut Check, tr: &TimeRange, now: i64, end_required: bool) {
    let now_bj = parse_payscore_time(&payscore_time(now));
    c.opt_max(
        "/time_range/start_time_remark",
        tr.start_time_remark.as_deref(),
        20,
    );
    c.opt_max(
        "/time_range/end_time_remark",
        tr.end_time_remark.as_deref(),
        20,
    );
    let start = parse_payscore_time(&tr.start_time);
    if start.is_none() {
        c.push(
            "/time_range/start_time",
            Rule::Time,
            "must be yyyyMMddHHmmss or yyyyMMdd",
            Some(tr.start_time.clone().into()),
        );
    }
    if let (Some(s), Some(n)) = (start, now_bj)
        && s >= n
    {
        c.push(
            "/time_range/start_time",
            Rule::Time,
            "must be earlier than the time of the call",
            Some(tr.start_time.clone().into()),
        );
    }
    match &tr.end_time {
        None if end_required => c.push(
            "/time_range/end_time",
            Rule::Required,
            "is required: the service is already over",
            None,
        ),
        None => {}
        Some(e) => match parse_payscore_time(e) {
            None => c.push(
                "/time_range/end_time",
                Rule::Time,
                "must be yyyyMMddHHmmss or yyyyMMdd",
                Some(e.clone().into()),
            ),
            Some(end) => {
                if start.is_some_and(|s| end <= s) {
                    c.push(
                        "/time_range/end_time",
                        Rule::Time,
                        "must be later than start_time",
                        Some(e.clone().into()),
                    );
                }
                if now_bj.is_some_and(|n| end > n) {
                    c.push(
                        "/time_range/end_time",
                        Rule::Time,
                        "must not be later than the time of the call",
                        Some(e.clone().into()),
                    );
                }
            }
        },
    }
}

pub(crate) fn check_location(c: &mut Check, l: Option<&Location>) {
    if let Some(l) = l {
        c.opt_max("/location/start_location", l.start_location.as_deref(), 50);
        c.opt_max("/location/end_location", l.end_location.as_deref(), 50);
    }
}
