//! Users' authorizations of a no-confirm service (lifecycle spec §2): pre-authorization,
//! the queries and the merchant's terminations. The user's side (authorize, revoke) is in
//! `helpers`.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use wechatpay_models::Endpoint;
use wechatpay_models::v3::payscore::partner::permissions as p;
use wechatpay_models::v3::payscore::permissions as d;

use crate::AppState;
use crate::edge::auth::Caller;
use crate::edge::error::checked;
use crate::edge::error::{Answer, ApiErr};
use crate::edge::wx::{Decoded, Wx};
use crate::payscore::{Family, check_permissions};
use crate::store::{AuthorizationRow, AuthorizationState};
use crate::util::rfc3339_beijing;

/// An `apply_permissions_token` is valid one hour (lifecycle spec §2.2).
pub(crate) const TOKEN_VALID_MS: i64 = 3_600_000;

handles! {
    p::ApplyPermissionsRequest => apply;
    p::QueryPermissionsByCodeRequest => by_code;
    p::QueryPermissionsByOpenidRequest => search;
    p::TerminatePermissionsByCodeRequest => terminate_by_code;
    p::TerminatePermissionsRequest => terminate;
    d::ApplyPermissionsRequest => direct_apply;
    d::QueryPermissionsByCodeRequest => direct_by_code;
    d::QueryPermissionsByOpenidRequest => direct_by_openid;
    d::TerminatePermissionsByCodeRequest => direct_terminate_by_code;
    d::TerminatePermissionsByOpenidRequest => direct_terminate_by_openid;
}

/// Who is authorized for what: the key of an authorization ("" sub-merchant for direct
/// merchants).
struct Scope<'a> {
    service_id: &'a str,
    sub_mchid: &'a str,
}

/// A pre-authorization (lifecycle spec §2.2).
#[allow(clippy::too_many_arguments)]
fn apply_for(
    s: &AppState,
    c: &Caller,
    scope: &Scope<'_>,
    appid: &str,
    sub_appid: Option<&str>,
    code: &str,
    notify_url: Option<&str>,
    json: &Value,
) -> Answer {
    check_permissions(
        s,
        &c.mchid,
        scope.service_id,
        appid,
        (!scope.sub_mchid.is_empty()).then_some(scope.sub_mchid),
        sub_appid,
        None,
        Family::NoConfirm,
    )?;
    let now = s.now_ms();
    let mut row = AuthorizationRow {
        sp_mchid: c.mchid.clone(),
        authorization_code: code.to_owned(),
        sub_mchid: scope.sub_mchid.to_owned(),
        service_id: scope.service_id.to_owned(),
        appid: appid.to_owned(),
        sub_appid: sub_appid.map(str::to_owned),
        openid: None,
        sub_openid: None,
        state: AuthorizationState::Unbinduser,
        token: Some(crate::util::token()),
        token_expires_ms: Some(now + TOKEN_VALID_MS),
        notify_url: notify_url.map(str::to_owned),
        request_json: json.to_string(),
        success_ms: None,
        cancel_ms: None,
        created_ms: now,
    };
    if let Some(old) = s.store().insert_authorization(&row)? {
        // The same parameters again, before any user took the code: a fresh token for
        // the same record. Otherwise the code is spent (lifecycle spec §2.2, L17).
        if old.request_json != row.request_json || old.state != AuthorizationState::Unbinduser {
            return Err(ApiErr::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "请求参数符合参数格式，但不符合业务规则",
            )
            .why(format!(
                "authorization_code {code} was used before (with other parameters, or by a user); use a new code per user"
            )));
        }
        row = AuthorizationRow {
            token: row.token,
            token_expires_ms: row.token_expires_ms,
            ..old
        };
        s.store().update_authorization(&row, None)?;
    }
    Ok(Json(json!({ "apply_permissions_token": row.token })).into_response())
}

