//! Read-only inspection for tests and people, kept apart from the API paths.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::error::ApiErr;

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
        let (t, r) = self.before.as_deref()?.split_once('.')?;
        Some((t.parse().ok()?, r.parse().ok()?))
    }
}

fn cursor(next: Option<crate::store::Cursor>) -> Option<String> {
    next.map(|(t, r)| format!("{t}.{r}"))
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sandbox/", get(page))
        .route("/_sandbox/api/orders", get(orders))
        .route("/_sandbox/api/deliveries", get(deliveries))
        .route("/_sandbox/api/authorizations", get(authorizations))
        .route("/_sandbox/api/clock", get(clock))
        .route("/_sandbox/api/transactions", get(transactions))
        .route("/_sandbox/api/refunds", get(refunds))
        .route("/_sandbox/api/requests", get(requests))
        .route("/_sandbox/api/requests/{id}", get(request))
}

/// A page of the request log, newest first; `next` is the `before` of the next page.
async fn requests(State(s): State<AppState>, Query(p): Query<Page>) -> Result<Response, ApiErr> {
    let before = p.before.as_deref().and_then(|b| b.parse().ok());
    let limit = p.limit.unwrap_or(50).clamp(1, 1000);
    let rows = s.store().list_requests(before, limit)?;
    let next = (rows.len() == limit as usize).then(|| rows.last().map(|r| r.id.to_string()));
    Ok(Json(json!({ "requests": rows, "next": next.flatten() })).into_response())
}

