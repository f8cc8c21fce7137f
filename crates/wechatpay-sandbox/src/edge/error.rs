//! WeChat-shaped error answers.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wechatpay_models::{ValidationErrors, Violation};

use crate::util::request_id;

/// `r` with the `Request-ID` header WeChat Pay puts on every answer, its internal error
/// number (`InternalCode`) at the end.
pub(crate) fn with_request_id(mut r: Response) -> Response {
    let code = r.extensions().get::<InternalCode>().map_or(0, |c| c.0);
    if let Ok(v) = HeaderValue::from_str(&request_id(code)) {
        r.headers_mut()
            .insert(wechatpay_core::headers::REQUEST_ID, v);
    }
    r
}

/// What an API handler answers: its success, or WeChat's error.
pub(crate) type Answer = Result<Response, ApiErr>;

/// An error answer: status, `code`, `message` in WeChat Pay's own words, optional
/// `detail` (where the sandbox puts its diagnosis, as WeChat puts field problems there),
/// and the internal error number that ends the `Request-ID`.
#[derive(Debug, Clone)]
pub(crate) struct ApiErr {
    pub(crate) status: StatusCode,
    pub(crate) code: std::borrow::Cow<'static, str>,
    pub(crate) message: String,
    pub(crate) detail: Option<Value>,
    pub(crate) internal: u32,
}

/// The `Request-ID` suffix of an error whose internal number no source lists: never 0,
/// which marks success.
pub(crate) const UNLISTED_ERROR_ID: u32 = 1;

/// Carried in the response extensions so the signing layer can finish the Request-ID.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InternalCode(pub(crate) u32);

impl ApiErr {
    /// An answer with WeChat's `message`. Its `Request-ID` ends in
    /// [`UNLISTED_ERROR_ID`] until [`internal`](Self::internal) gives the number the
    /// sources list for it.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            detail: None,
            internal: UNLISTED_ERROR_ID,
        }
    }

    /// An answer with a code given at run time (a fault a test asked for).
    pub(crate) fn with_code(mut self, code: String) -> Self {
        self.code = code.into();
        self
    }

    /// The sandbox's diagnosis, in `detail.issue` (WeChat's `message` stays as it is).
    pub(crate) fn why(mut self, issue: impl Into<String>) -> Self {
        let d = self.detail.get_or_insert_with(|| json!({}));
        if d.get("issue").is_none() {
            d["issue"] = Value::String(issue.into());
        }
        self
    }

    pub(crate) fn internal(mut self, n: u32) -> Self {
        self.internal = n;
        self
    }

    pub(crate) fn detail(mut self, d: Value) -> Self {
        self.detail = Some(d);
        self
    }

    pub(crate) fn param(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PARAM_ERROR", message).internal(268_435_464)
    }

    pub(crate) fn param_field(
        field: &str,
        value: Option<Value>,
        issue: &str,
        location: &str,
    ) -> Self {
        let mut d = json!({ "field": field, "issue": issue, "location": location });
        if let Some(v) = value {
            d["value"] = v;
        }
        Self::param("参数错误").detail(d)
    }

    pub(crate) fn violation(v: &Violation) -> Self {
        let message = match v.rule {
            wechatpay_models::Rule::TotalAmount => "最终总金额计算非法",
            _ => "参数错误",
        };
        let location = if v.field.starts_with('/') {
            "body"
        } else {
            "query"
        };
        let mut d = json!({ "field": v.field, "issue": format!("[{}] {}", v.rule, v.issue), "location": location });
        if let Some(val) = &v.value {
            d["value"] = val.clone();
        }
        Self::param(message).detail(d)
    }

    pub(crate) fn no_auth(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "NO_AUTH", message).internal(268_503_786)
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在")
            .why("no such order for this sp_mchid and sub_mchid: check sub_mchid and out_order_no")
            .internal(271_317_510)
    }

    pub(crate) fn state(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message).internal(271_302_262)
    }

    pub(crate) fn system(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", message)
    }

    pub(crate) fn sign(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message).internal(270_924_332)
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(d) = self.detail {
            body["detail"] = d;
        }
        let mut r = (self.status, Json(body)).into_response();
        r.extensions_mut().insert(InternalCode(self.internal));
        r
    }
}