/// Lifecycle spec §2.8: a service the merchant has not opened, or an appid (sub-merchant,
/// sub_appid) not bound to it, is `403 NO_AUTH 商户信息不合法`, before any authorization is
/// looked at.
fn check_scope(
    s: &AppState,
    c: &Caller,
    scope: &Scope<'_>,
    appid: Option<&str>,
    sub_appid: Option<&str>,
) -> Result<(), ApiErr> {
    let refused = |why: String| Err(ApiErr::no_auth("商户信息不合法").why(why));
    let w = s.world();
    let Some(p) = w.providers.get(&c.mchid) else {
        return refused(format!(
            "mchid {} is not a provider of this sandbox",
            c.mchid
        ));
    };
    let opened = w
        .services
        .get(scope.service_id)
        .is_some_and(|svc| svc.providers.contains(&c.mchid));
    if !opened {
        return refused(format!(
            "service_id {} is not opened for mchid {}",
            scope.service_id, c.mchid
        ));
    }
    if let Some(a) = appid
        && !p.appids.contains(a)
    {
        return refused(format!("appid {a} is not bound to mchid {}", c.mchid));
    }
    if !scope.sub_mchid.is_empty() {
        let Some(apps) = p.subs.get(scope.sub_mchid) else {
            return refused(format!(
                "sub_mchid {} is not a sub-merchant of {}",
                scope.sub_mchid, c.mchid
            ));
        };
        if let Some(sa) = sub_appid
            && !apps.contains(sa)
        {
            return refused(format!(
                "sub_appid {sa} is not bound to sub_mchid {}",
                scope.sub_mchid
            ));
        }
    }
    Ok(())
}

/// The query answer (lifecycle spec §2.3), times in RFC 3339 without fraction; no
/// sub-merchant fields for a direct merchant.
fn answer(a: &AuthorizationRow) -> Value {
    let mut v = json!({
        "service_id": a.service_id,
        "appid": a.appid,
        "mchid": a.sp_mchid,
        "authorization_code": a.authorization_code,
        "authorization_state": a.state.as_str(),
    });
    let mut put = |k: &str, x: Option<String>| {
        if let Some(x) = x {
            v[k] = Value::String(x);
        }
    };
    put(
        "sub_mchid",
        (!a.sub_mchid.is_empty()).then(|| a.sub_mchid.clone()),
    );
    put("sub_appid", a.sub_appid.clone());
    put("openid", a.openid.clone());
    put("sub_openid", a.sub_openid.clone());
    put("notify_url", a.notify_url.clone());
    put(
        "authorization_success_time",
        a.success_ms.map(|t| rfc3339_beijing(t / 1000)),
    );
    put(
        "cancel_authorization_time",
        a.cancel_ms.map(|t| rfc3339_beijing(t / 1000)),
    );
    v
}

/// The authorization with `code` in `scope`, or 404 (lifecycle spec §2.8).
fn by_code_in(
    s: &AppState,
    c: &Caller,
    scope: &Scope<'_>,
    code: &str,
) -> Result<AuthorizationRow, ApiErr> {
    check_scope(s, c, scope, None, None)?;
    s.store()
        .authorization(&c.mchid, code)?
        .filter(|a| a.service_id == scope.service_id)
        .ok_or_else(|| {
            ApiErr::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在")
                .why(format!(
                    "no authorization_code {code} for this merchant and service_id"
                ))
                .internal(271_317_510)
        })
}

/// A user's newest authorization in `scope` under `appid` (`sub_appid`), or 403 with the
/// observed body (§2.8).
fn of_user(
    s: &AppState,
    c: &Caller,
    scope: &Scope<'_>,
    (appid, sub_appid): (&str, Option<&str>),
    (openid, sub_openid): (Option<&str>, Option<&str>),
) -> Result<AuthorizationRow, ApiErr> {
    check_scope(s, c, scope, Some(appid), sub_appid)?;
    s.store()
        .user_authorization(
            &c.mchid,
            scope.sub_mchid,
            scope.service_id,
            openid,
            sub_openid,
        )?
        // An openid is a user under one app: under another appid it is nobody.
        .filter(|a| a.appid == appid)
        .ok_or_else(|| {
            ApiErr::no_auth("请检查服务授权状态")
                .why("this user has no authorization of this service")
        })
}

