//! `POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund` (发起异常退款).

use serde::{Deserialize, Serialize};

use super::Refund;
use crate::endpoint::Endpoint;
use crate::enums::api_enum;
use crate::ids::MchId;
use crate::validate::{Check, Rule, ValidationErrors};

api_enum! {
    /// Where an abnormal refund goes instead of the original account.
    AbnormalRefundTo {
        /// The user's bank card: `bank_type`, `bank_account` and `real_name` are required.
        UserBankCard = "USER_BANK_CARD",
        /// The merchant's own bank card, to settle with the user offline.
        MerchantBankCard = "MERCHANT_BANK_CARD",
    }
}

/// Sends an `ABNORMAL` refund (the user's card was frozen or closed, `REFUND.ABNORMAL`)
/// again, to another account (lifecycle spec §4.1, §4.4). Answers `200` with the refund,
/// `PROCESSING` again; its outcome comes as for any refund.
///
/// `bank_account` and `real_name` are sensitive: give them encrypted with
/// `Client::encrypt_sensitive` of the client that sends the request (it sends the
/// `Wechatpay-Serial` of the key it encrypted with).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyAbnormalRefundRequest {
    /// WeChat Pay's refund id (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub refund_id: String,
    /// The sub-merchant; required for a service provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<MchId>,
    /// Your refund number of that refund.
    pub out_refund_no: String,
    /// Where the money goes.
    #[serde(rename = "type")]
    pub kind: AbnormalRefundTo,
    /// The user's bank (`ICBC_DEBIT`, …), for [`AbnormalRefundTo::UserBankCard`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    /// The user's card number, encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account: Option<String>,
    /// The cardholder's name, encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_name: Option<String>,
}

setters!(ApplyAbnormalRefundRequest { refund_id: String, out_refund_no: String, kind: AbnormalRefundTo; sub_mchid: MchId, bank_type: String, bank_account: String, real_name: String });

impl Default for AbnormalRefundTo {
    /// None yet: a request built without `kind` is refused locally.
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

impl Endpoint for ApplyAbnormalRefundRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund";
    type Response = Refund;

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("refund_id", &self.refund_id)]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required_max("/refund_id", &self.refund_id, 32);
        c.out_refund_no("/out_refund_no", &self.out_refund_no);
        if let Some(s) = &self.sub_mchid {
            c.required_max("/sub_mchid", s.as_str(), 32);
        }
        match &self.kind {
            AbnormalRefundTo::UserBankCard => {
                c.required("/bank_type", self.bank_type.as_deref().unwrap_or_default());
                c.required(
                    "/bank_account",
                    self.bank_account.as_deref().unwrap_or_default(),
                );
                c.required("/real_name", self.real_name.as_deref().unwrap_or_default());
            }
            AbnormalRefundTo::MerchantBankCard => {}
            AbnormalRefundTo::Unknown(v) if v.is_empty() => {
                c.required("/type", v);
            }
            AbnormalRefundTo::Unknown(v) => c.push(
                "/type",
                Rule::OneOf,
                "must be USER_BANK_CARD or MERCHANT_BANK_CARD",
                Some(v.as_str().into()),
            ),
        }
        c.opt_max("/bank_type", self.bank_type.as_deref(), 32);
        c.finish()
    }
}
