//! The Pay Score service-order family: routes and handlers. The rules are in `rules`, the
//! state machine in `state`.

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::MethodRouter;
use axum::{Json, Router};
use wechatpay_models::Endpoint;
use wechatpay_models::v3::payscore::partner::serviceorder as partner;
use wechatpay_models::v3::payscore::{
    OrderState, PaidType, ServiceOrder, StateDescription, serviceorder as direct,
};

use crate::AppState;
use crate::edge::auth::Caller;
use crate::edge::error::{Answer, ApiErr, checked};
use crate::edge::wx::{Decoded, Wx};

pub(crate) mod permissions;
pub(crate) mod rules;
pub(crate) mod state;

pub(crate) use rules::{Family, check_permissions};
use rules::{check_risk_cap, first_violation};
use state::{
    complete_order, deduction_due, insert_or_reenter, is_paying, load, load_open, mark_paid,
    new_row, order_from, revoke, same_appid, save,
};

/// A need-confirm order's `package` is valid one hour (lifecycle spec §3.2).
pub(crate) const PACKAGE_VALID_MS: i64 = 3_600_000;

handles! {
    partner::DirectCompleteRequest => partner_direct_complete;
    direct::DirectCompleteRequest => direct_direct_complete;
    partner::CreateRequest => create;
    partner::QueryRequest => query;
    partner::CancelRequest => cancel;
    partner::CompleteRequest => complete;
    partner::ModifyRequest => modify;
    partner::PayRequest => pay;
    partner::SyncRequest => sync;
    direct::CreateRequest => direct_create;
    direct::QueryRequest => direct_query;
    direct::CancelRequest => direct_cancel;
    direct::CompleteRequest => direct_complete;
    direct::ModifyRequest => direct_modify;
    direct::PayRequest => direct_pay;
    direct::SyncRequest => direct_sync;
}

/// direct-complete at the paths without `/v3`, as older documentation and some SDKs spell
/// them (spec §1); `authenticated` wraps a handler in the authentication layer.
pub(crate) fn legacy_routes(
    authenticated: impl Fn(MethodRouter<AppState>) -> MethodRouter<AppState>,
) -> Router<AppState> {
    use axum::routing::post;
    Router::new()
        .route(
            partner::DirectCompleteRequest::PATH.trim_start_matches("/v3"),
            authenticated(post(partner_direct_complete)),
        )
        .route(
            direct::DirectCompleteRequest::PATH.trim_start_matches("/v3"),
            authenticated(post(direct_direct_complete)),
        )
}

fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn partner_direct_complete(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Decoded(req, json): Decoded<partner::DirectCompleteRequest>,
) -> Answer {
    first_violation(
        &s,
        req.validate_at(s.now()),
        req.post_discounts.as_ref().map_or(0, Vec::len),
    )?;
    check_permissions(
        &s,
        &c.mchid,
        req.service_id.as_str(),
        req.appid.as_str(),
        Some(req.sub_mchid.as_str()),
        req.sub_appid.as_ref().map(|a| a.as_str()),
        Some(req.openid.as_str()),
        Family::DirectComplete,
    )?;
    check_risk_cap(&s, req.service_id.as_str(), req.total_amount)?;
    let mut o = order_from(&req, &c.mchid);
    let deduct = complete_order(&mut o, req.total_amount);
    let row = new_row(
        &s,
        &c.mchid,
        req.sub_mchid.as_str(),
        o,
        json.to_string(),
        deduct,
    );
    let order = insert_or_reenter(&s, &row)?;
    if s.world().behaviour.partner_direct_complete_status == 200 {
        return Ok(Json(order).into_response());
    }
    no_content()
}

pub(crate) async fn direct_direct_complete(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Decoded(req, json): Decoded<direct::DirectCompleteRequest>,
) -> Answer {
    first_violation(
        &s,
        req.validate_at(s.now()),
        req.post_discounts.as_ref().map_or(0, Vec::len),
    )?;
    check_permissions(
        &s,
        &c.mchid,
        req.service_id.as_str(),
        req.appid.as_str(),
        None,
        None,
        Some(req.openid.as_str()),
        Family::DirectComplete,
    )?;
    check_risk_cap(&s, req.service_id.as_str(), req.total_amount)?;
    let mut o = order_from(&req, &c.mchid);
    let deduct = complete_order(&mut o, req.total_amount);
    let row = new_row(&s, &c.mchid, "", o, json.to_string(), deduct);
    Ok(Json(insert_or_reenter(&s, &row)?).into_response())
}

