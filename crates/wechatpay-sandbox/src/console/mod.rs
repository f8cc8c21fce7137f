//! The sandbox console: server-rendered pages to see every exchange. Everything that came
//! from a request is escaped; pages carry a Content-Security-Policy that allows only this
//! origin's stylesheet and script.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

mod lists;
mod orders;
mod requests;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sandbox/", get(lists::home))
        .route("/_sandbox/authorizations", get(lists::authorizations))
        .route("/_sandbox/refunds", get(lists::refunds))
        .route("/_sandbox/orders", get(orders::list))
        .route("/_sandbox/orders/{id}", get(orders::show))
        .route("/_sandbox/requests", get(requests::list))
        .route("/_sandbox/requests/{id}", get(requests::show))
        .route("/_sandbox/console.css", get(css))
        .route("/_sandbox/console.js", get(js))
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
<link rel="stylesheet" href="/_sandbox/console.css"><script src="/_sandbox/console.js" defer></script></head>
<body><nav><a href="/_sandbox/">Sandbox</a> <a href="/_sandbox/requests">Requests</a> <a href="/_sandbox/orders">Orders</a> <a href="/_sandbox/authorizations">Authorizations</a> <a href="/_sandbox/refunds">Refunds</a></nav>
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

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console.js"),
    )
        .into_response()
}

/// A button that calls test helper `helper` with `fields` (name, value) after the
/// confirmation `confirm`, through the same endpoint scripts use; its answer appears in
/// the form's `<output>`. `inputs` is extra escaped HTML (visible fields).
fn action(
    helper: &str,
    label: &str,
    confirm: &str,
    fields: &[(&str, &str)],
    inputs: &str,
) -> String {
    let mut f = format!(
        "<form class=\"action\" method=\"post\" action=\"/_sandbox/api/test-helpers/{helper}\" data-confirm=\"{}\">",
        esc(confirm)
    );
    for (k, v) in fields {
        f += &format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        );
    }
    f += &format!(
        "{inputs}<button>{}</button> <output></output></form>",
        esc(label)
    );
    f
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
