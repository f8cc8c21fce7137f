//! Server text cannot drive the terminal, and logging works for `call`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;

use crate::{TempDir, run, wxpay};

/// Answers every request with a 400 whose code and message carry terminal escape
/// sequences, and a very long `Request-ID`.
fn hostile_server() -> String {
    raw_server(|s| {
        let json = r#"{"code":"PARAM_ERROR\u001b[2J","message":"\u001b]0;pwned\u0007\nerror: forged line"}"#;
        let rid = "R".repeat(20_000);
        let _ = write!(
            s,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nRequest-ID: {rid}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        );
    })
}

#[test]
fn server_text_is_escaped_and_cut_and_logging_shows_the_call() {
    let dir = TempDir::new("hostile");
    let (code, _, err) = run(wxpay().args(["sandbox", "init"]).arg(dir.path().join("s")));
    assert_eq!(code, 0, "{err}");
    let url = hostile_server();
    let (code, out, err) = run(wxpay()
        .args(["call", "GET", "/v3/certificates"])
        .current_dir(dir.path().join("s"))
        .env("WXPAY_BASE_URL", &url)
        .env("WXPAY_LOG", "wechatpay=debug"));
    assert_eq!(code, 1, "{out} {err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(
        err.contains("PARAM_ERROR\\u{1b}[2J") && err.contains("\\nerror: forged line"),
        "{err}"
    );
    assert!(
        !err.lines().any(|l| l.starts_with("error: forged")),
        "{err}"
    );
    assert!(
        err.len() < 5_000,
        "the 20 KB Request-ID is cut: {} bytes",
        err.len()
    );
    assert!(
        err.contains("WeChat Pay call failed"),
        "WXPAY_LOG works: {err}"
    );

    // RUST_LOG works too, and without either nothing is logged.
    let (_, _, err) = run(wxpay()
        .args(["call", "GET", "/v3/certificates"])
        .current_dir(dir.path().join("s"))
        .env("WXPAY_BASE_URL", &url)
        .env("RUST_LOG", "wechatpay=debug"));
    assert!(err.contains("WeChat Pay call failed"), "{err}");
    let (_, _, err) = run(wxpay()
        .args(["call", "GET", "/v3/certificates"])
        .current_dir(dir.path().join("s"))
        .env_remove("RUST_LOG")
        .env("WXPAY_BASE_URL", &url));
    assert!(!err.contains("WeChat Pay call"), "{err}");
}

/// Reads each request's head and body, then lets `reply` answer on the socket.
fn raw_server(reply: impl Fn(&mut std::net::TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let reply = std::sync::Arc::new(reply);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let reply = reply.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(s.try_clone().unwrap());
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                reply(&mut s);
            });
        }
    });
    url
}

/// A signed 200 whose every string field carries terminal escape sequences, signed with
/// the platform key of the sandbox configuration in `folder` (so the CLI verifies it).
fn signed_hostile_server(folder: &std::path::Path) -> String {
    let (cfg, dir) = wechatpay_sandbox::Config::from_file(&folder.join("sandbox.toml")).unwrap();
    let key = &cfg.platform.private_key;
    let pem = if key.contains("BEGIN") {
        key.clone()
    } else {
        std::fs::read_to_string(dir.join(key)).unwrap()
    };
    let key = wechatpay_core::PrivateKey::from_pem(&pem).unwrap();
    let id = cfg.platform.public_key_id.clone();
    raw_server(move |s| {
        let evil = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}[31m";
        let json = serde_json::json!({
            "refund_id": format!("5030{evil}"),
            "out_refund_no": format!("RF1{evil}"),
            "transaction_id": format!("4200{evil}"),
            "out_trade_no": format!("T{evil}"),
            "channel": "ORIGINAL",
            "user_received_account": format!("支付用户零钱{evil}"),
            "success_time": format!("2025-03-01T10:00:00+08:00{evil}"),
            "create_time": format!("2025-03-01T09:59:00+08:00{evil}"),
            "status": format!("SUCCESS{evil}"),
            "funds_account": "AVAILABLE",
            "amount": {"total": 2500, "refund": 500, "payer_total": 2500, "payer_refund": 500,
                       "settlement_refund": 500, "settlement_total": 2500, "discount_refund": 0,
                       "currency": "CNY"},
        })
        .to_string();
        let sig = wechatpay_core::ResponseSignature::sign(
            &key,
            &id,
            wechatpay_sandbox::now(),
            "n0nce",
            json.as_bytes(),
        )
        .unwrap();
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nRequest-ID: R1\r\nWechatpay-Timestamp: {}\r\nWechatpay-Nonce: {}\r\nWechatpay-Serial: {}\r\nWechatpay-Signature: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
            sig.timestamp,
            sig.nonce,
            sig.serial,
            sig.signature,
            json.len()
        );
    })
}

