//! `wxpay call` against a sandbox, and an order surviving kill -9 of `wxpay sandbox serve`.

use std::process::Child;

use crate::{TempDir, run, wxpay};

/// `wxpay sandbox init` into a temporary folder; returns it and the ids.
fn init() -> (TempDir, wechatpay_sandbox::Config) {
    let dir = TempDir::new("sandbox");
    let (code, _, err) = run(wxpay().args(["sandbox", "init"]).arg(dir.path().join("s")));
    assert_eq!(code, 0, "{err}");
    let (cfg, _) =
        wechatpay_sandbox::Config::from_file(&dir.path().join("s/sandbox.toml")).unwrap();
    (dir, cfg)
}

/// `--addr` goes in both files, so a second sandbox needs no editing (issue 20, item 16).
#[test]
fn init_writes_the_address_in_the_sandbox_and_the_client_profile() {
    let dir = TempDir::new("sandbox");
    let (code, _, err) = run(wxpay()
        .args(["sandbox", "init", "--addr", "127.0.0.1:8791"])
        .arg(dir.path().join("s")));
    assert_eq!(code, 0, "{err}");
    let (cfg, _) =
        wechatpay_sandbox::Config::from_file(&dir.path().join("s/sandbox.toml")).unwrap();
    assert_eq!(cfg.listen, "127.0.0.1:8791");
    let profile = std::fs::read_to_string(dir.path().join("s/wxpay.toml")).unwrap();
    assert!(
        profile.contains("base_url = \"http://127.0.0.1:8791\""),
        "{profile}"
    );
    let (code, _, err) = run(wxpay()
        .args(["sandbox", "init", "--addr", "localhost"])
        .arg(dir.path().join("t")));
    assert_ne!(code, 0);
    assert!(err.contains("--addr"), "{err}");
}

fn serve(dir: &std::path::Path) -> (Child, String) {
    let (child, line) = crate::spawn_first_line(
        wxpay()
            .args(["sandbox", "serve", "--addr", "127.0.0.1:0"])
            .current_dir(dir),
    );
    let url = line.split_whitespace().nth(3).unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (child, url)
}

fn order_json(cfg: &wechatpay_sandbox::Config, no: &str) -> String {
    let now = wechatpay_sandbox::now();
    let t = wechatpay_models::validate::payscore_time;
    let p = &cfg.providers[0];
    serde_json::json!({
        "service_id": cfg.services[0].service_id,
        "appid": p.appids[0],
        "sub_mchid": p.sub_merchants[0].sub_mchid,
        "out_order_no": no,
        "service_introduction": "共享充电宝",
        "post_payments": [{"name": "使用时长", "amount": 300}],
        "total_amount": 300,
        "time_range": {"start_time": t(now - 3600), "end_time": t(now - 60)},
        "notify_url": "http://127.0.0.1:9/notify",
        "openid": cfg.users[0].openid,
    })
    .to_string()
}

