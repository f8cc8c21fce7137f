//! The sandbox console: server-rendered pages to see every exchange. Everything that came
//! from a request is escaped; pages carry a Content-Security-Policy that allows only this
//! origin's stylesheet and script.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

mod acting;
pub(crate) mod api;
pub(crate) mod helpers;
mod lists;
mod orders;
mod requests;

/// An error of the console, its JSON API or a test helper: status and what is wrong, as
/// `{"error": …}` (the sandbox's own API, not WeChat Pay's).
#[derive(Debug)]
pub(crate) struct Refused(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<crate::store::StoreError> for Refused {
    fn from(e: crate::store::StoreError) -> Self {
        Refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl From<crate::SandboxError> for Refused {
    fn from(e: crate::SandboxError) -> Self {
        Refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            wechatpay_core::ErrorChain(&e).to_string(),
        )
    }
}

impl From<crate::edge::error::ApiErr> for Refused {
    fn from(e: crate::edge::error::ApiErr) -> Self {
        Refused(e.status, format!("{}: {}", e.code, e.message))
    }
}

pub(crate) fn bad(message: impl Into<String>) -> Refused {
    Refused(StatusCode::BAD_REQUEST, message.into())
}

/// A test helper's answer: JSON, or why it was refused.
type Answer = Result<axum::Json<serde_json::Value>, Refused>;

/// The provider a helper call is about.
fn provider(s: &AppState, mchid: Option<&str>) -> Result<String, Refused> {
    let w = s.world();
    match mchid {
        Some(m) if w.providers.contains_key(m) => Ok(m.to_owned()),
        Some(m) => Err(bad(format!("mchid {m} is not a provider of this sandbox"))),
        None if w.providers.len() == 1 => {
            Ok(w.providers.keys().next().cloned().unwrap_or_default())
        }
        None => Err(bad("give mchid: the sandbox has several providers")),
    }
}

/// Nothing at this id.
pub(crate) fn not_found(message: impl Into<String>) -> Refused {
    Refused(StatusCode::NOT_FOUND, message.into())
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sandbox/", get(lists::home))
        .route("/_sandbox/authorizations", get(lists::authorizations))
        .route("/_sandbox/refunds", get(lists::refunds))
        // Generating a bill costs CPU: not for <img> tags on other sites.
        .route(
            "/_sandbox/bill",
            get(crate::bills::console_bill).route_layer(axum::middleware::from_fn(
                crate::console::helpers::same_origin,
            )),
        )
        .route("/_sandbox/orders", get(orders::list))
        .route("/_sandbox/orders/{id}", get(orders::show))
        .route("/_sandbox/requests", get(requests::list))
        .route("/_sandbox/requests/{id}", get(requests::show))
        .route("/_sandbox/console.css", get(css))
        .route("/_sandbox/console.js", get(js))
}

const COOKIE: &str = "wxpay_console";

impl AppState {
    /// Whether `host` (a `Host` header) names this sandbox: the listening address,
    /// `localhost`, `127.0.0.1` or `[::1]` with its port, or one of `allowed_hosts`.
    pub(crate) fn is_own_host(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let (name, port) = match host.rsplit_once(':') {
            Some((n, p)) if !p.contains(']') => (n, p.parse::<u16>().ok()),
            _ => (host.as_str(), None),
        };
        let allowed = &self.world().allowed_hosts;
        if allowed.iter().any(|a| *a == host || *a == name) {
            return true;
        }
        let Some(addr) = self.addr() else {
            return false;
        };
        let port_ok = port.unwrap_or(80) == addr.port();
        let listening = addr.ip().to_string();
        port_ok
            && (["localhost", "127.0.0.1", "[::1]"].contains(&name)
                || name == listening
                || name.trim_start_matches('[').trim_end_matches(']') == listening)
    }
}

/// Who may use the console, its JSON and the test helpers: callers on this machine, and
/// others that present `console_token` (`?token=` once, which sets a cookie, then the
/// cookie; or `Authorization: Bearer`).
pub(crate) async fn access(
    State(s): State<AppState>,
    peer: Option<axum::Extension<crate::console::helpers::Peer>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
    if !host.as_deref().is_some_and(|h| s.is_own_host(h)) {
        tracing::warn!(host = ?host, path = %req.uri().path(), "refused: the Host is not this sandbox's (a page whose name was rebound to this address?); allow a name with allowed_hosts");
        return refused(
            "the Host of this request is not this sandbox's address (add it to allowed_hosts in sandbox.toml)",
        );
    }
    if peer.is_some_and(|axum::Extension(p)| p.0.ip().is_loopback()) {
        return next.run(req).await;
    }
    let Some(token) = s.world().console_token.as_deref() else {
        return refused(
            "the console answers callers on this machine only (set console_token in sandbox.toml to open it to others)",
        );
    };
    let same = |given: &str| {
        aws_lc_rs::constant_time::verify_slices_are_equal(given.as_bytes(), token.as_bytes())
            .is_ok()
    };
    let h = req.headers();
    let bearer = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='));
    if bearer.is_some_and(same) || cookie.is_some_and(same) {
        return next.run(req).await;
    }
    let query = req.uri().query().unwrap_or("");
    if query
        .split('&')
        .any(|kv| kv.strip_prefix("token=").is_some_and(same))
    {
        // Trade the token in the address for a cookie, and drop it from the address.
        let rest: Vec<&str> = query
            .split('&')
            .filter(|kv| !kv.starts_with("token="))
            .collect();
        let to = if rest.is_empty() {
            req.uri().path().to_owned()
        } else {
            format!("{}?{}", req.uri().path(), rest.join("&"))
        };
        let mut r = axum::response::Redirect::to(&to).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{COOKIE}={token}; Path=/_sandbox; HttpOnly; SameSite=Strict"
        )) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        return r;
    }
    refused("give the console token (?token=… once, or Authorization: Bearer …)")
}

fn refused(why: &str) -> Response {
    (
        axum::http::StatusCode::FORBIDDEN,
        axum::Json(serde_json::json!({ "error": why })),
    )
        .into_response()
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

/// The button that moves the test clock forward.
fn clock_action() -> String {
    action(
        "clock/advance",
        "Advance the test clock",
        "Move business time forward (expiries, deductions and retries fall due)?",
        &[],
        "<label>seconds <input type=\"number\" name=\"seconds\" value=\"3600\" min=\"0\"></label> ",
    )
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