#[test]
fn every_command_that_prints_server_fields_escapes_them() {
    let dir = TempDir::new("hostile");
    let folder = dir.path().join("s");
    let (code, _, err) = run(wxpay().args(["sandbox", "init"]).arg(&folder));
    assert_eq!(code, 0, "{err}");
    let url = signed_hostile_server(&folder);
    let commands: [&[&str]; 2] = [
        &[
            "refund",
            "create",
            "--sub-mchid",
            "1900000109",
            "--transaction-id",
            "4200",
            "--out-refund-no",
            "RF1",
            "--refund",
            "500",
            "--total",
            "2500",
        ],
        &[
            "refund",
            "query",
            "--sub-mchid",
            "1900000109",
            "--out-refund-no",
            "RF1",
        ],
    ];
    for args in commands {
        let (code, out, err) = run(wxpay()
            .args(args)
            .current_dir(&folder)
            .env("WXPAY_BASE_URL", &url));
        assert_eq!(code, 0, "{args:?}: {out} {err}");
        for text in [&out, &err] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}'),
                "{args:?}: {text:?}"
            );
        }
        assert!(out.contains("SUCCESS\\u{1b}[2J"), "{args:?}: {out}");
        assert!(out.contains("5.00 of 25.00 yuan"), "{args:?}: {out}");
    }
}

#[test]
fn helper_calls_have_a_deadline_a_size_cap_and_follow_no_redirect() {
    let silent = raw_server(|_| std::thread::sleep(std::time::Duration::from_secs(60)));
    let (code, _, err) = run(wxpay().args([
        "sandbox",
        "clock",
        "advance",
        "1h",
        "--timeout",
        "1",
        "--url",
        &silent,
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("did not answer within 1 s"), "{err}");

    let endless = raw_server(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
        while s.write_all(chunk.as_bytes()).is_ok() {}
    });
    let (code, _, err) = run(wxpay().args([
        "sandbox",
        "user",
        "revoke",
        "--service-id",
        "1",
        "--sub-mchid",
        "1",
        "--openid",
        "o",
        "--url",
        &endless,
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("larger than 8388608 bytes"), "{err}");

    // The redirect points at a server that counts what reaches it.
    static REACHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let other = raw_server(|s| {
        REACHED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    });
    static OTHER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OTHER.set(other).unwrap();
    let redirecting = raw_server(|s| {
        let _ = write!(
            s,
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}/steal\r\nContent-Length: 0\r\n\r\n",
            OTHER.get().unwrap()
        );
    });
    let (code, _, err) =
        run(wxpay().args(["sandbox", "clock", "advance", "1h", "--url", &redirecting]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not followed"), "{err}");
    assert_eq!(REACHED.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn the_callback_receiver_closes_a_connection_whose_head_never_ends() {
    let dir = TempDir::new("notify");
    let folder = dir.path().join("s");
    let (code, _, err) = run(wxpay().args(["sandbox", "init"]).arg(&folder));
    assert_eq!(code, 0, "{err}");
    let (mut child, line) = crate::spawn_first_line(
        wxpay()
            .args(["notify", "serve", "--addr", "127.0.0.1:0", "--out", "x.txt"])
            .current_dir(&folder),
    );
    let addr = line
        .trim()
        .trim_start_matches("receiving callbacks at http://")
        .trim_end_matches("/notify")
        .to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"POST /notify HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // The receiver's header-read timeout (5 s) ends it; the read timeout only guards the test.
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut rest = Vec::new();
    let closed = s.read_to_end(&mut rest);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        closed.is_ok(),
        "closed by the receiver, not by the guard: {closed:?}"
    );
}
