//! Front-end launch parameters for the Pay Score pages, built on the server: the page (a
//! mini-program, a JSAPI web page or an app) passes them to `wx.openBusinessView`,
//! `wx.invoke('openBusinessView', …)` or the APP OpenSDK unchanged.
//!
//! | page | `businessType` | parameters | signed |
//! | --- | --- | --- | --- |
//! | authorize the service | `wxpayScoreEnable` | `apply_permissions_token` | no |
//! | confirm an order | `wxpayScoreUse` | `package` | no (the 2019 signed form: [`use_order_signed`]) |
//! | order details | `wxpayScoreDetail` | `mch_id`, `service_id`, `out_order_no`, `timestamp`, `nonce_str`, `sign_type`, `sign` | HMAC-SHA256 with the **APIv2** key |
//!
//! In partner mode `mch_id` is the service provider's number and the key is its APIv2
//! key (lifecycle spec §3.4).
//!
//! ```
//! use wechatpay::launch;
//! use wechatpay_core::apiv2::ApiV2Key;
//!
//! let key = ApiV2Key::new("192006250b4c09247ec02edce69f6a2d")?;
//! let page = launch::detail("1230000109", "88888888000011", "1234323JKHDFE1243252",
//!                           &key, 1530097563, "zyx53Nkey8o4bHpxTQvd8m7e92nG5mG2");
//! assert_eq!(page.business_type, "wxpayScoreDetail");
//! // wx.openBusinessView({ businessType, extraData })
//! assert_eq!(page.extra_data()["sign"], "5EA003DF79A5F4B5450A0276ADEE4E54E866DF5A43FFE8E5A53E66B307F2C901");
//! // wx.invoke('openBusinessView', { businessType, queryString }), APP OpenSDK `query`
//! assert!(page.query_string().starts_with("mch_id=1230000109&service_id=88888888000011&"));
//! # Ok::<(), wechatpay_core::KeyError>(())
//! ```

use wechatpay_core::apiv2::{self, ApiV2Key};
use wechatpay_models::encode_segment;

/// `wxpayScoreEnable`: the page where the user authorizes the service.
pub const SCORE_ENABLE: &str = "wxpayScoreEnable";
/// `wxpayScoreUse`: the page where the user confirms an order.
pub const SCORE_USE: &str = "wxpayScoreUse";
/// `wxpayScoreDetail`: the page that shows an order.
pub const SCORE_DETAIL: &str = "wxpayScoreDetail";
/// The only `sign_type` the Pay Score pages accept.
pub const SIGN_TYPE: &str = "HMAC-SHA256";

/// The parameters of one launch, in the order the documentation lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// `businessType`.
    pub business_type: &'static str,
    /// Name and raw (unencoded) value of each parameter.
    pub params: Vec<(&'static str, String)>,
}

