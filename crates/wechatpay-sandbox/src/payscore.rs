//! The Pay Score partner service-order family, with the documented rules, permissions,
//! state machine and errors.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use wechatpay_models::v3::payscore::partner::serviceorder as partner;
use wechatpay_models::v3::payscore::{
    Collection, CollectionDetail, CollectionState, OrderState, PaidType, ServiceOrder,
    StateDescription, serviceorder as direct,
};
use wechatpay_models::{Fen, Rule, ValidationErrors, validate::parse_payscore_time};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiErr, parse_json};
use crate::store::{Insert, OrderRow};
use crate::util::{payscore_time, random_digits};

type Answer = Result<Response, ApiErr>;

/// Forces the key an answer is signed with (certificate downloads are signed with the
/// certificate they carry).
#[derive(Debug, Clone)]
pub(crate) struct SignWith(pub(crate) String);

fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The first violation as WeChat reports it, after applying the configured discount cap.
fn first_violation(
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

/// R9–R11: bindings of appid, sub-merchant and sub_appid, service permission, user
/// authorisation.
#[allow(clippy::too_many_arguments)]
fn check_permissions(
    s: &AppState,
    mchid: &str,
    service_id: &str,
    appid: &str,
    sub_mchid: Option<&str>,
    sub_appid: Option<&str>,
    openid: Option<&str>,
    direct_complete: bool,
) -> Result<(), ApiErr> {
    let w = s.world();
    let p = w
        .providers
        .get(mchid)
        .ok_or_else(|| ApiErr::no_auth("商户暂无权限使用此服务"))?;
    if !p.appids.contains(appid) {
        return Err(ApiErr::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            format!("appid和mch_id不匹配 (appid {appid} is not bound to mchid {mchid})"),
        )
        .internal(271_302_149));
    }
    if let Some(sub) = sub_mchid {
        let apps = p.subs.get(sub).ok_or_else(|| ApiErr::no_auth(format!("请检查sub_mchid是否授权mchid微信支付分产品权限 (sub_mchid {sub} is not bound to {mchid})")))?;
        if let Some(sa) = sub_appid
            && !apps.contains(sa)
        {
            return Err(ApiErr::no_auth(format!(
                "商户暂无权限使用此服务 (sub_appid {sa} is not bound to sub_mchid {sub})"
            )));
        }
    }
    let svc = w.services.get(service_id).ok_or_else(|| {
        ApiErr::no_auth(format!(
            "商户暂无权限使用此服务 (service_id {service_id} does not exist)"
        ))
    })?;
    if !svc.providers.iter().any(|m| m == mchid) {
        return Err(ApiErr::no_auth(format!(
            "商户暂无权限使用此服务 (mchid {mchid} may not use service_id {service_id})"
        )));
    }
    if direct_complete && (!svc.direct_complete || svc.need_confirm) {
        return Err(ApiErr::no_auth(format!(
            "商户暂无权限使用此服务 (direct-complete is not opened for service_id {service_id})"
        )));
    }
    if let Some(o) = openid
        && !w.users.contains_key(&(service_id.to_owned(), o.to_owned()))
    {
        return Err(ApiErr::no_auth(format!(
            "用户未授权该服务 (openid {o} has not authorised service_id {service_id})"
        ))
        .internal(271_316_592));
    }
    Ok(())
}

fn check_risk_cap(s: &AppState, service_id: &str, total: Fen) -> Result<(), ApiErr> {
    let cap = s
        .world()
        .services
        .get(service_id)
        .map_or(i64::MAX, |x| x.risk_cap);
    if total.0 > cap {
        return Err(ApiErr::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", format!("总金额超过此服务的服务风险金额 (total_amount {} exceeds the service risk cap {cap})", total.0))
            .internal(271_316_656)
            .detail(serde_json::json!({"field": "/total_amount", "value": total.0, "issue": format!("[R3] must be <= {cap}"), "location": "body"})));
    }
    Ok(())
}

