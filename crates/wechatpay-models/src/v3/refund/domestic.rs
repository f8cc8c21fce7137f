//! `v3/refund/domestic/refunds`: refunds of a payment, here of a Pay Score deduction.
//!
//! A Pay Score order is refunded per deduction: the `transaction_id` is in the order's
//! `collection.details[]` once it was paid through WeChat Pay. The order's own
//! `out_order_no` is **not** an `out_trade_no` (WeChat Pay answers
//! `404 RESOURCE_NOT_EXISTS 订单不存在`). Apply answers `200` with the refund
//! `PROCESSING`; the outcome comes from a `REFUND.*` callback or a query.
//!
//! ```
//! use wechatpay_models::Endpoint;
//! use wechatpay_models::v3::refund::domestic::{RefundRequest, RefundRequestAmount};
//!
//! let r = RefundRequest::default()
//!     .sub_mchid("1900000109")
//!     .transaction_id("4200002501202503011000000001")
//!     .out_refund_no("RF20250301001")
//!     .amount(RefundRequestAmount::default().refund(500).total(2500))
//!     .reason("归还后多收费用");
//! assert!(r.validate_at(0).is_ok());
//! assert_eq!(RefundRequest::PATH, "/v3/refund/domestic/refunds");
//! ```

mod abnormal;
pub use abnormal::{AbnormalRefundTo, ApplyAbnormalRefundRequest};

use serde::{Deserialize, Serialize};

use crate::endpoint::{BodyKind, Endpoint};
use crate::enums::api_enum;
use crate::ids::{Fen, MchId, TransactionId};
use crate::validate::{Check, Rule, ValidationErrors};

/// `POST /v3/refund/domestic/refunds` (申请退款): refunds (part of) one payment.
///
/// Reuse `out_refund_no` when you retry: WeChat Pay refunds one number at most once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// Sub-merchant of the payment; required for a service provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<MchId>,
    /// The payment: for Pay Score, `collection.details[].transaction_id`. Exactly one of
    /// this and `out_trade_no`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<TransactionId>,
    /// The payment's merchant trade number (for Pay Score, the one WeChat Pay generated
    /// for the deduction, never `out_order_no`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Your refund number, unique in your system: ≤ 64 bytes of `[0-9A-Za-z_-|*@]`.
    pub out_refund_no: String,
    /// Shown to the user (≤ 80 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where `REFUND.*` callbacks go, instead of the configured refund URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// The account refunded from (`AVAILABLE`, for old fund-flow merchants only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    /// Amounts.
    pub amount: RefundRequestAmount,
}

/// `amount` of a refund request, in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequestAmount {
    /// The amount refunded now: > 0 and ≤ `total` less earlier refunds.
    pub refund: Fen,
    /// The payment's amount (for Pay Score, the deduction's `collection.details[].amount`).
    pub total: Fen,
    /// `CNY`.
    pub currency: String,
    /// Which accounts pay the refund (profit-sharing orders only); sums to `refund`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<RefundFrom>,
}

impl Default for RefundRequestAmount {
    /// Nothing yet, in `CNY`.
    fn default() -> Self {
        Self {
            refund: Fen(0),
            total: Fen(0),
            currency: "CNY".into(),
            from: Vec::new(),
        }
    }
}

setters!(RefundRequestAmount { refund: Fen, total: Fen, currency: String, from: Vec<RefundFrom>; });

/// One account paying part of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundFrom {
    /// `AVAILABLE` or `UNAVAILABLE`.
    pub account: String,
    /// Fen taken from it.
    pub amount: Fen,
}

setters!(RefundRequest { out_refund_no: String, amount: RefundRequestAmount; sub_mchid: MchId, transaction_id: TransactionId, out_trade_no: String, reason: String, notify_url: String, funds_account: String });

