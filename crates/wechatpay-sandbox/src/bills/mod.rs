//! Bills (lifecycle spec §5): generated from the sandbox's own ledger for a Beijing-time
//! day, in the official byte layout, and downloaded unsigned through a short-lived link.
//!
//! A bill is written to a temporary file as it is read from SQLite (bounded memory for
//! any number of rows), hashed on the way (SHA-1 of the uncompressed bytes), gzip-compressed
//! when asked. The link's token is valid `bill_link_valid_secs` of business time and only
//! for the merchant that applied.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wechatpay_models::v3::bill::{
    FundFlowBillRequest, SubMerchantFundFlowBillRequest, TradeBillRequest, beijing_day,
    parse_bill_date,
};

use crate::AppState;
use crate::edge::auth::{Caller, Unsigned};
use crate::edge::error::{Answer, ApiErr};
use crate::edge::wx::Decoded;
use crate::store::StoreError;
use crate::util::random_hex;

mod layout;
pub(crate) mod links;

use layout::{Kind, fund_flow_bill, trade_bill, write_bill};

use links::Link;

/// The download path of bill files.
pub(crate) const DOWNLOAD_PATH: &str = "/v3/billdownload/file";

handles! {
    TradeBillRequest => tradebill;
    FundFlowBillRequest => fundflowbill;
    SubMerchantFundFlowBillRequest => sub_fundflowbill;
}

fn query_param(field: &str, issue: &str) -> ApiErr {
    ApiErr::param_field(field, None, issue, "query")
}

fn invalid(issue: impl Into<String>) -> ApiErr {
    ApiErr::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "参数错误").why(issue)
}

/// The day `bill_date` names, if a bill of it can be asked for at `now` (§5.1, §5.3):
/// `[start, end)` in unix ms.
fn bill_day(s: &AppState, raw: &str) -> Result<(i64, i64), ApiErr> {
    bill_window(raw, s.now(), s.world().behaviour.bill_ready_hour)
}

/// The day `raw` names as `[start, end)` in unix ms, if its bill can be had at `now` (unix
/// seconds): not in the future, at most 3 months back, from `ready_hour` (Beijing time) of
/// the next day (lifecycle spec §5.1, §5.3).
fn bill_window(raw: &str, now: i64, ready_hour: u32) -> Result<(i64, i64), ApiErr> {
    let day = parse_bill_date(raw)
        .ok_or_else(|| query_param("bill_date", "bill_date must be a date written yyyy-MM-dd"))?;
    let today = beijing_day(now);
    if day > today {
        return Err(invalid("bill_date is in the future"));
    }
    if today
        .checked_sub(time::Duration::days(92))
        .is_some_and(|d| day < d)
    {
        return Err(invalid("bill_date is more than 3 months back"));
    }
    let start = crate::util::beijing_midnight_ms(day);
    let end = start + 86_400_000;
    let ready = end / 1000 + i64::from(ready_hour) * 3600;
    if now < ready {
        return Err(ApiErr::new(StatusCode::BAD_REQUEST, "STATEMENT_CREATING", "账单生成中").why(format!(
            "the bill of {raw} is generated from {ready_hour:02}:00 of the next day (Beijing time, behaviour.bill_ready_hour); retry later"
        )));
    }
    Ok((start, end))
}

/// `bill_type` of a trade bill: ALL (the default), SUCCESS or REFUND.
fn trade_kind(bill_type: Option<&str>) -> Result<Kind, ApiErr> {
    Ok(
        match one_of("bill_type", bill_type, &["ALL", "SUCCESS", "REFUND"])? {
            Some("SUCCESS") => Kind::Success,
            Some("REFUND") => Kind::Refund,
            _ => Kind::All,
        },
    )
}

/// `value` of query parameter `field`, if given, when it is one of `allowed`.
fn one_of<'a>(
    field: &str,
    value: Option<&'a str>,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiErr> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(query_param(
            field,
            &format!("{field} must be one of {}", allowed.join(", ")),
        )),
        v => Ok(v),
    }
}

fn no_statement(issue: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "NO_STATEMENT_EXIST",
        "请求的账单文件不存在",
    )
    .why(issue)
}

