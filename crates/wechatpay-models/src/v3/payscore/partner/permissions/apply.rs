use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::ids::{AppId, MchId, ServiceId};
use crate::validate::{Check, ValidationErrors};

/// `POST /v3/payscore/partner/permissions`: pre-authorize a user (商户预授权). Answers
/// `200` with an `apply_permissions_token`, valid one hour, for the authorization page
/// (`wechatpay::launch::enable`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyPermissionsRequest {
    /// Service id.
    pub service_id: ServiceId,
    /// The service provider's appid.
    pub appid: AppId,
    /// Sub-merchant appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<AppId>,
    /// Sub-merchant number.
    pub sub_mchid: MchId,
    /// The merchant's code for this authorization: ≤ 32 of `[0-9A-Za-z_-|*]`, unique per
    /// service provider, one per user.
    pub authorization_code: String,
    /// Receives USER_OPEN_SERVICE and USER_CLOSE_SERVICE: https, no query, ≤ 255.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

/// The answer to [`ApplyPermissionsRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyPermissionsResponse {
    /// Opaque, ≤ 300, valid one hour: pass it to the authorization page unchanged.
    pub apply_permissions_token: String,
}

setters!(ApplyPermissionsRequest { service_id: ServiceId, appid: AppId, sub_mchid: MchId, authorization_code: String; sub_appid: AppId, notify_url: String });

impl Endpoint for ApplyPermissionsRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/partner/permissions";
    type Response = ApplyPermissionsResponse;

    /// Lengths, the code's charset (lifecycle spec §2.2), `notify_url`.
    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required_max("/service_id", self.service_id.as_str(), 32);
        c.required_max("/appid", self.appid.as_str(), 32);
        c.opt_max("/sub_appid", self.sub_appid.as_ref().map(AppId::as_str), 32);
        c.required_max("/sub_mchid", self.sub_mchid.as_str(), 32);
        c.out_order_no("/authorization_code", &self.authorization_code);
        if let Some(u) = &self.notify_url {
            c.notify_url("/notify_url", u, 255);
        }
        c.finish()
    }
}
