//! The ledger behind refunds and bills: one transaction per WeChat Pay deduction
//! (`paid_type NEWTON`), and the refunds against them (lifecycle spec §4.7, §5.6).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Delivery, Result, Store, insert_delivery};

/// A payment WeChat Pay collected: a Pay Score deduction.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TransactionRow {
    /// WeChat Pay's transaction id (`collection.details[].transaction_id`).
    pub(crate) transaction_id: String,
    /// Service provider.
    pub(crate) sp_mchid: String,
    /// Sub-merchant ("" for a direct merchant).
    pub(crate) sub_mchid: String,
    /// The merchant trade number WeChat Pay generated for the deduction.
    pub(crate) out_trade_no: String,
    /// The order's `out_order_no`.
    pub(crate) out_order_no: String,
    /// The order's `order_id`.
    pub(crate) order_id: String,
    /// The order's appid.
    pub(crate) appid: String,
    /// The payer.
    pub(crate) openid: String,
    /// Fen.
    pub(crate) amount: i64,
    /// When it was paid (unix ms).
    pub(crate) paid_ms: i64,
    /// 商品名称 in the bill: the order's `service_introduction`.
    pub(crate) description: String,
    /// 交易类型 in the bill: `AUTH` for a deduction, `JSAPI` when the user paid actively
    /// (payscore-provider-notes.md, bill rows).
    pub(crate) trade_type: String,
}

impl TransactionRow {
    /// 商户订单号 in the bills: the generated number of a deduction, the `out_order_no`
    /// of an active payment.
    pub(crate) fn bill_trade_no(&self) -> &str {
        if self.trade_type == ACTIVE_PAYMENT {
            &self.out_order_no
        } else {
            &self.out_trade_no
        }
    }
}

/// 交易类型 of a deduction.
pub(crate) const DEDUCTION: &str = "AUTH";
/// 交易类型 of a payment the user made from Pay Score's list of orders to pay.
pub(crate) const ACTIVE_PAYMENT: &str = "JSAPI";

/// A refund.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RefundRow {
    /// Service provider.
    pub(crate) sp_mchid: String,
    /// Sub-merchant.
    pub(crate) sub_mchid: String,
    /// The merchant's refund number.
    pub(crate) out_refund_no: String,
    /// WeChat Pay's refund id.
    pub(crate) refund_id: String,
    /// The refunded transaction.
    pub(crate) transaction_id: String,
    /// Fen refunded.
    pub(crate) refund: i64,
    /// `PROCESSING`, `SUCCESS`, `CLOSED` or `ABNORMAL`.
    pub(crate) status: String,
    /// What it settles to when due.
    pub(crate) outcome: String,
    /// Canonical request JSON (for re-entry checks).
    #[serde(skip)]
    pub(crate) request_json: String,
    /// Where the REFUND.* callback goes ("" for none).
    pub(crate) notify_url: String,
    /// When it settles (unix ms), while PROCESSING.
    pub(crate) due_ms: Option<i64>,
    /// Accepted (unix ms).
    pub(crate) created_ms: i64,
    /// Succeeded (unix ms).
    pub(crate) success_ms: Option<i64>,
}

/// Where a page of a long list ends: (time in unix ms, SQLite row id).
pub(crate) type Cursor = (i64, i64);

