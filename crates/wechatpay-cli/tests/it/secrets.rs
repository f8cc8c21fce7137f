//! Nothing the CLI or the sandbox prints, at `trace` level, across a working session
//! (sandbox, calls, a refund, a bill, callbacks, the demo), holds a secret: the private
//! keys, the APIv3 and APIv2 keys, or a whole RSA signature (an Authorization header's).

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::Stdio;

use crate::{TempDir, run, wxpay};

/// Runs of base64 that have the shape of an RSA-2048 signature: 344 characters ending `==`.
fn rsa_signatures(text: &str) -> Vec<String> {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=';
    text.split(|c: char| !is_b64(c))
        .filter(|run| run.len() == 344 && run.ends_with("==") && !run[..342].contains('='))
        .map(str::to_owned)
        .collect()
}

/// Secrets of the sandbox folder: the APIv3 and APIv2 keys and every line of each private
/// key's PEM body.
fn secrets(dir: &std::path::Path) -> Vec<String> {
    let profile = std::fs::read_to_string(dir.join("wxpay.toml")).unwrap();
    let mut out = Vec::new();
    for key in ["apiv3_key", "apiv2_key"] {
        let line = profile.lines().find(|l| l.starts_with(key)).unwrap();
        out.push(line.split('"').nth(1).unwrap().to_owned());
    }
    for pem in ["merchant_key.pem", "platform_key.pem"] {
        let text = std::fs::read_to_string(dir.join(pem)).unwrap();
        out.extend(
            text.lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                .map(str::to_owned),
        );
    }
    assert!(out.len() > 20, "{out:?}");
    out
}

#[test]
fn nothing_printed_at_trace_level_holds_a_secret() {
    let tmp = TempDir::new("secrets");
    let dir = tmp.path().join("s");
    let (code, _, err) = run(wxpay().args(["sandbox", "init"]).arg(&dir));
    assert_eq!(code, 0, "{err}");
    let day =
        wechatpay_models::v3::bill::beijing_day(wechatpay_sandbox::now() - 2 * 86_400).to_string();
    let (code, _, err) = run(wxpay()
        .args(["sandbox", "seed", "--orders", "20", "--day", &day])
        .env("WXPAY_LOG", "trace")
        .current_dir(&dir));
    assert_eq!(code, 0, "{err}");
    let mut printed = err;
    let log = std::fs::File::create(tmp.path().join("serve.log")).unwrap();
    let mut child = wxpay()
        .args(["sandbox", "serve", "--addr", "127.0.0.1:0"])
        .env("WXPAY_LOG", "trace")
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line.split_whitespace().nth(3).unwrap().to_owned();
    let cfg = wechatpay_sandbox::Config::from_file(&dir.join("sandbox.toml"))
        .unwrap()
        .0;
    let p = &cfg.providers[0];
    let now = wechatpay_sandbox::now();
    let t = wechatpay_models::validate::payscore_time;
    let order = serde_json::json!({
        "service_id": cfg.services[0].service_id, "appid": p.appids[0],
        "sub_mchid": p.sub_merchants[0].sub_mchid, "out_order_no": "SECRETS1",
        "service_introduction": "共享充电宝", "post_payments": [{"name": "使用时长", "amount": 300}],
        "total_amount": 300, "time_range": {"start_time": t(now - 3600), "end_time": t(now - 60)},
        "notify_url": "http://127.0.0.1:9/notify", "openid": cfg.users[0].openid,
    })
    .to_string();
    let sub = p.sub_merchants[0].sub_mchid.clone();
    let bill = tmp.path().join("bill.csv").display().to_string();
    let sub_q = format!("sub_mchid={sub}");
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "call",
            "POST",
            "/v3/payscore/partner/serviceorder/direct-complete",
            "-d",
            &order,
        ],
        vec![
            "call",
            "GET",
            "/v3/payscore/partner/serviceorder",
            "-q",
            "out_order_no=SECRETS1",
            "-q",
            &sub_q,
        ],
        vec!["certs", "download", "--out", "certs"],
        vec!["bill", "download", "--date", &day, "--gzip", "--out", &bill],
        vec![
            "refund",
            "query",
            "--sub-mchid",
            &sub,
            "--out-refund-no",
            "NONE",
        ],
        vec!["sandbox", "clock", "advance", "1h"],
    ];
    for args in &commands {
        let (_, out, err) = run(wxpay()
            .args(args)
            .env("WXPAY_LOG", "trace")
            .env("WXPAY_BASE_URL", &url)
            .current_dir(&dir));
        printed.push_str(&out);
        printed.push_str(&err);
    }
    let (code, out, err) = run(wxpay()
        .args(["demo", "--flow", "authorize"])
        .env("WXPAY_LOG", "trace"));
    assert_eq!(code, 0, "{err}");
    printed.push_str(&out);
    printed.push_str(&err);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    printed.push_str(&rest);
    printed.push_str(&std::fs::read_to_string(tmp.path().join("serve.log")).unwrap());

    assert!(
        printed.contains("TRACE") || printed.contains("trace"),
        "trace logging was on"
    );
    assert!(
        printed.len() > 10_000,
        "a session's worth of output: {} bytes",
        printed.len()
    );
    for s in secrets(&dir) {
        assert!(!printed.contains(&s), "a secret was printed: {}…", &s[..8]);
    }
    assert!(
        !printed.contains("PRIVATE KEY"),
        "a private key was printed"
    );
    let sigs = rsa_signatures(&printed);
    assert!(
        sigs.is_empty(),
        "{} whole signatures printed, e.g. {}",
        sigs.len(),
        sigs[0]
    );

    // The detector works: `wxpay sign`, a debugging tool, prints an Authorization on purpose.
    let (code, out, _) = run(wxpay()
        .args(["sign", "--method", "GET", "--url", "/v3/certificates"])
        .current_dir(&dir));
    assert_eq!(code, 0);
    assert!(!rsa_signatures(&out).is_empty(), "{out}");
}
