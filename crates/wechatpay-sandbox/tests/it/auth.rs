//! Every authentication failure, checked on hand-made requests.

use wechatpay_core::PrivateKey;

use crate::support::{env, unique};

const PATH: &str = "/v3/payscore/partner/serviceorder/direct-complete";

#[tokio::test]
async fn a_correct_hand_signed_request_passes_and_the_answer_is_signed() {
    let env = env().await;
    let body = serde_json::to_vec(&env.order(&unique("H"))).unwrap();
    // Go's encoder appends a newline; it is signed and sent, and must not be trimmed.
    let mut with_newline = body.clone();
    with_newline.push(b'\n');
    let now = wechatpay_sandbox::now();
    let (status, h, _) = env
        .raw(
            "POST",
            PATH,
            &env.merchant_key(),
            &env.g.client.serial,
            now,
            "n1",
            &with_newline,
            &with_newline,
        )
        .await;
    assert_eq!(status, 204);
    for name in [
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Signature",
        "Wechatpay-Serial",
        "Request-ID",
    ] {
        assert!(h.contains_key(name), "{name} missing");
    }
    assert_eq!(h["Wechatpay-Signature-Type"], "WECHATPAY2-SHA256-RSA2048");
    assert_eq!(h["Wechatpay-Serial"], env.g.client.public_key_id.as_str());
}

async fn sign_error(
    env: &crate::support::Env,
    key: &PrivateKey,
    serial: &str,
    ts: i64,
    nonce: &str,
    signed: &[u8],
    sent: &[u8],
) -> (serde_json::Value, reqwest::header::HeaderMap) {
    let (status, h, body) = env
        .raw("POST", PATH, key, serial, ts, nonce, signed, sent)
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "SIGN_ERROR", "{body}");
    assert!(
        !h.contains_key("Wechatpay-Signature"),
        "401 answers are not signed"
    );
    (body, h)
}

#[tokio::test]
async fn signed_with_another_key() {
    let env = env().await;
    let body = serde_json::to_vec(&env.order(&unique("K"))).unwrap();
    let other = PrivateKey::generate().unwrap();
    let (b, _) = sign_error(
        &env,
        &other,
        &env.g.client.serial,
        wechatpay_sandbox::now(),
        "n",
        &body,
        &body,
    )
    .await;
    assert!(b["message"].as_str().unwrap().contains("验签失败"), "{b}");
    let info = &b["detail"]["sign_information"];
    assert_eq!(info["url"], PATH);
    assert_eq!(info["method"], "POST");
    // WeChat's truncated message: the head, the body's first 8 characters, a newline.
    let ts = info["truncated_sign_message"].as_str().unwrap();
    let head = "POST\n/v3/payscore/partner/serviceorder/direct-complete\n";
    assert!(ts.starts_with(head), "{ts}");
    let rest: Vec<&str> = ts[head.len()..].split('\n').collect();
    assert_eq!(
        rest.len(),
        4,
        "timestamp, nonce, 8 body characters, end: {ts:?}"
    );
    assert_eq!((rest[1], rest[3]), ("n", ""));
    assert_eq!(rest[2], String::from_utf8_lossy(&body[..8]));
    assert_eq!(
        info["sign_message_length"],
        head.len() + rest[0].len() + 3 + body.len() + 1
    );
}

#[tokio::test]
async fn body_changed_after_signing() {
    let env = env().await;
    let signed = serde_json::to_vec(&env.order(&unique("B"))).unwrap();
    let mut sent: serde_json::Value = serde_json::from_slice(&signed).unwrap();
    sent["total_amount"] = 1.into();
    let sent = serde_json::to_vec(&sent).unwrap();
    sign_error(
        &env,
        &env.merchant_key(),
        &env.g.client.serial,
        wechatpay_sandbox::now(),
        "n",
        &signed,
        &sent,
    )
    .await;
    // Re-encoding the same JSON differently is a different body too: never re-serialised.
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&signed).unwrap())
            .unwrap();
    sign_error(
        &env,
        &env.merchant_key(),
        &env.g.client.serial,
        wechatpay_sandbox::now(),
        "n2",
        &signed,
        &pretty,
    )
    .await;
    assert!(env.orders().await.is_empty());
}