/// A page of a long list, newest first.
#[derive(Debug, Clone)]
pub(crate) struct Page<T> {
    /// The rows.
    pub(crate) rows: Vec<T>,
    /// The cursor of the next page; `None` after the last.
    pub(crate) next: Option<Cursor>,
}

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS transactions (
  transaction_id TEXT PRIMARY KEY, sp_mchid TEXT NOT NULL, sub_mchid TEXT NOT NULL,
  out_trade_no TEXT NOT NULL UNIQUE, out_order_no TEXT NOT NULL, order_id TEXT NOT NULL,
  appid TEXT NOT NULL, openid TEXT NOT NULL, amount INTEGER NOT NULL, paid_ms INTEGER NOT NULL,
  description TEXT NOT NULL, trade_type TEXT NOT NULL DEFAULT 'AUTH'
);
CREATE INDEX IF NOT EXISTS transactions_day ON transactions(sp_mchid, paid_ms);
CREATE INDEX IF NOT EXISTS transactions_time ON transactions(paid_ms);
CREATE TABLE IF NOT EXISTS refunds (
  sp_mchid TEXT NOT NULL, sub_mchid TEXT NOT NULL, out_refund_no TEXT NOT NULL,
  refund_id TEXT NOT NULL, transaction_id TEXT NOT NULL, refund INTEGER NOT NULL,
  status TEXT NOT NULL, outcome TEXT NOT NULL, request_json TEXT NOT NULL, notify_url TEXT NOT NULL,
  due_ms INTEGER, created_ms INTEGER NOT NULL, success_ms INTEGER,
  PRIMARY KEY (sp_mchid, sub_mchid, out_refund_no)
);
CREATE INDEX IF NOT EXISTS refunds_transaction ON refunds(transaction_id);
CREATE INDEX IF NOT EXISTS refunds_day ON refunds(sp_mchid, created_ms);
CREATE INDEX IF NOT EXISTS refunds_time ON refunds(created_ms);
CREATE INDEX IF NOT EXISTS refunds_due ON refunds(due_ms) WHERE due_ms IS NOT NULL;
";

/// Brings a database made before active payments up to date: its transactions were all
/// deductions.
pub(super) fn migrate(conn: &rusqlite::Connection) -> Result<()> {
    let has_trade_type = conn
        .prepare("SELECT 1 FROM pragma_table_info('transactions') WHERE name = 'trade_type'")?
        .exists([])?;
    if !has_trade_type {
        conn.execute_batch(
            "ALTER TABLE transactions ADD COLUMN trade_type TEXT NOT NULL DEFAULT 'AUTH'",
        )?;
    }
    Ok(())
}

pub(super) const TX_COLS: &str = "transaction_id, sp_mchid, sub_mchid, out_trade_no, out_order_no, order_id, appid, openid, amount, paid_ms, description, trade_type";
pub(super) const REFUND_COLS: &str = "sp_mchid, sub_mchid, out_refund_no, refund_id, transaction_id, refund, status, outcome, request_json, notify_url, due_ms, created_ms, success_ms";

pub(super) fn tx_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TransactionRow> {
    tx_at(r, 0)
}

/// A transaction from `TX_COLS` starting at column `n` (after other columns in a join).
fn tx_at(r: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<TransactionRow> {
    Ok(TransactionRow {
        transaction_id: r.get(n)?,
        sp_mchid: r.get(n + 1)?,
        sub_mchid: r.get(n + 2)?,
        out_trade_no: r.get(n + 3)?,
        out_order_no: r.get(n + 4)?,
        order_id: r.get(n + 5)?,
        appid: r.get(n + 6)?,
        openid: r.get(n + 7)?,
        amount: r.get(n + 8)?,
        paid_ms: r.get(n + 9)?,
        description: r.get(n + 10)?,
        trade_type: r.get(n + 11)?,
    })
}

pub(super) fn refund_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RefundRow> {
    Ok(RefundRow {
        sp_mchid: r.get(0)?,
        sub_mchid: r.get(1)?,
        out_refund_no: r.get(2)?,
        refund_id: r.get(3)?,
        transaction_id: r.get(4)?,
        refund: r.get(5)?,
        status: r.get(6)?,
        outcome: r.get(7)?,
        request_json: r.get(8)?,
        notify_url: r.get(9)?,
        due_ms: r.get(10)?,
        created_ms: r.get(11)?,
        success_ms: r.get(12)?,
    })
}

pub(super) fn insert_transaction(tx: &rusqlite::Connection, t: &TransactionRow) -> Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO transactions ({TX_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT DO NOTHING"
    ))?
    .execute(params![
        t.transaction_id,
        t.sp_mchid,
        t.sub_mchid,
        t.out_trade_no,
        t.out_order_no,
        t.order_id,
        t.appid,
        t.openid,
        t.amount,
        t.paid_ms,
        t.description,
        t.trade_type
    ])?;
    Ok(())
}

