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
use crate::edge::error::{ApiErr, InternalCode, with_request_id};
use crate::edge::faults::{DropConnection, FaultKind};
use crate::store::SignatureCheck;
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
    let started = std::time::Instant::now();
    let (mut parts, body) = req.into_parts();
    let mut log = Entry::new(&s, &parts, started);
    // The order a request is about, by the name its endpoint gives the field: a path
    // parameter (as the router matched it) or a query parameter; else the body's, below.
    log.row.out_order_no = order_key(&mut parts, &s).await;
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
            return log
                .finish(&s, &[], with_request_id(e.into_response()))
                .await;
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
            return log.finish(&s, &[], r).await;
        }
    };
    let state = s.clone();
    s.admission()
        .run(async move {
            let s = state;
            let resp = match check(&s, &parts, &bytes, &mut log) {
                Err(e) => {
                    tracing::info!(code = %e.code, message = %e.message, "rejected");
                    with_request_id(e.into_response())
                }
                Ok(caller) => {
                    let fault = s.faults().take(parts.method.as_str(), parts.uri.path());
                    if let Some(f) = &fault {
                        log.row.diagnosis = Some(json!({ "fault": f.describe() }));
                    }
                    match fault {
                        Some(FaultKind::Error {
                            status,
                            code,
                            message,
                        }) => {
                            let status = StatusCode::from_u16(status)
                                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                            let e = ApiErr::new(status, "", message)
                                .with_code(code)
                                .why("a fault the test helper was asked for");
                            sign(&s, &caller, with_request_id(e.into_response())).await
                        }
                        Some(FaultKind::CloseBefore) => {
                            let mut r = StatusCode::from_u16(444)
                                .unwrap_or(StatusCode::BAD_GATEWAY)
                                .into_response();
                            r.extensions_mut().insert(DropConnection);
                            r
                        }
                        other => {
                            if let Some(FaultKind::Delay { ms }) = other {
                                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                            }
                            let mut req = Request::from_parts(parts, Body::from(bytes.clone()));
                            req.extensions_mut().insert(caller.clone());
                            let resp = next.run(req).await;
                            let mut resp = if resp.status().is_success()
                                && resp.extensions().get::<Unsigned>().is_some()
                            {
                                log.file = true;
                                resp
                            } else {
                                sign(&s, &caller, resp).await
                            };
                            if other == Some(FaultKind::DropAfter) {
                                resp.extensions_mut().insert(DropConnection);
                            }
                            resp
                        }
                    }
                }
            };
            log.finish(&s, &bytes, resp).await
        })
        .await
}

/// What the request log records of a request, filled in as it is checked.
struct Entry {
    row: crate::store::RequestRow,
    started: std::time::Instant,
    /// The answer is a file, streamed: its bytes are not logged.
    file: bool,
}

impl Entry {
    fn new(s: &AppState, parts: &Parts, started: std::time::Instant) -> Self {
        let target = target(parts).to_owned();
        let request_headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes());
                let v = if *k == header::AUTHORIZATION {
                    shorten_signature(&v)
                } else {
                    v.into_owned()
                };
                (k.as_str().to_owned(), v)
            })
            .collect();
        Self {
            row: crate::store::RequestRow {
                id: 0,
                at_ms: s.real_now_ms(),
                method: parts.method.as_str().to_owned(),
                out_order_no: None,
                target,
                status: 0,
                code: None,
                latency_us: 0,
                request_id: None,
                mchid: None,
                serial: None,
                signature: SignatureCheck::NotChecked,
                diagnosis: None,
                request_headers,
                request_body: String::new(),
                response_body: String::new(),
            },
            started,
            file: false,
        }
    }

    /// Logs the request with its answer, and gives the answer back.
    async fn finish(mut self, s: &AppState, body: &[u8], resp: Response) -> Response {
        let (parts, resp_body) = resp.into_parts();
        let (resp, logged) = if self.file {
            (
                Response::from_parts(parts, resp_body),
                bytes::Bytes::from_static(b"(a file, streamed; not logged)"),
            )
        } else {
            let bytes = to_bytes(resp_body, usize::MAX).await.unwrap_or_default();
            (
                Response::from_parts(parts, Body::from(bytes.clone())),
                bytes,
            )
        };
        let r = &mut self.row;
        r.status = resp.status().as_u16();
        r.latency_us = i64::try_from(self.started.elapsed().as_micros()).unwrap_or(i64::MAX);
        r.request_id = resp
            .headers()
            .get(headers::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !resp.status().is_success() {
            r.code = serde_json::from_slice::<serde_json::Value>(&logged)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_owned));
        }
        if r.out_order_no.is_none() {
            // Only the one field: the rest of the body is skipped, not built into a tree.
            #[derive(serde::Deserialize)]
            struct Key {
                out_order_no: Option<String>,
            }
            r.out_order_no = serde_json::from_slice::<Key>(body)
                .ok()
                .and_then(|k| k.out_order_no);
        }
        s.store().log_request(self.row, body, &logged);
        resp
    }
}

/// The path and query as received.
fn target(parts: &Parts) -> &str {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str())
}

