//! Bulk test data: paid orders (and some refunds) written straight into the store and the
//! ledger, so that bills and the console can be tried at a million rows without a million
//! API calls (`wxpay sandbox seed`).

use crate::config::Config;
use wechatpay_models::v3::payscore::ServiceOrder;
use wechatpay_models::{Fen, OpenId, OrderId, OutOrderNo, TransactionId};

use crate::store::{OrderRow, RefundRow, Store, StoreError, TransactionRow};
use crate::util::random_digits;

/// What [`seed`] inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Paid deductions.
    pub payments: u64,
    /// Successful refunds (half of the payment each).
    pub refunds: u64,
}

/// Inserts `orders` completed, paid service orders (`DONE`, `USER_PAID`) with their
/// deductions, spread over the Beijing-time `day`, of the first provider's first
/// sub-merchant and first service, by 1,000 users (`oSEEDUSER0000`…), and refunds half of
/// every `refund_every`-th one (0: none), in batches of 10 000 per SQLite transaction.
///
/// The database of `config` (a path relative to `dir`) is opened for this; a running
/// sandbox seeds its own with [`AppState::seed`](crate::AppState::seed).
///
/// # Errors
/// [`SandboxError`](crate::SandboxError) on database failures, or when the configuration
/// has no provider with a sub-merchant.
pub fn seed(
    config: &Config,
    dir: &std::path::Path,
    day: time::Date,
    orders: u64,
    refund_every: u64,
) -> Result<Seeded, crate::SandboxError> {
    let store = Store::open(&config.database_path(dir))?;
    Ok(seed_store(config, &store, day, orders, refund_every)?)
}

/// [`seed`] into `store`.
pub(crate) fn seed_store(
    config: &Config,
    store: &Store,
    day: time::Date,
    orders: u64,
    refund_every: u64,
) -> Result<Seeded, StoreError> {
    let p = config
        .providers
        .iter()
        .find(|p| !p.sub_merchants.is_empty())
        .ok_or(StoreError::Inconsistent(
            "no provider with a sub-merchant to seed",
        ))?;
    let sub = &p.sub_merchants[0].sub_mchid;
    let appid = p.appids.first().cloned().unwrap_or_default();
    let service_id = config
        .services
        .first()
        .map(|s| s.service_id.clone())
        .unwrap_or_default();
    let template: ServiceOrder = serde_json::from_value(serde_json::json!({
        "appid": appid, "mchid": p.mchid, "sub_mchid": sub, "out_order_no": "-",
        "service_id": service_id, "service_introduction": "共享充电宝", "state": "DONE",
        "post_payments": [{"name": "使用时长", "amount": 0, "description": "计时收费"}],
        "total_amount": 0, "need_collection": true,
        "collection": {"state": "USER_PAID", "total_amount": 0, "paying_amount": 0, "paid_amount": 0,
                       "details": [{"seq": 1, "amount": 0, "paid_type": "NEWTON"}]},
        "notify_url": "http://127.0.0.1:9/notify",
    }))?;
    let start_ms = crate::util::beijing_midnight_ms(day);
    let run = random_digits(6);
    let mut out = Seeded {
        payments: 0,
        refunds: 0,
    };
    let (mut txs, mut refunds, mut rows) = (
        Vec::with_capacity(10_000),
        Vec::new(),
        Vec::with_capacity(10_000),
    );
    for i in 0..orders {
        let amount = 100 + i64::try_from(i % 4901).unwrap_or(0);
        // Spread over the day, leaving the last minutes for refunds.
        let paid_ms = start_ms + i64::try_from(i * 86_000_000 / orders.max(1)).unwrap_or(0);
        let openid = format!("oSEEDUSER{:04}", i % 1000);
        let t = TransactionRow {
            transaction_id: format!("4{run}{i:021}"),
            sp_mchid: p.mchid.clone(),
            sub_mchid: sub.clone(),
            out_trade_no: format!("1{run}{i:021}"),
            out_order_no: format!("SEED{run}-{i}"),
            order_id: format!("1000{run}{i:022}"),
            appid: appid.clone(),
            openid: openid.clone(),
            amount,
            paid_ms,
            description: "共享充电宝".into(),
            trade_type: crate::store::DEDUCTION.into(),
        };
        if refund_every > 0 && i % refund_every == 0 {
            refunds.push(RefundRow {
                sp_mchid: t.sp_mchid.clone(),
                sub_mchid: t.sub_mchid.clone(),
                out_refund_no: format!("SEEDRF{run}-{i}"),
                refund_id: format!("503{run}{i:020}"),
                transaction_id: t.transaction_id.clone(),
                refund: amount / 2,
                status: "SUCCESS".into(),
                outcome: "SUCCESS".into(),
                request_json: String::new(),
                notify_url: String::new(),
                due_ms: None,
                created_ms: paid_ms + 60_000,
                success_ms: Some(paid_ms + 120_000),
            });
        }
        rows.push(seeded_order(&template, &t, &openid));
        txs.push(t);
        if txs.len() == 10_000 {
            store.insert_seeded(&rows, &txs, &refunds)?;
            rows.clear();
            out.payments += txs.len() as u64;
            out.refunds += refunds.len() as u64;
            txs.clear();
            refunds.clear();
        }
    }
    store.insert_seeded(&rows, &txs, &refunds)?;
    out.payments += txs.len() as u64;
    out.refunds += refunds.len() as u64;
    Ok(out)
}

/// The completed order behind seeded deduction `t`.
fn seeded_order(template: &ServiceOrder, t: &TransactionRow, openid: &str) -> OrderRow {
    let mut o = template.clone();
    let paid = Fen(t.amount);
    o.out_order_no = OutOrderNo::from(t.out_order_no.as_str());
    o.order_id = Some(OrderId::from(t.order_id.as_str()));
    o.openid = Some(OpenId::from(openid));
    o.total_amount = Some(paid);
    if let Some(p) = o.post_payments.first_mut() {
        p.amount = paid;
    }
    if let Some(c) = &mut o.collection {
        c.total_amount = Some(paid);
        c.paid_amount = Some(paid);
        if let Some(d) = c.details.first_mut() {
            d.amount = paid;
            d.paid_time = Some(crate::util::payscore_time(t.paid_ms / 1000));
            d.transaction_id = Some(TransactionId::from(t.transaction_id.as_str()));
        }
    }
    OrderRow {
        sp_mchid: t.sp_mchid.clone(),
        sub_mchid: t.sub_mchid.clone(),
        out_order_no: t.out_order_no.clone(),
        // Unique per sub-merchant, like the random one of an order made through the API.
        query_id: format!("seed{}", t.order_id),
        order: o,
        request_json: String::new(),
        deduction_due_ms: None,
        deduction_error: None,
        modified: false,
        version: 1,
        created_ms: t.paid_ms - 1000,
        updated_ms: t.paid_ms,
    }
}
