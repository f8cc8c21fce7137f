//! The request log: newest first, and one page per request with the sandbox's side of it.

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{esc, page, when};
use crate::AppState;
use crate::console::{Refused, not_found};
use crate::store::{RequestRow, SignatureCheck};

const PAGE_ROWS: u32 = 50;

#[derive(Deserialize)]
pub(crate) struct Before {
    before: Option<i64>,
}

fn signature(r: &RequestRow) -> &'static str {
    match r.signature {
        SignatureCheck::Verified => r#"<span class="ok">verified</span>"#,
        SignatureCheck::Failed => r#"<span class="bad">failed</span>"#,
        SignatureCheck::NotChecked => r#"<span class="muted">not checked</span>"#,
    }
}

pub(crate) async fn list(
    State(s): State<AppState>,
    Query(q): Query<Before>,
) -> Result<Response, Refused> {
    let rows = s.store().list_requests(q.before, PAGE_ROWS)?;
    let mut b = String::from("<h1>Requests</h1>");
    b += &super::action(
        "fault",
        "Add a fault",
        "Make the next matching API requests fail as chosen?",
        &[],
        "<label>method <select name=\"method\"><option value=\"\">any</option><option>GET</option><option>POST</option><option>PATCH</option><option>PUT</option><option>DELETE</option></select></label> \
         <label>path <input name=\"path\" placeholder=\"/v3/payscore/partner/serviceorder/*/complete\" required></label> \
         <label>fails by <select name=\"kind\"><option value=\"error\">error answer</option><option value=\"delay\">delay</option>\
         <option value=\"drop-after\">carried out, no answer</option><option value=\"close-before\">closed, not carried out</option></select></label> \
         <label>times <input type=\"number\" name=\"times\" value=\"1\" min=\"1\"></label> \
         <label>status <input type=\"number\" name=\"status\" value=\"500\" min=\"400\" max=\"599\"></label> \
         <label>code <input name=\"code\" value=\"SYSTEM_ERROR\"></label> \
         <label>message <input name=\"message\" value=\"系统错误\"></label> \
         <label>delay ms <input type=\"number\" name=\"ms\" value=\"0\" min=\"0\"></label> ",
    );
    let waiting = s.faults().list();
    if !waiting.is_empty() {
        b.push_str("<p id=\"faults\">Faults waiting:</p><ul>");
        for f in &waiting {
            let _ = write!(
                b,
                "<li><code>{} {}</code> × {}: {}</li>",
                esc(f.method.as_deref().unwrap_or("any")),
                esc(&f.path),
                f.times,
                esc(&f.kind.describe()),
            );
        }
        b += "</ul>";
        b += &super::action(
            "faults/clear",
            "Clear faults",
            "Remove every fault waiting?",
            &[],
            "",
        );
    }
    b.push_str(
        "<p>Every API request the sandbox received, newest first.</p>\
         <table id=\"requests\"><thead><tr><th>time (Beijing)</th><th>request</th><th>status</th>\
         <th>code</th><th>ms</th><th>signature</th><th>mchid</th><th>Request-ID</th></tr></thead><tbody>",
    );
    for r in &rows {
        let _ = write!(
            b,
            "<tr><td>{}</td><td><a href=\"/_sandbox/requests/{}\">{} {}</a></td><td class=\"{}\">{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            when(r.at_ms),
            r.id,
            esc(&r.method),
            esc(&r.target),
            if r.status < 300 { "ok" } else { "bad" },
            r.status,
            esc(r.code.as_deref().unwrap_or("")),
            r.latency_us as f64 / 1000.0,
            signature(r),
            esc(r.mchid.as_deref().unwrap_or("")),
            esc(r.request_id.as_deref().unwrap_or("")),
        );
    }
    b.push_str("</tbody></table>");
    if rows.len() == PAGE_ROWS as usize
        && let Some(last) = rows.last()
    {
        let _ = write!(
            b,
            "<p><a id=\"older\" href=\"/_sandbox/requests?before={}\">older →</a></p>",
            last.id
        );
    }
    if rows.is_empty() {
        b.push_str("<p class=\"muted\">No requests yet.</p>");
    }
    Ok(page("Requests", &b))
}

/// `text` with each line end shown as a visible `\n`.
fn with_newlines(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.strip_suffix('\n') {
            Some(l) => format!("{}<span class=\"nl\">\\n</span>\n", esc(l)),
            None => esc(line),
        })
        .collect()
}

pub(crate) async fn show(
    State(s): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, Refused> {
    let Some(r) = s.store().request(id)? else {
        return Err(not_found(format!("no request {id} in the log")));
    };
    let mut b = format!(
        "<h1>{} {}</h1><table id=\"summary\"><tr><th>received</th><td>{}</td></tr>\
         <tr><th>answer</th><td>{} {}</td></tr><tr><th>latency</th><td>{:.1} ms</td></tr>\
         <tr><th>Request-ID</th><td><code>{}</code></td></tr><tr><th>mchid</th><td>{}</td></tr>\
         <tr><th>serial_no</th><td><code>{}</code></td></tr><tr><th>signature</th><td id=\"signature\">{}</td></tr></table>",
        esc(&r.method),
        esc(&r.target),
        when(r.at_ms),
        r.status,
        esc(r.code.as_deref().unwrap_or("")),
        r.latency_us as f64 / 1000.0,
        esc(r.request_id.as_deref().unwrap_or("")),
        esc(r.mchid.as_deref().unwrap_or("")),
        esc(r.serial.as_deref().unwrap_or("")),
        signature(&r),
    );
    if let Some(fault) = r.diagnosis.as_ref().and_then(|d| d["fault"].as_str()) {
        let _ = write!(
            b,
            "<h2>A fault on demand</h2><p id=\"fault\">The test helper was asked for a fault that {}.</p>",
            esc(fault)
        );
    } else if let Some(d) = &r.diagnosis {
        let _ = write!(
            b,
            "<h2>Why the signature failed</h2><p id=\"likely\">Likely: {}</p>\
             <p>The string the sandbox expected to be signed (line ends shown as <span class=\"nl\">\\n</span>):</p>\
             <pre id=\"expected\">{}</pre>",
            esc(d["likely"].as_str().unwrap_or("")),
            with_newlines(d["expected_string_to_sign"].as_str().unwrap_or("")),
        );
    }
    // Other refusals: the sandbox's diagnosis is in the answer's detail, as WeChat puts it.
    let issue = serde_json::from_str::<serde_json::Value>(&r.response_body)
        .ok()
        .and_then(|v| v["detail"]["issue"].as_str().map(str::to_owned));
    if r.diagnosis.is_none()
        && let Some(issue) = issue.filter(|_| r.status >= 400)
    {
        let _ = write!(
            b,
            "<h2>Why it was refused</h2><p id=\"issue\">{}</p>",
            esc(&issue)
        );
    }
    b.push_str("<h2>Request headers</h2><table id=\"headers\">");
    for (k, v) in &r.request_headers {
        let _ = write!(
            b,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            esc(k),
            esc(v)
        );
    }
    let _ = write!(
        b,
        "</table><h2>Request body, as received</h2><pre id=\"request-body\">{}</pre>\
         <h2>Answer body</h2><pre id=\"response-body\">{}</pre>",
        esc(&r.request_body),
        esc(&r.response_body),
    );
    Ok(page(&format!("{} {}", r.method, r.target), &b))
}