/// The Authorization header with its signature cut to 12 characters: enough to tell two
/// apart, useless to replay. Any other credential (`Bearer …`, say) keeps its scheme and
/// 4 characters.
fn shorten_signature(v: &str) -> String {
    let Some(start) = v.find("signature=\"").map(|i| i + "signature=\"".len()) else {
        let (scheme, secret) = v.split_once(' ').unwrap_or(("", v));
        let kept: String = secret.chars().take(4).collect();
        return format!("{scheme} {kept}…({} characters)", secret.chars().count())
            .trim_start()
            .to_owned();
    };
    let end = v[start..].find('"').map_or(v.len(), |i| start + i);
    let sig = &v[start..end];
    if sig.chars().count() <= 12 {
        return v.to_owned();
    }
    let kept: String = sig.chars().take(12).collect();
    format!(
        "{}{kept}…({} characters)\"{}",
        &v[..start],
        sig.chars().count(),
        v.get(end + 1..).unwrap_or_default()
    )
}

/// The field that keys the request log by order.
const ORDER_KEY: &str = "out_order_no";

/// `out_order_no` as a path parameter of the matched route or a query parameter.
async fn order_key(parts: &mut Parts, s: &AppState) -> Option<String> {
    if let Ok(params) = <axum::extract::RawPathParams as axum::extract::FromRequestParts<
        AppState,
    >>::from_request_parts(parts, s)
    .await
        && let Some((_, v)) = params.iter().find(|(k, _)| *k == ORDER_KEY)
    {
        return Some(v.to_owned());
    }
    let axum::extract::Query(query) =
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).ok()?;
    query
        .into_iter()
        .find(|(k, _)| k == ORDER_KEY)
        .map(|(_, v)| v)
}

fn check(s: &AppState, parts: &Parts, body: &[u8], log: &mut Entry) -> Result<Caller, ApiErr> {
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
    log.row.signature = SignatureCheck::Failed;
    let auth: Authorization = raw
        .parse()
        .map_err(|e: wechatpay_core::AuthorizationError| {
            ApiErr::sign("Authorization不合法").why(e.to_string())
        })?;
    log.row.mchid = Some(auth.mchid.clone());
    log.row.serial = Some(auth.serial_no.clone());
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
    let target = target(parts);
    let req = SignableRequest::new(parts.method.as_str(), target, body);
    if auth.verify(&req, &provider.key).is_err() {
        log.row.diagnosis = Some(diagnose(
            &auth,
            parts.method.as_str(),
            target,
            body,
            &provider.key,
        ));
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
        && !s.nonces().remember(
            &auth.mchid,
            &auth.nonce_str,
            auth.timestamp,
            s.real_now(),
            i64::try_from(s.world().behaviour.max_skew_secs).unwrap_or(i64::MAX),
        )
    {
        return Err(ApiErr::sign("重复的请求").why(
            "nonce_str was already used within the timestamp window (behaviour.reject_replayed_nonce, a sandbox-only check)",
        ));
    }
    log.row.signature = SignatureCheck::Verified;
    let requested = h.get(headers::SERIAL).and_then(|v| v.to_str().ok());
    Ok(Caller {
        mchid: auth.mchid,
        response_serial: w.response_serial(requested),
    })
}

/// For a signature that does not verify: the string the sandbox expected to be signed,
/// and the usual mistake that would explain it, found by checking the signature against
/// what each mistake would have signed.
fn diagnose(
    auth: &Authorization,
    method: &str,
    target: &str,
    body: &[u8],
    key: &wechatpay_core::PublicKey,
) -> serde_json::Value {
    let expected =
        SignableRequest::new(method, target, body).message(auth.timestamp, &auth.nonce_str);
    let path = target.split('?').next().unwrap_or(target);
    let lower = method.to_ascii_lowercase();
    let with_newline = [body, b"\n"].concat();
    let with_host = format!("https://api.mch.weixin.qq.com{target}");
    let mistakes: [(&str, SignableRequest<'_>); 5] = [
        (
            "the query string was left out of the signed URL",
            SignableRequest::new(method, path, body),
        ),
        (
            "an empty body was signed instead of the body sent",
            SignableRequest::new(method, target, b""),
        ),
        (
            "the method was signed in lower case",
            SignableRequest::new(&lower, target, body),
        ),
        (
            "the signed body ends with a newline that was not sent",
            SignableRequest::new(method, target, &with_newline),
        ),
        (
            "the signed URL includes the scheme and host; sign the path and query only",
            SignableRequest::new(method, &with_host, body),
        ),
    ];
    let likely = mistakes
        .iter()
        .find(|(_, m)| auth.verify(m, key).is_ok())
        .map_or_else(
            || format!(
                "none of the usual mistakes: either the private key is not the one of serial_no {} (mchid {}), or the bytes signed differ from the bytes sent; compare your string to sign with this one byte by byte",
                auth.serial_no, auth.mchid
            ),
            |(what, _)| (*what).to_owned(),
        );
    json!({
        "expected_string_to_sign": String::from_utf8_lossy(&expected),
        "likely": likely,
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