impl From<crate::store::StoreError> for ApiErr {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %wechatpay_core::ErrorChain(&e), "store failure");
        ApiErr::system("系统错误").why("storage failure; retry with the same parameters")
    }
}

/// The first violation, as WeChat reports one.
pub(crate) fn checked(r: Result<(), ValidationErrors>) -> Result<(), ApiErr> {
    r.map_err(|e| {
        e.0.first()
            .map_or_else(|| ApiErr::param("参数错误"), ApiErr::violation)
    })
}

/// A field that does not deserialise (`path` as serde_path_to_error writes it), as
/// WeChat's `PARAM_ERROR`: in the body by the JSON pointer of the field, in the query by
/// the parameter's name.
pub(crate) fn field_error(path: &str, e: &serde_json::Error, location: &str) -> ApiErr {
    let inner = e.to_string();
    let missing = inner
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next());
    let field = match (location, missing) {
        ("body", Some(f)) => format!("{}/{f}", to_pointer(path).trim_end_matches('/')),
        ("body", None) => to_pointer(path),
        (_, Some(f)) => f.to_owned(),
        (_, None) => path.trim_start_matches('.').to_owned(),
    };
    ApiErr::param_field(&field, None, &inner, location)
}

/// The body as JSON: not empty, valid, and without `null` (protocol spec §8.1).
pub(crate) fn body_value(body: &[u8]) -> Result<Value, ApiErr> {
    if body.is_empty() {
        return Err(ApiErr::param_field(
            "/",
            None,
            "request body is empty; a JSON object is required",
            "body",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiErr::param_field("/", None, &format!("malformed JSON: {e}"), "body"))?;
    // Protocol spec §8.1: the current rules do not allow null; omit the field instead.
    if let Some(pointer) = first_null("", &value) {
        return Err(ApiErr::param_field(
            &pointer,
            Some(Value::Null),
            "must not be null: omit an optional field instead",
            "body",
        ));
    }
    Ok(value)
}

/// The JSON pointer of the first `null` in `v`.
fn first_null(pointer: &str, v: &Value) -> Option<String> {
    match v {
        Value::Null => Some(if pointer.is_empty() {
            "/".into()
        } else {
            pointer.into()
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| first_null(&format!("{pointer}/{i}"), x)),
        Value::Object(o) => o
            .iter()
            .find_map(|(k, x)| first_null(&format!("{pointer}/{k}"), x)),
        _ => None,
    }
}

/// The amounts of the bill lines (SDC §2.3, §2.4): a payment line may leave out its
/// `amount` (it counts as 0) when it has a `description`; a line with neither is refused, and
/// so is a discount line without its `amount`.
pub(crate) fn require_amounts(body: &Value) -> Result<(), ApiErr> {
    let missing = |list: &str, needs: fn(&Value) -> bool| {
        let items = body.get(list).and_then(Value::as_array)?;
        items
            .iter()
            .position(needs)
            .map(|i| format!("/{list}/{i}/amount"))
    };
    if let Some(field) = missing("post_payments", |x| {
        x.get("amount").is_none() && x.get("description").is_none()
    }) {
        return Err(ApiErr::param_field(
            &field,
            None,
            "is required when the line has no description (a line states its amount, or explains itself and counts as 0)",
            "body",
        ));
    }
    if let Some(field) = missing("post_discounts", |x| x.get("amount").is_none()) {
        return Err(ApiErr::param_field(
            &field,
            None,
            "is required: every discount line states its amount in fen",
            "body",
        ));
    }
    Ok(())
}

/// `post_payments[0].amount` → `/post_payments/0/amount`.
fn to_pointer(path: &str) -> String {
    if path == "." {
        return "/".into();
    }
    let mut out = String::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            out.push('/');
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            for idx in rest.split('[').filter(|s| !s.is_empty()) {
                out.push('/');
                out.push_str(idx.trim_end_matches(']'));
            }
        } else if !rest.is_empty() {
            out.push('/');
            out.push_str(rest);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers() {
        assert_eq!(
            to_pointer("post_payments[0].amount"),
            "/post_payments/0/amount"
        );
        assert_eq!(to_pointer("total_amount"), "/total_amount");
        assert_eq!(to_pointer("."), "/");
    }
}
