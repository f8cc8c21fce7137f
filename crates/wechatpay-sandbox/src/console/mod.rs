//! The sandbox console: server-rendered pages to see every exchange. Everything that came
//! from a request is escaped; pages carry a Content-Security-Policy that allows only this
//! origin's stylesheet and script.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

mod orders;
mod requests;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sandbox/orders", get(orders::list))
        .route("/_sandbox/orders/{id}", get(orders::show))
        .route("/_sandbox/requests", get(requests::list))
        .route("/_sandbox/requests/{id}", get(requests::show))
        .route("/_sandbox/console.css", get(css))
}

/// `<`, `>`, `&`, `"` and `'` as entities: safe in text and in quoted attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A console page: `body` must be built from escaped text only.
fn page(title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{} · WeChat Pay sandbox</title>
<link rel="stylesheet" href="/_sandbox/console.css"></head>
<body><nav><a href="/_sandbox/">Sandbox</a> <a href="/_sandbox/orders">Orders</a> <a href="/_sandbox/requests">Requests</a></nav>
<main>{body}</main></body></html>"#,
        esc(title)
    );
    let mut r = Html(html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("console.css"),
    )
        .into_response()
}

/// Unix ms as `YYYY-MM-DD HH:MM:SS.mmm` Beijing time (the time WeChat Pay shows).
fn when(ms: i64) -> String {
    let t = crate::util::rfc3339_beijing(ms.div_euclid(1000));
    format!(
        "{}.{:03}",
        t.get(..19).unwrap_or(&t).replace('T', " "),
        ms.rem_euclid(1000)
    )
}