fn canonical(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// Sets the completion state: collecting when the total is positive, done when it is 0.
/// Returns whether a deduction must follow.
fn complete_order(o: &mut ServiceOrder, total: Fen) -> bool {
    o.total_amount = Some(total);
    if total.0 > 0 {
        o.state = Some(OrderState::Doing);
        o.state_description = Some(StateDescription::MchComplete);
        o.need_collection = Some(true);
        o.collection = Some(Collection {
            state: Some(CollectionState::UserPaying),
            total_amount: Some(total),
            paying_amount: Some(total),
            paid_amount: Some(Fen::ZERO),
            details: Vec::new(),
            promotion_detail: Vec::new(),
        });
        true
    } else {
        o.state = Some(OrderState::Done);
        o.state_description = None;
        o.need_collection = Some(false);
        o.collection = None;
        false
    }
}

/// When a deduction for an order completed now falls due (unix ms).
fn deduction_due(s: &AppState) -> i64 {
    let delay = i64::try_from(s.world().behaviour.deduction_delay_ms).unwrap_or(i64::MAX);
    s.now_ms().saturating_add(delay)
}

fn new_row(
    s: &AppState,
    sp: &str,
    sub: &str,
    order: ServiceOrder,
    request_json: String,
    deduct: bool,
) -> OrderRow {
    let now = s.now_ms();
    OrderRow {
        sp_mchid: sp.to_owned(),
        sub_mchid: sub.to_owned(),
        out_order_no: order.out_order_no.as_str().to_owned(),
        order,
        request_json,
        deduction_due_ms: deduct.then(|| deduction_due(s)),
        deduction_error: None,
        modified: false,
        version: 0,
        created_ms: now,
        updated_ms: now,
    }
}

/// Stores a new order, or applies R12 re-entry rules to an existing one.
fn insert_or_reenter(s: &AppState, row: &OrderRow) -> Result<ServiceOrder, ApiErr> {
    match s.store().insert_order(row)? {
        Insert::Created => {
            if let Some(due) = row.deduction_due_ms {
                s.wake_worker_at(due);
            }
            Ok(row.order.clone())
        }
        Insert::Exists(old) if old.request_json == row.request_json => Ok(old.order),
        Insert::Exists(_) => Err(ApiErr::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "订单重入参数校验失败 (out_order_no was used with different parameters)",
        )
        .internal(271_316_598)),
    }
}

/// The order a create or direct-complete request makes: the request's own fields (they
/// share the order's names; fields outside the request type cannot slip in), plus WeChat's.
fn order_from<R: serde::Serialize>(req: &R, mchid: &str) -> ServiceOrder {
    let mut o: ServiceOrder = serde_json::to_value(req)
        .and_then(serde_json::from_value)
        .unwrap_or_default();
    o.mchid = Some(mchid.into());
    o.order_id = Some(order_id());
    o
}

fn order_id() -> wechatpay_models::OrderId {
    format!("1000{}", random_digits(28)).into()
}

pub(crate) async fn partner_direct_complete(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Answer {
    let req: partner::DirectCompleteRequest = parse_json(&body)?;
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
        true,
    )?;
    check_risk_cap(&s, req.service_id.as_str(), req.total_amount)?;
    let mut o = order_from(&req, &c.mchid);
    let deduct = complete_order(&mut o, req.total_amount);
    let row = new_row(
        &s,
        &c.mchid,
        req.sub_mchid.as_str(),
        o,
        canonical(&body),
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
    body: Bytes,
) -> Answer {
    let req: direct::DirectCompleteRequest = parse_json(&body)?;
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
        true,
    )?;
    check_risk_cap(&s, req.service_id.as_str(), req.total_amount)?;
    let mut o = order_from(&req, &c.mchid);
    let deduct = complete_order(&mut o, req.total_amount);
    let row = new_row(&s, &c.mchid, "", o, canonical(&body), deduct);
    Ok(Json(insert_or_reenter(&s, &row)?).into_response())
}

