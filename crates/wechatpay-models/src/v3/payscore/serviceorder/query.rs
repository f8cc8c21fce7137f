use serde::{Deserialize, Serialize};

use crate::endpoint::{BodyKind, Endpoint};
use crate::ids::{AppId, OutOrderNo, ServiceId};
use crate::v3::payscore::{ServiceOrder, partner};
use crate::validate::{Check, ValidationErrors};

/// `GET /v3/payscore/serviceorder?…`: a direct merchant queries an order by `out_order_no`
/// or by WeChat's `query_id`. Every field is a query parameter. Answers `200` with the
/// order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRequest {
    /// Service id.
    pub service_id: ServiceId,
    /// The merchant's appid.
    pub appid: AppId,
    /// Merchant order number (or use `query_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_order_no: Option<OutOrderNo>,
    /// WeChat's query id (or use `out_order_no`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
}

setters!(QueryRequest { service_id: ServiceId, appid: AppId; out_order_no: OutOrderNo, query_id: String });

impl From<QueryRequest> for partner::serviceorder::QueryRequest {
    fn from(r: QueryRequest) -> Self {
        Self {
            sub_mchid: Default::default(),
            out_order_no: r.out_order_no,
            query_id: r.query_id,
            service_id: Some(r.service_id),
        }
    }
}

impl Endpoint for QueryRequest {
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str = "/v3/payscore/serviceorder";
    const BODY: BodyKind = BodyKind::Empty;
    type Response = ServiceOrder;

    fn query(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![
            ("service_id", self.service_id.as_str()),
            ("appid", self.appid.as_str()),
        ];
        if let Some(no) = &self.out_order_no {
            v.push(("out_order_no", no.as_str()));
        }
        if let Some(q) = &self.query_id {
            v.push(("query_id", q.as_str()));
        }
        v
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required("service_id", self.service_id.as_str());
        partner::serviceorder::QueryRequest::from(self.clone())
            .check(&mut c, ("appid", self.appid.as_str()));
        c.finish()
    }
}