async fn tradebill(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Decoded(q, _): Decoded<TradeBillRequest>,
) -> Answer {
    let day = bill_day(&s, &q.bill_date)?;
    let kind = trade_kind(q.bill_type.as_deref())?;
    let gzip = one_of("tar_type", q.tar_type.as_deref(), &["GZIP"])?.is_some();
    let sub = q.sub_mchid.map(String::from);
    if let Some(sub) = &sub {
        let known = s
            .world()
            .providers
            .get(&c.mchid)
            .is_some_and(|p| p.subs.contains_key(sub));
        if !known {
            return Err(ApiErr::no_auth("权限异常")
                .why("sub_mchid is not a sub-merchant of this service provider"));
        }
    }
    let (path, token) = s.bill_file();
    let (mchid, s2) = (c.mchid.clone(), s.clone());
    let sha1 = generate(
        &path,
        gzip,
        "no payment or refund of this merchant on that day",
        move |out| {
            s2.store()
                .read(|conn| trade_bill(conn, &mchid, sub.as_deref(), day, kind, out))
        },
    )
    .await?;
    Ok(link_json(&s, &c, path, token, gzip, sha1).into_response())
}

async fn fundflowbill(
    State(s): State<AppState>,
    Decoded(q, _): Decoded<FundFlowBillRequest>,
) -> Answer {
    bill_day(&s, &q.bill_date)?;
    one_of(
        "account_type",
        q.account_type.as_deref(),
        &["BASIC", "OPERATION", "FEES"],
    )?;
    one_of("tar_type", q.tar_type.as_deref(), &["GZIP"])?;
    Err(no_statement(
        "the sandbox keeps no movements of the service provider's own accounts (payments settle to sub-merchants): ask for sub-merchant-fundflowbill",
    ))
}

async fn sub_fundflowbill(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Decoded(q, _): Decoded<SubMerchantFundFlowBillRequest>,
) -> Answer {
    let sub = String::from(q.sub_mchid);
    let day = bill_day(&s, &q.bill_date)?;
    let account = one_of(
        "account_type",
        Some(&q.account_type),
        &["BASIC", "OPERATION", "FEES", "DEPOSIT"],
    )?
    .unwrap_or_default();
    let algorithm = one_of(
        "algorithm",
        Some(&q.algorithm),
        &["AEAD_AES_256_GCM", "SM4_GCM"],
    )?;
    let gzip = one_of("tar_type", q.tar_type.as_deref(), &["GZIP"])?.is_some();
    let provider_cert_key = {
        let w = s.world();
        let p = w.providers.get(&c.mchid);
        if !p.is_some_and(|p| p.subs.contains_key(&sub)) {
            return Err(ApiErr::no_auth("权限异常")
                .why("sub_mchid is not a sub-merchant of this service provider"));
        }
        p.map(|p| p.key.clone())
    };
    if account != "BASIC" {
        return Err(no_statement(
            "the sandbox keeps only the BASIC account of sub-merchants",
        ));
    }
    let (plain, token) = s.bill_file();
    let (mchid, s2) = (c.mchid.clone(), s.clone());
    let sha1 = generate(
        &plain,
        gzip,
        "no fund movement of this sub-merchant on that day",
        move |out| {
            s2.store()
                .read(|conn| fund_flow_bill(conn, &mchid, &sub, day, out))
        },
    )
    .await?;
    // Encrypt the file (after gzip) with a fresh key, 256-bit AES or 128-bit SM4; the key
    // goes RSA-OAEP-encrypted with the provider's API key (lifecycle spec §5.1).
    let nonce = wechatpay_core::RandomNonce::alphanumeric(12);
    let data = std::fs::read(&plain).map_err(|e| ApiErr::from(StoreError::Io(e)))?;
    fn system<E>(_: E) -> ApiErr {
        ApiErr::system("系统错误")
    }
    let (sealed, key) = if algorithm == Some(wechatpay_core::sm4gcm::ALGORITHM) {
        let key = wechatpay_core::sm4gcm::Sm4Key::generate().map_err(system)?;
        let sealed = key.seal(&nonce, "", &data).map_err(system)?;
        (
            sealed,
            zeroize::Zeroizing::new(key.expose_secret().to_vec()),
        )
    } else {
        let key = wechatpay_core::ApiV3Key::generate().map_err(system)?;
        let sealed = key.seal(&nonce, "", &data).map_err(system)?;
        (
            sealed,
            zeroize::Zeroizing::new(key.expose_secret().as_bytes().to_vec()),
        )
    };
    std::fs::write(&plain, sealed).map_err(|e| ApiErr::from(StoreError::Io(e)))?;
    let encrypt_key = provider_cert_key
        .ok_or_else(|| ApiErr::system("系统错误"))?
        .encrypt_oaep(&key)
        .map_err(|_| ApiErr::system("系统错误"))?;
    let Json(l) = link_json(&s, &c, plain, token, false, sha1);
    Ok(Json(json!({
        "download_bill_count": 1,
        "download_bill_list": [{
            "bill_sequence": 1,
            "download_url": l["download_url"],
            "encrypt_key": encrypt_key,
            "hash_type": "SHA1",
            "hash_value": l["hash_value"],
            "nonce": nonce,
        }],
    }))
    .into_response())
}

