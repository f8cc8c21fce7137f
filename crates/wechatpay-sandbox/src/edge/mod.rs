//! The HTTP edge: the router, the server loop and admission, authentication (with the
//! request log and the nonce cache), the extractor every handler reads its request with,
//! and WeChat-shaped error answers. It is the top of the sandbox: it routes the products'
//! handlers; the products speak its vocabulary (`wx`, `error`, `auth::Caller`) and stand
//! on the store.

use std::time::Duration;

use axum::Router;
use axum::routing::get;

use crate::{AppState, bills, certificates, console, payscore};

#[macro_use]
pub(crate) mod wx;
pub(crate) mod admission;
pub(crate) mod auth;
pub(crate) mod error;
pub(crate) mod faults;
pub(crate) mod nonces;
pub(crate) mod serve;

/// The router: the API (authenticated, signed), the console (`/_sandbox/`) and its JSON.
pub fn app(state: AppState) -> Router {
    let b = &state.world().behaviour;
    let timeout = Duration::from_millis(b.request_timeout_ms);
    let auth = axum::middleware::from_fn_with_state(state.clone(), auth::authenticate);
    // The layer goes on each method route, so unknown paths (404) and wrong methods (405)
    // answer with empty bodies before authentication, as the real server does.
    let authenticated = |r: axum::routing::MethodRouter<AppState>| r.route_layer(auth.clone());
    let api = wx::routes(authenticated)
        .merge(payscore::legacy_routes(authenticated))
        .route(bills::DOWNLOAD_PATH, authenticated(get(bills::download)))
        .route(
            certificates::PATH,
            authenticated(get(certificates::certificates)),
        );
    let console = Router::new()
        .merge(console::api::routes())
        .merge(console::routes())
        .merge(console::helpers::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            console::access,
        ));
    Router::new()
        .merge(api)
        .merge(console)
        .layer(axum::middleware::from_fn(log_request))
        .layer(axum::middleware::from_fn(wechat_headers))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

/// The headers WeChat Pay's answers carry (protocol spec §3.1): JSON is
/// `application/json; charset=utf-8`, and a 204 says `Content-Length: 0`.
async fn wechat_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    let mut resp = next.run(req).await;
    let status = resp.status();
    let h = resp.headers_mut();
    if status == StatusCode::NO_CONTENT {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        // hyper drops the header of an empty body; a body of known length 0 keeps it.
        *resp.body_mut() = axum::body::Body::new(KnownEmpty);
    } else if h
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    resp
}

/// An empty body that says "0 bytes" instead of "no body", so that the HTTP layer
/// writes the `Content-Length: 0` of a 204 as WeChat Pay does.
struct KnownEmpty;

impl http_body::Body for KnownEmpty {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(None)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(0)
    }
}

/// Logs one line per request: method, path, status, WeChat error code, time.
async fn log_request(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let code = resp.extensions().get::<error::InternalCode>().map(|c| c.0);
    let rid = resp
        .headers()
        .get(wechatpay_core::headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    tracing::info!(target: "wechatpay_sandbox::access", "{method} {path} -> {} ({} us, Request-ID {rid}{})", resp.status().as_u16(), started.elapsed().as_micros(), code.filter(|c| *c != 0).map(|c| format!(", error {c}")).unwrap_or_default());
    resp
}

/// The console and the test helpers answer only this machine (or a caller with the
/// token) at this sandbox's own host names, through the whole router.
#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use crate::console::helpers::Peer;

    const TOKEN: &str = "0123456789abcdef-console";

    async fn get(
        app: &axum::Router,
        uri: &str,
        from: &str,
        extra: Option<(&'static str, &str)>,
    ) -> axum::response::Response {
        let mut r = Request::get(uri)
            .header("host", "sandbox.test")
            .body(Body::empty())
            .unwrap();
        r.extensions_mut().insert(Peer(from.parse().unwrap()));
        if let Some((k, v)) = extra {
            r.headers_mut().insert(k, v.parse().unwrap());
        }
        app.clone().oneshot(r).await.unwrap()
    }

    async fn app(token: Option<&str>) -> axum::Router {
        let g = crate::generate(crate::now()).unwrap();
        let mut c = g.config;
        c.database = ":memory:".into();
        c.console_token = token.map(str::to_owned);
        c.allowed_hosts = vec!["Sandbox.Test".into()];
        crate::app(crate::AppState::new(&c, ".".as_ref()).unwrap())
    }

    #[tokio::test]
    async fn only_this_sandboxs_host_names_are_answered() {
        let g = crate::generate(crate::now()).unwrap();
        let mut c = g.config;
        c.database = ":memory:".into();
        c.allowed_hosts = vec!["sandbox.internal:9000".into(), "dev.example".into()];
        let s = crate::AppState::new(&c, ".".as_ref()).unwrap();
        assert!(!s.is_own_host("127.0.0.1:8780"), "not listening yet");
        s.set_addr("127.0.0.1:8780".parse().unwrap());
        for ok in [
            "127.0.0.1:8780",
            "localhost:8780",
            "LOCALHOST:8780",
            "[::1]:8780",
            "sandbox.internal:9000",
            "dev.example",
            "dev.example:443",
        ] {
            assert!(s.is_own_host(ok), "{ok}");
        }
        for refused in [
            "attacker.example:8780", // DNS rebinding: the page's own name
            "127.0.0.1:8781",
            "localhost",
            "sandbox.internal:9001",
            "sandbox.internal",
            "127.0.0.1.nip.io:8780",
            "",
        ] {
            assert!(!s.is_own_host(refused), "{refused}");
        }
        let app = crate::app(s);
        let mut r = Request::get("/_sandbox/api/clock")
            .header("host", "attacker.example:8780")
            .body(Body::empty())
            .unwrap();
        r.extensions_mut()
            .insert(Peer("127.0.0.1:5000".parse().unwrap()));
        let resp = app.clone().oneshot(r).await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let mut r = Request::get("/_sandbox/api/clock")
            .header("host", "localhost:8780")
            .body(Body::empty())
            .unwrap();
        r.extensions_mut()
            .insert(Peer("127.0.0.1:5000".parse().unwrap()));
        assert_eq!(app.oneshot(r).await.unwrap().status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn other_machines_need_the_token() {
        let open = app(None).await;
        assert_eq!(
            get(&open, "/_sandbox/orders", "127.0.0.1:5000", None)
                .await
                .status(),
            StatusCode::OK
        );
        let far = "192.0.2.7:5000";
        assert_eq!(
            get(&open, "/_sandbox/orders", far, None).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&open, "/_sandbox/api/orders", far, None).await.status(),
            StatusCode::FORBIDDEN
        );

        let shut = app(Some(TOKEN)).await;
        assert_eq!(
            get(&shut, "/_sandbox/orders", far, None).await.status(),
            StatusCode::FORBIDDEN
        );
        let wrong = get(
            &shut,
            "/_sandbox/orders?token=0123456789abcdef-wrong",
            far,
            None,
        )
        .await;
        assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
        // The token in the address becomes a cookie, and leaves the address.
        let r = get(
            &shut,
            &format!("/_sandbox/orders?state=DONE&token={TOKEN}"),
            far,
            None,
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/_sandbox/orders?state=DONE");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let pair = cookie.split(';').next().unwrap();
        assert_eq!(
            get(&shut, "/_sandbox/orders", far, Some(("cookie", pair)))
                .await
                .status(),
            StatusCode::OK
        );
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(
            get(
                &shut,
                "/_sandbox/api/clock",
                far,
                Some(("authorization", &bearer))
            )
            .await
            .status(),
            StatusCode::OK
        );
    }
}
