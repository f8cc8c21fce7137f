//! Callback deliveries and their attempts: queued in the transaction that causes them,
//! taken when due, each attempt recorded before it is made.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Attempt, Delivery, Result, Store, UNFINISHED_ATTEMPT};

pub(super) const DELIVERY_COLS: &str = "id, event_id, sp_mchid, out_order_no, notify_url, event_type, body, attempts, state, next_attempt_ms, created_ms";

/// Columns `delivery_id, attempt_no, at_ms, status, error, duration_ms`.
pub(super) fn attempt_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Attempt> {
    Ok(Attempt {
        delivery_id: r.get(0)?,
        attempt_no: r.get(1)?,
        at_ms: r.get(2)?,
        status: r.get(3)?,
        error: r.get(4)?,
        duration_ms: r.get(5)?,
    })
}

pub(super) fn delivery_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        event_id: r.get(1)?,
        sp_mchid: r.get(2)?,
        out_order_no: r.get(3)?,
        notify_url: r.get(4)?,
        event_type: r.get(5)?,
        body: r.get(6)?,
        attempts: r.get(7)?,
        state: r.get(8)?,
        next_attempt_ms: r.get(9)?,
        created_ms: r.get(10)?,
    })
}

/// Queues a callback inside the transaction that caused it.
pub(super) fn insert_delivery(tx: &rusqlite::Transaction<'_>, d: &Delivery) -> Result<()> {
    tx.execute(
        "INSERT INTO deliveries (event_id, sp_mchid, out_order_no, notify_url, event_type, body, attempts, state, next_attempt_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 'pending', ?7, ?8)",
        params![d.event_id, d.sp_mchid, d.out_order_no, d.notify_url, d.event_type, d.body, d.next_attempt_ms, d.created_ms],
    )?;
    Ok(())
}

impl Store {
    /// Pending deliveries due at `now_ms`, marked `sending` so that no one else takes them.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn take_due_deliveries(&self, now_ms: i64, max: usize) -> Result<Vec<Delivery>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let rows = {
            let mut st = tx.prepare_cached(&format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE state = 'pending' AND next_attempt_ms <= ?1 LIMIT ?2"))?;
            st.query_map(params![now_ms, max.min(100)], delivery_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        for d in &rows {
            tx.execute(
                "UPDATE deliveries SET state = 'sending', next_attempt_ms = NULL WHERE id = ?1",
                params![d.id],
            )?;
        }
        tx.commit()?;
        Ok(rows)
    }

    /// Records an attempt before it is made, committed, so that an attempt that reaches
    /// the receiver is on record even if the sandbox dies during it. Returns its row id;
    /// [`finish_attempt`](Self::finish_attempt) completes it.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn start_attempt(
        &self,
        delivery_id: i64,
        attempt_no: i64,
        at_ms: i64,
    ) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO attempts (delivery_id, attempt_no, at_ms, status, error, duration_ms) VALUES (?1, ?2, ?3, NULL, ?4, 0)",
            params![delivery_id, attempt_no, at_ms, UNFINISHED_ATTEMPT],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE deliveries SET attempts = ?2 WHERE id = ?1",
            params![delivery_id, attempt_no],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Completes attempt `attempt_id` of `a.delivery_id` with its outcome, and sets the
    /// delivery's new state.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn finish_attempt(
        &self,
        attempt_id: i64,
        a: &Attempt,
        state: &str,
        next_attempt_ms: Option<i64>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE attempts SET status = ?2, error = ?3, duration_ms = ?4 WHERE id = ?1",
            params![attempt_id, a.status, a.error, a.duration_ms],
        )?;
        tx.execute(
            "UPDATE deliveries SET state = ?2, next_attempt_ms = ?3 WHERE id = ?1",
            params![a.delivery_id, state, next_attempt_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The newest deliveries with their attempts.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn list_deliveries(&self, limit: u32) -> Result<Vec<(Delivery, Vec<Attempt>)>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {DELIVERY_COLS} FROM deliveries ORDER BY id DESC LIMIT ?1"
        ))?;
        let ds = st
            .query_map(params![limit], delivery_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut at = conn.prepare("SELECT delivery_id, attempt_no, at_ms, status, error, duration_ms FROM attempts WHERE delivery_id = ?1 ORDER BY attempt_no")?;
        ds.into_iter()
            .map(|d| {
                let a = at
                    .query_map(params![d.id], attempt_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((d, a))
            })
            .collect()
    }
}

/// A signature probe sent before a callback's first attempt, and the receiver's answer.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Probe {
    /// When (unix ms).
    pub(crate) at_ms: i64,
    /// The receiver's HTTP status, if it answered.
    pub(crate) status: Option<i64>,
    /// Why it got no answer.
    pub(crate) error: Option<String>,
    /// Whether the receiver refused the probe (a non-2xx status): it verifies signatures.
    /// `None` when it did not answer.
    pub(crate) verifies: Option<bool>,
}

impl Store {
    /// Records the probe sent before delivery `delivery_id`.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn record_probe(&self, delivery_id: i64, p: &Probe) -> Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO probes (delivery_id, at_ms, status, error) VALUES (?1, ?2, ?3, ?4)",
            params![delivery_id, p.at_ms, p.status, p.error],
        )?;
        Ok(())
    }

    /// The probe sent before delivery `delivery_id`, if one was.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn probe(&self, delivery_id: i64) -> Result<Option<Probe>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT at_ms, status, error FROM probes WHERE delivery_id = ?1")?
            .query_row(params![delivery_id], |r| {
                let status: Option<i64> = r.get(1)?;
                Ok(Probe {
                    at_ms: r.get(0)?,
                    status,
                    error: r.get(2)?,
                    verifies: status.map(|s| {
                        !u16::try_from(s).is_ok_and(wechatpay_core::notify::is_acknowledged)
                    }),
                })
            })
            .optional()?)
    }
}