impl Store {
    /// The transaction of provider `sp` with this `transaction_id` or generated
    /// `out_trade_no`.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn transaction(
        &self,
        sp: &str,
        transaction_id: Option<&str>,
        out_trade_no: Option<&str>,
    ) -> Result<Option<TransactionRow>> {
        let conn = self.conn();
        let (sql, key) = match (transaction_id, out_trade_no) {
            (Some(t), _) => ("transaction_id", t),
            (None, Some(o)) => ("out_trade_no", o),
            (None, None) => return Ok(None),
        };
        Ok(conn
            .prepare_cached(&format!(
                "SELECT {TX_COLS} FROM transactions WHERE sp_mchid = ?1 AND {sql} = ?2"
            ))?
            .query_row(params![sp, key], tx_from_row)
            .optional()?)
    }

    /// Inserts orders, transactions and refunds directly, in one transaction (bulk test
    /// data: `wxpay sandbox seed`).
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn insert_seeded(
        &self,
        orders: &[super::OrderRow],
        rows: &[TransactionRow],
        refunds: &[RefundRow],
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for o in orders {
            super::insert_order_row(&tx, o)?;
        }
        for t in rows {
            insert_transaction(&tx, t)?;
        }
        for r in refunds {
            insert_refund_row(&tx, r)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many refunds a transaction has, and the fen they take (CLOSED ones excluded).
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn refunded(&self, transaction_id: &str) -> Result<(i64, i64)> {
        Ok(self
            .conn()
            .prepare_cached("SELECT COUNT(*), COALESCE(SUM(refund), 0) FROM refunds WHERE transaction_id = ?1 AND status != 'CLOSED'")?
            .query_row(params![transaction_id], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    /// The refund with this key.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn refund(
        &self,
        sp: &str,
        sub: &str,
        out_refund_no: &str,
    ) -> Result<Option<RefundRow>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {REFUND_COLS} FROM refunds WHERE sp_mchid = ?1 AND sub_mchid = ?2 AND out_refund_no = ?3"))?
            .query_row(params![sp, sub, out_refund_no], refund_from_row)
            .optional()?)
    }

    /// The refund with WeChat Pay's id `refund_id`, of `sp` and `sub`.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn refund_by_id(
        &self,
        sp: &str,
        sub: &str,
        refund_id: &str,
    ) -> Result<Option<RefundRow>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {REFUND_COLS} FROM refunds WHERE sp_mchid = ?1 AND sub_mchid = ?2 AND refund_id = ?3"))?
            .query_row(params![sp, sub, refund_id], refund_from_row)
            .optional()?)
    }

    /// Makes an ABNORMAL refund PROCESSING again, to settle as SUCCESS at `due_ms`;
    /// `false` when it is no longer ABNORMAL.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn reapply_abnormal_refund(&self, r: &RefundRow, due_ms: i64) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE refunds SET status = 'PROCESSING', outcome = 'SUCCESS', due_ms = ?4 WHERE sp_mchid = ?1 AND sub_mchid = ?2 AND out_refund_no = ?3 AND status = 'ABNORMAL'",
            params![r.sp_mchid, r.sub_mchid, r.out_refund_no, due_ms],
        )? > 0)
    }

    /// Inserts a refund unless its key exists; returns the existing one then.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn insert_refund(&self, r: &RefundRow) -> Result<Option<RefundRow>> {
        let conn = self.conn();
        if insert_refund_row(&conn, r)? == 1 {
            return Ok(None);
        }
        drop(conn);
        self.refund(&r.sp_mchid, &r.sub_mchid, &r.out_refund_no)
    }

    /// Refunds due to settle at `now_ms`.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn due_refunds(&self, now_ms: i64) -> Result<Vec<RefundRow>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {REFUND_COLS} FROM refunds WHERE due_ms IS NOT NULL AND due_ms <= ?1 LIMIT 200"
        ))?;
        let rows = st
            .query_map(params![now_ms], refund_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Saves a refund's new state (and queues its callback) in one transaction, if it is
    /// still PROCESSING.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn settle_refund(&self, r: &RefundRow, callback: Option<&Delivery>) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE refunds SET status = ?4, due_ms = NULL, success_ms = ?5 WHERE sp_mchid = ?1 AND sub_mchid = ?2 AND out_refund_no = ?3 AND status = 'PROCESSING'",
            params![r.sp_mchid, r.sub_mchid, r.out_refund_no, r.status, r.success_ms],
        )?;
        if n == 0 {
            return Ok(false);
        }
        if let Some(d) = callback {
            insert_delivery(&tx, d)?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Sets what a PROCESSING refund settles to, due at `due_ms` (test helper).
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn set_refund_outcome(
        &self,
        sp: &str,
        out_refund_no: &str,
        outcome: &str,
        due_ms: i64,
    ) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE refunds SET outcome = ?3, due_ms = ?4 WHERE sp_mchid = ?1 AND out_refund_no = ?2 AND status = 'PROCESSING'",
            params![sp, out_refund_no, outcome, due_ms],
        )? > 0)
    }

    /// A page of transactions, newest first, after cursor `before` (keyset pagination on
    /// (time, row), so that a page costs the same at any depth of a million rows). Returns
    /// the rows and the cursor of the next page.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn list_transactions(
        &self,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<Page<TransactionRow>> {
        self.page(
            "transactions",
            TX_COLS,
            "paid_ms",
            before,
            limit,
            tx_from_row,
        )
    }

    /// A page of refunds, newest first, after cursor `before`.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn list_refunds(
        &self,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<Page<RefundRow>> {
        self.page(
            "refunds",
            REFUND_COLS,
            "created_ms",
            before,
            limit,
            refund_from_row,
        )
    }

    fn page<T>(
        &self,
        table: &str,
        cols: &str,
        time: &str,
        before: Option<Cursor>,
        limit: u32,
        decode: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Page<T>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {cols}, {time}, rowid FROM {table} WHERE ({time}, rowid) < (?1, ?2) ORDER BY {time} DESC, rowid DESC LIMIT ?3"
        ))?;
        let n = cols.split(", ").count();
        let (t, r) = before.unwrap_or((i64::MAX, i64::MAX));
        let mut rows = Vec::new();
        let mut next = None;
        let mut q = st.query(params![t, r, limit])?;
        while let Some(row) = q.next()? {
            rows.push(decode(row)?);
            next = Some((row.get(n)?, row.get(n + 1)?));
        }
        // A short page is the last.
        if rows.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
            next = None;
        }
        Ok(Page { rows, next })
    }

    /// The earliest refund due, unix ms.
    pub(super) fn next_refund_due(conn: &rusqlite::Connection) -> Result<Option<i64>> {
        Ok(conn
            .prepare_cached("SELECT MIN(due_ms) FROM refunds WHERE due_ms IS NOT NULL")?
            .query_row([], |r| r.get(0))?)
    }

    /// Runs `f` on a connection for a long read (a bill): a separate read connection for
    /// a database file, so that requests are not held up; the shared one in memory.
    ///
    /// # Errors
    /// SQLite failures, or `f`'s.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> Result<T>) -> Result<T> {
        match &self.path {
            Some(p) => {
                let c = rusqlite::Connection::open_with_flags(
                    p,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                f(&c)
            }
            None => f(&self.conn()),
        }
    }
}

