//! What the console reads: orders by filter, one order with everything about it. The
//! indexes keep a page fast with a million orders.

use rusqlite::{OptionalExtension, params};

use super::ledger::{REFUND_COLS, TX_COLS, refund_from_row, tx_from_row};
use super::requests::{COLS as REQUEST_COLS, from_row as request_from_row};
use super::{
    Attempt, Cursor, DELIVERY_COLS, Delivery, ORDER_COLS, OrderRow, Page, RefundRow, RequestRow,
    Result, Store, TransactionRow, attempt_from_row, delivery_from_row, order_from_row,
};

pub(super) const SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS orders_created ON orders(created_ms);
CREATE INDEX IF NOT EXISTS orders_state ON orders(json_extract(order_json, '$.state'), created_ms);
CREATE INDEX IF NOT EXISTS orders_sub ON orders(sub_mchid, created_ms);
CREATE INDEX IF NOT EXISTS orders_openid ON orders(json_extract(order_json, '$.openid'), created_ms);
CREATE INDEX IF NOT EXISTS orders_service ON orders(json_extract(order_json, '$.service_id'), created_ms);
CREATE INDEX IF NOT EXISTS transactions_order ON transactions(sp_mchid, out_order_no);
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries(out_order_no);
";

/// Which orders to list; `None` matches any.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrderFilter {
    /// `CREATED`, `DOING`, `DONE`, `REVOKED`, `EXPIRED`.
    pub(crate) state: Option<String>,
    /// The sub-merchant.
    pub(crate) sub_mchid: Option<String>,
    /// The user.
    pub(crate) openid: Option<String>,
    /// The Pay Score service.
    pub(crate) service_id: Option<String>,
    /// Created at or after this unix ms.
    pub(crate) from_ms: Option<i64>,
    /// Created before this unix ms.
    pub(crate) until_ms: Option<i64>,
}

/// An order and everything the sandbox knows about it.
#[derive(Debug, Clone)]
pub(crate) struct OrderRecord {
    /// The order.
    pub(crate) order: OrderRow,
    /// API requests about it, oldest first (those still in the request log).
    pub(crate) requests: Vec<RequestRow>,
    /// Its deductions.
    pub(crate) transactions: Vec<TransactionRow>,
    /// Refunds of its deductions.
    pub(crate) refunds: Vec<RefundRow>,
    /// Its callbacks, with every attempt.
    pub(crate) deliveries: Vec<(Delivery, Vec<Attempt>)>,
}

impl Store {
    /// A page of orders matching `f`, newest first, after cursor `before`
    /// (`(created_ms, rowid)`); each row with its rowid.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn find_orders(
        &self,
        f: &OrderFilter,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<Page<(i64, OrderRow)>> {
        // Only the given conditions go into the statement, so that SQLite can answer from
        // the index of the most selective one, already in time order.
        let mut conds: Vec<&str> = Vec::new();
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        for (sql, v) in [
            ("json_extract(order_json, '$.state') = ?", &f.state),
            ("sub_mchid = ?", &f.sub_mchid),
            ("json_extract(order_json, '$.openid') = ?", &f.openid),
            (
                "json_extract(order_json, '$.service_id') = ?",
                &f.service_id,
            ),
        ] {
            if let Some(v) = v {
                conds.push(sql);
                args.push(v.clone().into());
            }
        }
        if let Some(from) = f.from_ms {
            conds.push("created_ms >= ?");
            args.push(from.into());
        }
        if let Some(until) = f.until_ms {
            conds.push("created_ms < ?");
            args.push(until.into());
        }
        let (t, r) = before.unwrap_or((i64::MAX, i64::MAX));
        conds.push("(created_ms, rowid) < (?, ?)");
        args.extend([t.into(), r.into()]);
        args.push(i64::from(limit).into());
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {ORDER_COLS}, rowid FROM orders WHERE {} ORDER BY created_ms DESC, rowid DESC LIMIT ?",
            conds.join(" AND ")
        ))?;
        let mut rows = Vec::new();
        let mut q = st.query(rusqlite::params_from_iter(args))?;
        while let Some(row) = q.next()? {
            let (order, json) = order_from_row(row)?;
            rows.push((row.get::<_, i64>(12)?, order, json));
        }
        drop(q);
        drop(st);
        drop(conn);
        let next = (rows.len() == limit as usize)
            .then(|| rows.last().map(|(id, o, _)| (o.created_ms, *id)))
            .flatten();
        let rows = rows
            .into_iter()
            .map(|(id, mut o, json)| {
                o.order = serde_json::from_str(&json)?;
                Ok((id, o))
            })
            .collect::<Result<_>>()?;
        Ok(Page { rows, next })
    }

    /// Makes a callback due again at `now_ms` (not while an attempt is being made);
    /// whether there was one.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn resend_delivery(&self, event_id: &str, now_ms: i64) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE deliveries SET state = 'pending', next_attempt_ms = ?2 WHERE event_id = ?1 AND state != 'sending'",
            params![event_id, now_ms],
        )?;
        Ok(n > 0)
    }

    /// The order with this rowid and everything about it.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn order_record(&self, rowid: i64) -> Result<Option<OrderRecord>> {
        self.flush_log()?;
        let conn = self.conn();
        let Some((mut order, json)) = conn
            .prepare_cached(&format!("SELECT {ORDER_COLS} FROM orders WHERE rowid = ?1"))?
            .query_row([rowid], order_from_row)
            .optional()?
        else {
            return Ok(None);
        };
        order.order = serde_json::from_str(&json)?;
        let no = order.out_order_no.as_str();
        let requests = conn
            .prepare_cached(&format!(
                "SELECT {REQUEST_COLS} FROM requests WHERE out_order_no = ?1 ORDER BY id"
            ))?
            .query_map([no], request_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // Sorted here: an ORDER BY paid_ms would lead SQLite to the (sp_mchid, paid_ms)
        // index and a scan of every payment of the provider.
        let mut transactions = conn
            .prepare_cached(&format!(
                "SELECT {TX_COLS} FROM transactions INDEXED BY transactions_order WHERE sp_mchid = ?1 AND out_order_no = ?2"
            ))?
            .query_map(params![order.sp_mchid, no], tx_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        transactions.sort_by_key(|t| t.paid_ms);
        let mut refunds = Vec::new();
        for t in &transactions {
            let mut st = conn.prepare_cached(&format!(
                "SELECT {REFUND_COLS} FROM refunds WHERE transaction_id = ?1 ORDER BY created_ms"
            ))?;
            refunds.extend(
                st.query_map([&t.transaction_id], refund_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            );
        }
        let ds = conn
            .prepare_cached(&format!(
                "SELECT {DELIVERY_COLS} FROM deliveries WHERE sp_mchid = ?1 AND out_order_no = ?2 ORDER BY id"
            ))?
            .query_map(params![order.sp_mchid, no], delivery_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut deliveries = Vec::new();
        for d in ds {
            let attempts = conn
                .prepare_cached("SELECT delivery_id, attempt_no, at_ms, status, error, duration_ms FROM attempts WHERE delivery_id = ?1 ORDER BY attempt_no")?
                .query_map([d.id], attempt_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            deliveries.push((d, attempts));
        }
        Ok(Some(OrderRecord {
            order,
            requests,
            transactions,
            refunds,
            deliveries,
        }))
    }
}
