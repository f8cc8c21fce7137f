//! WeChat-shaped error answers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wechatpay_models::Violation;

/// An error answer: status, `code`, `message`, optional `detail`, and the internal error
/// number that ends the `Request-ID`.
#[derive(Debug, Clone)]
pub(crate) struct ApiErr {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) detail: Option<Value>,
    pub(crate) internal: u32,
}

/// Carried in the response extensions so the signing layer can finish the Request-ID.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InternalCode(pub(crate) u32);

impl ApiErr {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
            internal: 0,
        }
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
        Self::param(format!("参数错误 (invalid parameter {field}: {issue})")).detail(d)
    }

    pub(crate) fn violation(v: &Violation) -> Self {
        let message = match v.rule {
            wechatpay_models::Rule::TotalAmount => format!("最终总金额计算非法 ({})", v.issue),
            _ => format!("{} {}", v.field.trim_start_matches('/'), v.issue),
        };
        let mut d = json!({ "field": v.field, "issue": format!("[{}] {}", v.rule, v.issue), "location": "body" });
        if let Some(val) = &v.value {
            d["value"] = val.clone();
        }
        Self::param(message).detail(d)
    }

    pub(crate) fn no_auth(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "NO_AUTH", message).internal(268_503_786)
    }

    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ORDER_NOT_EXIST",
            "订单不存在 (order not found; check sub_mchid and out_order_no)",
        )
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
        tracing::error!(error = %e, "store failure");
        ApiErr::system("系统错误 (storage failure; retry with the same parameters)")
    }
}

/// Parses a JSON body into `T`, answering `PARAM_ERROR` with the JSON pointer of the
/// first problem, as WeChat does for malformed JSON, wrong types and missing fields.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiErr> {
    if body.is_empty() {
        return Err(ApiErr::param_field(
            "/",
            None,
            "request body is empty; a JSON object is required",
            "body",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner().to_string();
        let mut pointer = to_pointer(&e.path().to_string());
        if let Some(f) = inner
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            pointer = format!("{}/{f}", pointer.trim_end_matches('/'));
        }
        let issue = if e.inner().is_syntax() || e.inner().is_eof() {
            format!("malformed JSON: {inner}")
        } else {
            inner
        };
        ApiErr::param_field(&pointer, None, &issue, "body")
    })
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
