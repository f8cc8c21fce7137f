use serde::{Deserialize, Serialize};

use super::query::one_user;
use crate::endpoint::Endpoint;
use crate::ids::{AppId, MchId, OpenId, ServiceId};
use crate::validate::{Check, ValidationErrors};

/// `POST /v3/payscore/partner/permissions/authorization-code/{authorization_code}/terminate`:
/// end an authorization by its code (解除授权). Answers `204`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminatePermissionsByCodeRequest {
    /// The code (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub authorization_code: String,
    /// Service id.
    pub service_id: ServiceId,
    /// Sub-merchant number.
    pub sub_mchid: MchId,
    /// Why, ≤ 50 characters.
    pub reason: String,
}

setters!(TerminatePermissionsByCodeRequest { authorization_code: String, service_id: ServiceId, sub_mchid: MchId, reason: String;  });

impl Endpoint for TerminatePermissionsByCodeRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str =
        "/v3/payscore/partner/permissions/authorization-code/{authorization_code}/terminate";
    type Response = ();

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("authorization_code", &self.authorization_code)]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.out_order_no("/authorization_code", &self.authorization_code);
        c.required_max("/service_id", self.service_id.as_str(), 32);
        c.required_max("/sub_mchid", self.sub_mchid.as_str(), 32);
        c.required_max("/reason", &self.reason, 50);
        c.no_four_byte_chars_in(self);
        c.finish()
    }
}

/// `POST /v3/payscore/partner/permissions/terminate`: end a user's authorization, the user
/// given by exactly one of `openid` and `sub_openid` in the body. Answers `204`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminatePermissionsRequest {
    /// Service id.
    pub service_id: ServiceId,
    /// Sub-merchant number.
    pub sub_mchid: MchId,
    /// The service provider's appid.
    pub appid: AppId,
    /// Sub-merchant appid (required with `sub_openid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<AppId>,
    /// The user under `appid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<OpenId>,
    /// The user under `sub_appid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_openid: Option<OpenId>,
    /// Why, ≤ 50 characters.
    pub reason: String,
}

setters!(TerminatePermissionsRequest { service_id: ServiceId, sub_mchid: MchId, appid: AppId, reason: String; sub_appid: AppId, openid: OpenId, sub_openid: OpenId });

impl Endpoint for TerminatePermissionsRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/partner/permissions/terminate";
    type Response = ();

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required_max("/service_id", self.service_id.as_str(), 32);
        c.required_max("/sub_mchid", self.sub_mchid.as_str(), 32);
        c.required_max("/appid", self.appid.as_str(), 32);
        one_user(
            &mut c,
            "/",
            self.openid.as_ref(),
            self.sub_openid.as_ref(),
            self.sub_appid.as_ref(),
        );
        c.required_max("/reason", &self.reason, 50);
        c.no_four_byte_chars_in(self);
        c.finish()
    }
}
