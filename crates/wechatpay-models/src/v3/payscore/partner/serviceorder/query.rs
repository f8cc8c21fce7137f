use serde::{Deserialize, Serialize};

use crate::endpoint::{BodyKind, Endpoint};
use crate::ids::{MchId, OutOrderNo, ServiceId};
use crate::v3::payscore::ServiceOrder;
use crate::validate::{Check, Rule, ValidationErrors};

/// `GET /v3/payscore/partner/serviceorder?…`: query an order by `out_order_no` or by
/// WeChat's `query_id`. Every field is a query parameter. Answers `200` with the order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRequest {
    /// Sub-merchant number.
    pub sub_mchid: MchId,
    /// Merchant order number (or use `query_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_order_no: Option<OutOrderNo>,
    /// WeChat's query id (or use `out_order_no`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
    /// Service id (optional per the current page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
}

setters!(QueryRequest { sub_mchid: MchId; out_order_no: OutOrderNo, query_id: String, service_id: ServiceId });

impl QueryRequest {
    /// The rules of both modes, with `who` the merchant's parameter (`sub_mchid` here,
    /// `appid` for a direct merchant) and its value.
    pub(crate) fn check(&self, c: &mut Check, who: (&str, &str)) {
        c.required_max(who.0, who.1, 32);
        c.opt_max(
            "service_id",
            self.service_id.as_ref().map(ServiceId::as_str),
            32,
        );
        match (&self.out_order_no, &self.query_id) {
            (Some(no), None) => c.out_order_no("out_order_no", no.as_str()),
            (None, Some(q)) => {
                c.required("query_id", q);
            }
            _ => c.push(
                "out_order_no",
                Rule::Required,
                "give exactly one of out_order_no and query_id",
                None,
            ),
        }
    }
}

impl Endpoint for QueryRequest {
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str = "/v3/payscore/partner/serviceorder";
    const BODY: BodyKind = BodyKind::Empty;
    type Response = ServiceOrder;

    fn query(&self) -> Vec<(&'static str, &str)> {
        let mut v = Vec::new();
        if let Some(s) = &self.service_id {
            v.push(("service_id", s.as_str()));
        }
        if let Some(o) = &self.out_order_no {
            v.push(("out_order_no", o.as_str()));
        }
        if let Some(q) = &self.query_id {
            v.push(("query_id", q.as_str()));
        }
        v.push(("sub_mchid", self.sub_mchid.as_str()));
        v
    }

    /// `sub_mchid`, and exactly one of `out_order_no` and `query_id`.
    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        self.check(&mut c, ("sub_mchid", self.sub_mchid.as_str()));
        c.finish()
    }
}
