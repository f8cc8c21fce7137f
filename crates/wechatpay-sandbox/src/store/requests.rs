//! The request log: every API request the sandbox received and what it answered, for the
//! console. The newest [`REQUEST_LOG_ROWS`] are kept, and no more than
//! [`REQUEST_LOG_BYTES`] of them; bodies are kept up to [`LOGGED_BODY_BYTES`].

use std::sync::atomic::Ordering;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use super::{Result, Store};

/// How many requests the log keeps (older ones are deleted as new ones arrive).
pub(crate) const REQUEST_LOG_ROWS: i64 = 100_000;

/// How many bytes of requests (bodies, headers, targets) the log keeps at most; the oldest
/// go first.
pub(crate) const REQUEST_LOG_BYTES: u64 = 256 << 20;

/// The most of a request or answer body the log keeps; a longer one is kept cut, with its
/// length.
pub(crate) const LOGGED_BODY_BYTES: usize = 16 * 1024;

/// A body as logged: whole, or its first [`LOGGED_BODY_BYTES`] and its length.
fn logged_body(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if body.len() <= LOGGED_BODY_BYTES {
        return body.into();
    }
    let mut cut = body[..LOGGED_BODY_BYTES].to_vec();
    cut.extend_from_slice(
        format!("…({} bytes in all; the rest is not logged)", body.len()).as_bytes(),
    );
    cut.into()
}

/// The bytes a logged row takes, as counted against [`REQUEST_LOG_BYTES`].
const ROW_BYTES: &str =
    "length(request_body) + length(response_body) + length(request_headers) + length(target)";

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, method TEXT NOT NULL, target TEXT NOT NULL,
  status INTEGER NOT NULL, code TEXT, latency_us INTEGER NOT NULL, request_id TEXT,
  mchid TEXT, serial TEXT, signature TEXT NOT NULL, diagnosis TEXT,
  request_headers TEXT NOT NULL, request_body BLOB NOT NULL, response_body BLOB NOT NULL,
  out_order_no TEXT
);
CREATE INDEX IF NOT EXISTS requests_order ON requests(out_order_no) WHERE out_order_no IS NOT NULL;
";

/// How many requests wait in memory before the one that makes them that many writes them.
const LOG_BATCH: usize = 512;

/// A request waiting to be logged.
#[derive(Debug)]
pub(super) struct Pending {
    row: RequestRow,
    request_body: Vec<u8>,
    response_body: Vec<u8>,
}

/// Writes one logged request and drops the oldest beyond the limits; `logged` counts the
/// log's bytes.
fn insert_logged(
    conn: &rusqlite::Connection,
    logged: &std::sync::atomic::AtomicU64,
    p: &Pending,
) -> Result<()> {
    let row = &p.row;
    let headers = serde_json::to_string(&row.request_headers)?;
    let diagnosis = row.diagnosis.as_ref().map(Value::to_string);
    let (request_body, response_body) = (&p.request_body, &p.response_body);
    let bytes = request_body.len() + response_body.len() + headers.len() + row.target.len();
    conn.prepare_cached(
        "INSERT INTO requests (at_ms, method, target, status, code, latency_us, request_id, mchid, serial, signature, diagnosis, request_headers, request_body, response_body, out_order_no)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        row.at_ms,
        row.method,
        row.target,
        row.status,
        row.code,
        row.latency_us,
        row.request_id,
        row.mchid,
        row.serial,
        row.signature.as_str(),
        diagnosis,
        headers,
        request_body,
        response_body,
        row.out_order_no,
    ])?;
    let id = conn.last_insert_rowid();
    // Counted under the connection's lock, which every change of the log holds.
    logged.fetch_add(bytes as u64, Ordering::AcqRel);
    let forget = |sql: &str, arg: i64| -> Result<u64> {
        let freed = conn
            .prepare_cached(&format!("{sql} RETURNING {ROW_BYTES}"))?
            .query_map([arg], |r| r.get::<_, i64>(0))?
            .map(|b| b.map(|b| u64::try_from(b).unwrap_or(0)))
            .sum::<rusqlite::Result<u64>>()?;
        let now = logged.load(Ordering::Acquire);
        logged.store(now.saturating_sub(freed), Ordering::Release);
        Ok(freed)
    };
    if id % 1000 == 0 {
        forget("DELETE FROM requests WHERE id <= ?1", id - REQUEST_LOG_ROWS)?;
    }
    while logged.load(Ordering::Acquire) > REQUEST_LOG_BYTES
        && forget(
            "DELETE FROM requests WHERE id IN (SELECT id FROM requests ORDER BY id LIMIT ?1)",
            100,
        )? > 0
    {}
    Ok(())
}