fn insert_refund_row(conn: &rusqlite::Connection, r: &RefundRow) -> Result<usize> {
    Ok(conn
        .prepare_cached(&format!(
            "INSERT INTO refunds ({REFUND_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT DO NOTHING"
        ))?
        .execute(params![
            r.sp_mchid,
            r.sub_mchid,
            r.out_refund_no,
            r.refund_id,
            r.transaction_id,
            r.refund,
            r.status,
            r.outcome,
            r.request_json,
            r.notify_url,
            r.due_ms,
            r.created_ms,
            r.success_ms
        ])?)
}

/// Calls `f` for each transaction of provider `sp` (and sub-merchant `sub`, if given)
/// paid in `[from_ms, to_ms)`, in time order, streaming from SQLite.
///
/// # Errors
/// SQLite failures, or `f`'s.
pub(crate) fn for_each_transaction(
    conn: &rusqlite::Connection,
    sp: &str,
    sub: Option<&str>,
    (from_ms, to_ms): (i64, i64),
    mut f: impl FnMut(&TransactionRow) -> Result<()>,
) -> Result<()> {
    let mut st = conn.prepare(&format!(
        "SELECT {TX_COLS} FROM transactions WHERE sp_mchid = ?1 AND paid_ms >= ?2 AND paid_ms < ?3 AND (?4 IS NULL OR sub_mchid = ?4) ORDER BY paid_ms, transaction_id"
    ))?;
    let mut rows = st.query(params![sp, from_ms, to_ms, sub])?;
    while let Some(r) = rows.next()? {
        f(&tx_from_row(r)?)?;
    }
    Ok(())
}

