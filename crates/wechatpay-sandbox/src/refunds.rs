//! Refunds of Pay Score deductions (lifecycle spec §4): apply, query, settlement with
//! REFUND.* callbacks, and the test hooks for outcomes and forced errors.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use wechatpay_models::v3::refund::domestic::{
    AbnormalRefundTo, ApplyAbnormalRefundRequest, QueryRefundRequest, Refund, RefundAmount,
    RefundChannel, RefundNotice, RefundRequest, RefundStatus,
};
use wechatpay_models::{Endpoint as _, Fen, MchId, Rule};

use crate::AppState;
use crate::edge::auth::Caller;
use crate::edge::error::{Answer, ApiErr, checked};
use crate::edge::wx::{Decoded, Wx};
use crate::store::{RefundRow, StoreError, TransactionRow};
use crate::util::{random_digits, rfc3339_beijing};

/// At most 50 partial refunds per transaction (lifecycle spec §4.2).
pub(crate) const MAX_REFUNDS: i64 = 50;
/// Refunds are possible for one year after payment.
const REFUND_WINDOW_MS: i64 = 365 * 86_400_000;
/// The setting holding a forced error for the next refund applications.
pub(crate) const FORCED_ERROR: &str = "refund_error";

handles! {
    RefundRequest => apply;
    QueryRefundRequest => query;
    ApplyAbnormalRefundRequest => apply_abnormal;
}

fn invalid(issue: impl Into<String>) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        "请求参数符合参数格式，但不符合业务规则",
    )
    .why(issue)
}

fn no_transaction(issue: impl Into<String>) -> ApiErr {
    ApiErr::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在").why(issue)
}

/// The error a test forced (`refund-error` helper), once per application until used up.
fn forced_error(s: &AppState) -> Result<Option<ApiErr>, ApiErr> {
    let Some(v) = s.store().setting(FORCED_ERROR)? else {
        return Ok(None);
    };
    let (code, times) = v.split_once(':').unwrap_or((&v, "1"));
    let times: u32 = times.parse().unwrap_or(0);
    if times == 0 {
        return Ok(None);
    }
    s.store()
        .set_setting(FORCED_ERROR, &format!("{code}:{}", times - 1))?;
    let why = "forced by the refund-error test helper";
    Ok(Some(
        match code {
            "NOT_ENOUGH" => ApiErr::new(
                StatusCode::FORBIDDEN,
                "NOT_ENOUGH",
                "基本账户余额不足，请充值后重新发起",
            ),
            "USER_ACCOUNT_ABNORMAL" => ApiErr::new(
                StatusCode::FORBIDDEN,
                "USER_ACCOUNT_ABNORMAL",
                "退款请求失败",
            ),
            "FREQUENCY_LIMITED" => ApiErr::new(
                StatusCode::TOO_MANY_REQUESTS,
                "FREQUENCY_LIMITED",
                "频率限制",
            ),
            _ => ApiErr::system("系统超时"),
        }
        .why(why),
    ))
}

/// Refuses a refund application with the error a test forced, before the request is read,
/// as a failure of WeChat Pay's own would come.
struct NotForced;

impl axum::extract::FromRequestParts<AppState> for NotForced {
    type Rejection = ApiErr;

    async fn from_request_parts(
        _: &mut axum::http::request::Parts,
        s: &AppState,
    ) -> Result<Self, ApiErr> {
        match forced_error(s)? {
            Some(e) => Err(e),
            None => Ok(Self),
        }
    }
}

