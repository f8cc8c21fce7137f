//! The service order as WeChat Pay answers it, and its states.

use serde::{Deserialize, Serialize};

use super::values::{Location, PostDiscount, PostPayment, RiskFund, TimeRange};
use crate::enums::api_enum;
use crate::ids::{AppId, Fen, MchId, OpenId, OrderId, OutOrderNo, ServiceId, TransactionId};

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
    /// Merchant order number (always present: an answer without it is not an order).
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
