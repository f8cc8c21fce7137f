//! Test helpers: HTTP endpoints that act as the user and move the test clock, under
//! `/_sandbox/api/test-helpers/`, for test suites in any language. Loopback callers only.
//! They are the sandbox's own API (English errors as `{"error": …}`), not WeChat Pay's.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use wechatpay_core::apiv2;

use crate::AppState;
use crate::console::{Answer, Refused, bad, provider};
use crate::refunds;
use crate::store::{AuthorizationRow, AuthorizationState};
use crate::util::rfc3339_beijing;

/// The caller's address, set by the server for every request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) SocketAddr);

pub(crate) fn routes() -> Router<AppState> {
    let p = |path: &str| format!("/_sandbox/api/test-helpers/{path}");
    Router::new()
        .route(&p("authorize"), post(authorize))
        .route(&p("revoke-authorization"), post(revoke))
        .route(&p("confirm-order"), post(super::acting::confirm))
        .route(&p("user-pays"), post(super::acting::user_pays))
        .route(&p("deduction-outcome"), post(deduction_outcome))
        .route(&p("clock/advance"), post(advance))
        .route(&p("check-launch"), post(check_launch))
        .route(&p("refund-outcome"), post(refund_outcome))
        .route(&p("refund-error"), post(refund_error))
        .route(&p("fault"), post(fault))
        .route(&p("faults/clear"), post(clear_faults))
        .route(&p("resend-callback"), post(resend))
        .route_layer(axum::middleware::from_fn(same_origin))
}

/// Refuses a browser request sent from another site (the console's buttons post from its
/// own pages; its bill download is linked from them): `Sec-Fetch-Site` other than `same-origin`/`none`, or an `Origin` other than
/// this host. Clients that send neither (tests, scripts) pass.
pub(crate) async fn same_origin(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let h = req.headers();
    let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let host = h
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let origin = h
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let cross_site = site.is_some_and(|s| !matches!(s, "same-origin" | "none"));
    let other_origin = origin.is_some_and(|o| host.is_none_or(|h| o != format!("http://{h}")));
    if cross_site || other_origin {
        return Refused(
            StatusCode::FORBIDDEN,
            format!(
                "test helpers take requests from the sandbox's own pages only (Origin {}, Sec-Fetch-Site {})",
                origin.unwrap_or("-"),
                site.unwrap_or("-")
            ),
        )
        .into_response();
    }
    next.run(req).await
}

#[derive(Deserialize)]
struct ResendBody {
    event_id: String,
}

/// Sends a callback again now (an extra attempt, also after it was delivered).
async fn resend(State(s): State<AppState>, Json(b): Json<ResendBody>) -> Answer {
    let now = s.now_ms();
    if !s.store().resend_delivery(&b.event_id, now)? {
        return Err(bad(format!(
            "no callback {} waiting or finished (one being sent cannot be resent)",
            b.event_id
        )));
    }
    s.wake_worker_at(now);
    Ok(Json(
        json!({ "event_id": b.event_id, "due": rfc3339_beijing(now / 1000) }),
    ))
}

#[derive(Deserialize)]
struct UserBody {
    apply_permissions_token: Option<String>,
    service_id: Option<String>,
    sub_mchid: Option<String>,
    openid: Option<String>,
    sub_openid: Option<String>,
    /// The provider, when the sandbox has several (default: the only one).
    mchid: Option<String>,
}

/// The user authorizes: a pre-authorization by its token, or the service directly.
async fn authorize(State(s): State<AppState>, Json(b): Json<UserBody>) -> Answer {
    if b.openid.is_none() && b.sub_openid.is_none() {
        return Err(bad("give openid (or sub_openid): the user who authorizes"));
    }
    let now = s.now_ms();
    let mut a = match &b.apply_permissions_token {
        Some(t) => {
            let a = s
                .store()
                .authorization_by_token(t)?
                .ok_or_else(|| bad("no pre-authorization has this apply_permissions_token"))?;
            if a.token_expires_ms.is_some_and(|e| e < now) {
                return Err(bad(format!(
                    "the apply_permissions_token expired at {} (valid one hour)",
                    rfc3339_beijing(a.token_expires_ms.unwrap_or_default() / 1000)
                )));
            }
            a
        }
        None => {
            let (Some(service_id), Some(sub_mchid)) = (&b.service_id, &b.sub_mchid) else {
                return Err(bad(
                    "give apply_permissions_token, or service_id and sub_mchid",
                ));
            };
            let sp = provider(&s, b.mchid.as_deref())?;
            let appid = s.world().providers[&sp]
                .appids
                .iter()
                .next()
                .cloned()
                .unwrap_or_default();
            let a = AuthorizationRow {
                sp_mchid: sp,
                authorization_code: format!("SANDBOX{}", crate::util::random_hex(12)),
                sub_mchid: sub_mchid.clone(),
                service_id: service_id.clone(),
                appid,
                sub_appid: None,
                openid: None,
                sub_openid: None,
                state: AuthorizationState::Unbinduser,
                token: None,
                token_expires_ms: None,
                notify_url: None,
                request_json: String::new(),
                success_ms: None,
                cancel_ms: None,
                created_ms: now,
            };
            s.store().insert_authorization(&a)?;
            a
        }
    };
    if a.state != AuthorizationState::Unbinduser {
        return Err(bad(format!(
            "authorization {} is {}: a code authorizes once (apply with a new code)",
            a.authorization_code,
            a.state.as_str()
        )));
    }
    a.openid = b.openid;
    a.sub_openid = b.sub_openid;
    a.state = AuthorizationState::Available;
    a.success_ms = Some(now);
    a.token = None;
    let callback = crate::payscore::permissions::notified(
        &s,
        &a,
        true,
        "PAYSCORE.USER_OPEN_SERVICE",
        "授权成功",
    )?;
    s.store().update_authorization(&a, callback.as_ref())?;
    s.wake_worker_at(now);
    Ok(Json(
        json!({ "authorization": a, "callback": callback.map(|c| c.event_id) }),
    ))
}

