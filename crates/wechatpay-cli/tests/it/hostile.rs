//! Server text cannot drive the terminal, and logging works for `call`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;

use crate::{TempDir, run, wxpay};

/// Answers every request with a 400 whose code and message carry terminal escape
/// sequences, and a very long `Request-ID`.
fn hostile_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
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
            let json = r#"{"code":"PARAM_ERROR\u001b[2J","message":"\u001b]0;pwned\u0007\nerror: forged line"}"#;
            let rid = "R".repeat(20_000);
            let _ = write!(
                s,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nRequest-ID: {rid}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                json.len()
            );
        }
    });
    url
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
