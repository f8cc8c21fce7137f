//! Orders, authorizations and callback deliveries in SQLite. Every change is one transaction; an order that
//! was answered with 2xx has been committed first, so it survives a kill -9.

use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

mod authorizations;
mod console;
mod deliveries;
use deliveries::{DELIVERY_COLS, attempt_from_row, delivery_from_row, insert_delivery};
mod ledger;
mod requests;

pub(crate) use authorizations::{AuthorizationRow, AuthorizationState};
pub(crate) use console::{OrderFilter, OrderRecord};
pub(crate) use deliveries::Probe;
pub(crate) use ledger::{ACTIVE_PAYMENT, Cursor, DEDUCTION, Page, RefundRow, TransactionRow};
pub(crate) use ledger::{for_each_refund, for_each_transaction};
pub(crate) use requests::{REQUEST_LOG_ROWS, RequestRow, SignatureCheck};
use serde::Serialize;
use wechatpay_models::v3::payscore::ServiceOrder;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StoreError {
    /// SQLite failed.
    #[error("sandbox store: SQLite")]
    Sql(#[from] rusqlite::Error),
    /// A stored order or callback is not the JSON it should be.
    #[error("sandbox store: stored JSON")]
    Json(#[from] serde_json::Error),
    /// The database contradicts itself (a row vanished inside its own transaction).
    #[error("sandbox store: {0}")]
    Inconsistent(&'static str),
    /// A bill file could not be written.
    #[error("sandbox store: bill file")]
    Io(#[from] std::io::Error),
}

type Result<T> = std::result::Result<T, StoreError>;

/// An order with the sandbox's bookkeeping.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OrderRow {
    /// Service provider.
    pub(crate) sp_mchid: String,
    /// Sub-merchant ("" for direct merchants).
    pub(crate) sub_mchid: String,
    /// Merchant order number.
    pub(crate) out_order_no: String,
    /// WeChat's `query_id`: the front end gets it when the user returns from the confirm
    /// page, and query accepts it instead of `out_order_no`.
    pub(crate) query_id: String,
    /// The order as query answers it.
    pub(crate) order: ServiceOrder,
    /// Canonical JSON of the creating request (for re-entry checks).
    #[serde(skip)]
    pub(crate) request_json: String,
    /// When the next deduction attempt is due (unix ms).
    pub(crate) deduction_due_ms: Option<i64>,
    /// Why the last deduction failed.
    pub(crate) deduction_error: Option<String>,
    /// Whether modify was used.
    pub(crate) modified: bool,
    /// Incremented by every update; an update based on an older version is refused.
    pub(crate) version: i64,
    /// Created (unix ms).
    pub(crate) created_ms: i64,
    /// Updated (unix ms).
    pub(crate) updated_ms: i64,
}

/// A callback to deliver.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Delivery {
    /// Row id.
    pub(crate) id: i64,
    /// Event id (`id` of the envelope).
    pub(crate) event_id: String,
    /// Service provider (selects the APIv3 key and signing serial).
    pub(crate) sp_mchid: String,
    /// What it is about: the order's `out_order_no`, or an authorization's
    /// `authorization_code`.
    pub(crate) out_order_no: String,
    /// Where.
    pub(crate) notify_url: String,
    /// e.g. `PAYSCORE.USER_PAID`.
    pub(crate) event_type: String,
    /// The envelope JSON (encrypted resource inside); signed anew on each attempt.
    pub(crate) body: String,
    /// Attempts made.
    pub(crate) attempts: i64,
    /// `pending`, `sending`, `delivered` or `failed`.
    pub(crate) state: String,
    /// Next attempt (unix ms), when pending.
    pub(crate) next_attempt_ms: Option<i64>,
    /// Created (unix ms).
    pub(crate) created_ms: i64,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Attempt {
    /// Delivery row.
    pub(crate) delivery_id: i64,
    /// 1 for the first.
    pub(crate) attempt_no: i64,
    /// When (unix ms).
    pub(crate) at_ms: i64,
    /// Receiver's HTTP status, if it answered.
    pub(crate) status: Option<i64>,
    /// Transport error or non-2xx reason.
    pub(crate) error: Option<String>,
    /// Round trip, ms.
    pub(crate) duration_ms: i64,
}

/// The SQLite store.
#[derive(Debug)]
pub(crate) struct Store {
    conn: Mutex<Connection>,
    /// A second connection for WAL checkpoints, so that their fsync never holds up requests.
    checkpoint: Option<Mutex<Connection>>,
    /// The database file (`None` in memory), for long reads on their own connection.
    path: Option<String>,
    /// Bytes of the request log ([`requests::REQUEST_LOG_BYTES`]).
    logged_bytes: std::sync::atomic::AtomicU64,
    /// Requests waiting to be written to the log ([`Store::flush_log`]).
    pending_log: Mutex<Vec<requests::Pending>>,
}

impl Drop for Store {
    /// A clean end loses no logged request.
    fn drop(&mut self) {
        if let Err(e) = self.flush_log() {
            tracing::warn!(error = %wechatpay_core::ErrorChain(&e), "cannot write the request log");
        }
    }
}

/// The error of an attempt started but never finished: the sandbox stopped during it (it
/// may have reached the receiver).
pub(crate) const UNFINISHED_ATTEMPT: &str =
    "no outcome recorded: the sandbox stopped during this attempt (the receiver may have got it)";

/// WAL size that triggers a RESTART checkpoint (and the size the WAL file is cut to).
const WAL_RESTART_BYTES: i64 = 128 * 1024 * 1024;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA busy_timeout = 5000;
CREATE TABLE IF NOT EXISTS orders (
  sp_mchid TEXT NOT NULL, sub_mchid TEXT NOT NULL, out_order_no TEXT NOT NULL,
  order_id TEXT NOT NULL, order_json TEXT NOT NULL, request_json TEXT NOT NULL,
  deduction_due_ms INTEGER, deduction_error TEXT, modified INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, query_id TEXT,
  PRIMARY KEY (sp_mchid, sub_mchid, out_order_no)
);
CREATE INDEX IF NOT EXISTS orders_due ON orders(deduction_due_ms) WHERE deduction_due_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, sp_mchid TEXT NOT NULL, out_order_no TEXT NOT NULL,
  notify_url TEXT NOT NULL, event_type TEXT NOT NULL, body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, next_attempt_ms INTEGER, created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(next_attempt_ms) WHERE next_attempt_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS attempts (
  id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL, attempt_no INTEGER NOT NULL, at_ms INTEGER NOT NULL,
  status INTEGER, error TEXT, duration_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts(delivery_id);
CREATE TABLE IF NOT EXISTS probes (
  delivery_id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, status INTEGER, error TEXT
);
CREATE TABLE IF NOT EXISTS authorizations (
  sp_mchid TEXT NOT NULL, authorization_code TEXT NOT NULL, sub_mchid TEXT NOT NULL,
  service_id TEXT NOT NULL, appid TEXT NOT NULL, sub_appid TEXT, openid TEXT, sub_openid TEXT,
  state TEXT NOT NULL, token TEXT, token_expires_ms INTEGER, notify_url TEXT,
  request_json TEXT NOT NULL, success_ms INTEGER, cancel_ms INTEGER, created_ms INTEGER NOT NULL,
  PRIMARY KEY (sp_mchid, authorization_code)
);
CREATE INDEX IF NOT EXISTS authorizations_user ON authorizations(sp_mchid, sub_mchid, service_id, openid);
CREATE UNIQUE INDEX IF NOT EXISTS authorizations_token ON authorizations(token) WHERE token IS NOT NULL;
CREATE TABLE IF NOT EXISTS packages (
  package TEXT PRIMARY KEY, sp_mchid TEXT NOT NULL, sub_mchid TEXT NOT NULL,
  out_order_no TEXT NOT NULL, expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// The order's WeChat Pay payments (`NEWTON` payment details) as ledger transactions of
/// `trade_type`; those already recorded are skipped on insert.
fn new_transactions(row: &OrderRow, trade_type: &str) -> Vec<TransactionRow> {
    use wechatpay_models::v3::payscore::PaidType;
    let o = &row.order;
    let Some(c) = &o.collection else {
        return Vec::new();
    };
    c.details
        .iter()
        .filter(|d| d.paid_type == Some(PaidType::Newton))
        .filter_map(|d| {
            Some(TransactionRow {
                transaction_id: d.transaction_id.as_ref()?.as_str().to_owned(),
                sp_mchid: row.sp_mchid.clone(),
                sub_mchid: row.sub_mchid.clone(),
                out_trade_no: crate::util::random_digits(28),
                out_order_no: row.out_order_no.clone(),
                order_id: o
                    .order_id
                    .as_ref()
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
                appid: o
                    .appid
                    .as_ref()
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
                openid: o
                    .openid
                    .as_ref()
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
                amount: d.amount.get(),
                // The deduction is recorded as it happens, so the row's update time is
                // its moment to the millisecond, within paid_time's second.
                paid_ms: match d
                    .paid_time
                    .as_deref()
                    .and_then(wechatpay_models::validate::payscore_time_to_unix)
                {
                    Some(t) if row.updated_ms.div_euclid(1000) == t => row.updated_ms,
                    Some(t) => t * 1000,
                    None => row.updated_ms,
                },
                description: o.service_introduction.clone().unwrap_or_default(),
                trade_type: trade_type.to_owned(),
            })
        })
        .collect()
}

fn order_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(OrderRow, String)> {
    let json: String = r.get(3)?;
    Ok((
        OrderRow {
            sp_mchid: r.get(0)?,
            sub_mchid: r.get(1)?,
            out_order_no: r.get(2)?,
            query_id: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
            order: ServiceOrder::default(),
            request_json: r.get(4)?,
            deduction_due_ms: r.get(5)?,
            deduction_error: r.get(6)?,
            modified: r.get::<_, i64>(7)? != 0,
            created_ms: r.get(8)?,
            updated_ms: r.get(9)?,
            version: r.get(10)?,
        },
        json,
    ))
}

const ORDER_COLS: &str = "sp_mchid, sub_mchid, out_order_no, order_json, request_json, deduction_due_ms, deduction_error, modified, created_ms, updated_ms, version, query_id";

/// Inserts an order unless its key exists; 1 when inserted.
fn insert_order_row(conn: &Connection, row: &OrderRow) -> Result<usize> {
    Ok(conn
        .prepare_cached(&format!(
            "INSERT INTO orders ({ORDER_COLS}, order_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT (sp_mchid, sub_mchid, out_order_no) DO NOTHING"
        ))?
        .execute(params![
            row.sp_mchid,
            row.sub_mchid,
            row.out_order_no,
            serde_json::to_string(&row.order)?,
            row.request_json,
            row.deduction_due_ms,
            row.deduction_error,
            i64::from(row.modified),
            row.created_ms,
            row.updated_ms,
            row.version,
            row.query_id,
            row.order.order_id.as_ref().map(|o| o.as_str().to_owned()).unwrap_or_default(),
        ])?)
}

/// The outcome of inserting an order.
#[derive(Debug)]
pub(crate) enum Insert {
    /// Stored.
    Created,
    /// An order with this key exists already (returned as stored).
    Exists(Box<OrderRow>),
}

impl Store {
    /// Opens (and creates) the database: a file path or `:memory:`. Deliveries that were
    /// being sent when the process died are made due again.
    ///
    /// # Errors
    /// When SQLite cannot open or migrate the file.
    pub(crate) fn open(path: &str) -> Result<Self> {
        let conn = if path == ":memory:" {
            Connection::open_in_memory()?
        } else {
            Connection::open(path)?
        };
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(ledger::SCHEMA)?;
        conn.execute_batch(requests::SCHEMA)?;
        conn.execute_batch(console::SCHEMA)?;
        // Databases made before query ids existed get the column (their orders have none).
        let has_query_id = conn
            .prepare("SELECT 1 FROM pragma_table_info('orders') WHERE name = 'query_id'")?
            .exists([])?;
        if !has_query_id {
            conn.execute_batch("ALTER TABLE orders ADD COLUMN query_id TEXT")?;
        }
        ledger::migrate(&conn)?;
        conn.execute_batch(
            "CREATE UNIQUE INDEX IF NOT EXISTS orders_query_id ON orders(sp_mchid, sub_mchid, query_id) WHERE query_id IS NOT NULL",
        )?;
        conn.execute("UPDATE deliveries SET state = 'pending', next_attempt_ms = created_ms WHERE state = 'sending'", [])?;
        let checkpoint = if path == ":memory:" {
            None
        } else {
            // Commits only append to the WAL; the worker checkpoints it in the background
            // (see `checkpoint`), so that no request waits for the database file's fsync.
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            conn.pragma_update(None, "journal_size_limit", WAL_RESTART_BYTES)?;
            let c = Connection::open(path)?;
            c.busy_timeout(std::time::Duration::from_secs(2))?;
            Some(Mutex::new(c))
        };
        let logged_bytes = Self::request_log_bytes(&conn)?.into();
        Ok(Self {
            conn: Mutex::new(conn),
            checkpoint,
            path: (path != ":memory:").then(|| path.to_owned()),
            logged_bytes,
            pending_log: Mutex::default(),
        })
    }

    /// Copies committed pages from the WAL into the database without blocking writers
    /// (called by the worker about once a second). Under steady writes a passive
    /// checkpoint never catches up with the end of the WAL, so the WAL would grow for ever;
    /// once it passes 128 MiB a RESTART checkpoint briefly holds writers back so that the
    /// next commit starts the WAL from its beginning again.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn checkpoint(&self) -> Result<()> {
        let Some(c) = &self.checkpoint else {
            return Ok(());
        };
        let c = c.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let frames: i64 = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))?;
        let page: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        if frames.saturating_mul(page + 24) > WAL_RESTART_BYTES {
            c.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn decode(rows: Vec<(OrderRow, String)>) -> Result<Vec<OrderRow>> {
        rows.into_iter()
            .map(|(mut o, json)| {
                o.order = serde_json::from_str(&json)?;
                Ok(o)
            })
            .collect()
    }

    /// Inserts `row` unless its key exists.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn insert_order(&self, row: &OrderRow) -> Result<Insert> {
        let conn = self.conn();
        // One statement on the common path: the insert itself says whether the key exists.
        let inserted = insert_order_row(&conn, row)?;
        drop(conn);
        if inserted == 1 {
            return Ok(Insert::Created);
        }
        let existing = self.get_order(&row.sp_mchid, &row.sub_mchid, &row.out_order_no)?;
        existing
            .map(|e| Insert::Exists(Box::new(e)))
            .ok_or_else(|| StoreError::Inconsistent("order vanished during insert"))
    }

    /// The order with this key.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn get_order(
        &self,
        sp: &str,
        sub: &str,
        out_order_no: &str,
    ) -> Result<Option<OrderRow>> {
        let row = self
            .conn()
            .prepare_cached(&format!("SELECT {ORDER_COLS} FROM orders WHERE sp_mchid = ?1 AND sub_mchid = ?2 AND out_order_no = ?3"))?
            .query_row(params![sp, sub, out_order_no], order_from_row)
            .optional()?;
        Ok(Self::decode(row.into_iter().collect())?.pop())
    }

    /// The order with this `query_id`.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn get_order_by_query_id(
        &self,
        sp: &str,
        sub: &str,
        query_id: &str,
    ) -> Result<Option<OrderRow>> {
        let row = self
            .conn()
            .prepare_cached(&format!("SELECT {ORDER_COLS} FROM orders WHERE sp_mchid = ?1 AND sub_mchid = ?2 AND query_id = ?3"))?
            .query_row(params![sp, sub, query_id], order_from_row)
            .optional()?;
        Ok(Self::decode(row.into_iter().collect())?.pop())
    }

    /// Saves a changed order, and optionally queues a callback, in one transaction — only
    /// if nobody changed the order since `row` was read (same `version`). Returns whether it
    /// was saved.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn update_order(&self, row: &OrderRow, callback: Option<&Delivery>) -> Result<bool> {
        self.update_order_paid(row, callback, ledger::DEDUCTION)
    }

    /// As [`update_order`](Self::update_order), where the payment the order gained (if
    /// any) was made by the user from Pay Score's list of orders to pay: a `JSAPI`
    /// transaction.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn update_order_paid_actively(
        &self,
        row: &OrderRow,
        callback: Option<&Delivery>,
    ) -> Result<bool> {
        self.update_order_paid(row, callback, ledger::ACTIVE_PAYMENT)
    }

    fn update_order_paid(
        &self,
        row: &OrderRow,
        callback: Option<&Delivery>,
        trade_type: &str,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.prepare_cached(
            "UPDATE orders SET order_json = ?4, deduction_due_ms = ?5, deduction_error = ?6, modified = ?7, updated_ms = ?8, version = version + 1 WHERE sp_mchid = ?1 AND sub_mchid = ?2 AND out_order_no = ?3 AND version = ?9",
        )?
        .execute(params![
                row.sp_mchid,
                row.sub_mchid,
                row.out_order_no,
                serde_json::to_string(&row.order)?,
                row.deduction_due_ms,
                row.deduction_error,
                i64::from(row.modified),
                row.updated_ms,
                row.version
            ])?;
        if changed == 0 {
            return Ok(false);
        }
        if let Some(d) = callback {
            insert_delivery(&tx, d)?;
        }
        for t in new_transactions(row, trade_type) {
            ledger::insert_transaction(&tx, &t)?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// A setting kept across restarts (the test clock, deduction outcomes).
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn setting(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT value FROM settings WHERE name = ?1")?
            .query_row(params![name], |r| r.get(0))
            .optional()?)
    }

    /// Sets a setting.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn set_setting(&self, name: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2",
            params![name, value],
        )?;
        Ok(())
    }

    /// Records `package` of an order, valid until `expires_ms`.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn put_package(&self, package: &str, row: &OrderRow, expires_ms: i64) -> Result<()> {
        self.conn().execute(
            "INSERT INTO packages (package, sp_mchid, sub_mchid, out_order_no, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![package, row.sp_mchid, row.sub_mchid, row.out_order_no, expires_ms],
        )?;
        Ok(())
    }

    /// The order key (sp_mchid, sub_mchid, out_order_no) and expiry of `package`.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn package(&self, package: &str) -> Result<Option<(String, String, String, i64)>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT sp_mchid, sub_mchid, out_order_no, expires_ms FROM packages WHERE package = ?1")?
            .query_row(params![package], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?)
    }

    /// Orders whose deduction is due at `now_ms`.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn due_deductions(&self, now_ms: i64) -> Result<Vec<OrderRow>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!("SELECT {ORDER_COLS} FROM orders WHERE deduction_due_ms IS NOT NULL AND deduction_due_ms <= ?1 LIMIT 200"))?;
        let rows = st
            .query_map(params![now_ms], order_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(st);
        drop(conn);
        Self::decode(rows)
    }

    /// The earliest pending deadline (deduction, refund or delivery), unix ms.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn next_due_ms(&self) -> Result<Option<i64>> {
        let conn = self.conn();
        let a: Option<i64> = conn
            .prepare_cached(
                "SELECT MIN(deduction_due_ms) FROM orders WHERE deduction_due_ms IS NOT NULL",
            )?
            .query_row([], |r| r.get(0))?;
        let b: Option<i64> = conn
            .prepare_cached("SELECT MIN(next_attempt_ms) FROM deliveries WHERE state = 'pending'")?
            .query_row([], |r| r.get(0))?;
        let c = Self::next_refund_due(&conn)?;
        Ok([a, b, c].into_iter().flatten().min())
    }

    /// The newest orders.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn list_orders(&self, limit: u32) -> Result<Vec<OrderRow>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {ORDER_COLS} FROM orders ORDER BY created_ms DESC, out_order_no DESC LIMIT ?1"
        ))?;
        let rows = st
            .query_map(params![limit], order_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(st);
        drop(conn);
        Self::decode(rows)
    }
}