/// The user closes the service in WeChat: USER_CLOSE_SERVICE.
async fn revoke(State(s): State<AppState>, Json(b): Json<UserBody>) -> Answer {
    let (Some(service_id), Some(sub_mchid)) = (&b.service_id, &b.sub_mchid) else {
        return Err(bad("give service_id, sub_mchid and openid (or sub_openid)"));
    };
    let sp = provider(&s, b.mchid.as_deref())?;
    let a = s
        .store()
        .user_authorization(
            &sp,
            sub_mchid,
            service_id,
            b.openid.as_deref(),
            b.sub_openid.as_deref(),
        )?
        .ok_or_else(|| bad("this user has no authorization of this service"))?;
    let code = a.authorization_code.clone();
    crate::payscore::permissions::end(&s, a, true)?;
    Ok(Json(
        json!({ "authorization_code": code, "authorization_state": "UNAVAILABLE" }),
    ))
}

#[derive(Deserialize)]
struct OutcomeBody {
    openid: String,
    outcome: String,
}

/// What the next deductions from a user do: `success` or `fail` (replaces the user's
/// `deduction` in `sandbox.toml`).
async fn deduction_outcome(State(s): State<AppState>, Json(b): Json<OutcomeBody>) -> Answer {
    if !matches!(b.outcome.as_str(), "success" | "fail") {
        return Err(bad("outcome is success or fail"));
    }
    s.store()
        .set_setting(&format!("deduction:{}", b.openid), &b.outcome)?;
    Ok(Json(json!({ "openid": b.openid, "outcome": b.outcome })))
}

/// Makes the next `times` API requests matching `method` and `path` (`*` for any run of
/// characters) fail: `error` (WeChat's answer, 500 SYSTEM_ERROR by default), `delay`
/// (`ms` before handling), `drop-after` (carried out, then closed without the answer) or
/// `close-before` (closed without an answer, not carried out).
async fn fault(State(s): State<AppState>, Json(mut f): Json<crate::edge::faults::Fault>) -> Answer {
    // The console's "any" is an empty method.
    f.method = f.method.filter(|m| !m.is_empty());
    if f.path.is_empty() || f.times == 0 {
        return Err(bad(
            "give a path (with * for any characters) and times of 1 or more",
        ));
    }
    if let crate::edge::faults::FaultKind::Error { status, .. } = &f.kind
        && !(400..600).contains(status)
    {
        return Err(bad("an error fault's status is 400 to 599"));
    }
    s.faults().add(f.clone());
    Ok(Json(json!({ "added": f, "waiting": s.faults().list() })))
}

/// Removes every fault rule.
async fn clear_faults(State(s): State<AppState>) -> Answer {
    Ok(Json(json!({ "removed": s.faults().clear() })))
}

#[derive(Deserialize)]
struct RefundOutcomeBody {
    out_refund_no: String,
    outcome: String,
    sp_mchid: Option<String>,
}

/// Makes a PROCESSING refund settle now, to `SUCCESS`, `CLOSED` or `ABNORMAL`.
async fn refund_outcome(State(s): State<AppState>, Json(b): Json<RefundOutcomeBody>) -> Answer {
    if !refunds::OUTCOMES.contains(&b.outcome.as_str()) {
        return Err(bad(format!("outcome is {}", refunds::OUTCOMES.join(", "))));
    }
    let sp = b.sp_mchid.unwrap_or_else(|| first_provider(&s));
    if !refunds::settle_now(&s, &sp, &b.out_refund_no, &b.outcome)? {
        return Err(bad("no PROCESSING refund with this out_refund_no"));
    }
    Ok(Json(
        json!({ "out_refund_no": b.out_refund_no, "outcome": b.outcome }),
    ))
}

