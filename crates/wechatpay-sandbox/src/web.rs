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

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sandbox/", get(page))
        .route("/_sandbox/api/orders", get(orders))
        .route("/_sandbox/api/deliveries", get(deliveries))
        .route("/_sandbox/api/authorizations", get(authorizations))
        .route("/_sandbox/api/clock", get(clock))
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
<body><h1>WeChat Pay sandbox</h1><p>Read-only view. JSON: <a href="api/orders">api/orders</a>, <a href="api/deliveries">api/deliveries</a>, <a href="api/authorizations">api/authorizations</a>, <a href="api/clock">api/clock</a>. Refreshes every 2 s.</p>
<p>Business time (test clock): <b id="clock"></b></p>
<h2>Orders</h2><table id="orders"><thead><tr><th>sub_mchid</th><th>out_order_no</th><th>state</th><th>collection</th><th>total (fen)</th><th>paid</th><th>note</th></tr></thead><tbody></tbody></table>
<h2>Authorizations</h2><table id="authorizations"><thead><tr><th>service_id</th><th>sub_mchid</th><th>authorization_code</th><th>user</th><th>state</th></tr></thead><tbody></tbody></table>
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
load(); setInterval(load, 2000);
</script></body></html>
"#;
