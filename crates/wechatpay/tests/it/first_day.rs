//! What a developer meets on the first day: configuration from a file, mistakes caught at
//! build time with messages that say what was found, and a log line per call.

use std::sync::{Arc, Mutex};

use wechatpay::Client;
#[cfg(feature = "config")]
use wechatpay::config::Profile;
use wechatpay_core::PrivateKey;

use crate::support::{env, unique};

fn build_error(b: wechatpay::ClientBuilder) -> String {
    wechatpay_core::ErrorChain(&b.build().unwrap_err()).to_string()
}

#[tokio::test]
async fn bad_settings_are_refused_at_build_with_what_was_found() {
    let env = env().await;
    let c = &env.g.client;

    for serial in ["", "abc", "4096EE819812D60B81028D52CCC299E81E260B7Z"] {
        let e = build_error(env.builder().serial(serial));
        assert!(
            e.starts_with("serial: must be the 40 hex digits"),
            "{serial:?}: {e}"
        );
    }

    // A merchant certificate that contradicts the serial, or belongs to another key.
    let e = build_error(
        env.builder()
            .serial("0123456789ABCDEF0123456789ABCDEF01234567")
            .merchant_certificate_pem(&c.merchant_certificate_pem),
    );
    assert!(e.contains("not the configured 0123456789ABCDEF"), "{e}");
    let other = PrivateKey::generate().unwrap();
    let foreign = wechatpay_sandbox::self_signed_certificate(
        &other,
        &c.serial,
        "1900000109",
        "x",
        wechatpay_sandbox::now(),
    )
    .unwrap();
    let e = build_error(env.builder().merchant_certificate_pem(&foreign));
    assert!(e.contains("not the certificate of this private key"), "{e}");
    // The matching certificate is accepted, and gives the serial.
    Client::builder()
        .mchid(&c.mchid)
        .merchant_certificate_pem(&c.merchant_certificate_pem)
        .private_key_pem(&c.private_key_pem)
        .wechatpay_public_key(&c.public_key_id, &c.public_key_pem)
        .build()
        .unwrap();

    let e = build_error(env.builder().base_url("https://api.mch.weixin.qq.com/v3/"));
    assert!(
        e.contains("ends in /v3") && e.contains("\"https://api.mch.weixin.qq.com\""),
        "{e}"
    );

    // Key files: the kind found, and the OS reason.
    let e = build_error(env.builder().private_key_pem(&c.merchant_certificate_pem));
    assert!(e.contains("found CERTIFICATE"), "{e}");
    let e = build_error(
        env.builder()
            .private_key_file("/nonexistent/apiclient_key.pem"),
    );
    assert!(e.contains("No such file or directory"), "{e}");
    let e = build_error(
        env.builder()
            .wechatpay_public_key_file(&c.public_key_id, "/nonexistent/pub_key.pem"),
    );
    assert!(
        e.starts_with("unusable WeChat Pay public key: cannot read /nonexistent/pub_key.pem: "),
        "{e}"
    );
}

#[cfg(feature = "config")]
#[tokio::test]
async fn a_profile_from_wxpay_toml_builds_a_working_client() {
    let env = env().await;
    let dir = std::env::temp_dir().join(unique("wxpay-profile-"));
    env.g.write_to(&dir).unwrap();
    let mut profile = Profile::load(&dir.join("wxpay.toml"), Some("sandbox")).unwrap();
    assert!(
        profile
            .private_key
            .as_deref()
            .unwrap()
            .starts_with(dir.to_str().unwrap()),
        "paths are relative to the file"
    );
    assert!(!format!("{profile:?}").contains(&env.g.client.apiv3_key));
    profile.base_url = Some(env.sandbox.base_url());
    let client = profile.builder().build().unwrap();
    client
        .send(&env.order(&unique("PF"), "https://example.com/n"))
        .await
        .unwrap();
    client.callback_verifier().unwrap();

    let e = Profile::load(&dir.join("wxpay.toml"), Some("prod")).unwrap_err();
    assert!(
        e.to_string().contains("profile \"prod\" is not in") && e.to_string().contains("sandbox"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_call_logs_one_debug_event() {
    let env = env().await;
    let out = Captured::default();
    let sink = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let client = env.client();
    client
        .send(&env.order(&unique("LG"), "https://example.com/n"))
        .await
        .unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let events: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("WeChat Pay call"))
        .collect();
    assert_eq!(events.len(), 1, "{text}");
    let e = events[0];
    for field in [
        "DEBUG",
        "method=POST",
        "path=/v3/payscore/partner/serviceorder/direct-complete",
        "status=204",
        "latency_ms=",
        "attempts=1",
        "request_id=",
    ] {
        assert!(e.contains(field), "{field} in {e}");
    }
    assert!(!text.contains("signature=\""), "no Authorization in logs");
}
