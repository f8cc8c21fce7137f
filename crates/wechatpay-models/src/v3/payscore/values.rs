//! Value types of Pay Score requests and orders: bill lines, discounts, time range,
//! location, risk fund.

use serde::{Deserialize, Serialize};

use crate::ids::Fen;
use crate::validate::payscore_time;

/// `time_range.start_time` of a need-confirm order that starts when the user confirms.
pub const ON_ACCEPT: &str = "OnAccept";

/// The values of `risk_fund.name`: deposit waived (`DEPOSIT`, `ADVANCE`, `CASH_DEPOSIT`,
/// 先免) or pay after use (`ESTIMATE_ORDER_COST`, 先享).
pub const RISK_FUND_NAMES: [&str; 4] =
    ["DEPOSIT", "ADVANCE", "CASH_DEPOSIT", "ESTIMATE_ORDER_COST"];

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

    /// A service that starts when the user confirms the order (`OnAccept`, need-confirm
    /// orders only) and has no planned end.
    #[must_use]
    pub fn on_accept() -> Self {
        Self {
            start_time: ON_ACCEPT.to_owned(),
            start_time_remark: None,
            end_time: None,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFund {
    /// `DEPOSIT`, `ADVANCE`, `CASH_DEPOSIT` or `ESTIMATE_ORDER_COST`.
    pub name: String,
    /// Amount in fen.
    pub amount: Fen,
    /// ≤ 30 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl RiskFund {
    /// A risk fund `name` (one of [`RISK_FUND_NAMES`]) of `amount` fen.
    #[must_use]
    pub fn new(name: impl Into<String>, amount: impl Into<Fen>) -> Self {
        Self {
            name: name.into(),
            amount: amount.into(),
            description: None,
        }
    }
}