pub(crate) async fn create(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Decoded(req, json): Decoded<partner::CreateRequest>,
) -> Answer {
    checked(req.validate_at(s.now()))?;
    let sub = req.sub_mchid.clone();
    Ok(Json(create_order(
        &s,
        &c,
        req,
        Some(sub.as_str()),
        json.to_string(),
    )?)
    .into_response())
}

async fn direct_create(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Decoded(req, json): Decoded<direct::CreateRequest>,
) -> Answer {
    checked(req.validate_at(s.now()))?;
    Ok(Json(create_order(&s, &c, req.into(), None, json.to_string())?).into_response())
}

/// Creates an order of sub-merchant `sub` (`None` for a direct merchant) from `req`,
/// whose body was `json`.
fn create_order(
    s: &AppState,
    c: &Caller,
    req: partner::CreateRequest,
    sub: Option<&str>,
    json: String,
) -> Result<ServiceOrder, ApiErr> {
    let confirm = req.need_user_confirm.unwrap_or(true);
    let openid = if confirm {
        None
    } else {
        Some(req.openid.as_ref().map(|o| o.as_str()).unwrap_or_default())
    };
    check_permissions(
        s,
        &c.mchid,
        req.service_id.as_str(),
        req.appid.as_str(),
        sub,
        req.sub_appid.as_ref().map(|a| a.as_str()),
        openid,
        if confirm {
            Family::Confirm
        } else {
            Family::NoConfirm
        },
    )?;
    check_risk_cap(s, req.service_id.as_str(), req.risk_fund.amount)?;
    let mut o = order_from(&req, &c.mchid);
    if sub.is_none() {
        o.sub_mchid = None;
    }
    o.state = Some(if confirm {
        OrderState::Created
    } else {
        OrderState::Doing
    });
    o.state_description = (!confirm).then_some(StateDescription::UserConfirm);
    let row = new_row(s, &c.mchid, sub.unwrap_or_default(), o, json, false);
    let mut order = insert_or_reenter(s, &row)?;
    if order.state == Some(OrderState::Created) {
        // Lifecycle spec §3.2: a package valid one hour; a re-entry gets a fresh one for
        // the same order.
        let package = crate::util::token();
        s.store()
            .put_package(&package, &row, s.now_ms() + PACKAGE_VALID_MS)?;
        order.package = Some(package);
    }
    Ok(order)
}

pub(crate) async fn query(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<partner::QueryRequest>,
) -> Answer {
    Ok(Json(find_order(&s, &c, req, None)?).into_response())
}

async fn direct_query(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<direct::QueryRequest>,
) -> Answer {
    let appid = req.appid.clone();
    Ok(Json(find_order(&s, &c, req.into(), Some(appid.as_str()))?).into_response())
}

/// The order `req` asks for (`sub_mchid` empty for a direct merchant, who names its
/// `appid`).
fn find_order(
    s: &AppState,
    c: &Caller,
    req: partner::QueryRequest,
    appid: Option<&str>,
) -> Result<ServiceOrder, ApiErr> {
    let sub = req.sub_mchid.as_str();
    // Spec §6.1: exactly one of out_order_no and query_id (validated above).
    let row = match (&req.out_order_no, &req.query_id) {
        (Some(no), _) => s.store().get_order(&c.mchid, sub, no.as_str())?,
        (None, Some(id)) => s.store().get_order_by_query_id(&c.mchid, sub, id)?,
        (None, None) => None,
    };
    let row = state::expire_if_stale(s, row.ok_or_else(ApiErr::not_found)?)?;
    if let Some(svc) = &req.service_id
        && row.order.service_id.as_ref().is_some_and(|x| x != svc)
    {
        return Err(ApiErr::not_found());
    }
    same_appid(&row, appid)?;
    Ok(row.order)
}

pub(crate) async fn cancel(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<partner::CancelRequest>,
) -> Answer {
    apply_cancel(&s, &c, req, None)?;
    no_content()
}

async fn direct_cancel(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<direct::CancelRequest>,
) -> Answer {
    let appid = req.appid.clone();
    Ok(Json(apply_cancel(&s, &c, req.into(), Some(appid.as_str()))?).into_response())
}

