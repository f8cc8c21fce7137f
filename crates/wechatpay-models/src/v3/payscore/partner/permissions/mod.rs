//! `v3/payscore/partner/permissions/…`: the user's authorization of a no-confirm service
//! (免确认预授权), for service providers. Apply for a token, let the user authorize in
//! the Pay Score page (`wxpayScoreEnable`), then query or terminate the authorization by
//! its code or by the user's openid (lifecycle spec §2).

use serde::{Deserialize, Serialize};

use crate::enums::api_enum;
use crate::ids::{AppId, MchId, OpenId, ServiceId};
use crate::validate::payscore_time_to_unix;

mod apply;
mod query;
mod terminate;

pub use apply::{ApplyPermissionsRequest, ApplyPermissionsResponse};
pub use query::{QueryPermissionsByCodeRequest, QueryPermissionsByOpenidRequest};
pub use terminate::{TerminatePermissionsByCodeRequest, TerminatePermissionsRequest};

api_enum! {
    /// `authorization_state`.
    AuthorizationState {
        /// Pre-authorized only: the user has not authorized yet (未绑定用户).
        Unbinduser = "UNBINDUSER",
        /// The user has authorized (用户已授权).
        Available = "AVAILABLE",
        /// The user authorized, then the authorization ended (用户未授权).
        Unavailable = "UNAVAILABLE",
    }
}

/// The resource of `PAYSCORE.USER_OPEN_SERVICE` and `PAYSCORE.USER_CLOSE_SERVICE`
/// (lifecycle spec §2.7). The ids are read under both spellings the sources use
/// (`mchid`/`sub_mchid` and `mch_id`/`sub_mch_id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAuthorization {
    /// The service provider's appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<AppId>,
    /// The service provider's number.
    #[serde(default, alias = "mch_id", skip_serializing_if = "Option::is_none")]
    pub mchid: Option<MchId>,
    /// Sub-merchant number: route the callback by it.
    #[serde(default, alias = "sub_mch_id", skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<MchId>,
    /// Sub-merchant appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<AppId>,
    /// Service id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
    /// The user under `appid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<OpenId>,
    /// The user under `sub_appid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_openid: Option<OpenId>,
    /// `USER_OPEN_SERVICE` or `USER_CLOSE_SERVICE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_service_status: Option<String>,
    /// When, as `yyyyMMddHHmmss` Beijing time (not RFC 3339): see
    /// [`openorclose_unix`](Self::openorclose_unix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openorclose_time: Option<String>,
    /// The merchant's authorization code (pre-authorization only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<String>,
}

impl ServiceAuthorization {
    /// `openorclose_time` as unix seconds.
    #[must_use]
    pub fn openorclose_unix(&self) -> Option<i64> {
        self.openorclose_time
            .as_deref()
            .and_then(payscore_time_to_unix)
    }
}

/// An authorization, as both queries answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Permissions {
    /// Service id.
    #[serde(default)]
    pub service_id: ServiceId,
    /// The service provider's appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<AppId>,
    /// The service provider's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mchid: Option<MchId>,
    /// Sub-merchant number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<MchId>,
    /// Sub-merchant appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<AppId>,
    /// The user under `appid` (absent until the user authorizes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<OpenId>,
    /// The user under `sub_appid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_openid: Option<OpenId>,
    /// The merchant's authorization code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<String>,
    /// State.
    pub authorization_state: AuthorizationState,
    /// Where USER_OPEN_SERVICE and USER_CLOSE_SERVICE go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// Last termination, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_authorization_time: Option<String>,
    /// Last successful authorization, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_success_time: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Endpoint;
    use crate::validate::Rule;

    /// Lifecycle spec §2.2–§2.4: the code's charset, one user, sub_appid with sub_openid.
    #[test]
    fn requests_check_the_documented_rules() {
        let ok = ApplyPermissionsRequest::default()
            .service_id("500001")
            .appid("wxd678efh567hg6787")
            .sub_mchid("1230000109")
            .authorization_code("1234323JKHDFE1243252");
        ok.validate_at(0).unwrap();
        let bad = ApplyPermissionsRequest::default()
            .service_id("500001")
            .appid("wxd678efh567hg6787")
            .sub_mchid("1230000109")
            .authorization_code("代码");
        assert!(bad.validate_at(0).unwrap_err().has(Rule::Charset));

        let mut q = QueryPermissionsByOpenidRequest::default()
            .service_id("500001")
            .appid("wx1")
            .sub_mchid("1230000109")
            .openid("o1");
        assert_eq!(
            q.target().unwrap(),
            "/v3/payscore/partner/permissions/search?service_id=500001&appid=wx1&sub_mchid=1230000109&openid=o1"
        );
        q.validate_at(0).unwrap();
        q.sub_openid = Some("o2".into());
        let e = q.validate_at(0).unwrap_err();
        assert!(e.has_field("openid") && e.has_field("sub_appid"), "{e}");

        let t = TerminatePermissionsByCodeRequest::default()
            .authorization_code("CODE1")
            .service_id("500001")
            .sub_mchid("1230000109")
            .reason("退租");
        assert_eq!(
            t.target().unwrap(),
            "/v3/payscore/partner/permissions/authorization-code/CODE1/terminate"
        );
        assert!(
            !String::from_utf8(t.body().unwrap())
                .unwrap()
                .contains("CODE1")
        );
        let mut by_openid = TerminatePermissionsRequest::default()
            .service_id("500001")
            .sub_mchid("1230000109")
            .appid("wx1")
            .openid("o1")
            .reason("");
        assert!(by_openid.validate_at(0).unwrap_err().has_field("/reason"));
        by_openid.reason = "退租".into();
        by_openid.validate_at(0).unwrap();
    }
}
