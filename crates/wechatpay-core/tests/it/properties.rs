//! Properties of signing, for any request: sign then verify round-trips, and any single
//! changed byte of the signed message (method, path and query, body) fails verification.

use proptest::prelude::*;
use wechatpay_core::{PrivateKey, PublicKey, SignableRequest};

use super::file;

fn keys() -> &'static (PrivateKey, PublicKey) {
    static KEYS: std::sync::OnceLock<(PrivateKey, PublicKey)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let k = PrivateKey::from_pem(&file("merchant_key.pem")).unwrap();
        let p = k.public_key().unwrap();
        (k, p)
    })
}

/// A request target: a path of 1–4 segments and an optional query, any characters the
/// client would percent-encode already encoded.
fn target() -> impl Strategy<Value = String> {
    (
        prop::collection::vec("[A-Za-z0-9._~%-]{1,12}", 1..4),
        prop::option::of("[A-Za-z0-9=&%._-]{0,40}"),
    )
        .prop_map(|(segs, q)| {
            let mut t = format!("/v3/{}", segs.join("/"));
            if let Some(q) = q {
                t.push('?');
                t.push_str(&q);
            }
            t
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_round_trips(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE"]),
        url in target(),
        body in prop::collection::vec(any::<u8>(), 0..512),
        ts in 1_500_000_000i64..2_500_000_000,
        nonce in "[A-Za-z0-9]{32}",
    ) {
        let (key, public) = keys();
        let req = SignableRequest::new(method, &url, &body);
        let auth = req.sign("1900000109", "5D3525C25F8728C4E12E0563749243EDF15335A7", key, ts, &nonce).unwrap();
        prop_assert!(auth.verify(&req, public).is_ok());
        // It survives its own header form.
        let parsed: wechatpay_core::Authorization = auth.to_string().parse().unwrap();
        prop_assert!(parsed.verify(&req, public).is_ok());
    }

    #[test]
    fn any_changed_byte_fails_verification(
        url in target(),
        body in prop::collection::vec(any::<u8>(), 1..256),
        which in 0usize..2,
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let (key, public) = keys();
        let req = SignableRequest::new("POST", &url, &body);
        let auth = req.sign("1900000109", "5D3525C25F8728C4E12E0563749243EDF15335A7", key, 1_764_146_249, "n0nce").unwrap();
        let (mut url2, mut body2) = (url.clone().into_bytes(), body.clone());
        let target = if which == 0 { &mut url2 } else { &mut body2 };
        let i = at.index(target.len());
        target[i] ^= flip;
        let url2 = String::from_utf8_lossy(&url2).into_owned();
        prop_assert!(auth.verify(&SignableRequest::new("POST", &url2, &body2), public).is_err());
    }
}