async fn apply(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    _: NotForced,
    Decoded(req, _): Decoded<RefundRequest>,
) -> Answer {
    // Over-refund is a business rule, INVALID_REQUEST (lifecycle spec §4.5), checked with
    // the payment below; every other rule is PARAM_ERROR.
    let over = req.amount.refund > req.amount.total;
    checked(req.validate_at(s.now()).or_else(|mut e| {
        e.0.retain(|v| !(over && v.field == "/amount/refund" && v.rule == Rule::Amount));
        if e.0.is_empty() { Ok(()) } else { Err(e) }
    }))?;
    let sub = req.sub_mchid.as_ref().map_or("", MchId::as_str);
    let tx = s
        .store()
        .transaction(&c.mchid, req.transaction_id.as_ref().map(|t| t.as_str()), req.out_trade_no.as_deref())?
        .ok_or_else(|| {
            no_transaction(if req.out_trade_no.is_some() {
                "no payment with this out_trade_no: for Pay Score it is the number WeChat Pay generated for the deduction, never the order's out_order_no; refund by collection.details[].transaction_id"
            } else {
                "no payment with this transaction_id for this merchant (collection.details[].transaction_id of a paid order)"
            })
        })?;
    if tx.sub_mchid != sub {
        return Err(no_transaction(if sub.is_empty() {
            "sub_mchid is required for a service provider: give the sub-merchant of the payment"
        } else {
            "the payment belongs to another sub_mchid"
        }));
    }
    let canonical = serde_json::to_string(&req).unwrap_or_default();
    if let Some(existing) = s.store().refund(&c.mchid, sub, &req.out_refund_no)? {
        return reentry(&existing, &canonical, &tx);
    }
    let now = s.now_ms();
    let (count, refunded) = s.store().refunded(&tx.transaction_id)?;
    within_limits(&req, &tx, now, count, refunded)?;
    let w = s.world();
    let row = RefundRow {
        sp_mchid: c.mchid.clone(),
        sub_mchid: sub.to_owned(),
        out_refund_no: req.out_refund_no.clone(),
        refund_id: format!("503{}", random_digits(26)),
        transaction_id: tx.transaction_id.clone(),
        refund: req.amount.refund.get(),
        status: "PROCESSING".into(),
        outcome: if w.abnormal_refunds.contains(&tx.openid) {
            "ABNORMAL"
        } else {
            "SUCCESS"
        }
        .into(),
        request_json: canonical.clone(),
        notify_url: req.notify_url.clone().unwrap_or_default(),
        due_ms: Some(now + i64::try_from(w.behaviour.refund_delay_secs).unwrap_or(0) * 1000),
        created_ms: now,
        success_ms: None,
    };
    if let Some(existing) = s.store().insert_refund(&row)? {
        return reentry(&existing, &canonical, &tx);
    }
    if let Some(due) = row.due_ms {
        s.wake_worker_at(due);
    }
    tracing::info!(out_refund_no = %row.out_refund_no, refund = row.refund, "refund accepted; PROCESSING");
    Ok(Json(refund_object(&row, &tx)).into_response())
}

/// An ABNORMAL refund sent again to another account (lifecycle spec §4.1, §4.4): it is
/// PROCESSING again and settles as SUCCESS. The card number and name of a user's bank card
/// must decrypt with the key that `Wechatpay-Serial` names (protocol spec §2.7, item 8).
async fn apply_abnormal(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    headers: axum::http::HeaderMap,
    Wx(req): Wx<ApplyAbnormalRefundRequest>,
) -> Answer {
    if req.kind == AbnormalRefundTo::UserBankCard {
        for (field, value) in [
            ("/bank_account", &req.bank_account),
            ("/real_name", &req.real_name),
        ] {
            decrypt_sensitive(&s, &headers, field, value.as_deref().unwrap_or_default())?;
        }
    }
    let sub = req.sub_mchid.as_ref().map_or("", MchId::as_str);
    let mut row = s
        .store()
        .refund_by_id(&c.mchid, sub, &req.refund_id)?
        .ok_or_else(|| {
            ApiErr::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "退款单不存在")
                .why("no refund with this refund_id for this merchant and sub_mchid")
        })?;
    if row.out_refund_no != req.out_refund_no {
        return Err(invalid("out_refund_no is not the one of this refund_id"));
    }
    let due = s.now_ms() + i64::try_from(s.world().behaviour.refund_delay_secs).unwrap_or(0) * 1000;
    if row.status != "ABNORMAL" || !s.store().reapply_abnormal_refund(&row, due)? {
        return Err(invalid(format!(
            "the refund is {}; only an ABNORMAL refund can be sent to another account",
            row.status
        )));
    }
    s.wake_worker_at(due);
    row.status = "PROCESSING".into();
    let tx = s
        .store()
        .transaction(&c.mchid, Some(&row.transaction_id), None)?
        .ok_or_else(|| no_transaction("the refund's payment is gone"))?;
    Ok(Json(refund_object(&row, &tx)).into_response())
}

