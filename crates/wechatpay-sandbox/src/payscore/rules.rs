//! The rules an order must meet beyond its own fields: the first violation as WeChat
//! reports it, bindings and permissions (R9–R11), the service's risk cap (R3).

use axum::http::StatusCode;
use wechatpay_models::{Fen, Rule, ValidationErrors};

use crate::AppState;
use crate::edge::error::ApiErr;
use crate::store::AuthorizationState;

/// The first violation as WeChat reports it, after applying the configured discount cap.
pub(super) fn first_violation(
    s: &AppState,
    result: Result<(), ValidationErrors>,
    discounts: usize,
) -> Result<(), ApiErr> {
    let max = s.world().behaviour.max_post_discounts;
    let mut v = match result {
        Ok(()) => Vec::new(),
        Err(e) => e.0,
    };
    v.retain(|x| !(x.field == "/post_discounts" && x.rule == Rule::ItemCount));
    if discounts > max {
        return Err(ApiErr::param_field(
            "/post_discounts",
            None,
            &format!("[R4] must have at most {max} items, got {discounts}"),
            "body",
        ));
    }
    match v.first() {
        Some(x) => Err(ApiErr::violation(x)),
        None => Ok(()),
    }
}

/// R9–R11: bindings of appid, sub-merchant and sub_appid, the service's family, the user's
/// authorization (when `openid` is given).
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_permissions(
    s: &AppState,
    mchid: &str,
    service_id: &str,
    appid: &str,
    sub_mchid: Option<&str>,
    sub_appid: Option<&str>,
    openid: Option<&str>,
    family: Family,
) -> Result<(), ApiErr> {
    let w = s.world();
    let p = w.providers.get(mchid).ok_or_else(|| {
        ApiErr::no_auth("商户暂无权限使用此服务")
            .why(format!("mchid {mchid} is not a provider of this sandbox"))
    })?;
    if !p.appids.contains(appid) {
        return Err(ApiErr::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        )
        .why(format!("appid {appid} is not bound to mchid {mchid}"))
        .internal(271_302_149));
    }
    if let Some(sub) = sub_mchid {
        let apps = p.subs.get(sub).ok_or_else(|| {
            ApiErr::no_auth("请检查sub_mchid是否授权mchid微信支付分产品权限")
                .why(format!("sub_mchid {sub} is not bound to {mchid}"))
        })?;
        if let Some(sa) = sub_appid
            && !apps.contains(sa)
        {
            return Err(ApiErr::no_auth("商户暂无权限使用此服务")
                .why(format!("sub_appid {sa} is not bound to sub_mchid {sub}")));
        }
    }
    let svc = w.services.get(service_id).ok_or_else(|| {
        ApiErr::no_auth("商户暂无权限使用此服务")
            .why(format!("service_id {service_id} does not exist"))
    })?;
    if !svc.providers.iter().any(|m| m == mchid) {
        return Err(ApiErr::no_auth("商户暂无权限使用此服务")
            .why(format!("mchid {mchid} may not use service_id {service_id}")));
    }
    let opened = match family {
        Family::DirectComplete => svc.direct_complete && !svc.need_confirm,
        Family::NoConfirm => !svc.need_confirm,
        Family::Confirm => svc.need_confirm,
    };
    if !opened {
        // Lifecycle spec §3.2: calling the other family gives NO_AUTH.
        return Err(ApiErr::no_auth("商户暂无权限使用此服务").why(format!(
            "service_id {service_id} is {}; {} is not opened for it",
            if svc.need_confirm {
                "need-confirm (需确认)"
            } else {
                "no-confirm (免确认)"
            },
            family.name()
        )));
    }
    if let Some(o) = openid {
        // Lifecycle spec §2.5: new no-confirm orders need the user's authorization.
        let sub = sub_mchid.unwrap_or_default();
        let authorized = s
            .store()
            .user_authorization(mchid, sub, service_id, Some(o), None)?
            .is_some_and(|a| a.state == AuthorizationState::Available);
        if !authorized {
            return Err(ApiErr::no_auth("请检查服务授权状态").why(format!(
                "openid {o} has not authorized service_id {service_id} (authorization_state is not AVAILABLE)"
            )));
        }
    }
    Ok(())
}

/// Which kind of call a service must be opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Direct-complete (no-confirm, direct-complete opened).
    DirectComplete,
    /// No-confirm create and the user's pre-authorization.
    NoConfirm,
    /// Need-confirm create.
    Confirm,
}

impl Family {
    fn name(self) -> &'static str {
        match self {
            Family::DirectComplete => "direct-complete",
            Family::NoConfirm => "a no-confirm call",
            Family::Confirm => "a need-confirm create",
        }
    }
}

pub(super) fn check_risk_cap(s: &AppState, service_id: &str, total: Fen) -> Result<(), ApiErr> {
    let cap = s
        .world()
        .services
        .get(service_id)
        .map_or(i64::MAX, |x| x.risk_cap);
    if total.0 > cap {
        return Err(ApiErr::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "总金额超过此服务的服务风险金额")
            .internal(271_316_656)
            .detail(serde_json::json!({"field": "/total_amount", "value": total.0, "issue": format!("[R3] total_amount {} exceeds the service risk cap {cap}", total.0), "location": "body"})));
    }
    Ok(())
}