pub(crate) async fn create(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Answer {
    let req: partner::CreateRequest = parse_json(&body)?;
    let mut chk = Vec::new();
    if req.out_order_no.as_str().is_empty()
        || req.out_order_no.as_str().len() > 32
        || !req
            .out_order_no
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
    {
        chk.push(("/out_order_no", "[charset] 1-32 of 0-9 A-Z a-z _ - | *"));
    }
    if req.service_introduction.is_empty() || req.service_introduction.chars().count() > 20 {
        chk.push(("/service_introduction", "[R6] 1-20 characters"));
    }
    if !["DEPOSIT", "ADVANCE", "CASH_DEPOSIT", "ESTIMATE_ORDER_COST"]
        .contains(&req.risk_fund.name.as_str())
    {
        chk.push((
            "/risk_fund/name",
            "must be DEPOSIT, ADVANCE, CASH_DEPOSIT or ESTIMATE_ORDER_COST",
        ));
    }
    if req.time_range.start_time != "OnAccept"
        && parse_payscore_time(&req.time_range.start_time).is_none()
    {
        chk.push((
            "/time_range/start_time",
            "[R7] must be yyyyMMddHHmmss, yyyyMMdd or OnAccept",
        ));
    }
    if let Some((f, issue)) = chk.first() {
        return Err(ApiErr::param_field(f, None, issue, "body"));
    }
    let confirm = req.need_user_confirm.unwrap_or(true);
    let openid = if confirm {
        None
    } else {
        Some(req.openid.as_ref().map(|o| o.as_str()).unwrap_or_default())
    };
    check_permissions(
        &s,
        &c.mchid,
        req.service_id.as_str(),
        req.appid.as_str(),
        Some(req.sub_mchid.as_str()),
        req.sub_appid.as_ref().map(|a| a.as_str()),
        openid,
        false,
    )?;
    check_risk_cap(&s, req.service_id.as_str(), req.risk_fund.amount)?;
    let mut o = order_from(&req, &c.mchid);
    o.state = Some(if confirm {
        OrderState::Created
    } else {
        OrderState::Doing
    });
    o.state_description = (!confirm).then_some(StateDescription::UserConfirm);
    o.package = confirm.then(|| crate::util::random_hex(24));
    let row = new_row(
        &s,
        &c.mchid,
        req.sub_mchid.as_str(),
        o,
        canonical(&body),
        false,
    );
    Ok(Json(insert_or_reenter(&s, &row)?).into_response())
}

pub(crate) async fn query(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let missing = |f: &str| ApiErr::param_field(f, None, "is required", "query");
    let sub = q
        .get("sub_mchid")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("sub_mchid"))?;
    let row = match (q.get("out_order_no"), q.get("query_id")) {
        (Some(no), None) => s.store().get_order(&c.mchid, sub, no)?,
        (None, Some(_)) => {
            return Err(ApiErr::param_field(
                "query_id",
                None,
                "the sandbox keeps no query_id; query by out_order_no",
                "query",
            ));
        }
        _ => {
            return Err(ApiErr::param_field(
                "out_order_no",
                None,
                "give exactly one of out_order_no and query_id",
                "query",
            ));
        }
    };
    let row = row.ok_or_else(ApiErr::not_found)?;
    if let Some(svc) = q.get("service_id")
        && row
            .order
            .service_id
            .as_ref()
            .is_some_and(|x| x.as_str() != svc)
    {
        return Err(ApiErr::not_found());
    }
    Ok(Json(row.order).into_response())
}

fn load(
    s: &AppState,
    c: &Caller,
    sub: &str,
    no: &str,
    service_id: Option<&str>,
) -> Result<OrderRow, ApiErr> {
    let row = s
        .store()
        .get_order(&c.mchid, sub, no)?
        .ok_or_else(ApiErr::not_found)?;
    if let Some(svc) = service_id
        && row
            .order
            .service_id
            .as_ref()
            .is_some_and(|x| x.as_str() != svc)
    {
        return Err(ApiErr::no_auth(format!(
            "商户暂无权限使用此服务 (order {no} belongs to another service_id)"
        )));
    }
    Ok(row)
}

/// [`load`], refusing orders in a final state (`DONE`, `REVOKED`, `EXPIRED`).
fn load_open(
    s: &AppState,
    c: &Caller,
    sub: &str,
    no: &str,
    service_id: Option<&str>,
) -> Result<OrderRow, ApiErr> {
    let row = load(s, c, sub, no, service_id)?;
    match terminal_error(&row.order) {
        Some(e) => Err(e),
        None => Ok(row),
    }
}

/// The first violation, as WeChat reports one.
fn checked(r: Result<(), ValidationErrors>) -> Result<(), ApiErr> {
    r.map_err(|e| {
        e.0.first()
            .map_or_else(|| ApiErr::param("参数错误"), ApiErr::violation)
    })
}