/// A sensitive field: `Wechatpay-Serial` names this sandbox's public key or platform
/// certificate, and `value` decrypts with its private key.
fn decrypt_sensitive(
    s: &AppState,
    headers: &axum::http::HeaderMap,
    field: &str,
    value: &str,
) -> Result<(), ApiErr> {
    let w = s.world();
    let serial = headers
        .get(wechatpay_core::headers::SERIAL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let known = serial == w.public_key_id
        || w.platform_cert
            .as_ref()
            .is_some_and(|c| c.serial() == serial);
    if !known {
        return Err(ApiErr::param("平台证书序列号Wechatpay-Serial错误").why(format!(
            "{field} is encrypted: Wechatpay-Serial must name the key it was encrypted with ({} or the platform certificate's serial), not {serial:?}",
            w.public_key_id
        )));
    }
    if w.platform_key.decrypt_oaep(value).is_err() {
        return Err(ApiErr::param("平台私钥解密失败").why(format!(
            "{field} does not decrypt with the key of Wechatpay-Serial {serial}: encrypt it with RSA-OAEP (SHA-1) and that key, then base64"
        )));
    }
    Ok(())
}

/// The limits of a new refund of payment `tx` (lifecycle spec §4.2): `amount.total` is the
/// payment's, the payment is at most a year old at `now_ms`, it has fewer than
/// [`MAX_REFUNDS`] refunds (`count`), and the refunds (`refunded` fen so far) never exceed
/// what was paid.
fn within_limits(
    req: &RefundRequest,
    tx: &TransactionRow,
    now_ms: i64,
    count: i64,
    refunded: i64,
) -> Result<(), ApiErr> {
    if req.amount.total.get() != tx.amount {
        return Err(invalid(format!(
            "amount.total must be the payment's amount, {} fen (for Pay Score: collection.details[].amount)",
            tx.amount
        )));
    }
    if now_ms - tx.paid_ms > REFUND_WINDOW_MS {
        return Err(invalid(
            "the payment is more than one year old; it can no longer be refunded",
        ));
    }
    if count >= MAX_REFUNDS {
        return Err(invalid(format!(
            "the payment already has {MAX_REFUNDS} refunds, the most allowed"
        )));
    }
    if refunded + req.amount.refund.get() > tx.amount {
        return Err(invalid(format!(
            "amount.refund {} exceeds what is left to refund, {} fen",
            req.amount.refund.get(),
            tx.amount - refunded
        )));
    }
    Ok(())
}

/// The same `out_refund_no` again: the same body gets the refund as it is now; another
/// body is refused.
fn reentry(existing: &RefundRow, canonical: &str, tx: &TransactionRow) -> Answer {
    if existing.request_json != canonical {
        return Err(invalid(
            "out_refund_no was used before with other parameters; a new refund needs a new out_refund_no",
        ));
    }
    Ok(Json(refund_object(existing, tx)).into_response())
}

async fn query(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Wx(req): Wx<QueryRefundRequest>,
) -> Answer {
    let (no, sub) = (req.out_refund_no, req.sub_mchid.unwrap_or_default());
    let missing = || {
        ApiErr::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "退款单不存在")
            .why("no refund with this out_refund_no for this merchant and sub_mchid (a service provider must give sub_mchid)")
    };
    let r = s
        .store()
        .refund(&c.mchid, sub.as_str(), &no)?
        .ok_or_else(missing)?;
    let tx = s
        .store()
        .transaction(&c.mchid, Some(&r.transaction_id), None)?
        .ok_or_else(missing)?;
    Ok(Json(refund_object(&r, &tx)).into_response())
}