#[test]
fn call_signs_and_verifies_and_reports_api_errors_then_the_order_survives_kill_9() {
    let (dir, cfg) = init();
    let folder = dir.path().join("s");
    let (mut child, url) = serve(&folder);
    let call = |args: &[&str], url: &str| {
        run(wxpay()
            .args(args)
            .current_dir(&folder)
            .env("WXPAY_BASE_URL", url))
    };

    let body = order_json(&cfg, "KILL9ORDER1");
    let (code, out, err) = call(
        &[
            "call",
            "POST",
            "/v3/payscore/partner/serviceorder/direct-complete",
            "-d",
            &body,
        ],
        &url,
    );
    assert_eq!(code, 0, "{out} {err}");
    assert!(
        err.contains("HTTP 204") && err.contains("signature verified"),
        "{err}"
    );

    let (code, out, err) = call(
        &[
            "--json",
            "call",
            "POST",
            "/v3/payscore/partner/serviceorder/direct-complete",
            "-d",
            &body.replace("300,", "299,"),
        ],
        &url,
    );
    assert_eq!(code, 1, "{out} {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["code"], "PARAM_ERROR");
    assert_eq!(v["status"], 400);
    let (code, _, err) = call(
        &[
            "call",
            "GET",
            "/v3/payscore/partner/serviceorder",
            "-q",
            "sub_mchid=1",
            "-q",
            "out_order_no=NONE",
        ],
        &url,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("code:    ORDER_NOT_EXIST") && err.contains("hint:"),
        "{err}"
    );

    // kill -9, restart on the same database: the answered order is still there.
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, url) = serve(&folder);
    let sub = &cfg.providers[0].sub_merchants[0].sub_mchid;
    let (code, out, err) = call(
        &[
            "--json",
            "call",
            "GET",
            "/v3/payscore/partner/serviceorder",
            "-q",
            &format!("sub_mchid={sub}"),
            "-q",
            "out_order_no=KILL9ORDER1",
        ],
        &url,
    );
    assert_eq!(code, 0, "{out} {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["body"]["out_order_no"], "KILL9ORDER1");
    assert_eq!(v["body"]["total_amount"], 300);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The request log is written in batches; a clean stop (SIGTERM) writes what waits, so
/// every request of the run is there after a restart.
#[test]
fn a_clean_stop_keeps_every_logged_request() {
    let (dir, _) = init();
    let folder = dir.path().join("s");
    let (mut child, url) = serve(&folder);
    for i in 0..3 {
        let (code, _, err) = run(wxpay()
            .args(["call", "GET", "/v3/payscore/partner/serviceorder", "-q"])
            .arg(format!("out_order_no=LOGGED{i}"))
            .args(["-q", "sub_mchid=1"])
            .current_dir(&folder)
            .env("WXPAY_BASE_URL", &url));
        assert_eq!(code, 1, "ORDER_NOT_EXIST: {err}");
    }
    let term = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success(), "a clean stop");
    let (mut child, url) = serve(&folder);
    let log = get_json(&url, "/_sandbox/api/requests");
    child.kill().unwrap();
    child.wait().unwrap();
    let logged = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["target"]
                .as_str()
                .unwrap()
                .contains("out_order_no=LOGGED")
        })
        .count();
    assert_eq!(logged, 3, "{log}");
}

