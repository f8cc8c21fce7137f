//! Bulk test data: paid orders (and some refunds) written straight into the ledger, so
//! that bills and the inspection page can be tried at a million rows without a million
//! API calls (`wxpay sandbox seed`).

use crate::config::Config;
use crate::store::{RefundRow, Store, StoreError, TransactionRow};
use crate::util::random_digits;

/// What [`seed`] inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Paid deductions.
    pub payments: u64,
    /// Successful refunds (half of the payment each).
    pub refunds: u64,
}

/// Inserts `orders` paid deductions spread over the Beijing-time `day`, of the first
/// provider's first sub-merchant, and refunds half of every `refund_every`-th one (0: none),
/// in batches of 10 000 rows per SQLite transaction.
///
/// # Errors
/// [`StoreError`] on SQLite failures; [`StoreError::Inconsistent`] when the configuration
/// has no provider with a sub-merchant.
pub fn seed(
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
    let openid = config
        .users
        .first()
        .map_or_else(|| "oSEED".to_owned(), |u| u.openid.clone());
    let start_ms = (day.midnight().assume_utc().unix_timestamp() - 8 * 3600) * 1000;
    let run = random_digits(6);
    let mut out = Seeded {
        payments: 0,
        refunds: 0,
    };
    let (mut txs, mut refunds) = (Vec::with_capacity(10_000), Vec::new());
    for i in 0..orders {
        let amount = 100 + i64::try_from(i % 4901).unwrap_or(0);
        // Spread over the day, leaving the last minutes for refunds.
        let paid_ms = start_ms + i64::try_from(i * 86_000_000 / orders.max(1)).unwrap_or(0);
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
        txs.push(t);
        if txs.len() == 10_000 {
            store.insert_transactions(&txs, &refunds)?;
            out.payments += txs.len() as u64;
            out.refunds += refunds.len() as u64;
            txs.clear();
            refunds.clear();
        }
    }
    store.insert_transactions(&txs, &refunds)?;
    out.payments += txs.len() as u64;
    out.refunds += refunds.len() as u64;
    Ok(out)
}