/// Applies cancel to order `req.out_order_no` of sub-merchant `req.sub_mchid` (empty for a direct
/// merchant, who names its `appid`).
fn apply_cancel(
    s: &AppState,
    c: &Caller,
    req: partner::CancelRequest,
    appid: Option<&str>,
) -> Result<ServiceOrder, ApiErr> {
    let mut row = load_open(
        s,
        c,
        req.sub_mchid.as_str(),
        req.out_order_no.as_str(),
        req.service_id.as_ref().map(|x| x.as_str()),
    )?;
    same_appid(&row, appid)?;
    if is_paying(&row.order) && !s.world().behaviour.cancel_while_paying {
        // S12 and a field report (spec §8 G7): refused while collecting.
        return Err(ApiErr::param("当前订单状态不满足撤销条件")
            .why("cancel is refused while the deduction is pending (behaviour.cancel_while_paying = false)")
            .internal(271_316_592));
    }
    revoke(&mut row.order);
    row.deduction_due_ms = None;
    save(s, row)
}

pub(crate) async fn complete(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<partner::CompleteRequest>,
) -> Answer {
    apply_complete(&s, &c, req, None)?;
    no_content()
}

async fn direct_complete(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<direct::CompleteRequest>,
) -> Answer {
    let appid = req.appid.clone();
    Ok(Json(apply_complete(&s, &c, req.into(), Some(appid.as_str()))?).into_response())
}

/// Applies complete to order `req.out_order_no` of sub-merchant `req.sub_mchid` (empty for a direct
/// merchant, who names its `appid`).
fn apply_complete(
    s: &AppState,
    c: &Caller,
    req: partner::CompleteRequest,
    appid: Option<&str>,
) -> Result<ServiceOrder, ApiErr> {
    let mut row = load(
        s,
        c,
        req.sub_mchid.as_str(),
        req.out_order_no.as_str(),
        Some(req.service_id.as_str()),
    )?;
    same_appid(&row, appid)?;
    // Spec §6.3 (complete needs DOING with USER_CONFIRM or MCH_COMPLETE) and §8 G6
    // (REVOKED or CREATED: INVALID_REQUEST 当前订单状态不合法).
    let illegal = |internal: u32, why: &str| {
        ApiErr::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "当前订单状态不合法",
        )
        .why(format!("complete needs state DOING; {why}"))
        .internal(internal)
    };
    match (&row.order.state, &row.order.state_description) {
        (
            Some(OrderState::Doing),
            Some(StateDescription::UserConfirm | StateDescription::MchComplete),
        ) => {}
        (Some(OrderState::Revoked), _) => {
            return Err(illegal(271_302_333, "the order was cancelled"));
        }
        (Some(OrderState::Created), _) => {
            return Err(illegal(271_302_332, "the user has not confirmed the order"));
        }
        (Some(OrderState::Done), _) => {
            return Err(ApiErr::state("ORDER_DONE", "订单已完成").why("the order is done"));
        }
        _ => return Err(illegal(271_302_262, "the order is in another state")),
    }
    check_risk_cap(s, req.service_id.as_str(), req.total_amount)?;
    row.order.post_payments = req.post_payments.clone();
    row.order.post_discounts = req.post_discounts.clone().unwrap_or_default();
    if let Some(t) = &req.time_range {
        row.order.time_range = Some(t.clone());
    }
    if req.location.is_some() {
        row.order.location = req.location.clone();
    }
    row.deduction_due_ms =
        complete_order(&mut row.order, req.total_amount).then(|| deduction_due(s));
    save(s, row)
}

pub(crate) async fn modify(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Decoded(req, _): Decoded<partner::ModifyRequest>,
) -> Answer {
    if req.service_id.is_none() {
        // A field report (spec §8 G2, WxJava #3664): production refuses modify without it.
        return Err(ApiErr::no_auth("商户暂无权限使用此服务").why(
            "modify without service_id is refused by WeChat Pay (spec §8 G2): send service_id",
        ));
    }
    checked(req.validate_at(s.now()))?;
    apply_modify(&s, &c, req, None)?;
    no_content()
}

async fn direct_modify(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<direct::ModifyRequest>,
) -> Answer {
    let appid = req.appid.clone();
    Ok(Json(apply_modify(&s, &c, req.into(), Some(appid.as_str()))?).into_response())
}