async fn apply(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Decoded(req, json): Decoded<p::ApplyPermissionsRequest>,
) -> Answer {
    checked(req.validate_at(s.now()))?;
    let scope = Scope {
        service_id: req.service_id.as_str(),
        sub_mchid: req.sub_mchid.as_str(),
    };
    apply_for(
        &s,
        &c,
        &scope,
        req.appid.as_str(),
        req.sub_appid.as_ref().map(|a| a.as_str()),
        &req.authorization_code,
        req.notify_url.as_deref(),
        &json,
    )
}

async fn direct_apply(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Decoded(req, json): Decoded<d::ApplyPermissionsRequest>,
) -> Answer {
    checked(req.validate_at(s.now()))?;
    let scope = Scope {
        service_id: req.service_id.as_str(),
        sub_mchid: "",
    };
    apply_for(
        &s,
        &c,
        &scope,
        req.appid.as_str(),
        None,
        &req.authorization_code,
        req.notify_url.as_deref(),
        &json,
    )
}

async fn by_code(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<p::QueryPermissionsByCodeRequest>,
) -> Answer {
    let scope = Scope {
        service_id: req.service_id.as_str(),
        sub_mchid: req.sub_mchid.as_str(),
    };
    let a = by_code_in(&s, &c, &scope, &req.authorization_code)?;
    if a.sub_mchid != scope.sub_mchid {
        return Err(ApiErr::not_found());
    }
    Ok(Json(answer(&a)).into_response())
}

async fn direct_by_code(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<d::QueryPermissionsByCodeRequest>,
) -> Answer {
    let scope = Scope {
        service_id: req.service_id.as_str(),
        sub_mchid: "",
    };
    let a = by_code_in(&s, &c, &scope, &req.authorization_code)?;
    Ok(Json(answer(&a)).into_response())
}

/// The user a partner by-openid request names (query and terminate have the same fields):
/// [`of_user`] in the request's service and sub-merchant.
macro_rules! partner_user {
    ($s:expr, $c:expr, $req:expr) => {
        of_user(
            $s,
            $c,
            &Scope {
                service_id: $req.service_id.as_str(),
                sub_mchid: $req.sub_mchid.as_str(),
            },
            (
                $req.appid.as_str(),
                $req.sub_appid.as_ref().map(|a| a.as_str()),
            ),
            (
                $req.openid.as_ref().map(|o| o.as_str()),
                $req.sub_openid.as_ref().map(|o| o.as_str()),
            ),
        )
    };
}

async fn search(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<p::QueryPermissionsByOpenidRequest>,
) -> Answer {
    let a = partner_user!(&s, &c, req)?;
    Ok(Json(answer(&a)).into_response())
}

async fn direct_by_openid(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<d::QueryPermissionsByOpenidRequest>,
) -> Answer {
    let scope = Scope {
        service_id: req.service_id.as_str(),
        sub_mchid: "",
    };
    let a = of_user(
        &s,
        &c,
        &scope,
        (req.appid.as_str(), None),
        (Some(req.openid.as_str()), None),
    )?;
    Ok(Json(answer(&a)).into_response())
}

async fn terminate_by_code(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<p::TerminatePermissionsByCodeRequest>,
) -> Answer {
    let scope = Scope {
        service_id: req.service_id.as_str(),
        sub_mchid: req.sub_mchid.as_str(),
    };
    let a = by_code_in(&s, &c, &scope, &req.authorization_code)?;
    if a.sub_mchid != scope.sub_mchid {
        // Lifecycle spec §2.4, the known refusal.
        return Err(ApiErr::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "商户解除授权的授权码不是这个用户签约的授权",
        )
        .why("the authorization_code belongs to another sub_mchid"));
    }
    ended(&s, a)
}

