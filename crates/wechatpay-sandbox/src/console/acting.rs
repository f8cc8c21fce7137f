//! Test helpers that act as the user on an order: confirm it, pay it from Pay Score's list
//! of orders to pay.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use wechatpay_models::v3::payscore::{CollectionState, ON_ACCEPT, OrderState, StateDescription};

use super::{Answer, provider};
use crate::AppState;
use crate::console::{Refused, bad};
use crate::store::OrderRow;
use crate::util::{payscore_time, rfc3339_beijing};

#[derive(Deserialize)]
pub(super) struct OrderBody {
    package: Option<String>,
    service_id: Option<String>,
    sub_mchid: Option<String>,
    out_order_no: Option<String>,
    openid: Option<String>,
    mchid: Option<String>,
}

/// The user confirms a need-confirm order: `DOING` / `USER_CONFIRM`, `OnAccept` resolved,
/// USER_CONFIRM to the order's notify_url.
pub(super) async fn confirm(State(s): State<AppState>, Json(b): Json<OrderBody>) -> Answer {
    let now = s.now_ms();
    let row = find(&s, &b, now)?;
    let mut row = crate::payscore::state::expire_if_stale(&s, row)?;
    if let Some(svc) = &b.service_id
        && row
            .order
            .service_id
            .as_ref()
            .is_some_and(|x| x != svc.as_str())
    {
        return Err(bad("the order belongs to another service_id"));
    }
    if row.order.state != Some(OrderState::Created) {
        return Err(bad(format!(
            "the order is {}, not CREATED: only a need-confirm order waiting for the user can be confirmed",
            shown(row.order.state.as_ref())
        )));
    }
    match b.openid {
        Some(o) => row.order.openid = Some(o.into()),
        None if row.order.openid.is_none() && row.order.sub_openid.is_none() => {
            return Err(bad("give openid: the user who confirms"));
        }
        None => {}
    }
    row.order.state = Some(OrderState::Doing);
    row.order.state_description = Some(StateDescription::UserConfirm);
    if let Some(t) = &mut row.order.time_range
        && t.start_time == ON_ACCEPT
    {
        t.start_time = payscore_time(now / 1000);
    }
    row.updated_ms = now;
    // Lifecycle spec §3.6: USER_CONFIRM carries total_amount, 0 before completion.
    row.order
        .total_amount
        .get_or_insert(wechatpay_models::Fen(0));
    let callback = match row.order.notify_url.clone().filter(|u| !u.is_empty()) {
        Some(url) => Some(
            crate::callbacks::callback(
                &s,
                &row.sp_mchid,
                &row.out_order_no,
                url,
                ("PAYSCORE.USER_CONFIRM", "确认订单"),
                &row.order,
            )
            .map_err(|e| Refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?,
        ),
        None => None,
    };
    let saved = s.store().update_order(&row, callback.as_ref())?;
    answer(&s, saved, &row, callback, now)
}

/// The user pays an order whose deduction failed, from Pay Score's list of orders to pay
/// (payscore-provider-notes.md, bill rows; partner-payments.md §11.3): `DONE` / `USER_PAID`
/// with a `NEWTON` payment, PAYSCORE.USER_PAID to the order's notify_url, and a `JSAPI`
/// transaction whose 商户订单号 in the bills is the out_order_no.
pub(super) async fn user_pays(State(s): State<AppState>, Json(b): Json<OrderBody>) -> Answer {
    let now = s.now_ms();
    let mut row = find(&s, &b, now)?;
    let paying = row.order.state == Some(OrderState::Doing)
        && row
            .order
            .collection
            .as_ref()
            .is_some_and(|c| c.state == Some(CollectionState::UserPaying));
    if !paying {
        return Err(bad(format!(
            "the order is {}, not waiting for payment (DOING, collection USER_PAYING): there is nothing to pay",
            shown(row.order.state.as_ref())
        )));
    }
    if row.deduction_error.is_none() {
        return Err(bad(
            "no deduction of this order has failed: the order is in the user's list of orders to pay only after one did (make one fail with deduction-outcome)",
        ));
    }
    let callback = crate::payscore::state::collect(&s, &mut row)
        .map_err(|e| Refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let saved = s
        .store()
        .update_order_paid_actively(&row, callback.as_ref())?;
    answer(&s, saved, &row, callback, now)
}

/// The answer once the order was saved with its callback (or not, when a request changed
/// it meanwhile).
fn answer(
    s: &AppState,
    saved: bool,
    row: &OrderRow,
    callback: Option<crate::store::Delivery>,
    now: i64,
) -> Answer {
    if !saved {
        return Err(Refused(
            StatusCode::CONFLICT,
            "the order changed meanwhile; try again".into(),
        ));
    }
    s.wake_worker_at(now);
    Ok(Json(
        json!({ "order": row.order, "callback": callback.map(|c| c.event_id) }),
    ))
}

/// The order a helper call names: by its package, or by sub_mchid and out_order_no.
fn find(s: &AppState, b: &OrderBody, now: i64) -> Result<OrderRow, Refused> {
    match (&b.package, &b.sub_mchid, &b.out_order_no) {
        (Some(pkg), _, _) => {
            let (sp, sub, no, expires) = s
                .store()
                .package(pkg)?
                .ok_or_else(|| bad("no order has this package"))?;
            if expires < now {
                return Err(bad(format!(
                    "the package expired at {} (valid one hour): create the order again for a new one",
                    rfc3339_beijing(expires / 1000)
                )));
            }
            s.store().get_order(&sp, &sub, &no)?
        }
        (None, Some(sub), Some(no)) => {
            let sp = provider(s, b.mchid.as_deref())?;
            s.store().get_order(&sp, sub, no)?
        }
        _ => return Err(bad("give package, or sub_mchid and out_order_no")),
    }
    .ok_or_else(|| bad("no such order"))
}

fn shown(state: Option<&OrderState>) -> &str {
    state.map_or("without a state", OrderState::as_str)
}