impl Endpoint for RefundRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/refund/domestic/refunds";
    const DEDUPLICATED_BY: Option<&'static str> = Some("out_refund_no");
    type Response = Refund;

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        if let Some(s) = &self.sub_mchid {
            c.required_max("/sub_mchid", s.as_str(), 32);
        }
        match (&self.transaction_id, &self.out_trade_no) {
            (Some(t), None) => c.required_max("/transaction_id", t.as_str(), 32),
            (None, Some(t)) => c.required_max("/out_trade_no", t, 32),
            (Some(_), Some(_)) => c.push(
                "/transaction_id",
                Rule::Required,
                "give exactly one of transaction_id and out_trade_no, not both",
                None,
            ),
            (None, None) => c.push(
                "/transaction_id",
                Rule::Required,
                "give exactly one of transaction_id (for Pay Score: collection.details[].transaction_id) and out_trade_no",
                None,
            ),
        }
        c.out_refund_no("/out_refund_no", &self.out_refund_no);
        if let Some(r) = &self.reason {
            c.max_bytes("/reason", r, 80);
        }
        if let Some(u) = &self.notify_url {
            // At most 256 characters here (lifecycle spec §4.2), 255 elsewhere.
            c.notify_url("/notify_url", u, 256);
        }
        if let Some(f) = &self.funds_account
            && !["AVAILABLE", "UNSETTLED"].contains(&f.as_str())
        {
            c.push(
                "/funds_account",
                Rule::OneOf,
                "must be AVAILABLE (or UNSETTLED)",
                Some(f.as_str().into()),
            );
        }
        let a = &self.amount;
        if a.refund.get() <= 0 {
            c.push(
                "/amount/refund",
                Rule::Amount,
                "must be greater than 0",
                Some(a.refund.get().into()),
            );
        }
        if a.refund > a.total {
            c.push(
                "/amount/refund",
                Rule::Amount,
                format!("must not exceed amount.total ({})", a.total.get()),
                Some(a.refund.get().into()),
            );
        }
        if a.currency != "CNY" {
            c.push(
                "/amount/currency",
                Rule::OneOf,
                "must be CNY",
                Some(a.currency.as_str().into()),
            );
        }
        if !a.from.is_empty() {
            let sum = a
                .from
                .iter()
                .try_fold(Fen::ZERO, |s, f| s.checked_add(f.amount));
            if sum != Some(a.refund) {
                c.push(
                    "/amount/from",
                    Rule::Amount,
                    format!("amounts must sum to amount.refund ({})", a.refund.get()),
                    None,
                );
            }
            for (i, f) in a.from.iter().enumerate() {
                if !["AVAILABLE", "UNAVAILABLE"].contains(&f.account.as_str()) {
                    c.push(
                        format!("/amount/from/{i}/account"),
                        Rule::OneOf,
                        "must be AVAILABLE or UNAVAILABLE",
                        Some(f.account.as_str().into()),
                    );
                }
                if a.from[..i].iter().any(|g| g.account == f.account) {
                    c.push(
                        format!("/amount/from/{i}/account"),
                        Rule::UniqueNames,
                        "appears twice",
                        None,
                    );
                }
            }
        }
        c.finish()
    }
}

/// `GET /v3/refund/domestic/refunds/{out_refund_no}?sub_mchid=…` (查询单笔退款).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRefundRequest {
    /// The refund number (path parameter).
    pub out_refund_no: String,
    /// The sub-merchant; required for a service provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<MchId>,
}

setters!(QueryRefundRequest { out_refund_no: String; sub_mchid: MchId });

impl Endpoint for QueryRefundRequest {
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str = "/v3/refund/domestic/refunds/{out_refund_no}";
    const BODY: BodyKind = BodyKind::Empty;
    type Response = Refund;

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("out_refund_no", &self.out_refund_no)]
    }

    fn query(&self) -> Vec<(&'static str, &str)> {
        self.sub_mchid
            .iter()
            .map(|s| ("sub_mchid", s.as_str()))
            .collect()
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.out_refund_no("out_refund_no", &self.out_refund_no);
        if let Some(s) = &self.sub_mchid {
            c.required_max("sub_mchid", s.as_str(), 32);
        }
        c.finish()
    }
}

api_enum! {
    /// A refund's `status` (`refund_status` in callbacks).
    RefundStatus {
        /// Money returned.
        Success = "SUCCESS",
        /// Closed; apply again with a new `out_refund_no`.
        Closed = "CLOSED",
        /// Accepted, in progress.
        Processing = "PROCESSING",
        /// The user's account could not take it (card frozen or cancelled): handle it in
        /// the merchant console or with apply-abnormal-refund.
        Abnormal = "ABNORMAL",
    }
}

api_enum! {
    /// Where the money goes back (`channel`).
    RefundChannel {
        /// The original payment method.
        Original = "ORIGINAL",
        /// The user's balance (零钱).
        Balance = "BALANCE",
        /// Another balance account.
        OtherBalance = "OTHER_BALANCE",
        /// Another bank card.
        OtherBankcard = "OTHER_BANKCARD",
    }
}

/// A refund, as apply and query answer it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Refund {
    /// WeChat Pay's refund id.
    #[serde(default)]
    pub refund_id: String,
    /// Your refund number.
    #[serde(default)]
    pub out_refund_no: String,
    /// The refunded payment.
    #[serde(default)]
    pub transaction_id: String,
    /// The payment's merchant trade number.
    #[serde(default)]
    pub out_trade_no: String,
    /// Where the money goes back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<RefundChannel>,
    /// The account that receives it, e.g. `支付用户零钱`.
    #[serde(default)]
    pub user_received_account: String,
    /// When the money was returned (RFC 3339), with `SUCCESS` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// When the refund was accepted (RFC 3339).
    #[serde(default)]
    pub create_time: String,
    /// The state; `None` only if the server left it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RefundStatus>,
    /// The account refunded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    /// Amounts.
    #[serde(default)]
    pub amount: RefundAmount,
}

