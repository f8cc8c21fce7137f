//! The security layer, as the real server does it: authenticate every API request over
//! the raw bytes received, then sign every answer with the platform key.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wechatpay_core::{Authorization, ResponseSignature, SIGNATURE_TYPE, SignableRequest, headers};

use crate::AppState;
use crate::error::{ApiErr, InternalCode};
use crate::util::{random_hex, request_id};

/// Who called, once authenticated.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) mchid: String,
    pub(crate) response_serial: String,
}

/// Marks an answer WeChat Pay does not sign (a bill file): it is streamed as it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unsigned;

/// Buffers the body, authenticates, runs the handler, signs the answer.
/// Forces the key an answer is signed with (certificate downloads are signed with the
/// certificate they carry).
#[derive(Debug, Clone)]
pub(crate) struct SignWith(pub(crate) String);

pub(crate) async fn authenticate(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let b = &s.world().behaviour;
    let read = to_bytes(body, b.max_body_bytes);
    let read = match b.body_read_timeout_secs {
        0 => Ok(read.await),
        secs => tokio::time::timeout(std::time::Duration::from_secs(secs), read).await,
    };
    let bytes = match read {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            let e = ApiErr::new(StatusCode::PAYLOAD_TOO_LARGE, "PARAM_ERROR", "请求体过大").why(
                format!(
                    "the request body is over {} bytes (behaviour.max_body_bytes)",
                    b.max_body_bytes
                ),
            );
            return with_request_id(e.into_response());
        }
        Err(_) => {
            let e = ApiErr::new(StatusCode::REQUEST_TIMEOUT, "INVALID_REQUEST", "请求超时").why(
                format!(
                    "the request body did not arrive within {} s (behaviour.body_read_timeout_secs)",
                    b.body_read_timeout_secs
                ),
            );
            let mut r = with_request_id(e.into_response());
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    let admission = &s.inner.admission;
    admission
        .run(async {
            match check(&s, &parts, &bytes) {
                Err(e) => {
                    tracing::info!(code = e.code, message = %e.message, "rejected");
                    with_request_id(e.into_response())
                }
                Ok(caller) => {
                    let mut req = Request::from_parts(parts, Body::from(bytes));
                    req.extensions_mut().insert(caller.clone());
                    let resp = next.run(req).await;
                    if resp.status().is_success() && resp.extensions().get::<Unsigned>().is_some() {
                        return resp;
                    }
                    sign(&s, &caller, resp).await
                }
            }
        })
        .await
}

pub(crate) fn with_request_id(mut r: Response) -> Response {
    let code = r.extensions().get::<InternalCode>().map_or(0, |c| c.0);
    if let Ok(v) = HeaderValue::from_str(&request_id(code)) {
        r.headers_mut().insert(headers::REQUEST_ID, v);
    }
    r
}

fn check(s: &AppState, parts: &Parts, body: &[u8]) -> Result<Caller, ApiErr> {
    let h = &parts.headers;
    if !h.contains_key(header::ACCEPT) || !h.contains_key(header::USER_AGENT) {
        return Err(ApiErr::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "Http头缺少Accept或User-Agent",
        )
        .why("the Accept and User-Agent headers are required"));
    }
    let raw = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiErr::sign("Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》")
                .why("the Authorization header is missing")
        })?;
    if !raw.trim_start().starts_with(SIGNATURE_TYPE) {
        return Err(ApiErr::sign("Http头Authorization认证类型不正确")
            .why("the scheme must be WECHATPAY2-SHA256-RSA2048"));
    }
    let auth: Authorization = raw
        .parse()
        .map_err(|e: wechatpay_core::AuthorizationError| {
            ApiErr::sign("Authorization不合法").why(e.to_string())
        })?;
    if auth.nonce_str.is_empty() || auth.nonce_str.chars().any(char::is_control) {
        // Protocol spec §2.4: any non-empty token without control characters.
        return Err(ApiErr::sign("Authorization不合法")
            .why("nonce_str must be a non-empty token without control characters"));
    }
    let w = s.world();
    let now = s.real_now();
    let skew = now - auth.timestamp;
    if skew.unsigned_abs() > w.behaviour.max_skew_secs {
        let (by, side) = if skew < 0 {
            (-skew, "ahead of")
        } else {
            (skew, "behind")
        };
        return Err(
            ApiErr::sign("Http头Authorization中的timestamp与发起请求的时间不得超过5分钟").why(
                format!(
                    "timestamp {} is {by} s {side} the server's clock ({now}); allowed: {} s",
                    auth.timestamp, w.behaviour.max_skew_secs
                ),
            ),
        );
    }
    let provider = w.providers.get(&auth.mchid).ok_or_else(|| {
        ApiErr::sign("商户号不存在")
            .why(format!(
                "mchid {} is not a provider of this sandbox",
                auth.mchid
            ))
            .internal(271_302_144)
    })?;
    if provider.serial != auth.serial_no {
        return Err(ApiErr::sign("商户证书序列号有误。").why(format!(
            "serial_no {} is not the API certificate of mchid {}",
            auth.serial_no, auth.mchid
        )));
    }
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let req = SignableRequest::new(parts.method.as_str(), target, body);
    if auth.verify(&req, &provider.key).is_err() {
        let message = req.message(auth.timestamp, &auth.nonce_str);
        let text = String::from_utf8_lossy(&message);
        let head_len = text.len() - String::from_utf8_lossy(body).len() - 1;
        let shown: String = text.get(..head_len).unwrap_or_default().to_owned()
            + &String::from_utf8_lossy(body)
                .chars()
                .take(8)
                .collect::<String>()
            + "\n";
        return Err(ApiErr::sign("错误的签名，验签失败").detail(json!({
            "field": "signature",
            "issue": "sign not match",
            "location": "authorization",
            "detail": { "issue": "sign not match" },
            "sign_information": {
                "method": parts.method.as_str(),
                "url": target,
                "truncated_sign_message": shown,
                "sign_message_length": message.len(),
            }
        })));
    }
    // No server-side replay check is documented (protocol spec §2.4): off by default.
    if w.behaviour.reject_replayed_nonce
        && !s.remember_nonce(&auth.mchid, &auth.nonce_str, auth.timestamp)
    {
        return Err(ApiErr::sign("重复的请求").why(
            "nonce_str was already used within the timestamp window (behaviour.reject_replayed_nonce, a sandbox-only check)",
        ));
    }
    let requested = h.get(headers::SERIAL).and_then(|v| v.to_str().ok());
    Ok(Caller {
        mchid: auth.mchid,
        response_serial: w.response_serial(requested),
    })
}

/// Signs an answer (2xx and error answers after authentication alike).
async fn sign(s: &AppState, caller: &Caller, resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return ApiErr::system("系统错误").into_response();
    };
    let nonce = random_hex(16).to_lowercase();
    let serial = parts
        .extensions
        .get::<SignWith>()
        .map_or(caller.response_serial.as_str(), |w| w.0.as_str());
    let sig = match ResponseSignature::sign(
        &s.world().platform_key,
        serial,
        s.real_now(),
        &nonce,
        &bytes,
    ) {
        Ok(sig) => sig,
        Err(e) => {
            tracing::error!(error = %e, "cannot sign the answer");
            return with_request_id(ApiErr::system("系统错误").into_response());
        }
    };
    let mut h = HeaderMap::new();
    sig.apply_to(&mut h);
    parts.headers.extend(h);
    let code = parts.extensions.get::<InternalCode>().map_or(0, |c| c.0);
    if let Ok(v) = HeaderValue::from_str(&request_id(code)) {
        parts.headers.insert(headers::REQUEST_ID, v);
    }
    Response::from_parts(parts, Body::from(bytes))
}
