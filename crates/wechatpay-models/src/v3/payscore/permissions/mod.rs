//! `v3/payscore/permissions/…`: the direct-merchant (普通商户) twin of
//! [`partner::permissions`](super::partner::permissions). It differs where the lifecycle
//! spec §2.1 says: no sub-merchant fields, and the openid in the path.

use serde::{Deserialize, Serialize};

use crate::endpoint::{BodyKind, Endpoint};
use crate::ids::{AppId, OpenId, ServiceId};
use crate::validate::{Check, ValidationErrors};

pub use super::partner::permissions::{
    ApplyPermissionsResponse, AuthorizationState, Permissions, ServiceAuthorization,
};

/// `POST /v3/payscore/permissions`: pre-authorize a user. Answers `200` with an
/// `apply_permissions_token`, valid one hour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyPermissionsRequest {
    /// Service id.
    pub service_id: ServiceId,
    /// The merchant's appid.
    pub appid: AppId,
    /// The merchant's code for this authorization: ≤ 32 of `[0-9A-Za-z_-|*]`, one per user.
    pub authorization_code: String,
    /// Receives USER_OPEN_SERVICE and USER_CLOSE_SERVICE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

setters!(ApplyPermissionsRequest { service_id: ServiceId, appid: AppId, authorization_code: String; notify_url: String });

impl Endpoint for ApplyPermissionsRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/permissions";
    type Response = ApplyPermissionsResponse;

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required_max("/service_id", self.service_id.as_str(), 32);
        c.required_max("/appid", self.appid.as_str(), 32);
        c.out_order_no("/authorization_code", &self.authorization_code);
        if let Some(u) = &self.notify_url {
            c.notify_url("/notify_url", u, 255);
        }
        c.finish()
    }
}

/// `GET /v3/payscore/permissions/authorization-code/{authorization_code}?service_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPermissionsByCodeRequest {
    /// The code (path parameter).
    pub authorization_code: String,
    /// Service id.
    pub service_id: ServiceId,
}

setters!(QueryPermissionsByCodeRequest { authorization_code: String, service_id: ServiceId;  });

impl Endpoint for QueryPermissionsByCodeRequest {
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str = "/v3/payscore/permissions/authorization-code/{authorization_code}";
    const BODY: BodyKind = BodyKind::Empty;
    type Response = Permissions;

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("authorization_code", &self.authorization_code)]
    }

    fn query(&self) -> Vec<(&'static str, &str)> {
        vec![("service_id", self.service_id.as_str())]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.out_order_no("authorization_code", &self.authorization_code);
        c.required_max("service_id", self.service_id.as_str(), 32);
        c.finish()
    }
}

/// `GET /v3/payscore/permissions/openid/{openid}?service_id&appid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPermissionsByOpenidRequest {
    /// The user (path parameter).
    pub openid: OpenId,
    /// Service id.
    pub service_id: ServiceId,
    /// The merchant's appid.
    pub appid: AppId,
}

setters!(QueryPermissionsByOpenidRequest { openid: OpenId, service_id: ServiceId, appid: AppId;  });

impl Endpoint for QueryPermissionsByOpenidRequest {
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str = "/v3/payscore/permissions/openid/{openid}";
    const BODY: BodyKind = BodyKind::Empty;
    type Response = Permissions;

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("openid", self.openid.as_str())]
    }

    fn query(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("service_id", self.service_id.as_str()),
            ("appid", self.appid.as_str()),
        ]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required_max("openid", self.openid.as_str(), 128);
        c.required_max("service_id", self.service_id.as_str(), 32);
        c.required_max("appid", self.appid.as_str(), 32);
        c.finish()
    }
}

/// `POST /v3/payscore/permissions/authorization-code/{authorization_code}/terminate`.
/// Answers `204`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminatePermissionsByCodeRequest {
    /// The code (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub authorization_code: String,
    /// Service id.
    pub service_id: ServiceId,
    /// Why, ≤ 50 characters.
    pub reason: String,
}

setters!(TerminatePermissionsByCodeRequest { authorization_code: String, service_id: ServiceId, reason: String;  });

impl Endpoint for TerminatePermissionsByCodeRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str =
        "/v3/payscore/permissions/authorization-code/{authorization_code}/terminate";
    type Response = ();

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("authorization_code", &self.authorization_code)]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.out_order_no("/authorization_code", &self.authorization_code);
        c.required_max("/service_id", self.service_id.as_str(), 32);
        c.required_max("/reason", &self.reason, 50);
        c.no_four_byte_chars_in(self);
        c.finish()
    }
}

/// `POST /v3/payscore/permissions/openid/{openid}/terminate`. Answers `204`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminatePermissionsByOpenidRequest {
    /// The user (path parameter; never in the body).
    #[serde(default, skip_serializing)]
    pub openid: OpenId,
    /// Service id.
    pub service_id: ServiceId,
    /// The merchant's appid.
    pub appid: AppId,
    /// Why, ≤ 50 characters.
    pub reason: String,
}

setters!(TerminatePermissionsByOpenidRequest { openid: OpenId, service_id: ServiceId, appid: AppId, reason: String;  });

impl Endpoint for TerminatePermissionsByOpenidRequest {
    const METHOD: http::Method = http::Method::POST;
    const PATH: &'static str = "/v3/payscore/permissions/openid/{openid}/terminate";
    type Response = ();

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("openid", self.openid.as_str())]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required_max("/openid", self.openid.as_str(), 128);
        c.required_max("/service_id", self.service_id.as_str(), 32);
        c.required_max("/appid", self.appid.as_str(), 32);
        c.required_max("/reason", &self.reason, 50);
        c.no_four_byte_chars_in(self);
        c.finish()
    }
}