#[derive(Deserialize)]
struct RefundErrorBody {
    code: String,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

/// Forces the next refund applications to fail with `NOT_ENOUGH`,
/// `USER_ACCOUNT_ABNORMAL`, `FREQUENCY_LIMITED` or `SYSTEM_ERROR`.
async fn refund_error(State(s): State<AppState>, Json(b): Json<RefundErrorBody>) -> Answer {
    if !refunds::FORCIBLE_ERRORS.contains(&b.code.as_str()) {
        return Err(bad(format!(
            "code is {}",
            refunds::FORCIBLE_ERRORS.join(", ")
        )));
    }
    refunds::force_error(&s, &b.code, b.times)?;
    Ok(Json(json!({ "code": b.code, "times": b.times })))
}

/// The first service provider of `sandbox.toml`.
fn first_provider(s: &AppState) -> String {
    s.world()
        .providers
        .keys()
        .min()
        .cloned()
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct AdvanceBody {
    seconds: i64,
}

/// Moves business time forward: expiries, deductions and callback retries fall due as
/// if that much time had passed. Signatures keep the real clock.
async fn advance(State(s): State<AppState>, Json(b): Json<AdvanceBody>) -> Answer {
    if b.seconds < 0 {
        return Err(bad("the test clock only moves forward"));
    }
    let now = s.advance_clock(b.seconds)?;
    Ok(Json(json!({
        "now": rfc3339_beijing(now),
        "offset_seconds": now - s.real_now(),
    })))
}

/// Checks a front-end launch's `sign` as the Pay Score page would, and says what is wrong:
/// the page itself only says “商户签名校验失败”.
async fn check_launch(State(s): State<AppState>, Json(b): Json<Value>) -> Answer {
    let Some(obj) = b.as_object() else {
        return Err(bad(
            "give a JSON object: business_type and the launch parameters",
        ));
    };
    let business_type = obj
        .get("business_type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut params: Vec<(String, String)> = match obj.get("query_string").and_then(Value::as_str) {
        Some(q) => q
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), percent_decode(v)))
            .collect(),
        None => obj
            .iter()
            .filter(|(k, _)| *k != "business_type")
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
    };
    params.sort();
    let required: &[&str] = match business_type {
        "wxpayScoreDetail" => &[
            "mch_id",
            "service_id",
            "out_order_no",
            "timestamp",
            "nonce_str",
            "sign_type",
            "sign",
        ],
        "wxpayScoreUse" if params.iter().any(|(k, _)| k == "sign") => &[
            "mch_id",
            "package",
            "timestamp",
            "nonce_str",
            "sign_type",
            "sign",
        ],
        "wxpayScoreUse" => &["package"],
        "wxpayScoreEnable" => &["apply_permissions_token"],
        other => {
            return Err(bad(format!(
                "unknown business_type {other:?}: wxpayScoreEnable, wxpayScoreUse or wxpayScoreDetail"
            )));
        }
    };
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut problems: Vec<String> = required
        .iter()
        .filter(|k| get(k).is_none_or(str::is_empty))
        .map(|k| format!("{k} is missing"))
        .collect();
    problems.extend(
        params
            .iter()
            .filter(|(k, _)| !required.contains(&k.as_str()))
            .map(|(k, _)| format!("{k} is not a parameter of {business_type}")),
    );
    let mut string_to_sign = None;
    if required.contains(&"sign") {
        if get("sign_type").is_some_and(|t| t != "HMAC-SHA256") {
            problems.push(
                "sign_type must be HMAC-SHA256 (the only one the Pay Score pages accept)".into(),
            );
        }
        let mch_id = get("mch_id").unwrap_or_default();
        match s.world().providers.get(mch_id).map(|p| p.apiv2_key.as_ref()) {
            None => problems.push(format!("mch_id {mch_id:?} is not a provider of this sandbox (partner mode: the service provider's number)")),
            Some(None) => problems.push(format!("provider {mch_id} has no apiv2_key in sandbox.toml")),
            Some(Some(key)) => {
                let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                string_to_sign = Some(format!("{}&key=<the APIv2 key of {mch_id}>", apiv2::string_a(&pairs)));
                if !apiv2::verify(&pairs, key) {
                    problems.push("sign does not match: sign the string_to_sign below with HMAC-SHA256 and the service provider's APIv2 key (not the APIv3 key, not the API private key), upper-case hex".into());
                }
            }
        }
    }
    let valid = problems.is_empty();
    Ok(Json(json!({
        "valid": valid,
        "page_message": (!valid).then_some("商户签名校验失败"),
        "problems": problems,
        "string_to_sign": string_to_sign,
    })))
}

/// Decodes `%XX` and `+` of a query-string value.
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (hex, b[i]) {
            (Some(x), _) => {
                out.push(x);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, c) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
