//! `GET /v3/certificates`: the platform certificate, encrypted with the caller's APIv3
//! key and signed with the certificate it carries.

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::edge::auth::{Caller, SignWith};
use crate::edge::error::ApiErr;

/// The path, as the protocol layer names it.
pub(crate) const PATH: &str = wechatpay_core::certificates::PATH;

pub(crate) async fn certificates(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
) -> Result<Response, ApiErr> {
    let w = s.world();
    let Some(cert) = &w.platform_cert else {
        return Err(ApiErr::new(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_EXISTS",
            "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。",
        )
        .why("this sandbox has no platform certificate: verify with the WeChat Pay public key"));
    };
    let key = &w
        .providers
        .get(&c.mchid)
        .ok_or_else(|| ApiErr::system("系统错误"))?
        .apiv3_key;
    let body = wechatpay_core::certificates::encrypt(std::slice::from_ref(cert), key, || {
        wechatpay_core::RandomNonce::alphanumeric(12)
    })
    .map_err(|_| ApiErr::system("系统错误"))?;
    let mut r = (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    r.extensions_mut()
        .insert(SignWith(cert.serial().to_owned()));
    Ok(r)
}