/// A plain HTTP/1.0 GET of the sandbox's own JSON (not signed, so not for `wxpay call`).
fn get_json(url: &str, path: &str) -> serde_json::Value {
    use std::io::{Read as _, Write as _};
    let addr = url.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(c, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

#[test]
fn certs_download_saves_the_verified_platform_certificate() {
    let (dir, _) = init();
    let folder = dir.path().join("s");
    let (mut child, url) = serve(&folder);
    let out_dir = dir.path().join("certs");
    let (code, out, err) = run(wxpay()
        .args(["certs", "download", "--out"])
        .arg(&out_dir)
        .current_dir(&folder)
        .env("WXPAY_BASE_URL", &url));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(code, 0, "{out} {err}");
    let expected =
        wechatpay_core::Certificate::from_pem_file(folder.join("platform_cert.pem")).unwrap();
    let saved = wechatpay_core::Certificate::from_pem_file(
        out_dir.join(format!("{}.pem", expected.serial())),
    )
    .unwrap();
    assert_eq!(saved.to_pem(), expected.to_pem());
}

#[test]
fn the_user_the_clock_and_faults_are_driven_from_the_command_line() {
    let (dir, cfg) = init();
    let folder = dir.path().join("s");
    let (mut child, url) = serve(&folder);
    let wx = |args: &[&str]| {
        run(wxpay()
            .args(args)
            .current_dir(&folder)
            .env("WXPAY_BASE_URL", &url))
    };
    let service = cfg.services[0].service_id.clone();
    let sub = cfg.providers[0].sub_merchants[0].sub_mchid.clone();
    let user = format!("oCLI{}", wechatpay_core::RandomNonce::alphanumeric(20));
    let who = [
        "--service-id",
        service.as_str(),
        "--sub-mchid",
        sub.as_str(),
        "--openid",
        user.as_str(),
    ];
    let (code, out, err) = wx(&[&["sandbox", "user", "authorize"][..], &who[..]].concat());
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("AVAILABLE"), "{out}");
    let (code, out, err) = wx(&[&["sandbox", "user", "revoke"][..], &who[..]].concat());
    assert_eq!(code, 0, "{out} {err}");
    let (code, _, err) = wx(&[&["sandbox", "user", "revoke"][..], &who[..]].concat());
    assert_eq!(code, 1, "revoking twice is refused");
    assert!(err.contains("refused"), "{err}");
    let (code, _, err) = wx(&[
        "sandbox",
        "user",
        "pay",
        "--sub-mchid",
        sub.as_str(),
        "--out-order-no",
        "NONE",
    ]);
    assert_eq!(code, 1, "no such order to pay");
    assert!(err.contains("no such order"), "{err}");

    let (code, out, err) = wx(&["--json", "sandbox", "clock", "advance", "1h"]);
    assert_eq!(code, 0, "{out} {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["offset_seconds"].as_i64().unwrap() >= 3600, "{v}");

    // A fault on demand: the next five requests fail with the answer asked for (the
    // client retries a 503 twice, so one call uses three); clearing it lets the next
    // call through to the real answer.
    let (code, out, err) = wx(&[
        "sandbox",
        "fault",
        "add",
        "--method",
        "GET",
        "--path",
        "/v3/payscore/partner/serviceorder",
        "--kind",
        "error",
        "--status",
        "503",
        "--code",
        "SYSTEM_BUSY",
        "--times",
        "5",
    ]);
    assert_eq!(code, 0, "{out} {err}");
    let query = [
        "--json",
        "call",
        "GET",
        "/v3/payscore/partner/serviceorder",
        "-q",
        "sub_mchid=1",
        "-q",
        "out_order_no=NONE",
    ];
    let (code, out, _) = wx(&query);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["status"].as_u64(), v["code"].as_str()),
        (Some(503), Some("SYSTEM_BUSY"))
    );
    let (code, out, err) = wx(&["sandbox", "fault", "clear"]);
    assert_eq!(code, 0, "{out} {err}");
    let (code, out, _) = wx(&query);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["code"], "ORDER_NOT_EXIST", "{v}");
    let (code, _, err) = wx(&["sandbox", "fault", "add", "--path", "/x", "--kind", "delay"]);
    assert_ne!(code, 0, "a delay needs --ms");
    assert!(err.contains("--ms"), "{err}");

    let (code, out, err) = wx(&[
        "--json",
        "launch",
        "detail",
        "--service-id",
        service.as_str(),
        "--out-order-no",
        "RENT1",
    ]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(code, 0, "{out} {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["businessType"], "wxpayScoreDetail");
    assert_eq!(v["extraData"]["sign"].as_str().unwrap().len(), 64);
}

/// `wxpay sandbox seed`, then `wxpay bill download` (gzip and plain, verified, rows and
/// totals) and `wxpay refund create|query` on a seeded deduction.
#[test]
fn seed_then_download_the_bill_and_refund_from_the_command_line() {
    let (dir, _) = init();
    let folder = dir.path().join("s");
    // Two days ago (Beijing time): its bill is ready whatever the time of day.
    let day =
        wechatpay_models::v3::bill::beijing_day(wechatpay_sandbox::now() - 2 * 86_400).to_string();
    let (code, out, err) = run(wxpay()
        .args([
            "sandbox",
            "seed",
            "--orders",
            "500",
            "--refund-every",
            "100",
            "--day",
            &day,
            "--json",
        ])
        .current_dir(&folder));
    assert_eq!(code, 0, "{err}");
    let seeded: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (seeded["payments"].as_u64(), seeded["refunds"].as_u64()),
        (Some(500), Some(5))
    );
    let (mut child, url) = serve(&folder);
    let call = |args: &[&str]| {
        run(wxpay()
            .args(args)
            .current_dir(&folder)
            .env("WXPAY_BASE_URL", &url))
    };
    let mut first_row = None;
    for gzip in [true, false] {
        let out_file = folder.join(format!("bill-{gzip}.csv"));
        let mut args = vec!["bill", "download", "--date", &day, "--json", "--out"];
        let path = out_file.display().to_string();
        args.push(&path);
        if gzip {
            args.push("--gzip");
        }
        let (code, out, err) = call(&args);
        assert_eq!(code, 0, "{out} {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["rows"], 505, "{v}");
        assert_eq!(v["sha1"].as_str().unwrap().len(), 40);
        assert_eq!(gzip, v["received"].as_u64() < v["bytes"].as_u64(), "{v}");
        let text = std::fs::read_to_string(&out_file).unwrap();
        first_row.get_or_insert_with(|| text.lines().nth(1).unwrap().to_owned());
    }
    // The sub-merchant's fund flow, encrypted with SM4_GCM: decrypted and verified.
    let row = first_row.clone().unwrap();
    let sub = row
        .trim_start_matches('`')
        .split(",`")
        .nth(3)
        .unwrap()
        .to_owned();
    let fund = folder.join("fund.csv").display().to_string();
    let (code, out, err) = call(&[
        "bill",
        "download",
        "--date",
        &day,
        "--type",
        "fundflow",
        "--sub-mchid",
        &sub,
        "--algorithm",
        "SM4_GCM",
        "--gzip",
        "--json",
        "--out",
        &fund,
    ]);
    assert_eq!(code, 0, "{out} {err}");
    let text = std::fs::read_to_string(&fund).unwrap();
    assert!(text.starts_with("\u{feff}记账时间,"), "{text}");
    // A day without business fails, and leaves nothing behind: no --out, no part file.
    let before = std::fs::read_dir(&folder).unwrap().count();
    let empty =
        wechatpay_models::v3::bill::beijing_day(wechatpay_sandbox::now() - 5 * 86_400).to_string();
    let (code, _, err) = call(&["bill", "download", "--date", &empty, "--out", "none.csv"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("NO_STATEMENT_EXIST"), "{err}");
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), before);
    // Refund a seeded deduction from its bill row: transaction id, amount.
    let row = first_row.unwrap();
    let f: Vec<&str> = row.trim_end().trim_start_matches('`').split(",`").collect();
    let (sub, tx) = (f[3], f[5]);
    let total = wechatpay_models::v3::bill::trade::decimal(f[12], 2)
        .unwrap()
        .to_string();
    let (code, out, err) = call(&[
        "refund",
        "create",
        "--sub-mchid",
        sub,
        "--transaction-id",
        tx,
        "--out-refund-no",
        "CLI-RF-1",
        "--refund",
        "1",
        "--total",
        &total,
        "--json",
    ]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("\"status\":\"PROCESSING\""), "{out}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    // A refund that is not ABNORMAL cannot be sent elsewhere: the card number and name,
    // read from standard input, were encrypted and the request reached WeChat Pay's rule.
    let mut abnormal = wxpay();
    abnormal
        .args(["refund", "abnormal", "--sub-mchid", sub, "--refund-id"])
        .arg(created["refund_id"].as_str().unwrap())
        .args(["--out-refund-no", "CLI-RF-1", "--to", "user-bank-card"])
        .args(["--bank-type", "ICBC_DEBIT"])
        .current_dir(&folder)
        .env("WXPAY_BASE_URL", &url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child_abnormal = abnormal.spawn().unwrap();
    std::io::Write::write_all(
        child_abnormal.stdin.as_mut().unwrap(),
        "6222020000000000000\n张三\n".as_bytes(),
    )
    .unwrap();
    let done = child_abnormal.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(1), "{err}");
    assert!(
        err.contains("INVALID_REQUEST") && err.contains("only an ABNORMAL refund"),
        "{err}"
    );
    let (code, out, err) = call(&[
        "refund",
        "query",
        "--sub-mchid",
        sub,
        "--out-refund-no",
        "CLI-RF-1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("refund CLI-RF-1") && out.contains("0.01 of"),
        "{out}"
    );
    // A day without business: the API error, exit status 1, no file.
    let (code, _, err) = call(&[
        "bill",
        "download",
        "--date",
        &wechatpay_models::v3::bill::beijing_day(wechatpay_sandbox::now() - 3 * 86_400).to_string(),
        "--out",
        "none.csv",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("NO_STATEMENT_EXIST"), "{err}");
    assert!(!folder.join("none.csv").exists());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_missing_key_file_is_named_with_its_cause_once() {
    let (dir, _) = init();
    let folder = dir.path().join("s");
    let profile = std::fs::read_to_string(folder.join("wxpay.toml")).unwrap();
    let edited: String = profile
        .lines()
        .map(|l| {
            if l.starts_with("private_key =") {
                "private_key = \"missing.pem\"".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(folder.join("wxpay.toml"), edited).unwrap();
    let (code, _, err) = run(wxpay()
        .args(["call", "GET", "/v3/certificates"])
        .current_dir(&folder));
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert_eq!(err.matches("missing.pem").count(), 1, "{err}");
    assert!(
        err.contains("unusable private key: cannot read missing.pem: "),
        "{err}"
    );
}