impl AppState {
    /// The folder where bill files wait to be downloaded (removed with their link, and
    /// with the sandbox).
    #[must_use]
    pub fn bill_dir(&self) -> &std::path::Path {
        self.bill_links().dir()
    }

    /// The base URL of the links the sandbox gives out: `public_url`, else the listening
    /// address (never a request's `Host`).
    pub(crate) fn public_url(&self) -> String {
        match (&self.world().public_url, self.addr()) {
            (Some(u), _) => u.clone(),
            (None, Some(a)) => format!("http://{a}"),
            (None, None) => "http://127.0.0.1".into(),
        }
    }

    /// A fresh bill file path and its token.
    fn bill_file(&self) -> (PathBuf, String) {
        let links = self.bill_links();
        links.prune(self.now_ms());
        let token = random_hex(24).to_lowercase();
        (links.dir().join(&token), token)
    }
}

fn link_json(
    s: &AppState,
    c: &Caller,
    path: PathBuf,
    token: String,
    gzip: bool,
    sha1: String,
) -> Json<serde_json::Value> {
    let url = format!(
        "{}{DOWNLOAD_PATH}?token={token}{}",
        s.public_url(),
        if gzip { "&tartype=gzip" } else { "" }
    );
    let valid_ms = i64::try_from(s.world().behaviour.bill_link_valid_secs).unwrap_or(300) * 1000;
    s.bill_links().lock().insert(
        token,
        Link {
            path,
            mchid: c.mchid.clone(),
            expires_ms: s.now_ms() + valid_ms,
            gzip,
        },
    );
    Json(json!({ "hash_type": "SHA1", "hash_value": sha1, "download_url": url }))
}

/// Writes a bill to `path` off the async threads ([`write_bill`]); its SHA-1, or
/// `NO_STATEMENT_EXIST` (saying `empty`) with the file removed when it has no rows.
async fn generate(
    path: &std::path::Path,
    gzip: bool,
    empty: &str,
    fill: impl FnOnce(&mut dyn Write) -> Result<u64, StoreError> + Send + 'static,
) -> Result<String, ApiErr> {
    let p = path.to_path_buf();
    let written = tokio::task::spawn_blocking(move || write_bill(&p, gzip, fill))
        .await
        .map_err(|_| ApiErr::system("系统错误"))??;
    written.ok_or_else(|| {
        let _ = std::fs::remove_file(path);
        no_statement(empty)
    })
}

/// `GET /v3/billdownload/file?token=…`: the file, unsigned (§5.2).
pub(crate) async fn download(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let expired = || {
        ApiErr::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "参数错误")
            .why("请按第一步申请账单的API指引，重新获取账单地址后再请求: the token is unknown or expired (download_url is valid behaviour.bill_link_valid_secs)")
    };
    let token = q.get("token").ok_or_else(expired)?;
    let (path, gzip) = {
        let links = s.bill_links().lock();
        let l = links
            .get(token)
            .filter(|l| l.expires_ms > s.now_ms())
            .ok_or_else(expired)?;
        if l.mchid != c.mchid {
            return Err(ApiErr::no_auth("权限异常")
                .why("请检查本次请求的商户是否与第一步申请账单API的请求商户一致"));
        }
        (l.path.clone(), l.gzip)
    };
    let file = tokio::fs::File::open(&path).await.map_err(|_| expired())?;
    let len = file.metadata().await.map(|m| m.len()).ok();
    let mut r = Response::new(Body::new(FileBody {
        file,
        buf: vec![0; 64 * 1024],
        len,
    }));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if gzip {
            "application/x-gzip"
        } else {
            "text/plain"
        }),
    );
    r.extensions_mut().insert(Unsigned);
    Ok(r)
}

