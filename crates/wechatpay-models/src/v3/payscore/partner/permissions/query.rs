use serde::{Deserialize, Serialize};

use super::Permissions;
use crate::endpoint::{BodyKind, Endpoint};
use crate::ids::{AppId, MchId, OpenId, ServiceId};
use crate::validate::{Check, Rule, ValidationErrors};

/// `GET /v3/payscore/partner/permissions/authorization-code/{authorization_code}?service_id&sub_mchid`:
/// an authorization by its code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPermissionsByCodeRequest {
    /// The code (path parameter).
    pub authorization_code: String,
    /// Service id.
    pub service_id: ServiceId,
    /// Sub-merchant number.
    pub sub_mchid: MchId,
}

setters!(QueryPermissionsByCodeRequest { authorization_code: String, service_id: ServiceId, sub_mchid: MchId;  });

impl Endpoint for QueryPermissionsByCodeRequest {
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str =
        "/v3/payscore/partner/permissions/authorization-code/{authorization_code}";
    const BODY: BodyKind = BodyKind::Empty;
    type Response = Permissions;

    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("authorization_code", &self.authorization_code)]
    }

    fn query(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("service_id", self.service_id.as_str()),
            ("sub_mchid", self.sub_mchid.as_str()),
        ]
    }

    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.out_order_no("authorization_code", &self.authorization_code);
        c.required_max("service_id", self.service_id.as_str(), 32);
        c.required_max("sub_mchid", self.sub_mchid.as_str(), 32);
        c.finish()
    }
}

/// `GET /v3/payscore/partner/permissions/search?service_id&appid&sub_mchid[&sub_appid](&openid|&sub_openid)`:
/// a user's authorization, by exactly one of `openid` and `sub_openid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPermissionsByOpenidRequest {
    /// Service id.
    pub service_id: ServiceId,
    /// The service provider's appid.
    pub appid: AppId,
    /// Sub-merchant number.
    pub sub_mchid: MchId,
    /// Sub-merchant appid (required with `sub_openid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<AppId>,
    /// The user under `appid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<OpenId>,
    /// The user under `sub_appid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_openid: Option<OpenId>,
}

setters!(QueryPermissionsByOpenidRequest { service_id: ServiceId, appid: AppId, sub_mchid: MchId; sub_appid: AppId, openid: OpenId, sub_openid: OpenId });

impl Endpoint for QueryPermissionsByOpenidRequest {
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str = "/v3/payscore/partner/permissions/search";
    const BODY: BodyKind = BodyKind::Empty;
    type Response = Permissions;

    fn query(&self) -> Vec<(&'static str, &str)> {
        let mut q = vec![
            ("service_id", self.service_id.as_str()),
            ("appid", self.appid.as_str()),
            ("sub_mchid", self.sub_mchid.as_str()),
        ];
        if let Some(v) = &self.sub_appid {
            q.push(("sub_appid", v.as_str()));
        }
        if let Some(v) = &self.openid {
            q.push(("openid", v.as_str()));
        }
        if let Some(v) = &self.sub_openid {
            q.push(("sub_openid", v.as_str()));
        }
        q
    }

    /// Exactly one of `openid` and `sub_openid`; `sub_appid` with `sub_openid`.
    fn validate_at(&self, _now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required_max("service_id", self.service_id.as_str(), 32);
        c.required_max("appid", self.appid.as_str(), 32);
        c.required_max("sub_mchid", self.sub_mchid.as_str(), 32);
        one_user(
            &mut c,
            "",
            self.openid.as_ref(),
            self.sub_openid.as_ref(),
            self.sub_appid.as_ref(),
        );
        c.finish()
    }
}

/// Exactly one of `openid` and `sub_openid` (≤ 128), and `sub_appid` with `sub_openid`
/// (lifecycle spec §2.3, §2.4). `prefix` is `/` for body fields, empty for query ones.
pub(super) fn one_user(
    c: &mut Check,
    prefix: &str,
    openid: Option<&OpenId>,
    sub_openid: Option<&OpenId>,
    sub_appid: Option<&AppId>,
) {
    c.opt_max(format!("{prefix}openid"), openid.map(OpenId::as_str), 128);
    c.opt_max(
        format!("{prefix}sub_openid"),
        sub_openid.map(OpenId::as_str),
        128,
    );
    if openid.is_some() == sub_openid.is_some() {
        c.push(
            format!("{prefix}openid"),
            Rule::Required,
            "give exactly one of openid and sub_openid",
            None,
        );
    }
    if sub_openid.is_some() && sub_appid.is_none() {
        c.push(
            format!("{prefix}sub_appid"),
            Rule::Required,
            "is required with sub_openid",
            None,
        );
    }
}