impl Launch {
    /// `extraData` for `wx.openBusinessView` in a mini-program.
    #[must_use]
    pub fn extra_data(&self) -> serde_json::Value {
        self.params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// `queryString` for `wx.invoke('openBusinessView', …)` in a JSAPI page, and `query`
    /// for the APP OpenSDK: `k=v&…` with each value percent-encoded.
    #[must_use]
    pub fn query_string(&self) -> String {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_segment(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The value of parameter `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The authorization page, for an `apply_permissions_token` (valid one hour).
#[must_use]
pub fn enable(apply_permissions_token: &str) -> Launch {
    Launch {
        business_type: SCORE_ENABLE,
        params: vec![(
            "apply_permissions_token",
            apply_permissions_token.to_owned(),
        )],
    }
}

/// The confirm page, in its current form: the `package` of a need-confirm order (valid one
/// hour), no signature.
#[must_use]
pub fn use_order(package: &str) -> Launch {
    Launch {
        business_type: SCORE_USE,
        params: vec![("package", package.to_owned())],
    }
}

/// The confirm page in the 2019 signed form, still shown on some pages: only when a page
/// asks for it. `timestamp` in unix seconds; `nonce_str` of `[0-9A-Za-z]`, at most 32.
#[must_use]
pub fn use_order_signed(
    mch_id: &str,
    package: &str,
    key: &ApiV2Key,
    timestamp: i64,
    nonce_str: &str,
) -> Launch {
    signed(
        SCORE_USE,
        vec![
            ("mch_id", mch_id.to_owned()),
            ("package", package.to_owned()),
            ("timestamp", timestamp.to_string()),
            ("nonce_str", nonce_str.to_owned()),
            ("sign_type", SIGN_TYPE.to_owned()),
        ],
        key,
    )
}

/// The order-detail page: `mch_id` (the service provider's in partner mode),
/// `service_id`, `out_order_no`, signed with the APIv2 key of `mch_id`. `timestamp` in
/// unix seconds; `nonce_str` of `[0-9A-Za-z]`, at most 32.
#[must_use]
pub fn detail(
    mch_id: &str,
    service_id: &str,
    out_order_no: &str,
    key: &ApiV2Key,
    timestamp: i64,
    nonce_str: &str,
) -> Launch {
    signed(
        SCORE_DETAIL,
        vec![
            ("mch_id", mch_id.to_owned()),
            ("service_id", service_id.to_owned()),
            ("out_order_no", out_order_no.to_owned()),
            ("timestamp", timestamp.to_string()),
            ("nonce_str", nonce_str.to_owned()),
            ("sign_type", SIGN_TYPE.to_owned()),
        ],
        key,
    )
}

fn signed(
    business_type: &'static str,
    mut params: Vec<(&'static str, String)>,
    key: &ApiV2Key,
) -> Launch {
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sign = apiv2::sign(&pairs, key);
    params.push(("sign", sign));
    Launch {
        business_type,
        params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiV2Key {
        ApiV2Key::new("192006250b4c09247ec02edce69f6a2d").unwrap()
    }

    /// Lifecycle spec §7.2: both detail-page vectors, and the query string's encoding.
    #[test]
    fn detail_page_vectors() {
        let page = detail(
            "1230000109",
            "88888888000011",
            "1234323JKHDFE1243252",
            &key(),
            1_530_097_563,
            "zyx53Nkey8o4bHpxTQvd8m7e92nG5mG2",
        );
        assert_eq!(
            page.get("sign"),
            Some("5EA003DF79A5F4B5450A0276ADEE4E54E866DF5A43FFE8E5A53E66B307F2C901")
        );
        let odd = detail(
            "1230000109",
            "88888888000011",
            "A|B*C-1_2",
            &key(),
            1_530_097_563,
            "zyx53Nkey8o4bHpxTQvd8m7e92nG5mG2",
        );
        assert_eq!(
            odd.get("sign"),
            Some("95E136FCA0B71DAF734F41F8A544F5EF30CFBCE7BC44C45876CE28E8A2B0C2FE")
        );
        assert!(
            odd.query_string().contains("&out_order_no=A%7CB%2AC-1_2&"),
            "{}",
            odd.query_string()
        );
        assert_eq!(
            odd.extra_data()["out_order_no"],
            "A|B*C-1_2",
            "raw in extraData"
        );
    }

    #[test]
    fn unsigned_pages_carry_only_their_token() {
        let token = "AAQTnZoAAAABAAAAAAA-82Zwq2wMeohrOrWEZiAAAABc";
        assert_eq!(
            enable(token).query_string(),
            format!("apply_permissions_token={token}")
        );
        let p = use_order("pkg+/=");
        assert_eq!(p.business_type, "wxpayScoreUse");
        assert_eq!(p.query_string(), "package=pkg%2B%2F%3D");
        assert_eq!(p.extra_data(), serde_json::json!({"package": "pkg+/="}));
        let legacy = use_order_signed("1230000109", "pkg", &key(), 1_530_097_563, "n0nce");
        let pairs: Vec<(&str, &str)> = legacy
            .params
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        assert!(wechatpay_core::apiv2::verify(&pairs, &key()));
    }
}