fn is_paying(o: &ServiceOrder) -> bool {
    o.state == Some(OrderState::Doing)
        && o.collection.as_ref().and_then(|c| c.state.as_ref())
            == Some(&CollectionState::UserPaying)
}

fn terminal_error(o: &ServiceOrder) -> Option<ApiErr> {
    match o.state.as_ref()? {
        OrderState::Done => Some(ApiErr::state(
            "ORDER_DONE",
            "订单已完成 (the order is done)",
        )),
        OrderState::Revoked => Some(
            ApiErr::state("ORDER_CANCELED", "单据已取消 (the order was cancelled)")
                .internal(271_302_333),
        ),
        OrderState::Expired => Some(ApiErr::state(
            "INVALID_ORDER_STATE",
            "单据状态错误 (the order expired)",
        )),
        _ => None,
    }
}

fn save(s: &AppState, mut row: OrderRow) -> Result<(), ApiErr> {
    row.updated_ms = s.now_ms();
    if !s.store().update_order(&row, None)? {
        return Err(ApiErr::system(
            "系统繁忙，请使用相同参数重试 (the order changed concurrently; retry with the same parameters)",
        ));
    }
    if let Some(due) = row.deduction_due_ms {
        s.wake_worker_at(due);
    }
    Ok(())
}

pub(crate) async fn cancel(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(no): Path<String>,
    body: Bytes,
) -> Answer {
    let req: partner::CancelRequest = parse_json(&body)?;
    if req.reason.trim().is_empty() || req.reason.chars().count() > 50 {
        return Err(ApiErr::param_field(
            "/reason",
            Some(req.reason.clone().into()),
            "[R6] is required, at most 50 characters",
            "body",
        ));
    }
    let mut row = load_open(
        &s,
        &c,
        req.sub_mchid.as_str(),
        &no,
        req.service_id.as_ref().map(|x| x.as_str()),
    )?;
    if is_paying(&row.order) && !s.world().behaviour.cancel_while_paying {
        return Err(ApiErr::param(
            "当前订单状态不满足撤销条件 (cancel is not allowed while the deduction is pending)",
        )
        .internal(271_316_592));
    }
    row.order.state = Some(OrderState::Revoked);
    row.order.state_description = None;
    row.deduction_due_ms = None;
    save(&s, row)?;
    no_content()
}

pub(crate) async fn complete(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(no): Path<String>,
    body: Bytes,
) -> Answer {
    let req: partner::CompleteRequest = parse_json(&body)?;
    checked(req.validate())?;
    let mut row = load_open(
        &s,
        &c,
        req.sub_mchid.as_str(),
        &no,
        Some(req.service_id.as_str()),
    )?;
    let ok = row.order.state == Some(OrderState::Doing)
        && matches!(
            row.order.state_description,
            Some(StateDescription::UserConfirm | StateDescription::MchComplete)
        );
    if !ok {
        return Err(ApiErr::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "当前订单状态不合法 (complete needs state DOING)",
        )
        .internal(271_302_262));
    }
    check_risk_cap(&s, req.service_id.as_str(), req.total_amount)?;
    row.order.post_payments = req.post_payments.clone();
    row.order.post_discounts = req.post_discounts.clone().unwrap_or_default();
    if let Some(t) = &req.time_range {
        row.order.time_range = Some(t.clone());
    }
    if req.location.is_some() {
        row.order.location = req.location.clone();
    }
    row.deduction_due_ms =
        complete_order(&mut row.order, req.total_amount).then(|| deduction_due(&s));
    save(&s, row)?;
    no_content()
}

