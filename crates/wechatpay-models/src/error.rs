use serde::{Deserialize, Serialize};

/// The JSON body of a WeChat Pay error answer:
/// `{"code":"PARAM_ERROR","message":"…","detail":{"field":…,"value":…,"issue":…,"location":…}}`.
///
/// Branch on `code` only: one code carries many messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// Stable machine code, e.g. `PARAM_ERROR`, `SIGN_ERROR`, `NO_AUTH`.
    pub code: String,
    /// Human text (Chinese by default; `Accept-Language: en` asks for English).
    #[serde(default)]
    pub message: String,
    /// Which parameter, when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<ApiErrorDetail>,
}

/// The optional `detail` of an error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiErrorDetail {
    /// JSON Pointer of a body field, or the name of a URL/query parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The offending value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// What is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// `body`, `query`, `uri_template`, `authorization`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// For `SIGN_ERROR`: what the server signed (`method`, `url`,
    /// `truncated_sign_message`, `sign_message_length`), to diff against yours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_information: Option<serde_json::Value>,
}
