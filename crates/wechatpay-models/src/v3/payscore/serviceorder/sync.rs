use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AppId, OutOrderNo, ServiceId};
use crate::v3::payscore::partner::serviceorder::SyncDetail;
use crate::v3::payscore::{ServiceOrder, partner};
use crate::validate::{Check, ValidationErrors};

/// `POST /v3/payscore/serviceorder/{out_order_no}/sync`: a direct merchant reports a payment
/// made through its own channel. Answers `200` with the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Merchant order number (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub out_order_no: OutOrderNo,
    /// The merchant's appid.
    pub appid: AppId,
    /// Service id.
    pub service_id: ServiceId,
    /// Always `Order_Paid`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it was paid.
    pub detail: SyncDetail,
}

impl Default for SyncRequest {
    /// An `Order_Paid` sync (the only kind) with every other field empty.
    fn default() -> Self {
        let p = partner::serviceorder::SyncRequest::default();
        Self {
            out_order_no: p.out_order_no,
            appid: AppId::default(),
            service_id: p.service_id,
            kind: p.kind,
            detail: p.detail,
        }
    }
}

setters!(SyncRequest { out_order_no: OutOrderNo, appid: AppId, service_id: ServiceId, kind: String, detail: SyncDetail; });

impl From<SyncRequest> for partner::serviceorder::SyncRequest {
    fn from(r: SyncRequest) -> Self {
        Self {
            out_order_no: r.out_order_no,
            sub_mchid: Default::default(),
            service_id: r.service_id,
            kind: r.kind,
            detail: r.detail,
        }
    }
}

impl Endpoint for SyncRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/serviceorder/{out_order_no}/sync";
    type Response = ServiceOrder;

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("out_order_no", self.out_order_no.as_str())]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        partner::serviceorder::SyncRequest::from(self.clone())
            .check(&mut c, ("/appid", self.appid.as_str()));
        c.finish()
    }
}