/// Calls `f` for each refund of provider `sp` (and `sub`, if given) applied for (or, with
/// `by_success`, that succeeded) in `[from_ms, to_ms)`, with its transaction, in time
/// order, streaming from SQLite.
///
/// # Errors
/// SQLite failures, or `f`'s.
pub(crate) fn for_each_refund(
    conn: &rusqlite::Connection,
    sp: &str,
    sub: Option<&str>,
    (from_ms, to_ms): (i64, i64),
    by_success: bool,
    mut f: impl FnMut(&RefundRow, &TransactionRow) -> Result<()>,
) -> Result<()> {
    let at = if by_success {
        "success_ms"
    } else {
        "created_ms"
    };
    let cols = |p: &str, list: &str| {
        list.split(", ")
            .map(|c| format!("{p}.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut st = conn.prepare(&format!(
        "SELECT {}, {} FROM refunds r JOIN transactions t ON t.transaction_id = r.transaction_id WHERE r.sp_mchid = ?1 AND r.{at} >= ?2 AND r.{at} < ?3 AND (?4 IS NULL OR r.sub_mchid = ?4) ORDER BY r.{at}, r.out_refund_no",
        cols("r", REFUND_COLS),
        cols("t", TX_COLS)
    ))?;
    let mut rows = st.query(params![sp, from_ms, to_ms, sub])?;
    let n = REFUND_COLS.split(", ").count();
    while let Some(r) = rows.next()? {
        let refund = refund_from_row(r)?;
        let t = tx_at(r, n)?;
        f(&refund, &t)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_ledger_gets_trade_types_and_its_rows_are_deductions() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE transactions (
              transaction_id TEXT PRIMARY KEY, sp_mchid TEXT NOT NULL, sub_mchid TEXT NOT NULL,
              out_trade_no TEXT NOT NULL UNIQUE, out_order_no TEXT NOT NULL, order_id TEXT NOT NULL,
              appid TEXT NOT NULL, openid TEXT NOT NULL, amount INTEGER NOT NULL, paid_ms INTEGER NOT NULL,
              description TEXT NOT NULL);
             INSERT INTO transactions VALUES ('42', 'sp', 'sub', 'T1', 'RENT1', '1000', 'wx1', 'o1', 250, 0, '充电宝');",
        )
        .unwrap();
        migrate(&conn).unwrap();
        migrate(&conn).unwrap();
        let t = conn
            .query_row(
                &format!("SELECT {TX_COLS} FROM transactions"),
                [],
                tx_from_row,
            )
            .unwrap();
        assert_eq!(
            (t.trade_type.as_str(), t.bill_trade_no()),
            (DEDUCTION, "T1")
        );
    }
}
