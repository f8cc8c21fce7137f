//! Orders: a filtered, paged list, and one page per order with its timeline and callbacks.

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{action, esc, page, when};
use crate::AppState;
use crate::console::{Refused, not_found};
use crate::store::{OrderFilter, OrderRecord};

const PAGE_ROWS: u32 = 50;
const STATES: [&str; 5] = ["CREATED", "DOING", "DONE", "REVOKED", "EXPIRED"];

#[derive(Deserialize, Default)]
pub(crate) struct Filter {
    state: Option<String>,
    sub_mchid: Option<String>,
    openid: Option<String>,
    service_id: Option<String>,
    /// `YYYY-MM-DD`, a Beijing day.
    day: Option<String>,
    /// `<created_ms>.<rowid>`.
    before: Option<String>,
}

fn given(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Filter {
    fn store_filter(&self) -> Result<OrderFilter, Refused> {
        let (from_ms, until_ms) = match given(self.day.as_ref()) {
            None => (None, None),
            Some(d) => {
                // Beijing midnight, unix ms.
                let start = wechatpay_models::v3::bill::parse_bill_date(&d)
                    .map(crate::util::beijing_midnight_ms)
                    .ok_or_else(|| {
                        crate::console::bad(format!("day {d:?} is not a date YYYY-MM-DD"))
                    })?;
                (Some(start), Some(start + 86_400_000))
            }
        };
        Ok(OrderFilter {
            state: given(self.state.as_ref()),
            sub_mchid: given(self.sub_mchid.as_ref()),
            openid: given(self.openid.as_ref()),
            service_id: given(self.service_id.as_ref()),
            from_ms,
            until_ms,
        })
    }

    /// The filter as a query string (for the next page's link).
    fn query(&self) -> String {
        [
            ("state", &self.state),
            ("sub_mchid", &self.sub_mchid),
            ("openid", &self.openid),
            ("service_id", &self.service_id),
            ("day", &self.day),
        ]
        .iter()
        .filter_map(|(k, v)| {
            given(v.as_ref()).map(|v| format!("{k}={}", wechatpay_models::encode_segment(&v)))
        })
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// An order's fields as the console shows them, escaped.
struct Shown {
    state: String,
    total: String,
    collection: String,
    openid: String,
    service_id: String,
}

impl Shown {
    fn of(o: &wechatpay_models::v3::payscore::ServiceOrder) -> Self {
        let text = |v: Option<&str>| esc(v.unwrap_or(""));
        Self {
            state: format!(
                "{} {}",
                text(o.state.as_ref().map(|s| s.as_str())),
                text(o.state_description.as_ref().map(|s| s.as_str()))
            ),
            total: o
                .total_amount
                .map(|a| a.get().to_string())
                .unwrap_or_default(),
            collection: text(
                o.collection
                    .as_ref()
                    .and_then(|c| c.state.as_ref())
                    .map(|s| s.as_str()),
            ),
            openid: text(o.openid.as_ref().map(|x| x.as_str())),
            service_id: text(o.service_id.as_ref().map(|x| x.as_str())),
        }
    }
}

pub(crate) async fn list(
    State(s): State<AppState>,
    Query(f): Query<Filter>,
) -> Result<Response, Refused> {
    let filter = f.store_filter()?;
    let before = f
        .before
        .as_deref()
        .and_then(crate::console::api::parse_cursor);
    let found = s.store().find_orders(&filter, before, PAGE_ROWS)?;
    let input = |name: &str, v: &Option<String>, hint: &str| {
        format!(
            "<label>{name} <input name=\"{name}\" value=\"{}\" placeholder=\"{hint}\"></label> ",
            esc(v.as_deref().unwrap_or(""))
        )
    };
    let mut b = String::from(
        "<h1>Orders</h1><form id=\"filter\" method=\"get\"><label>state <select name=\"state\"><option value=\"\">any</option>",
    );
    for st in STATES {
        let sel = if f.state.as_deref() == Some(st) {
            " selected"
        } else {
            ""
        };
        let _ = write!(b, "<option{sel}>{st}</option>");
    }
    b.push_str("</select></label> ");
    b += &input("sub_mchid", &f.sub_mchid, "");
    b += &input("openid", &f.openid, "");
    b += &input("service_id", &f.service_id, "");
    b += &input("day", &f.day, "YYYY-MM-DD");
    b.push_str("<button>Filter</button></form>");
    b += &super::clock_action();
    b.push_str(
        "<table id=\"orders\"><thead><tr><th>created (Beijing)</th><th>out_order_no</th><th>state</th>\
         <th>sub_mchid</th><th>openid</th><th>service_id</th><th>total (fen)</th><th>collection</th></tr></thead><tbody>",
    );
    for (id, o) in &found.rows {
        let v = Shown::of(&o.order);
        let _ = write!(
            b,
            "<tr><td>{}</td><td><a href=\"/_sandbox/orders/{id}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            when(o.created_ms),
            esc(&o.out_order_no),
            v.state,
            esc(&o.sub_mchid),
            v.openid,
            v.service_id,
            v.total,
            v.collection,
        );
    }
    b.push_str("</tbody></table>");
    if found.rows.is_empty() {
        b.push_str("<p class=\"muted\">No orders match.</p>");
    }
    if let Some((t, r)) = found.next {
        let q = f.query();
        let sep = if q.is_empty() { "" } else { "&" };
        let _ = write!(
            b,
            "<p><a id=\"older\" href=\"/_sandbox/orders?{q}{sep}before={t}.{r}\">older →</a></p>"
        );
    }
    Ok(page("Orders", &b))
}

pub(crate) async fn show(
    State(s): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, Refused> {
    let Some(rec) = s.store().order_record(id)? else {
        return Err(not_found(format!("no order {id}")));
    };
    let OrderRecord {
        order: o,
        requests,
        transactions,
        refunds,
        deliveries,
    } = &rec;
    let json = serde_json::to_string_pretty(&o.order).unwrap_or_default();
    let order = &o.order;
    let v = Shown::of(order);
    let mut b = format!(
        "<h1>Order {}</h1><table id=\"summary\"><tr><th>state</th><td>{}</td></tr>\
         <tr><th>total</th><td>{} fen</td></tr><tr><th>collection</th><td>{}</td></tr>\
         <tr><th>sp_mchid / sub_mchid</th><td>{} / {}</td></tr><tr><th>openid</th><td>{}</td></tr>\
         <tr><th>service_id</th><td>{}</td></tr><tr><th>created / updated</th><td>{} / {}</td></tr></table>",
        esc(&o.out_order_no),
        v.state,
        v.total,
        v.collection,
        esc(&o.sp_mchid),
        esc(&o.sub_mchid),
        v.openid,
        v.service_id,
        when(o.created_ms),
        when(o.updated_ms),
    );
    let mut actions = String::new();
    if order.state == Some(wechatpay_models::v3::payscore::OrderState::Created) {
        // The user who confirms: the order's, else one of the service's users.
        let service = order.service_id.as_ref().map(|x| x.as_str()).unwrap_or("");
        let mut users: Vec<&str> = s
            .world()
            .users
            .keys()
            .filter(|(svc, _)| svc == service)
            .map(|(_, openid)| openid.as_str())
            .collect();
        users.sort_unstable();
        let user = order
            .openid
            .as_ref()
            .map(|x| x.as_str())
            .or(users.first().copied())
            .unwrap_or("");
        actions += &action(
            "confirm-order",
            "User confirms",
            "The user confirms this order (DOING, USER_CONFIRM callback)?",
            &[
                ("mchid", &o.sp_mchid),
                ("sub_mchid", &o.sub_mchid),
                ("out_order_no", &o.out_order_no),
            ],
            &format!(
                "<label>openid <input name=\"openid\" value=\"{}\"></label> ",
                esc(user)
            ),
        );
    }
    if let Some(failed) = &o.deduction_error {
        let _ = write!(
            b,
            "<p id=\"deduction-error\" class=\"bad\">The last deduction failed: {}</p>",
            esc(failed)
        );
        actions += &action(
            "user-pays",
            "User pays",
            "The user pays this order from Pay Score's list of orders to pay (DONE, USER_PAID callback, a JSAPI row in the bill)?",
            &[
                ("mchid", &o.sp_mchid),
                ("sub_mchid", &o.sub_mchid),
                ("out_order_no", &o.out_order_no),
            ],
            "",
        );
    }
    if let Some(openid) = order.openid.as_ref().map(|x| x.as_str()) {
        for (outcome, label) in [
            ("success", "Next deduction succeeds"),
            ("fail", "Next deduction fails"),
        ] {
            actions += &action(
                "deduction-outcome",
                label,
                &format!("Deductions from {openid} will {outcome}?"),
                &[("openid", openid), ("outcome", outcome)],
                "",
            );
        }
    }
    if !actions.is_empty() {
        let _ = write!(
            b,
            "<h2>Act as the user</h2><div id=\"actions\">{actions}</div>"
        );
    }
    // One timeline from every record that has a time.
    let mut events: Vec<(i64, String)> = Vec::new();
    for r in requests {
        events.push((
            r.at_ms,
            format!(
                "request <a href=\"/_sandbox/requests/{}\">{} {}</a> → {} {}",
                r.id,
                esc(&r.method),
                esc(&r.target),
                r.status,
                esc(r.code.as_deref().unwrap_or(""))
            ),
        ));
    }
    for t in transactions {
        events.push((
            t.paid_ms,
            format!(
                "deduction {} fen, transaction {}",
                t.amount,
                esc(&t.transaction_id)
            ),
        ));
    }
    for r in refunds {
        events.push((
            r.created_ms,
            format!("refund {} applied: {} fen", esc(&r.out_refund_no), r.refund),
        ));
        if let Some(ms) = r.success_ms {
            events.push((
                ms,
                format!("refund {} {}", esc(&r.out_refund_no), esc(&r.status)),
            ));
        }
    }
    for (d, attempts) in deliveries {
        for a in attempts {
            events.push((
                a.at_ms,
                format!(
                    "callback {} attempt {} → {}",
                    esc(&d.event_type),
                    a.attempt_no,
                    esc(&a
                        .status
                        .map_or_else(|| a.error.clone().unwrap_or_default(), |s| s.to_string()))
                ),
            ));
        }
    }
    events.sort_by_key(|e| e.0);
    b.push_str("<h2>Timeline</h2><table id=\"timeline\">");
    for (t, what) in &events {
        let _ = write!(b, "<tr><td>{}</td><td>{what}</td></tr>", when(*t));
    }
    b.push_str("</table><h2>Callbacks</h2>");
    if deliveries.is_empty() {
        b.push_str("<p class=\"muted\">None yet.</p>");
    }
    let key = s.world().providers.get(&o.sp_mchid).map(|p| &p.apiv3_key);
    for (d, attempts) in deliveries {
        let _ = write!(
            b,
            "<div class=\"callback\"><h3>{} <code>{}</code></h3><p>to {} · {}</p><table class=\"attempts\"><tr><th>#</th><th>time</th><th>receiver status</th><th>ms</th><th>error</th></tr>",
            esc(&d.event_type),
            esc(&d.event_id),
            esc(&d.notify_url),
            esc(&d.state)
        );
        if let Some(p) = s.store().probe(d.id)? {
            let (class, said) = match (p.verifies, p.status) {
                (Some(true), Some(st)) => {
                    ("ok", format!("refused with {st}: it verifies signatures"))
                }
                (Some(false), Some(st)) => (
                    "bad",
                    format!("acknowledged with {st}: this receiver does not verify signatures"),
                ),
                _ => (
                    "muted",
                    format!("no answer ({})", p.error.as_deref().unwrap_or("-")),
                ),
            };
            let _ = write!(
                b,
                "<p class=\"probe {class}\">Signature probe (WECHATPAY/SIGNTEST/) at {}: {}</p>",
                when(p.at_ms),
                esc(&said)
            );
        }
        for a in attempts {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                a.attempt_no,
                when(a.at_ms),
                a.status.map(|s| s.to_string()).unwrap_or_default(),
                a.duration_ms,
                esc(a.error.as_deref().unwrap_or(""))
            );
        }
        b += &action(
            "resend-callback",
            "Re-send now",
            &format!("Send {} to {} again now?", d.event_type, d.notify_url),
            &[("event_id", &d.event_id)],
            "",
        );
        let plain = key
            .and_then(|k| {
                let n: wechatpay_core::notify::Envelope = serde_json::from_str(&d.body).ok()?;
                let p = n.resource.decrypt(k).ok()?;
                let v: serde_json::Value = serde_json::from_slice(&p).ok()?;
                serde_json::to_string_pretty(&v).ok()
            })
            .unwrap_or_else(|| "(cannot decrypt with the provider's APIv3 key)".into());
        let _ = write!(
            b,
            "</table><p>Decrypted resource (the sandbox holds the APIv3 key):</p><pre class=\"plaintext\">{}</pre></div>",
            esc(&plain)
        );
    }
    let _ = write!(
        b,
        "<h2>The order as WeChat Pay answers it</h2><pre id=\"order\">{}</pre>",
        esc(&json)
    );
    Ok(page(&format!("Order {}", o.out_order_no), &b))
}
