use serde::{Deserialize, Serialize};

use super::query::one_user;
use crate::endpoint::Endpoint;
use crate::ids::{AppId, MchId, OpenId, ServiceId};
use crate::validate::{Check, ValidationErrors};

/// `POST /v3/payscore/partner/permissions/authorization-code/{authorization_code}/terminate`:
/// end an authorization by its code (解除授权). Answers `204`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl TerminatePermissionsByCodeRequest {
    /// Ends the authorization `authorization_code`.
    #[must_use]
    pub fn new(
        authorization_code: impl Into<String>,
        service_id: impl Into<ServiceId>,
        sub_mchid: impl Into<MchId>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            authorization_code: authorization_code.into(),
            service_id: service_id.into(),
            sub_mchid: sub_mchid.into(),
            reason: reason.into(),
        }
    }
}

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl TerminatePermissionsRequest {
    /// Ends the authorization of the user `openid` (under the service provider's appid).
    #[must_use]
    pub fn new(
        service_id: impl Into<ServiceId>,
        sub_mchid: impl Into<MchId>,
        appid: impl Into<AppId>,
        openid: impl Into<OpenId>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            service_id: service_id.into(),
            sub_mchid: sub_mchid.into(),
            appid: appid.into(),
            sub_appid: None,
            openid: Some(openid.into()),
            sub_openid: None,
            reason: reason.into(),
        }
    }
}

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