/// Applies modify to order `req.out_order_no` of sub-merchant `req.sub_mchid` (empty for a direct
/// merchant, who names its `appid`).
fn apply_modify(
    s: &AppState,
    c: &Caller,
    req: partner::ModifyRequest,
    appid: Option<&str>,
) -> Result<ServiceOrder, ApiErr> {
    let mut row = load_open(
        s,
        c,
        req.sub_mchid.as_str(),
        req.out_order_no.as_str(),
        req.service_id.as_ref().map(|x| x.as_str()),
    )?;
    same_appid(&row, appid)?;
    if row.order.state == Some(OrderState::Created) {
        // Lifecycle spec §3.9: still waiting for the user (internal id 271302332).
        return Err(ApiErr::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "当前订单状态不合法",
        )
        .why("modify needs the order collecting; the user has not confirmed it yet")
        .internal(271_302_332));
    }
    if !is_paying(&row.order) {
        return Err(ApiErr::state("INVALID_ORDER_STATE", "单据状态错误")
            .why("modify is only allowed while collecting (DOING / MCH_COMPLETE / USER_PAYING)")
            .internal(271_316_657));
    }
    if row.modified {
        return Err(ApiErr::state("INVALID_ORDER_STATE", "单据状态错误")
            .why("the amount can be modified once"));
    }
    let old = row.order.total_amount.unwrap_or_default();
    if req.total_amount >= old {
        return Err(ApiErr::param_field(
            "/total_amount",
            Some(req.total_amount.0.into()),
            &format!("may only be lowered (now {})", old.0),
            "body",
        ));
    }
    row.order.post_payments = req.post_payments.clone();
    row.order.post_discounts = req.post_discounts.clone().unwrap_or_default();
    row.modified = true;
    // A lower positive total keeps the pending deduction; a total of 0 ends the order.
    if !complete_order(&mut row.order, req.total_amount) {
        row.deduction_due_ms = None;
    }
    save(s, row)
}

pub(crate) async fn pay(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<partner::PayRequest>,
) -> Answer {
    apply_pay(&s, &c, req, None)?;
    no_content()
}

async fn direct_pay(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<direct::PayRequest>,
) -> Answer {
    let appid = req.appid.clone();
    Ok(Json(apply_pay(&s, &c, req.into(), Some(appid.as_str()))?).into_response())
}

/// Applies pay to order `req.out_order_no` of sub-merchant `req.sub_mchid` (empty for a direct
/// merchant, who names its `appid`).
fn apply_pay(
    s: &AppState,
    c: &Caller,
    req: partner::PayRequest,
    appid: Option<&str>,
) -> Result<ServiceOrder, ApiErr> {
    let mut row = load_open(
        s,
        c,
        req.sub_mchid.as_str(),
        req.out_order_no.as_str(),
        req.service_id.as_ref().map(|x| x.as_str()),
    )?;
    same_appid(&row, appid)?;
    if !is_paying(&row.order) {
        return Err(ApiErr::state("INVALID_ORDER_STATE", "单据状态错误")
            .why("pay is only allowed while collecting (DOING / MCH_COMPLETE / USER_PAYING)")
            .internal(271_316_657));
    }
    row.deduction_due_ms = Some(s.now_ms());
    row.deduction_error = None;
    save(s, row)
}

pub(crate) async fn sync(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<partner::SyncRequest>,
) -> Answer {
    apply_sync(&s, &c, req, None)?;
    no_content()
}

async fn direct_sync(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<direct::SyncRequest>,
) -> Answer {
    let appid = req.appid.clone();
    Ok(Json(apply_sync(&s, &c, req.into(), Some(appid.as_str()))?).into_response())
}

/// Applies sync to order `req.out_order_no` of sub-merchant `req.sub_mchid` (empty for a direct
/// merchant, who names its `appid`).
fn apply_sync(
    s: &AppState,
    c: &Caller,
    req: partner::SyncRequest,
    appid: Option<&str>,
) -> Result<ServiceOrder, ApiErr> {
    let mut row = load_open(
        s,
        c,
        req.sub_mchid.as_str(),
        req.out_order_no.as_str(),
        Some(req.service_id.as_str()),
    )?;
    same_appid(&row, appid)?;
    if !is_paying(&row.order) {
        return Err(ApiErr::state("INVALID_ORDER_STATE", "单据状态错误")
            .why("sync is only allowed while collecting (DOING / MCH_COMPLETE / USER_PAYING)")
            .internal(271_316_657));
    }
    mark_paid(
        &mut row.order,
        PaidType::Mch,
        req.detail.paid_time.clone(),
        None,
    );
    row.deduction_due_ms = None;
    save(s, row)
}
