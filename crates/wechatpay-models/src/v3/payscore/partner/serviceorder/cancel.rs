use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{MchId, OutOrderNo, ServiceId};
use crate::validate::{Check, ValidationErrors};

/// `POST /v3/payscore/partner/serviceorder/{out_order_no}/cancel`: cancel an order that is
/// not finished. Answers `204`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    /// Merchant order number (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub out_order_no: OutOrderNo,
    /// Sub-merchant number.
    pub sub_mchid: MchId,
    /// Service id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
    /// Shown to the user, ≤ 50 characters.
    pub reason: String,
}

setters!(CancelRequest { out_order_no: OutOrderNo, sub_mchid: MchId, reason: String; service_id: ServiceId });

impl CancelRequest {
    /// The rules of both modes, with `who` the merchant's field (`/sub_mchid` here,
    /// `/appid` for a direct merchant) and its value.
    pub(crate) fn check(&self, c: &mut Check, who: (&str, &str)) {
        c.out_order_no("/out_order_no", self.out_order_no.as_str());
        c.required_max(who.0, who.1, 32);
        c.opt_max(
            "/service_id",
            self.service_id.as_ref().map(ServiceId::as_str),
            32,
        );
        c.required_max("/reason", &self.reason, 50);
        c.no_four_byte_chars_in(self);
    }
}

impl Endpoint for CancelRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/partner/serviceorder/{out_order_no}/cancel";
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