/// Whether a request's signature verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SignatureCheck {
    /// It verified.
    Verified,
    /// It did not (or the Authorization header was unusable).
    Failed,
    /// The request was refused before its signature was looked at.
    NotChecked,
}

impl SignatureCheck {
    fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Failed => "failed",
            Self::NotChecked => "not_checked",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "verified" => Self::Verified,
            "failed" => Self::Failed,
            _ => Self::NotChecked,
        }
    }
}

/// One logged request.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RequestRow {
    /// Its number in the log (newer is larger).
    pub(crate) id: i64,
    /// When it arrived, unix ms (real time).
    pub(crate) at_ms: i64,
    /// HTTP method.
    pub(crate) method: String,
    /// Path and query, as received.
    pub(crate) target: String,
    /// HTTP status of the answer.
    pub(crate) status: u16,
    /// WeChat's `code` of an error answer.
    pub(crate) code: Option<String>,
    /// From the request's arrival to its answer, µs.
    pub(crate) latency_us: i64,
    /// The answer's `Request-ID`.
    pub(crate) request_id: Option<String>,
    /// From the Authorization header, when it parsed.
    pub(crate) mchid: Option<String>,
    /// The certificate serial from the Authorization header.
    pub(crate) serial: Option<String>,
    /// Whether its signature verified.
    pub(crate) signature: SignatureCheck,
    /// For a signature that failed: the string the sandbox expected to be signed and the
    /// likely mistake; for other refusals, the sandbox's diagnosis.
    pub(crate) diagnosis: Option<Value>,
    /// Header names and values as received, the Authorization signature shortened.
    pub(crate) request_headers: Vec<(String, String)>,
    /// The body as received (lossy UTF-8 for display).
    pub(crate) request_body: String,
    /// The answer's body (lossy UTF-8).
    pub(crate) response_body: String,
    /// The order the request was about, when its path or body names one.
    pub(crate) out_order_no: Option<String>,
}

pub(super) const COLS: &str = "id, at_ms, method, target, status, code, latency_us, request_id, mchid, serial, signature, diagnosis, request_headers, request_body, response_body, out_order_no";

pub(super) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RequestRow> {
    let json = |i: usize| -> rusqlite::Result<Option<Value>> {
        Ok(r.get::<_, Option<String>>(i)?
            .and_then(|s| serde_json::from_str(&s).ok()))
    };
    let text = |i: usize| -> rusqlite::Result<String> {
        Ok(String::from_utf8_lossy(&r.get::<_, Vec<u8>>(i)?).into_owned())
    };
    Ok(RequestRow {
        id: r.get(0)?,
        at_ms: r.get(1)?,
        method: r.get(2)?,
        target: r.get(3)?,
        status: r.get(4)?,
        code: r.get(5)?,
        latency_us: r.get(6)?,
        request_id: r.get(7)?,
        mchid: r.get(8)?,
        serial: r.get(9)?,
        signature: SignatureCheck::parse(&r.get::<_, String>(10)?),
        diagnosis: json(11)?,
        request_headers: json(12)?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
        request_body: text(13)?,
        response_body: text(14)?,
        out_order_no: r.get(15)?,
    })
}

