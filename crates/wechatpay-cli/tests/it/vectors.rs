//! `sign`, `verify` and `notify decrypt` against `tests/vectors/vectors.json`.

use serde_json::Value;

use crate::{TempDir, run, wxpay};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/");

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}vectors.json")).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap()
}

fn reference_time(v: &Value) -> String {
    let t = &v["reference_time"];
    t.as_i64()
        .map_or_else(|| t.as_str().unwrap().to_owned(), |n| n.to_string())
}

fn trust(cmd: &mut std::process::Command, v: &Value) {
    cmd.arg("--public-key-id")
        .arg(s(v, "platform_public_key_id"));
    cmd.arg("--public-key")
        .arg(format!("{DIR}platform_pub.pem"));
    cmd.arg("--certificate")
        .arg(format!("{DIR}platform_cert.pem"));
    cmd.arg("--now").arg(reference_time(v));
}

fn body_file(dir: &TempDir, name: &str, body: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, body).unwrap();
    format!("@{}", p.display())
}

#[test]
fn sign_reproduces_every_signing_vector() {
    let v = vectors();
    let dir = TempDir::new("sign");
    for c in v["request_signing"].as_array().unwrap() {
        let name = s(c, "name");
        let (code, out, err) = run(wxpay()
            .args([
                "--json",
                "sign",
                "--method",
                s(c, "method"),
                "--url",
                s(c, "url"),
                "--timestamp",
                s(c, "timestamp"),
                "--nonce",
                s(c, "nonce"),
            ])
            .args([
                "--mchid",
                s(&v, "mchid"),
                "--serial",
                s(&v, "merchant_serial"),
            ])
            .arg("--private-key")
            .arg(format!("{DIR}merchant_key.pem"))
            .arg("--body")
            .arg(body_file(&dir, name, s(c, "body"))));
        assert_eq!(code, 0, "{name}: {err}");
        let got: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(got["message"], c["message"], "{name}");
        assert_eq!(got["signature"], c["signature"], "{name}");
        assert_eq!(got["authorization"], c["authorization"], "{name}");
    }
}

#[test]
fn verify_judges_every_response_vector() {
    let v = vectors();
    let dir = TempDir::new("verify");
    for c in v["response_verification"].as_array().unwrap() {
        let name = s(c, "name");
        let mut cmd = wxpay();
        cmd.args(["--json", "verify"])
            .arg("-H")
            .arg(format!("Wechatpay-Timestamp: {}", s(c, "timestamp")))
            .arg("-H")
            .arg(format!("Wechatpay-Nonce: {}", s(c, "nonce")))
            .arg("-H")
            .arg(format!("Wechatpay-Serial: {}", s(c, "serial")))
            .arg("-H")
            .arg(format!("Wechatpay-Signature: {}", s(c, "signature")))
            .arg("--body")
            .arg(body_file(&dir, name, s(c, "body")));
        trust(&mut cmd, &v);
        let (code, out, err) = run(&mut cmd);
        let got: Value =
            serde_json::from_str(&out).unwrap_or_else(|_| panic!("{name}: {out} {err}"));
        let valid = c["valid"].as_bool().unwrap();
        assert_eq!(got["valid"], valid, "{name}: {out}");
        assert_eq!(code, if valid { 0 } else { 1 }, "{name}");
        let expected = match s(c, "reason") {
            "malformed_signature" => "bad_signature",
            r => r,
        };
        assert_eq!(got["reason"], expected, "{name}: {out}");
    }
}

#[test]
fn notify_decrypt_matches_every_callback_vector() {
    let v = vectors();
    let dir = TempDir::new("notify");
    let key = body_file(&dir, "apiv3_key.txt", s(&v, "apiv3_key"));
    for c in v["notifications"].as_array().unwrap() {
        let name = s(c, "name");
        let mut cmd = wxpay();
        cmd.args([
            "notify",
            "decrypt",
            "--apiv3-key",
            &key,
            "--body",
            &body_file(&dir, name, s(c, "body")),
        ]);
        for (k, val) in c["headers"].as_object().unwrap() {
            cmd.arg("-H").arg(format!("{k}: {}", val.as_str().unwrap()));
        }
        trust(&mut cmd, &v);
        let (code, out, err) = run(&mut cmd);
        if c["valid"].as_bool().unwrap() {
            assert_eq!(code, 0, "{name}: {err}");
            assert_eq!(
                out.strip_suffix('\n').unwrap(),
                s(c, "plaintext"),
                "{name}: the plaintext exactly"
            );
        } else {
            assert_eq!(code, 1, "{name}");
            let expected = match s(c, "reason") {
                "decrypt_failed" => "decrypt_failed",
                "probe" => "probe",
                _ => "bad_signature",
            };
            assert!(
                out.starts_with(&format!("invalid ({expected})")),
                "{name}: {out}"
            );
        }
    }
}
