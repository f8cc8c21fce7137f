//! The console's home, authorizations and refunds.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{action, esc, page, when};
use crate::AppState;
use crate::console::Refused;
use crate::store::AuthorizationState;

pub(crate) async fn home(State(s): State<AppState>) -> Response {
    let now = s.now_ms();
    let offset = now / 1000 - s.real_now();
    let mut b = format!(
        "<h1>WeChat Pay sandbox</h1><p>Business time (test clock): <b id=\"clock\">{}</b> · real time {} · {offset:+} s</p>",
        when(now),
        when(s.real_now_ms()),
    );
    b += &super::clock_action();
    let today = wechatpay_models::v3::bill::beijing_day(now / 1000);
    let _ = write!(
        b,
        "<form id=\"bill\" method=\"get\" action=\"/_sandbox/bill\"><label>Trade bill of <input type=\"date\" name=\"bill_date\" value=\"{today}\"></label> \
         <select name=\"bill_type\"><option>ALL</option><option>SUCCESS</option><option>REFUND</option></select> <button>Download</button></form>"
    );
    b.push_str(
        "<ul><li><a href=\"/_sandbox/requests\">Requests</a>: every API request, its answer, and why a signature failed</li>\
         <li><a href=\"/_sandbox/orders\">Orders</a>: by state, sub-merchant, user, service and day; each with its timeline, callbacks and buttons to act as the user</li>\
         <li><a href=\"/_sandbox/authorizations\">Authorizations</a>: the users' Pay Score authorizations; authorize or revoke</li>\
         <li><a href=\"/_sandbox/refunds\">Refunds</a></li></ul>\
         <p class=\"muted\">JSON for scripts: <code>/_sandbox/api/{orders,deliveries,authorizations,clock,transactions,refunds,requests}</code>; \
         test helpers: <code>POST /_sandbox/api/test-helpers/…</code>.</p>",
    );
    page("Sandbox", &b)
}

pub(crate) async fn authorizations(State(s): State<AppState>) -> Result<Response, Refused> {
    let rows = s.store().list_authorizations(500)?;
    let mut b = String::from("<h1>Authorizations</h1><p>The newest 500.</p>");
    let (service, sub) = s
        .world()
        .providers
        .values()
        .next()
        .and_then(|p| p.subs.keys().next())
        .map_or((String::new(), String::new()), |sub| {
            let service = s.world().services.keys().min().cloned().unwrap_or_default();
            (service, sub.clone())
        });
    b += &action(
        "authorize",
        "User authorizes",
        "The user authorizes the service (USER_OPEN_SERVICE if a notify_url was given)?",
        &[],
        &format!(
            "<label>service_id <input name=\"service_id\" value=\"{}\"></label> <label>sub_mchid <input name=\"sub_mchid\" value=\"{}\"></label> <label>openid <input name=\"openid\" placeholder=\"oUser…\"></label> ",
            esc(&service),
            esc(&sub)
        ),
    );
    b.push_str(
        "<table id=\"authorizations\"><thead><tr><th>service_id</th><th>sub_mchid</th><th>authorization_code</th>\
         <th>user</th><th>state</th><th></th></tr></thead><tbody>",
    );
    for a in &rows {
        let user = a
            .openid
            .as_deref()
            .or(a.sub_openid.as_deref())
            .unwrap_or("");
        let revoke = if a.state == AuthorizationState::Available {
            let user_field = if a.openid.is_some() {
                "openid"
            } else {
                "sub_openid"
            };
            action(
                "revoke-authorization",
                "User revokes",
                &format!("{user} revokes the authorization (USER_CLOSE_SERVICE)?"),
                &[
                    ("mchid", &a.sp_mchid),
                    ("service_id", &a.service_id),
                    ("sub_mchid", &a.sub_mchid),
                    (user_field, user),
                ],
                "",
            )
        } else {
            String::new()
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{revoke}</td></tr>",
            esc(&a.service_id),
            esc(&a.sub_mchid),
            esc(&a.authorization_code),
            esc(user),
            a.state.as_str(),
        );
    }
    b.push_str("</tbody></table>");
    Ok(page("Authorizations", &b))
}

#[derive(Deserialize)]
pub(crate) struct Before {
    /// `<created_ms>.<rowid>`.
    before: Option<String>,
}

pub(crate) async fn refunds(
    State(s): State<AppState>,
    Query(q): Query<Before>,
) -> Result<Response, Refused> {
    let before = q
        .before
        .as_deref()
        .and_then(crate::console::api::parse_cursor);
    let found = s.store().list_refunds(before, 50)?;
    let mut b = String::from(
        "<h1>Refunds</h1><table id=\"refunds\"><thead><tr><th>applied (Beijing)</th><th>out_refund_no</th>\
         <th>sub_mchid</th><th>transaction_id</th><th>refund (fen)</th><th>status</th><th>settled</th></tr></thead><tbody>",
    );
    for r in &found.rows {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            when(r.created_ms),
            esc(&r.out_refund_no),
            esc(&r.sub_mchid),
            esc(&r.transaction_id),
            r.refund,
            esc(&r.status),
            r.success_ms.map(when).unwrap_or_default(),
        );
    }
    b.push_str("</tbody></table>");
    if found.rows.is_empty() {
        b.push_str("<p class=\"muted\">No refunds yet.</p>");
    }
    if let Some((t, r)) = found.next {
        let _ = write!(
            b,
            "<p><a id=\"older\" href=\"/_sandbox/refunds?before={t}.{r}\">older →</a></p>"
        );
    }
    Ok(page("Refunds", &b))
}