impl Store {
    /// Logs a request (`row.id` is ignored). The row waits in memory with others and is
    /// written with them in one transaction (by the worker, at least once a second, or by
    /// the first read of the log), so that a request does not pay a commit of its own;
    /// [`flush_log`](Self::flush_log) writes what waits.
    pub(crate) fn log_request(&self, row: RequestRow, request_body: &[u8], response_body: &[u8]) {
        let entry = Pending {
            row,
            request_body: logged_body(request_body).into_owned(),
            response_body: logged_body(response_body).into_owned(),
        };
        let waiting = {
            let mut p = self.pending_log();
            p.push(entry);
            p.len()
        };
        if waiting >= LOG_BATCH
            && let Err(e) = self.flush_log()
        {
            tracing::warn!(error = %wechatpay_core::ErrorChain(&e), "cannot write the request log");
        }
    }

    fn pending_log(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.pending_log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes the requests waiting to be logged, in one transaction, and drops the oldest
    /// beyond [`REQUEST_LOG_ROWS`] and [`REQUEST_LOG_BYTES`].
    ///
    /// # Errors
    /// SQLite failures (the rows are then lost, and said so in the sandbox's log).
    pub(crate) fn flush_log(&self) -> Result<()> {
        // The connection first: two flushes write their batches in the order they took them.
        let mut conn = self.conn();
        let batch = std::mem::take(&mut *self.pending_log());
        if batch.is_empty() {
            return Ok(());
        }
        let tx = conn.transaction()?;
        for p in &batch {
            insert_logged(&tx, &self.logged_bytes, p)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Bytes of the request log, counted as [`REQUEST_LOG_BYTES`] counts them.
    pub(super) fn request_log_bytes(conn: &rusqlite::Connection) -> Result<u64> {
        let n: i64 = conn.query_row(
            &format!("SELECT COALESCE(SUM({ROW_BYTES}), 0) FROM requests"),
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Up to `limit` logged requests older than `before` (an id), newest first.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn list_requests(&self, before: Option<i64>, limit: u32) -> Result<Vec<RequestRow>> {
        self.flush_log()?;
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {COLS} FROM requests WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = st
            .query_map(params![before.unwrap_or(i64::MAX), limit], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// One logged request.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn request(&self, id: i64) -> Result<Option<RequestRow>> {
        self.flush_log()?;
        let conn = self.conn();
        Ok(conn
            .prepare_cached(&format!("SELECT {COLS} FROM requests WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(target: &str) -> RequestRow {
        RequestRow {
            id: 0,
            at_ms: 1,
            method: "POST".into(),
            out_order_no: Some("RENT1".into()),
            target: target.into(),
            status: 204,
            code: None,
            latency_us: 10,
            request_id: None,
            mchid: None,
            serial: None,
            signature: SignatureCheck::Verified,
            diagnosis: None,
            request_headers: Vec::new(),
            request_body: String::new(),
            response_body: String::new(),
        }
    }

    /// Batched, yet complete: a read sees every request logged before it, in order, and
    /// a clean end (the store dropped) writes what was still waiting.
    #[test]
    fn the_log_is_written_in_batches_and_nothing_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sqlite").display().to_string();
        let store = Store::open(&path).unwrap();
        for i in 0..3 {
            store.log_request(row(&format!("/a/{i}")), b"{}", b"");
        }
        let seen: Vec<String> = store
            .list_requests(None, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.target)
            .collect();
        assert_eq!(seen, ["/a/2", "/a/1", "/a/0"]);
        for i in 0..LOG_BATCH + 2 {
            store.log_request(row(&format!("/b/{i}")), b"", b"");
        }
        drop(store);
        let store = Store::open(&path).unwrap();
        let newest = store.list_requests(None, 1).unwrap();
        assert_eq!(newest[0].target, format!("/b/{}", LOG_BATCH + 1));
        let n: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, i64::try_from(3 + LOG_BATCH + 2).unwrap());
    }
}