async fn direct_terminate_by_code(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<d::TerminatePermissionsByCodeRequest>,
) -> Answer {
    let scope = Scope {
        service_id: req.service_id.as_str(),
        sub_mchid: "",
    };
    let a = by_code_in(&s, &c, &scope, &req.authorization_code)?;
    ended(&s, a)
}

async fn terminate(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<p::TerminatePermissionsRequest>,
) -> Answer {
    let a = partner_user!(&s, &c, req)?;
    ended(&s, a)
}

async fn direct_terminate_by_openid(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<d::TerminatePermissionsByOpenidRequest>,
) -> Answer {
    let scope = Scope {
        service_id: req.service_id.as_str(),
        sub_mchid: "",
    };
    let a = of_user(
        &s,
        &c,
        &scope,
        (req.appid.as_str(), None),
        (Some(req.openid.as_str()), None),
    )?;
    ended(&s, a)
}

/// A merchant's terminate: 204, and USER_CLOSE_SERVICE when the switch says so.
fn ended(s: &AppState, a: AuthorizationRow) -> Answer {
    end(s, a, s.world().behaviour.close_callback_on_terminate)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ends an `AVAILABLE` authorization, with `PAYSCORE.USER_CLOSE_SERVICE` when `notify`.
pub(crate) fn end(s: &AppState, mut a: AuthorizationRow, notify: bool) -> Result<(), ApiErr> {
    if a.state != AuthorizationState::Available {
        // Lifecycle spec §2.8: terminate on a code that is not AVAILABLE.
        return Err(
            ApiErr::state("INVALID_ORDER_STATE", "单据状态错误").why(format!(
                "the authorization is {}, not AVAILABLE",
                a.state.as_str()
            )),
        );
    }
    a.state = AuthorizationState::Unavailable;
    a.cancel_ms = Some(s.now_ms());
    let callback = notified(s, &a, notify, "PAYSCORE.USER_CLOSE_SERVICE", "解除授权成功")?;
    s.store().update_authorization(&a, callback.as_ref())?;
    if callback.is_some() {
        s.wake_worker_at(s.now_ms());
    }
    Ok(())
}

/// The USER_OPEN_SERVICE / USER_CLOSE_SERVICE callback for `a`, when it has a notify_url
/// (lifecycle spec §2.7: the partner plaintext).
pub(crate) fn notified(
    s: &AppState,
    a: &AuthorizationRow,
    notify: bool,
    event_type: &str,
    summary: &str,
) -> Result<Option<crate::store::Delivery>, ApiErr> {
    let Some(url) = a.notify_url.clone().filter(|u| notify && !u.is_empty()) else {
        return Ok(None);
    };
    let status = event_type.trim_start_matches("PAYSCORE.");
    let mut plaintext = json!({
        "appid": a.appid,
        "mchid": a.sp_mchid,
        "service_id": a.service_id,
        "user_service_status": status,
        "openorclose_time": crate::util::payscore_time(s.now()),
        "authorization_code": a.authorization_code,
    });
    // A direct merchant's callback has no sub-merchant fields at all (§2.3, §2.7).
    let sub_mchid = (!a.sub_mchid.is_empty()).then(|| a.sub_mchid.clone());
    for (k, v) in [
        ("sub_mchid", &sub_mchid),
        ("sub_appid", &a.sub_appid),
        ("openid", &a.openid),
        ("sub_openid", &a.sub_openid),
    ] {
        if let Some(v) = v {
            plaintext[k] = Value::String(v.clone());
        }
    }
    crate::callbacks::callback(
        s,
        &a.sp_mchid,
        &a.authorization_code,
        url,
        (event_type, summary),
        &plaintext,
    )
    .map(Some)
    .map_err(|e| {
        tracing::error!(error = %wechatpay_core::ErrorChain(&e), "cannot build the authorization callback");
        ApiErr::system("系统错误").why(e.to_string())
    })
}