pub(crate) async fn modify(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(no): Path<String>,
    body: Bytes,
) -> Answer {
    let req: partner::ModifyRequest = parse_json(&body)?;
    checked(req.validate())?;
    let mut row = load_open(
        &s,
        &c,
        req.sub_mchid.as_str(),
        &no,
        req.service_id.as_ref().map(|x| x.as_str()),
    )?;
    if !is_paying(&row.order) {
        return Err(ApiErr::state(
            "INVALID_ORDER_STATE",
            "仅在待收款状态下可修改金额 (modify is only allowed while collecting)",
        )
        .internal(271_316_657));
    }
    if row.modified {
        return Err(ApiErr::state(
            "INVALID_ORDER_STATE",
            "订单金额只能修改一次 (the amount can be modified once)",
        ));
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
    save(&s, row)?;
    no_content()
}

pub(crate) async fn pay(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(no): Path<String>,
    body: Bytes,
) -> Answer {
    let req: partner::PayRequest = parse_json(&body)?;
    let mut row = load_open(
        &s,
        &c,
        req.sub_mchid.as_str(),
        &no,
        req.service_id.as_ref().map(|x| x.as_str()),
    )?;
    if !is_paying(&row.order) {
        return Err(ApiErr::state(
            "INVALID_ORDER_STATE",
            "仅在待收款状态下可调用 (pay is only allowed while collecting)",
        )
        .internal(271_316_657));
    }
    row.deduction_due_ms = Some(s.now_ms());
    row.deduction_error = None;
    save(&s, row)?;
    no_content()
}

pub(crate) async fn sync(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(no): Path<String>,
    body: Bytes,
) -> Answer {
    let req: partner::SyncRequest = parse_json(&body)?;
    if req.kind != "Order_Paid" {
        return Err(ApiErr::param_field(
            "/type",
            Some(req.kind.clone().into()),
            "must be Order_Paid",
            "body",
        ));
    }
    if parse_payscore_time(&req.detail.paid_time).is_none() {
        return Err(ApiErr::param_field(
            "/detail/paid_time",
            Some(req.detail.paid_time.clone().into()),
            "[R7] must be yyyyMMddHHmmss or yyyyMMdd",
            "body",
        ));
    }
    let mut row = load_open(
        &s,
        &c,
        req.sub_mchid.as_str(),
        &no,
        Some(req.service_id.as_str()),
    )?;
    if !is_paying(&row.order) {
        return Err(ApiErr::state(
            "INVALID_ORDER_STATE",
            "仅在待收款状态下可同步 (sync is only allowed while collecting)",
        )
        .internal(271_316_657));
    }
    mark_paid(
        &mut row.order,
        PaidType::Mch,
        req.detail.paid_time.clone(),
        None,
    );
    row.deduction_due_ms = None;
    save(&s, row)?;
    no_content()
}

/// Moves a collecting order to `DONE / USER_PAID` with one more payment detail.
pub(crate) fn mark_paid(
    o: &mut ServiceOrder,
    paid_type: PaidType,
    paid_time: String,
    transaction_id: Option<String>,
) {
    o.state = Some(OrderState::Done);
    o.state_description = None;
    let total = o.total_amount.unwrap_or_default();
    let c = o.collection.get_or_insert_with(Collection::default);
    let paying = c.paying_amount.unwrap_or(total);
    let seq = u32::try_from(c.details.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    c.details.push(CollectionDetail {
        seq,
        amount: paying,
        paid_type: Some(paid_type),
        paid_time: Some(paid_time),
        transaction_id: transaction_id.map(Into::into),
        ..CollectionDetail::default()
    });
    c.state = Some(CollectionState::UserPaid);
    c.total_amount = Some(total);
    c.paid_amount = Some(
        c.paid_amount
            .unwrap_or_default()
            .checked_add(paying)
            .unwrap_or(total),
    );
    c.paying_amount = Some(Fen::ZERO);
}

pub(crate) async fn certificates(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
) -> Answer {
    let w = s.world();
    let Some(cert) = &w.platform_cert else {
        return Err(ApiErr::new(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_EXISTS",
            "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。 (no platform certificate: use the WeChat Pay public key)",
        ));
    };
    let key = &w
        .providers
        .get(&c.mchid)
        .ok_or_else(|| ApiErr::system("系统错误"))?
        .apiv3_key;
    let body = wechatpay_core::certificates::encrypt(std::slice::from_ref(cert), key, || {
        wechatpay_core::RandomNonce::alphanumeric(12)
    })
    .map_err(|_| ApiErr::system("系统错误"))?;
    let mut r = (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    r.extensions_mut()
        .insert(SignWith(cert.serial().to_owned()));
    Ok(r)
}

pub(crate) fn paid_time_now(s: &AppState) -> String {
    payscore_time(s.now())
}