/// `amount` of a refund, in fen.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefundAmount {
    /// The payment's amount.
    #[serde(default)]
    pub total: Fen,
    /// The amount refunded.
    #[serde(default)]
    pub refund: Fen,
    /// Accounts the refund came from.
    #[serde(default)]
    pub from: Vec<RefundFrom>,
    /// What the user paid.
    #[serde(default)]
    pub payer_total: Fen,
    /// What goes back to the user.
    #[serde(default)]
    pub payer_refund: Fen,
    /// Settlement amount refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_refund: Option<Fen>,
    /// Settlement amount of the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_total: Option<Fen>,
    /// Discount refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_refund: Option<Fen>,
    /// `CNY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// The decrypted resource of a `REFUND.SUCCESS`, `REFUND.ABNORMAL` or `REFUND.CLOSED`
/// callback (`original_type: refund`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RefundNotice {
    /// The service provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp_mchid: Option<MchId>,
    /// The sub-merchant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<MchId>,
    /// The merchant (direct merchants only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mchid: Option<MchId>,
    /// The payment's merchant trade number.
    #[serde(default)]
    pub out_trade_no: String,
    /// The refunded payment.
    #[serde(default)]
    pub transaction_id: String,
    /// Your refund number.
    #[serde(default)]
    pub out_refund_no: String,
    /// WeChat Pay's refund id.
    #[serde(default)]
    pub refund_id: String,
    /// The outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<RefundStatus>,
    /// When the money was returned (RFC 3339), with `SUCCESS` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// The account that receives it.
    #[serde(default)]
    pub user_received_account: String,
    /// Amounts.
    #[serde(default)]
    pub amount: RefundAmount,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refund(n: i64) -> RefundRequest {
        RefundRequest::default()
            .sub_mchid("1900000109")
            .transaction_id("4200002501202503011000000001")
            .out_refund_no("RF-1|a*b@c")
            .amount(RefundRequestAmount::default().refund(n).total(2500))
    }

    #[test]
    fn the_spec_sample_serialises_as_documented() {
        let r = refund(500)
            .reason("归还后多收费用")
            .notify_url("https://www.example.com/refund/notify");
        let mut r = r;
        r.out_refund_no = "RF20250301001".into();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"sub_mchid":"1900000109","transaction_id":"4200002501202503011000000001","out_refund_no":"RF20250301001","reason":"归还后多收费用","notify_url":"https://www.example.com/refund/notify","amount":{"refund":500,"total":2500,"currency":"CNY"}}"#
        );
        assert!(r.validate_at(0).is_ok());
    }

    #[test]
    fn amounts_and_numbers_are_checked_locally() {
        for bad in [0, -1, 2501] {
            let e = refund(bad).validate_at(0).unwrap_err();
            assert!(
                e.has_field("/amount/refund") && e.has(Rule::Amount),
                "{bad}: {e}"
            );
        }
        let mut r = refund(500);
        r.amount.currency = "USD".into();
        r.amount.from = vec![
            RefundFrom {
                account: "AVAILABLE".into(),
                amount: Fen(300),
            },
            RefundFrom {
                account: "AVAILABLE".into(),
                amount: Fen(100),
            },
        ];
        let e = r.validate_at(0).unwrap_err();
        assert!(e.has_field("/amount/currency"));
        assert!(e.has_field("/amount/from"), "sum 400 ≠ 500: {e}");
        assert!(
            e.has_field("/amount/from/1/account"),
            "duplicate account: {e}"
        );
        let mut r = refund(500);
        r.out_refund_no = "退款1".into();
        assert!(r.validate_at(0).unwrap_err().has(Rule::Charset));
        r.out_refund_no = "x".repeat(65);
        assert!(r.validate_at(0).unwrap_err().has(Rule::Length));
        let mut r = refund(500);
        r.out_trade_no = Some("1217752501201407033233368018".into());
        assert!(
            r.validate_at(0).unwrap_err().has_field("/transaction_id"),
            "both given"
        );
        let mut r = refund(500);
        r.reason = Some("退".repeat(27));
        assert!(
            r.validate_at(0).unwrap_err().has_field("/reason"),
            "81 bytes"
        );
        assert!(
            QueryRefundRequest::default()
                .out_refund_no("RF|1")
                .sub_mchid("1900000109")
                .target()
                .unwrap()
                .ends_with("/refunds/RF%7C1?sub_mchid=1900000109")
        );
    }
}