fn amount(r: &RefundRow, tx: &TransactionRow) -> RefundAmount {
    RefundAmount {
        total: Fen(tx.amount),
        refund: Fen(r.refund),
        payer_total: Fen(tx.amount),
        payer_refund: Fen(r.refund),
        settlement_refund: Some(Fen(r.refund)),
        settlement_total: Some(Fen(tx.amount)),
        discount_refund: Some(Fen::ZERO),
        currency: Some("CNY".into()),
        ..RefundAmount::default()
    }
}

pub(crate) fn refund_object(r: &RefundRow, tx: &TransactionRow) -> Refund {
    Refund {
        refund_id: r.refund_id.clone(),
        out_refund_no: r.out_refund_no.clone(),
        transaction_id: r.transaction_id.clone(),
        out_trade_no: tx.out_trade_no.clone(),
        channel: Some(RefundChannel::Original),
        user_received_account: "支付用户零钱".into(),
        success_time: r.success_ms.map(|t| rfc3339_beijing(t / 1000)),
        create_time: rfc3339_beijing(r.created_ms / 1000),
        status: Some(RefundStatus::from(r.status.as_str())),
        funds_account: Some("AVAILABLE".into()),
        amount: amount(r, tx),
    }
}

/// Settles a due refund to its outcome and queues its REFUND.* callback (worker).
pub(crate) fn settle(
    s: &AppState,
    mut r: RefundRow,
) -> Result<(), crate::callbacks::CallbackError> {
    let now = s.now_ms();
    r.status = r.outcome.clone();
    r.success_ms = (r.status == "SUCCESS").then_some(now);
    let tx = s
        .store()
        .transaction(&r.sp_mchid, Some(&r.transaction_id), None)?;
    let callback = match (tx, r.notify_url.is_empty()) {
        (Some(tx), false) => {
            let event = match r.status.as_str() {
                "SUCCESS" => ("REFUND.SUCCESS", "退款成功"),
                "ABNORMAL" => ("REFUND.ABNORMAL", "退款异常"),
                _ => ("REFUND.CLOSED", "退款关闭"),
            };
            let direct = r.sub_mchid.is_empty();
            let notice = RefundNotice {
                sp_mchid: (!direct).then(|| r.sp_mchid.as_str().into()),
                sub_mchid: (!direct).then(|| r.sub_mchid.as_str().into()),
                mchid: direct.then(|| r.sp_mchid.as_str().into()),
                out_trade_no: tx.out_trade_no.clone(),
                transaction_id: r.transaction_id.clone(),
                out_refund_no: r.out_refund_no.clone(),
                refund_id: r.refund_id.clone(),
                refund_status: Some(RefundStatus::from(r.status.as_str())),
                success_time: r.success_ms.map(|t| rfc3339_beijing(t / 1000)),
                user_received_account: "支付用户零钱".into(),
                amount: RefundAmount {
                    settlement_refund: None,
                    settlement_total: None,
                    discount_refund: None,
                    currency: None,
                    ..amount(&r, &tx)
                },
            };
            Some(crate::callbacks::callback(
                s,
                &r.sp_mchid,
                &r.out_refund_no,
                r.notify_url.clone(),
                event,
                &notice,
            )?)
        }
        _ => None,
    };
    if s.store().settle_refund(&r, callback.as_ref())? {
        tracing::info!(out_refund_no = %r.out_refund_no, status = %r.status, "refund settled");
    }
    Ok(())
}

