//! The order state machine: new orders and re-entry (R12), loading open orders,
//! completion, collection and payment.

use axum::http::StatusCode;
use wechatpay_models::Fen;
use wechatpay_models::v3::payscore::{
    Collection, CollectionDetail, CollectionState, OrderState, PaidType, ServiceOrder,
    StateDescription,
};

use crate::AppState;
use crate::edge::auth::Caller;
use crate::edge::error::ApiErr;
use crate::store::{Insert, OrderRow};
use crate::util::{payscore_time, random_digits};

/// Sets the completion state: collecting when the total is positive, done when it is 0.
/// Returns whether a deduction must follow.
pub(super) fn complete_order(o: &mut ServiceOrder, total: Fen) -> bool {
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
pub(super) fn deduction_due(s: &AppState) -> i64 {
    let delay = i64::try_from(s.world().behaviour.deduction_delay_ms).unwrap_or(i64::MAX);
    s.now_ms().saturating_add(delay)
}

pub(super) fn new_row(
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
        query_id: crate::util::random_hex(16).to_lowercase(),
        order,
        request_json: request_digest(&request_json),
        deduction_due_ms: deduct.then(|| deduction_due(s)),
        deduction_error: None,
        modified: false,
        version: 0,
        created_ms: now,
        updated_ms: now,
    }
}