/// `GET /_sandbox/bill?bill_date=…[&mchid=…][&bill_type=ALL|SUCCESS|REFUND]` (console):
/// the provider's trade bill of a Beijing day as WeChat Pay would give it, as a CSV file.
/// Any day with business, also today (the API waits until 10:00 the next day).
pub(crate) async fn console_bill(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiErr> {
    let raw = q.get("bill_date").map(String::as_str).unwrap_or_default();
    let day = parse_bill_date(raw)
        .ok_or_else(|| query_param("bill_date", "bill_date must be a date written yyyy-MM-dd"))?;
    let start = crate::util::beijing_midnight_ms(day);
    let mchid = match q.get("mchid") {
        Some(m) => m.clone(),
        None => s
            .world()
            .providers
            .keys()
            .min()
            .cloned()
            .unwrap_or_default(),
    };
    let kind = trade_kind(q.get("bill_type").map(String::as_str))?;
    let (path, _) = s.bill_file();
    let (m, s2) = (mchid.clone(), s.clone());
    generate(
        &path,
        false,
        "no payment or refund of this merchant on that day",
        move |out| {
            s2.store()
                .read(|conn| trade_bill(conn, &m, None, (start, start + 86_400_000), kind, out))
        },
    )
    .await?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiErr::system("系统错误"))?;
    // The open file stays readable; nothing is left behind.
    let _ = std::fs::remove_file(&path);
    let len = file.metadata().await.map(|m| m.len()).ok();
    let mut r = Response::new(Body::new(FileBody {
        file,
        buf: vec![0; 64 * 1024],
        len,
    }));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"tradebill-{raw}-{}.csv\"",
        mchid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// A file streamed as a response body, 64 KiB at a time.
struct FileBody {
    file: tokio::fs::File,
    buf: Vec<u8>,
    len: Option<u64>,
}

impl http_body::Body for FileBody {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let mut rb = tokio::io::ReadBuf::new(&mut this.buf);
        match tokio::io::AsyncRead::poll_read(Pin::new(&mut this.file), cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if rb.filled().is_empty() => Poll::Ready(None),
            Poll::Ready(Ok(())) => {
                let chunk = bytes::Bytes::copy_from_slice(rb.filled());
                Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
            }
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.len.map_or_else(
            http_body::SizeHint::default,
            http_body::SizeHint::with_exact,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::bill_window;

    /// 2025-03-02 00:00 Beijing time, in unix seconds.
    const MARCH_2: i64 = 1_740_844_800;

    #[test]
    fn a_days_bill_is_ready_from_the_ready_hour_of_the_next_day() {
        let at = |h: i64| MARCH_2 + h * 3600;
        let e = bill_window("2025-03-01", at(10) - 1, 10).unwrap_err();
        assert_eq!(e.code, "STATEMENT_CREATING");
        let (start, end) = bill_window("2025-03-01", at(10), 10).unwrap();
        assert_eq!((start, end), ((MARCH_2 - 86_400) * 1000, MARCH_2 * 1000));
        // The hour is the [behaviour] switch's.
        assert!(bill_window("2025-03-01", at(9), 9).is_ok());
    }

    #[test]
    fn future_far_past_and_malformed_days_are_refused() {
        let e = bill_window("2025-03-03", MARCH_2 + 12 * 3600, 10).unwrap_err();
        assert_eq!(e.code, "INVALID_REQUEST");
        assert!(
            format!("{:?}", e.detail).contains("in the future"),
            "{:?}",
            e.detail
        );
        let today = bill_window("2025-03-02", MARCH_2 + 12 * 3600, 10).unwrap_err();
        assert_eq!(
            today.code, "STATEMENT_CREATING",
            "today's bill is not ready yet"
        );
        let e = bill_window("2024-11-29", MARCH_2, 10).unwrap_err();
        assert!(
            format!("{:?}", e.detail).contains("3 months"),
            "{:?}",
            e.detail
        );
        assert!(
            bill_window("2024-11-30", MARCH_2, 10).is_ok(),
            "92 days back"
        );
        for bad in ["2025-3-1", "20250301", "2025-02-30", ""] {
            let e = bill_window(bad, MARCH_2, 10).unwrap_err();
            assert_eq!(e.code, "PARAM_ERROR", "{bad}");
        }
    }
}