/// What a test may make a PROCESSING refund settle to (`refund-outcome` helper).
pub(crate) const OUTCOMES: [&str; 3] = ["SUCCESS", "CLOSED", "ABNORMAL"];

/// The errors a test may force on the next refund applications (`refund-error` helper).
pub(crate) const FORCIBLE_ERRORS: [&str; 4] = [
    "NOT_ENOUGH",
    "USER_ACCOUNT_ABNORMAL",
    "FREQUENCY_LIMITED",
    "SYSTEM_ERROR",
];

/// Makes PROCESSING refund `out_refund_no` of `sp` settle now to `outcome` (one of
/// [`OUTCOMES`]); `false` when there is no such refund.
pub(crate) fn settle_now(
    s: &AppState,
    sp: &str,
    out_refund_no: &str,
    outcome: &str,
) -> Result<bool, StoreError> {
    let now = s.now_ms();
    let changed = s
        .store()
        .set_refund_outcome(sp, out_refund_no, outcome, now)?;
    if changed {
        s.wake_worker_at(now);
    }
    Ok(changed)
}

/// The next `times` refund applications answer `code` (one of [`FORCIBLE_ERRORS`]).
pub(crate) fn force_error(s: &AppState, code: &str, times: u32) -> Result<(), StoreError> {
    s.store()
        .set_setting(FORCED_ERROR, &format!("{code}:{times}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(amount: i64, paid_ms: i64) -> TransactionRow {
        TransactionRow {
            transaction_id: "4200".into(),
            sp_mchid: "1900000109".into(),
            sub_mchid: "1900000110".into(),
            out_trade_no: "T1".into(),
            out_order_no: "RENT1".into(),
            order_id: "1000".into(),
            appid: "wx1".into(),
            openid: "oUser1".into(),
            amount,
            paid_ms,
            description: "充电宝".into(),
            trade_type: crate::store::DEDUCTION.into(),
        }
    }

    fn refund(refund: i64, total: i64) -> RefundRequest {
        RefundRequest::default()
            .sub_mchid("1900000110")
            .transaction_id("4200")
            .out_refund_no("RF1")
            .amount(
                wechatpay_models::v3::refund::domestic::RefundRequestAmount::default()
                    .refund(refund)
                    .total(total),
            )
    }

    fn issue(e: &ApiErr) -> String {
        format!("{:?}", e.detail)
    }

    #[test]
    fn refunds_never_exceed_what_was_paid() {
        let t = tx(2500, 0);
        assert!(within_limits(&refund(2500, 2500), &t, 1, 0, 0).is_ok());
        assert!(
            within_limits(&refund(500, 2500), &t, 1, 3, 2000).is_ok(),
            "exactly the rest"
        );
        let e = within_limits(&refund(501, 2500), &t, 1, 3, 2000).unwrap_err();
        assert!(
            issue(&e).contains("what is left to refund, 500 fen"),
            "{}",
            issue(&e)
        );
        let e = within_limits(&refund(100, 2000), &t, 1, 0, 0).unwrap_err();
        assert!(
            issue(&e).contains("2500 fen"),
            "total must be the payment's"
        );
    }

    #[test]
    fn at_most_fifty_refunds_within_a_year() {
        let t = tx(2500, 0);
        assert!(within_limits(&refund(1, 2500), &t, 1, MAX_REFUNDS - 1, 0).is_ok());
        let e = within_limits(&refund(1, 2500), &t, 1, MAX_REFUNDS, 0).unwrap_err();
        assert!(issue(&e).contains("50 refunds"), "{}", issue(&e));
        assert!(within_limits(&refund(1, 2500), &t, REFUND_WINDOW_MS, 0, 0).is_ok());
        let e = within_limits(&refund(1, 2500), &t, REFUND_WINDOW_MS + 1, 0, 0).unwrap_err();
        assert!(
            issue(&e).contains("more than one year old"),
            "{}",
            issue(&e)
        );
    }
}