/// What an order keeps of the request that made it, for the re-entry check: the SHA-256
/// of its canonical JSON (a kilobyte less to write per order than the JSON itself).
fn request_digest(canonical: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Whether a stored request (a digest, or the canonical JSON itself in databases made
/// before digests) is the request of `digest`.
fn same_request(stored: &str, digest: &str) -> bool {
    if stored.starts_with("sha256:") {
        stored == digest
    } else {
        request_digest(stored) == digest
    }
}

/// Stores a new order, or applies R12 re-entry rules to an existing one.
pub(super) fn insert_or_reenter(s: &AppState, row: &OrderRow) -> Result<ServiceOrder, ApiErr> {
    match s.store().insert_order(row)? {
        Insert::Created => {
            if let Some(due) = row.deduction_due_ms {
                s.wake_worker_at(due);
            }
            Ok(row.order.clone())
        }
        Insert::Exists(old) if same_request(&old.request_json, &row.request_json) => Ok(old.order),
        Insert::Exists(_) => Err(ApiErr::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "订单重入参数校验失败",
        )
        .why("out_order_no was used before with different parameters")
        .internal(271_316_598)),
    }
}

/// The order a create or direct-complete request makes: the request's own fields (they
/// share the order's names; fields outside the request type cannot slip in), plus WeChat's.
pub(super) fn order_from<R: serde::Serialize>(req: &R, mchid: &str) -> ServiceOrder {
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

pub(super) fn load(
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
    let row = expire_if_stale(s, row)?;
    if let Some(svc) = service_id
        && row
            .order
            .service_id
            .as_ref()
            .is_some_and(|x| x.as_str() != svc)
    {
        return Err(ApiErr::no_auth("商户暂无权限使用此服务")
            .why(format!("order {no} belongs to another service_id")));
    }
    Ok(row)
}

/// A direct merchant's call names its `appid`: an order under another appid is not found.
pub(super) fn same_appid(row: &OrderRow, appid: Option<&str>) -> Result<(), ApiErr> {
    match appid {
        Some(a) if row.order.appid.as_ref().is_some_and(|x| x.as_str() != a) => {
            Err(ApiErr::not_found().why(format!(
                "order {} was made under appid {}, not {a}",
                row.order.out_order_no.as_str(),
                row.order.appid.as_ref().map_or("", |x| x.as_str())
            )))
        }
        _ => Ok(()),
    }
}

/// A need-confirm order left `CREATED` for 30 days (of business time) is `EXPIRED`
/// (lifecycle spec §3.9), seen the next time it is read.
pub(crate) const CREATED_EXPIRES_MS: i64 = 30 * 86_400_000;

/// Applies the 30-day expiry to `row` and saves it when it applies.
pub(crate) fn expire_if_stale(s: &AppState, mut row: OrderRow) -> Result<OrderRow, ApiErr> {
    if row.order.state == Some(OrderState::Created)
        && s.now_ms() - row.created_ms >= CREATED_EXPIRES_MS
    {
        row.order.state = Some(OrderState::Expired);
        row.updated_ms = s.now_ms();
        if s.store().update_order(&row, None)? {
            row.version += 1;
        }
    }
    Ok(row)
}

/// [`load`], refusing orders in a final state (`DONE`, `REVOKED`, `EXPIRED`).
pub(super) fn load_open(
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

pub(super) fn is_paying(o: &ServiceOrder) -> bool {
    o.state == Some(OrderState::Doing)
        && o.collection.as_ref().and_then(|c| c.state.as_ref())
            == Some(&CollectionState::UserPaying)
}

fn terminal_error(o: &ServiceOrder) -> Option<ApiErr> {
    match o.state.as_ref()? {
        OrderState::Done => {
            Some(ApiErr::state("ORDER_DONE", "订单已完成").why("the order is done"))
        }
        OrderState::Revoked => Some(
            ApiErr::state("ORDER_CANCELED", "单据已取消")
                .why("the order was cancelled")
                .internal(271_302_333),
        ),
        OrderState::Expired => {
            Some(ApiErr::state("INVALID_ORDER_STATE", "单据状态错误").why("the order expired"))
        }
        _ => None,
    }
}

/// Saves `row` and answers its order.
pub(super) fn save(s: &AppState, mut row: OrderRow) -> Result<ServiceOrder, ApiErr> {
    row.updated_ms = s.now_ms();
    if !s.store().update_order(&row, None)? {
        return Err(ApiErr::system("系统繁忙，请使用相同参数重试")
            .why("the order changed concurrently; retry with the same parameters"));
    }
    if let Some(due) = row.deduction_due_ms {
        s.wake_worker_at(due);
    }
    Ok(row.order)
}

/// Cancels an order. A collection that was pending stops: nothing more is to be paid
/// (`need_collection` false, `paying_amount` 0); one with nothing paid disappears, as
/// for an order that was never completed.
pub(super) fn revoke(o: &mut ServiceOrder) {
    o.state = Some(OrderState::Revoked);
    o.state_description = None;
    if let Some(c) = &mut o.collection {
        o.need_collection = Some(false);
        if c.paid_amount.unwrap_or_default() == Fen::ZERO {
            o.collection = None;
        } else {
            c.paying_amount = Some(Fen::ZERO);
        }
    }
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

pub(crate) fn paid_time_now(s: &AppState) -> String {
    payscore_time(s.now())
}

/// WeChat Pay collects the order's amount (a deduction, or the user paying actively):
/// `DONE` / `USER_PAID` with a `NEWTON` payment and its new transaction id, and
/// PAYSCORE.USER_PAID for the order's notify_url (to be saved with the order).
pub(crate) fn collect(
    s: &AppState,
    row: &mut OrderRow,
) -> Result<Option<crate::store::Delivery>, crate::callbacks::CallbackError> {
    mark_paid(
        &mut row.order,
        PaidType::Newton,
        paid_time_now(s),
        Some(format!("4{}", random_digits(27))),
    );
    row.deduction_due_ms = None;
    row.deduction_error = None;
    row.updated_ms = s.now_ms();
    match row.order.notify_url.clone().filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(url) => crate::callbacks::callback(
            s,
            &row.sp_mchid,
            &row.out_order_no,
            url,
            ("PAYSCORE.USER_PAID", "支付成功"),
            &row.order,
        )
        .map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_entry_compares_digests_and_older_stored_json() {
        let json = r#"{"out_order_no":"RENT1","total_amount":250}"#;
        let d = request_digest(json);
        assert_eq!(d.len(), "sha256:".len() + 64);
        assert!(same_request(&d, &d));
        assert!(same_request(json, &d), "a database made before digests");
        assert!(!same_request(&request_digest("{}"), &d));
        assert!(!same_request("{}", &d));
    }

    fn completed(total: i64) -> (ServiceOrder, bool) {
        let mut o = ServiceOrder::default();
        let deduct = complete_order(&mut o, Fen(total));
        (o, deduct)
    }

    #[test]
    fn completing_with_a_positive_total_collects_and_with_zero_ends() {
        let (o, deduct) = completed(250);
        assert!(deduct && is_paying(&o));
        assert_eq!(o.state_description, Some(StateDescription::MchComplete));
        let c = o.collection.as_ref().unwrap();
        assert_eq!(
            (c.paying_amount, c.paid_amount),
            (Some(Fen(250)), Some(Fen::ZERO))
        );
        let (o, deduct) = completed(0);
        assert!(!deduct && !is_paying(&o));
        assert_eq!(
            (o.state, o.need_collection),
            (Some(OrderState::Done), Some(false))
        );
        assert!(o.collection.is_none());
    }

    #[test]
    fn paying_ends_the_collection_with_one_detail_per_payment() {
        let (mut o, _) = completed(250);
        mark_paid(
            &mut o,
            PaidType::Newton,
            "20250301100000".into(),
            Some("42".into()),
        );
        assert_eq!(o.state, Some(OrderState::Done));
        assert!(!is_paying(&o));
        let c = o.collection.as_ref().unwrap();
        assert_eq!(c.state, Some(CollectionState::UserPaid));
        assert_eq!(
            (c.paid_amount, c.paying_amount),
            (Some(Fen(250)), Some(Fen::ZERO))
        );
        assert_eq!(c.details.len(), 1);
        assert_eq!((c.details[0].seq, c.details[0].amount), (1, Fen(250)));
        assert!(terminal_error(&o).is_some_and(|e| e.code == "ORDER_DONE"));
    }

    #[test]
    fn cancelling_drops_an_unpaid_collection_and_keeps_a_paid_one() {
        let (mut o, _) = completed(250);
        revoke(&mut o);
        assert_eq!(o.state, Some(OrderState::Revoked));
        assert!(o.collection.is_none(), "nothing was paid");
        assert!(terminal_error(&o).is_some_and(|e| e.code == "ORDER_CANCELED"));

        let (mut o, _) = completed(250);
        o.collection.as_mut().unwrap().paid_amount = Some(Fen(100));
        revoke(&mut o);
        let c = o.collection.as_ref().unwrap();
        assert_eq!(
            (c.paid_amount, c.paying_amount),
            (Some(Fen(100)), Some(Fen::ZERO))
        );
        assert_eq!(o.need_collection, Some(false));
    }

    #[test]
    fn an_open_order_has_no_terminal_error() {
        let (o, _) = completed(250);
        assert!(terminal_error(&o).is_none());
        let mut expired = o.clone();
        expired.state = Some(OrderState::Expired);
        assert!(terminal_error(&expired).is_some_and(|e| e.code == "INVALID_ORDER_STATE"));
    }
}
