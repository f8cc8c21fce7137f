//! The sandbox's state as JSON for scripts and tests, kept apart from the API paths (the
//! console's pages are in `console`).

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::console::{Refused, not_found};

#[derive(Deserialize)]
pub(crate) struct Limit {
    limit: Option<u32>,
}

/// A page of a long list: at most `limit` rows older than the cursor `before`; the
/// answer's `next` is the `before` of the following page (`null` after the last).
#[derive(Deserialize)]
pub(crate) struct Page {
    before: Option<String>,
    limit: Option<u32>,
}

impl Page {
    /// The cursor: `<unix ms>.<row>`.
    fn cursor(&self) -> Option<crate::store::Cursor> {
        parse_cursor(self.before.as_deref()?)
    }
}

/// A page cursor written `<unix ms>.<row>`.
pub(crate) fn parse_cursor(s: &str) -> Option<crate::store::Cursor> {
    let (t, r) = s.split_once('.')?;
    Some((t.parse().ok()?, r.parse().ok()?))
}

fn cursor(next: Option<crate::store::Cursor>) -> Option<String> {
    next.map(|(t, r)| format!("{t}.{r}"))
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sandbox/api/orders", get(orders))
        .route("/_sandbox/api/deliveries", get(deliveries))
        .route("/_sandbox/api/authorizations", get(authorizations))
        .route("/_sandbox/api/clock", get(clock))
        .route("/_sandbox/api/transactions", get(transactions))
        .route("/_sandbox/api/refunds", get(refunds))
        .route("/_sandbox/api/requests", get(requests))
        .route("/_sandbox/api/requests/{id}", get(request))
        .route("/_sandbox/api/faults", get(faults))
}

/// A page of the request log, newest first; `next` is the `before` of the next page.
async fn requests(State(s): State<AppState>, Query(p): Query<Page>) -> Result<Response, Refused> {
    let before = p.before.as_deref().and_then(|b| b.parse().ok());
    // Rows carry bodies (up to 16 KiB each): pages are smaller than the other lists.
    let limit = p.limit.unwrap_or(50).clamp(1, 200);
    let rows = s.store().list_requests(before, limit)?;
    let next = (rows.len() == limit as usize).then(|| rows.last().map(|r| r.id.to_string()));
    Ok(Json(json!({ "requests": rows, "next": next.flatten() })).into_response())
}

async fn request(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, Refused> {
    match s.store().request(id)? {
        Some(r) => Ok(Json(r).into_response()),
        None => Err(not_found(format!(
            "no request {id} in the log (it keeps the newest {})",
            crate::store::REQUEST_LOG_ROWS
        ))),
    }
}

async fn transactions(
    State(s): State<AppState>,
    Query(p): Query<Page>,
) -> Result<Response, Refused> {
    let page = s
        .store()
        .list_transactions(p.cursor(), p.limit.unwrap_or(50).min(1000))?;
    Ok(Json(json!({ "transactions": page.rows, "next": cursor(page.next) })).into_response())
}

async fn refunds(State(s): State<AppState>, Query(p): Query<Page>) -> Result<Response, Refused> {
    let page = s
        .store()
        .list_refunds(p.cursor(), p.limit.unwrap_or(50).min(1000))?;
    Ok(Json(json!({ "refunds": page.rows, "next": cursor(page.next) })).into_response())
}

async fn authorizations(
    State(s): State<AppState>,
    Query(l): Query<Limit>,
) -> Result<Response, Refused> {
    let rows = s
        .store()
        .list_authorizations(l.limit.unwrap_or(100).min(1000))?;
    Ok(Json(json!({ "authorizations": rows })).into_response())
}

/// The fault rules waiting for requests (test helper `fault`).
async fn faults(State(s): State<AppState>) -> Response {
    Json(json!({ "faults": s.faults().list() })).into_response()
}

/// Business time (the test clock) next to the real clock.
async fn clock(State(s): State<AppState>) -> Response {
    Json(json!({
        "business_time": crate::util::rfc3339_beijing(s.now()),
        "real_time": crate::util::rfc3339_beijing(s.real_now()),
        "offset_seconds": s.now() - s.real_now(),
    }))
    .into_response()
}

async fn orders(State(s): State<AppState>, Query(l): Query<Limit>) -> Result<Response, Refused> {
    let rows = s.store().list_orders(l.limit.unwrap_or(100).min(1000))?;
    Ok(Json(json!({ "orders": rows })).into_response())
}

async fn deliveries(
    State(s): State<AppState>,
    Query(l): Query<Limit>,
) -> Result<Response, Refused> {
    let rows = s
        .store()
        .list_deliveries(l.limit.unwrap_or(100).min(1000))?;
    let out = rows
        .into_iter()
        .map(|(d, a)| {
            let probe = s.store().probe(d.id)?;
            Ok(json!({ "delivery": d, "attempts": a, "probe": probe }))
        })
        .collect::<Result<Vec<_>, crate::store::StoreError>>()?;
    Ok(Json(json!({ "deliveries": out })).into_response())
}