#[tokio::test]
async fn stale_timestamp_is_checked_first() {
    let env = env().await;
    let body = serde_json::to_vec(&env.order(&unique("T"))).unwrap();
    let other = PrivateKey::generate().unwrap();
    for (ts, side) in [
        (wechatpay_sandbox::now() - 310, "behind"),
        (wechatpay_sandbox::now() + 310, "ahead of"),
    ] {
        let (b, _) = sign_error(&env, &other, &env.g.client.serial, ts, "n", &body, &body).await;
        assert_eq!(
            b["message"], "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟",
            "{b}"
        );
        let why = b["detail"]["issue"].as_str().unwrap();
        assert!(
            why.contains(&format!(" s {side} the server's clock")),
            "{why}"
        );
        // The distance is given as a positive number of seconds, either way.
        let by: i64 = why
            .split(" is ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((309..=312).contains(&by), "{why}");
    }
}

/// Protocol spec §2.4: no server-side nonce replay check is documented, so a resend of
/// the same signed request is accepted; the check is a switch, off by default. An empty
/// nonce is refused.
#[tokio::test]
async fn nonces_are_not_checked_for_replay_unless_asked_but_must_not_be_empty() {
    for strict in [false, true] {
        let env = crate::support::env_with(|c| {
            c.behaviour.deduction_delay_ms = 60_000;
            c.behaviour.reject_replayed_nonce = strict;
        })
        .await;
        let body = serde_json::to_vec(&env.order(&unique("N"))).unwrap();
        let now = wechatpay_sandbox::now();
        let key = env.merchant_key();
        let send = || {
            env.raw(
                "POST",
                PATH,
                &key,
                &env.g.client.serial,
                now,
                "same-nonce",
                &body,
                &body,
            )
        };
        assert_eq!(send().await.0, 204);
        let (status, _, b) = send().await;
        if strict {
            assert_eq!(status, 401, "{b}");
            assert!(
                b["detail"]["issue"]
                    .as_str()
                    .unwrap()
                    .contains("reject_replayed_nonce"),
                "{b}"
            );
        } else {
            assert_eq!(status, 204, "the identical resend is accepted: {b}");
        }
        let (b, _) = sign_error(
            &env,
            &env.merchant_key(),
            &env.g.client.serial,
            now,
            "",
            &body,
            &body,
        )
        .await;
        assert_eq!(b["message"], "Authorization不合法", "{b}");
        assert!(
            b["detail"]["issue"].as_str().unwrap().contains("nonce_str"),
            "{b}"
        );
    }
}

#[tokio::test]
async fn unknown_serial_and_unknown_merchant() {
    let env = env().await;
    let body = serde_json::to_vec(&env.order(&unique("S"))).unwrap();
    let (b, _) = sign_error(
        &env,
        &env.merchant_key(),
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        wechatpay_sandbox::now(),
        "n",
        &body,
        &body,
    )
    .await;
    assert!(b["message"].as_str().unwrap().contains("序列号有误"), "{b}");
    let c = &env.g.client;
    let stranger = wechatpay::Client::builder()
        .base_url(env.sandbox.base_url())
        .mchid("1234567890")
        .serial(&c.serial)
        .private_key_pem(&c.private_key_pem)
        .wechatpay_public_key(&c.public_key_id, &c.public_key_pem)
        .build()
        .unwrap();
    let e = stranger.send(&env.order(&unique("M"))).await.unwrap_err();
    assert_eq!(e.code(), Some("SIGN_ERROR"));
    assert_eq!(e.as_api().unwrap().status(), 401);
}

#[tokio::test]
async fn malformed_or_missing_authorization_and_headers() {
    let env = env().await;
    let url = format!("{}{PATH}", env.sandbox.base_url());
    let http = reqwest::Client::new();
    let send = |auth: Option<&'static str>| {
        let mut r = http.post(&url).header("User-Agent", "t").body("{}");
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.send()
    };
    // reqwest always sends Accept; a request without one goes through the app directly.
    use tower::ServiceExt as _;
    let app = wechatpay_sandbox::app(env.sandbox.state().clone());
    let bare = axum::http::Request::builder()
        .method("POST")
        .uri(PATH)
        .header("User-Agent", "t")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    let r = app.oneshot(bare).await.unwrap();
    assert_eq!(r.status(), 400);
    let b: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(r.into_body(), 4096).await.unwrap()).unwrap();
    assert_eq!(b["code"], "INVALID_REQUEST");
    for (auth, fragment) in [
        (None, "格式错误"),
        (Some("Bearer abc"), "认证类型不正确"),
        (
            Some("WECHATPAY2-SHA256-RSA2048 mchid=1"),
            "Authorization不合法",
        ),
    ] {
        let r = send(auth).await.unwrap();
        assert_eq!(r.status(), 401);
        let b = crate::support::json(r).await;
        assert!(b["message"].as_str().unwrap().contains(fragment), "{b}");
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_with_empty_bodies() {
    use tower::ServiceExt as _;
    let env = env().await;
    let app = wechatpay_sandbox::app(env.sandbox.state().clone());
    let req = |m: &str, p: &str| {
        axum::http::Request::builder()
            .method(m)
            .uri(p)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let r = app.clone().oneshot(req("GET", "/v3/nope")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        axum::body::to_bytes(r.into_body(), 1024)
            .await
            .unwrap()
            .is_empty()
    );
    let r = app.oneshot(req("GET", PATH)).await.unwrap();
    assert_eq!(r.status(), 405);
}
