use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AppId, OutOrderNo, ServiceId};
use crate::v3::payscore::{ServiceOrder, partner};
use crate::validate::{Check, ValidationErrors};

/// `POST /v3/payscore/serviceorder/{out_order_no}/cancel`: a direct merchant cancels an order
/// that is not finished. Answers `200` with the order's ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    /// Merchant order number (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub out_order_no: OutOrderNo,
    /// The merchant's appid.
    pub appid: AppId,
    /// Service id.
    pub service_id: ServiceId,
    /// Shown to the user, ≤ 50 characters.
    pub reason: String,
}

setters!(CancelRequest { out_order_no: OutOrderNo, appid: AppId, service_id: ServiceId, reason: String; });

impl From<CancelRequest> for partner::serviceorder::CancelRequest {
    fn from(r: CancelRequest) -> Self {
        Self {
            out_order_no: r.out_order_no,
            sub_mchid: Default::default(),
            service_id: Some(r.service_id),
            reason: r.reason,
        }
    }
}

impl Endpoint for CancelRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/serviceorder/{out_order_no}/cancel";
    type Response = ServiceOrder;

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("out_order_no", self.out_order_no.as_str())]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required("/service_id", self.service_id.as_str());
        partner::serviceorder::CancelRequest::from(self.clone())
            .check(&mut c, ("/appid", self.appid.as_str()));
        c.finish()
    }
}