async fn request(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, ApiErr> {
    match s.store().request(id)? {
        Some(r) => Ok(Json(r).into_response()),
        None => Err(ApiErr::new(
            axum::http::StatusCode::NOT_FOUND,
            "RESOURCE_NOT_EXISTS",
            "记录不存在",
        )
        .why(format!(
            "no request {id} in the log (it keeps the newest {})",
            crate::store::REQUEST_LOG_ROWS
        ))),
    }
}

async fn transactions(
    State(s): State<AppState>,
    Query(p): Query<Page>,
) -> Result<Response, ApiErr> {
    let page = s
        .store()
        .list_transactions(p.cursor(), p.limit.unwrap_or(50).min(1000))?;
    Ok(Json(json!({ "transactions": page.rows, "next": cursor(page.next) })).into_response())
}

async fn refunds(State(s): State<AppState>, Query(p): Query<Page>) -> Result<Response, ApiErr> {
    let page = s
        .store()
        .list_refunds(p.cursor(), p.limit.unwrap_or(50).min(1000))?;
    Ok(Json(json!({ "refunds": page.rows, "next": cursor(page.next) })).into_response())
}

async fn authorizations(
    State(s): State<AppState>,
    Query(l): Query<Limit>,
) -> Result<Response, ApiErr> {
    let rows = s
        .store()
        .list_authorizations(l.limit.unwrap_or(100).min(1000))?;
    Ok(Json(json!({ "authorizations": rows })).into_response())
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

async fn orders(State(s): State<AppState>, Query(l): Query<Limit>) -> Result<Response, ApiErr> {
    let rows = s.store().list_orders(l.limit.unwrap_or(100).min(1000))?;
    Ok(Json(json!({ "orders": rows })).into_response())
}

async fn deliveries(State(s): State<AppState>, Query(l): Query<Limit>) -> Result<Response, ApiErr> {
    let rows = s
        .store()
        .list_deliveries(l.limit.unwrap_or(100).min(1000))?;
    let out: Vec<_> = rows
        .into_iter()
        .map(|(d, a)| json!({ "delivery": d, "attempts": a }))
        .collect();
    Ok(Json(json!({ "deliveries": out })).into_response())
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wechatpay-rs sandbox</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}
.ok{color:#070}.bad{color:#b00}code{font-size:12px}</style></head>
<body><h1>WeChat Pay sandbox</h1><p><a href="requests">Request log</a>: every API request, its answer, and why a signature failed.</p><p>Read-only view. JSON: <a href="api/orders">api/orders</a>, <a href="api/deliveries">api/deliveries</a>, <a href="api/authorizations">api/authorizations</a>, <a href="api/clock">api/clock</a>, <a href="api/transactions">api/transactions</a>, <a href="api/refunds">api/refunds</a> (paged: <code>?before=&lt;next&gt;</code>). Refreshes every 2 s.</p>
<p>Business time (test clock): <b id="clock"></b></p>
<h2>Orders</h2><table id="orders"><thead><tr><th>sub_mchid</th><th>out_order_no</th><th>state</th><th>collection</th><th>total (fen)</th><th>paid</th><th>note</th></tr></thead><tbody></tbody></table>
<h2>Authorizations</h2><table id="authorizations"><thead><tr><th>service_id</th><th>sub_mchid</th><th>authorization_code</th><th>user</th><th>state</th></tr></thead><tbody></tbody></table>
<h2>Payments (deductions)</h2><p><button id="tx-newest">newest</button> <button id="tx-older">older →</button></p><table id="transactions"><thead><tr><th>paid</th><th>sub_mchid</th><th>transaction_id</th><th>out_order_no</th><th>amount (fen)</th></tr></thead><tbody></tbody></table>
<h2>Refunds</h2><p><button id="rf-newest">newest</button> <button id="rf-older">older →</button></p><table id="refunds"><thead><tr><th>applied</th><th>out_refund_no</th><th>transaction_id</th><th>refund (fen)</th><th>status</th></tr></thead><tbody></tbody></table>
<h2>Callbacks</h2><table id="deliveries"><thead><tr><th>event</th><th>out_order_no</th><th>notify_url</th><th>state</th><th>attempts</th></tr></thead><tbody></tbody></table>
<script>
const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
async function load() {
  const o = await (await fetch('api/orders')).json();
  document.querySelector('#orders tbody').innerHTML = o.orders.map(r => `<tr><td>${esc(r.sub_mchid)}</td><td>${esc(r.out_order_no)}</td><td>${esc(r.order.state)} ${esc(r.order.state_description)}</td><td>${esc(r.order.collection?.state)}</td><td>${esc(r.order.total_amount)}</td><td>${esc(r.order.collection?.paid_amount)}</td><td class="bad">${esc(r.deduction_error)}</td></tr>`).join('');
  const c = await (await fetch('api/clock')).json();
  document.querySelector('#clock').textContent = `${c.business_time} (real ${c.real_time}, +${c.offset_seconds} s)`;
  const a = await (await fetch('api/authorizations')).json();
  document.querySelector('#authorizations tbody').innerHTML = a.authorizations.map(r => `<tr><td>${esc(r.service_id)}</td><td>${esc(r.sub_mchid)}</td><td>${esc(r.authorization_code)}</td><td>${esc(r.openid ?? r.sub_openid)}</td><td>${esc(r.state)}</td></tr>`).join('');
  const d = await (await fetch('api/deliveries')).json();
  document.querySelector('#deliveries tbody').innerHTML = d.deliveries.map(x => `<tr><td>${esc(x.delivery.event_type)}<br><code>${esc(x.delivery.event_id)}</code></td><td>${esc(x.delivery.out_order_no)}</td><td>${esc(x.delivery.notify_url)}</td><td class="${x.delivery.state==='delivered'?'ok':'bad'}">${esc(x.delivery.state)}</td><td>${x.attempts.map(a => `#${a.attempt_no} ${esc(a.status ?? '-')} ${esc(a.error ?? 'ok')} (${a.duration_ms} ms)`).join('<br>')}</td></tr>`).join('');
}
// The ledger can hold millions of rows: it is paged by time (newest first), 50 rows a page.
const pages = {tx: {before: null, next: null}, rf: {before: null, next: null}};
const when = ms => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
async function ledger() {
  const q = p => p.before === null ? '' : `?before=${encodeURIComponent(p.before)}`;
  const t = await (await fetch('api/transactions' + q(pages.tx))).json();
  pages.tx.next = t.next;
  document.querySelector('#transactions tbody').innerHTML = t.transactions.map(r => `<tr><td>${when(r.paid_ms)}</td><td>${esc(r.sub_mchid)}</td><td>${esc(r.transaction_id)}</td><td>${esc(r.out_order_no)}</td><td>${esc(r.amount)}</td></tr>`).join('');
  const f = await (await fetch('api/refunds' + q(pages.rf))).json();
  pages.rf.next = f.next;
  document.querySelector('#refunds tbody').innerHTML = f.refunds.map(r => `<tr><td>${when(r.created_ms)}</td><td>${esc(r.out_refund_no)}</td><td>${esc(r.transaction_id)}</td><td>${esc(r.refund)}</td><td>${esc(r.status)}</td></tr>`).join('');
}
for (const [k, id] of [['tx', 'tx'], ['rf', 'rf']]) {
  document.querySelector(`#${id}-older`).onclick = () => { if (pages[k].next !== null) { pages[k].before = pages[k].next; ledger(); } };
  document.querySelector(`#${id}-newest`).onclick = () => { pages[k].before = null; ledger(); };
}
load(); ledger(); setInterval(() => { load(); if (pages.tx.before === null && pages.rf.before === null) ledger(); }, 2000);
</script></body></html>
"#;
