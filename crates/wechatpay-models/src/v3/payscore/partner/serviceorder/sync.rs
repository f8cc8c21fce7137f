use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{MchId, OutOrderNo, ServiceId};
use crate::validate::{Check, Rule, ValidationErrors, parse_payscore_time};

/// The only `type` of [`SyncRequest`].
pub(crate) const ORDER_PAID: &str = "Order_Paid";

/// `POST /v3/payscore/partner/serviceorder/{out_order_no}/sync`: report a payment made
/// through the merchant's own channel. Answers `204`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Merchant order number (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub out_order_no: OutOrderNo,
    /// Sub-merchant number.
    pub sub_mchid: MchId,
    /// Service id.
    pub service_id: ServiceId,
    /// Always `Order_Paid`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it was paid.
    pub detail: SyncDetail,
}

/// `detail` of [`SyncRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncDetail {
    /// `yyyyMMddHHmmss` or `yyyyMMdd`.
    pub paid_time: String,
}

impl Default for SyncRequest {
    /// An `Order_Paid` sync (the only kind) with every other field empty.
    fn default() -> Self {
        Self {
            out_order_no: OutOrderNo::default(),
            sub_mchid: MchId::default(),
            service_id: ServiceId::default(),
            kind: ORDER_PAID.into(),
            detail: SyncDetail::default(),
        }
    }
}

setters!(SyncRequest { out_order_no: OutOrderNo, sub_mchid: MchId, service_id: ServiceId, kind: String, detail: SyncDetail;  });

impl SyncRequest {
    /// The rules of both modes, with `who` the merchant's field (`/sub_mchid` here,
    /// `/appid` for a direct merchant) and its value.
    pub(crate) fn check(&self, c: &mut Check, who: (&str, &str)) {
        c.out_order_no("/out_order_no", self.out_order_no.as_str());
        c.required_max(who.0, who.1, 32);
        c.required_max("/service_id", self.service_id.as_str(), 32);
        if self.kind != ORDER_PAID {
            c.push(
                "/type",
                Rule::OneOf,
                "must be Order_Paid",
                Some(self.kind.clone().into()),
            );
        }
        if parse_payscore_time(&self.detail.paid_time).is_none() {
            c.push(
                "/detail/paid_time",
                Rule::Time,
                "must be yyyyMMddHHmmss or yyyyMMdd",
                Some(self.detail.paid_time.clone().into()),
            );
        }
    }
}

impl Endpoint for SyncRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/partner/serviceorder/{out_order_no}/sync";
    type Response = ();

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("out_order_no", self.out_order_no.as_str())]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        self.check(&mut c, ("/sub_mchid", self.sub_mchid.as_str()));
        c.finish()
    }
}
