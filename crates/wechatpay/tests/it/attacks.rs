//! What an outside trial tried against the SDK's downloads and error reporting (issue 18,
//! docs/reliability.md "Attacks tried"): gzip bombs, planted links, huge declarations, a
//! server that drips, broken heads, one endless line, and what each failure says.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use wechatpay::{DownloadError, Error};
use wechatpay_core::{ApiV3Key, PrivateKey};
use wechatpay_models::v3::bill::{EncryptedBill, EncryptedBills};

use crate::bills::{FIXTURE, FIXTURE_SHA1, file_server, gzip};
use crate::support::{Env, env, unique};

/// `len` zeros, gzip at the best level: about 1,000 times smaller.
fn bomb(len: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1 << 20];
    for _ in 0..len >> 20 {
        e.write_all(&block).unwrap();
    }
    e.finish().unwrap()
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("attack"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_by_its_ratio_and_leaves_nothing() {
    let env = env().await;
    let body = bomb(256 << 20);
    let base = file_server(&env, body, true).await;
    let client = env.builder().base_url(&base).build().unwrap();
    let url = format!("{base}/v3/billdownload/file?token=bomb");
    let dir = temp_dir();
    let e = client
        .download(&url, Some(FIXTURE_SHA1))
        .await
        .unwrap()
        .save(dir.join("bill.csv"))
        .await
        .unwrap_err();
    let Error::Download(DownloadError::Ratio {
        limit,
        decompressed,
        ..
    }) = e
    else {
        panic!("{e}")
    };
    assert_eq!(limit, 100);
    assert!(decompressed < 2 << 20, "stopped early: {decompressed}");
    assert_eq!(names(&dir), Vec::<String>::new(), "nothing left behind");

    // Read by hand, it comes a bounded step at a time and stops the same way; the limit
    // can be set.
    let mut dl = client.download(&url, None).await.unwrap();
    let e = loop {
        match dl.chunk().await {
            Ok(Some(c)) => assert!(c.len() <= wechatpay_core::file::STEP_BYTES),
            other => break other.unwrap_err(),
        }
    };
    assert!(
        matches!(e, Error::Download(DownloadError::Ratio { .. })),
        "{e}"
    );
    let lenient = env
        .builder()
        .base_url(&base)
        .max_download_ratio(0)
        .max_download_bytes(32 << 20)
        .build()
        .unwrap();
    let e = lenient
        .download(&url, None)
        .await
        .unwrap()
        .save(dir.join("bill.csv"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Download(DownloadError::TooLarge { limit }) if limit == 32 << 20),
        "{e}"
    );
    assert_eq!(names(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An encrypted fund-flow bill of one part holding `plain`, served by a file server.
async fn encrypted(env: &Env, plain: &[u8], hash: &str) -> (wechatpay::Client, EncryptedBills) {
    encrypted_tampered(env, plain, hash, None).await
}

/// As [`encrypted`], with the sealed byte at `tamper` flipped.
async fn encrypted_tampered(
    env: &Env,
    plain: &[u8],
    hash: &str,
    tamper: Option<usize>,
) -> (wechatpay::Client, EncryptedBills) {
    let key = ApiV3Key::generate().unwrap();
    let nonce = wechatpay_core::RandomNonce::alphanumeric(12);
    let mut sealed = key.seal(&nonce, "", plain).unwrap();
    if let Some(at) = tamper {
        sealed[at] ^= 1;
    }
    let merchant = PrivateKey::from_pem(&env.g.client.private_key_pem)
        .unwrap()
        .public_key()
        .unwrap();
    let base = file_server(env, sealed, false).await;
    let bills = EncryptedBills {
        download_bill_count: 1,
        download_bill_list: vec![EncryptedBill {
            bill_sequence: 1,
            download_url: format!("{base}/v3/billdownload/file?token=part1"),
            encrypt_key: merchant
                .encrypt_oaep(key.expose_secret().as_bytes())
                .unwrap(),
            hash_type: "SHA1".into(),
            hash_value: hash.into(),
            nonce,
        }],
    };
    (env.builder().base_url(&base).build().unwrap(), bills)
}

#[tokio::test]
async fn a_gzip_bomb_inside_an_encrypted_part_is_refused_and_leaves_nothing() {
    let env = env().await;
    let (client, bills) = encrypted(&env, &bomb(256 << 20), FIXTURE_SHA1).await;
    let dir = temp_dir();
    let e = client
        .save_encrypted_bill(&bills, dir.join("fund.csv"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Download(DownloadError::Ratio { .. })),
        "{e}"
    );
    assert_eq!(names(&dir), Vec::<String>::new(), "nothing left behind");

    // The same part, honest, is saved.
    let (client, bills) = encrypted(&env, &gzip(FIXTURE), FIXTURE_SHA1).await;
    let saved = client
        .save_encrypted_bill(&bills, dir.join("fund.csv"))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&saved.path).unwrap(), FIXTURE);
    assert_eq!(names(&dir), ["fund.csv"]);

    // A changed byte anywhere (its data or its tag) fails the part, and leaves the old
    // file as it was.
    let len = gzip(FIXTURE).len() + 16;
    for at in [0, len / 2, len - 1] {
        let (client, bills) =
            encrypted_tampered(&env, &gzip(FIXTURE), FIXTURE_SHA1, Some(at)).await;
        let e = client
            .save_encrypted_bill(&bills, dir.join("fund.csv"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Download(DownloadError::Decrypt(_) | DownloadError::Gzip(_))
            ),
            "{at}: {e}"
        );
        assert_eq!(names(&dir), ["fund.csv"]);
        assert_eq!(std::fs::read(dir.join("fund.csv")).unwrap(), FIXTURE);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_planted_link_is_never_written_through() {
    let env = env().await;
    let base = file_server(&env, FIXTURE.to_vec(), false).await;
    let client = env.builder().base_url(&base).build().unwrap();
    let url = format!("{base}/v3/billdownload/file?token=t");
    let (client2, bills) = encrypted(&env, FIXTURE, FIXTURE_SHA1).await;
    let dir = temp_dir();
    let victim = dir.join("victim");
    std::fs::write(&victim, "the user's file").unwrap();
    for name in ["bill.csv", "fund.csv"] {
        // Links at the names a download used to write through (`.<name>.<pid>.part`), and
        // at the destination itself.
        for n in [format!(".{name}.{}.part", std::process::id()), name.into()] {
            std::os::unix::fs::symlink(&victim, dir.join(n)).unwrap();
        }
    }
    let saved = client
        .download(&url, Some(FIXTURE_SHA1))
        .await
        .unwrap()
        .save(dir.join("bill.csv"))
        .await
        .unwrap();
    let saved2 = client2
        .save_encrypted_bill(&bills, dir.join("fund.csv"))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"the user's file");
    for s in [saved, saved2] {
        let meta = std::fs::symlink_metadata(&s.path).unwrap();
        assert!(
            meta.file_type().is_file(),
            "{} is a plain file",
            s.path.display()
        );
        assert_eq!(std::fs::read(&s.path).unwrap(), FIXTURE);
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            meta.permissions().mode() & 0o077,
            0,
            "readable by its owner only"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A server that reads one request and answers with `reply`.
async fn raw_server<F, Fut>(reply: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if s.read(&mut byte).await.unwrap_or(0) == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            tokio::spawn(reply(s));
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let env = env().await;
    let base = raw_server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n\r\nabc")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let client = env
        .builder()
        .base_url(&base)
        .max_download_bytes(1 << 30)
        .build()
        .unwrap();
    let e = client
        .download(&format!("{base}/v3/billdownload/file?token=t"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Download(DownloadError::TooLarge { limit }) if limit == 1 << 30),
        "{e}"
    );
}

#[tokio::test]
async fn a_server_that_drips_is_stopped_by_the_download_deadline() {
    let env = env().await;
    let base = raw_server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        // One byte every 100 ms: each read is in time, the whole never ends.
        while s.write_all(b"1\r\nx\r\n").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let client = env
        .builder()
        .base_url(&base)
        .timeout(Duration::from_secs(5))
        .download_deadline(Duration::from_millis(700))
        .build()
        .unwrap();
    let mut dl = client
        .download(&format!("{base}/v3/billdownload/file?token=t"), None)
        .await
        .unwrap();
    let mut got = 0;
    let e = loop {
        match dl.chunk().await {
            Ok(Some(c)) => got += c.len(),
            other => break other.unwrap_err(),
        }
    };
    assert!(got > 0, "bytes arrived before the deadline");
    assert!(
        matches!(e, Error::Download(DownloadError::Deadline(d)) if d == Duration::from_millis(700)),
        "{e}"
    );
}

#[tokio::test]
async fn a_malformed_download_answer_was_sent_but_processed_nothing() {
    let env = env().await;
    let base = raw_server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\nabc")
            .await;
    })
    .await;
    let client = env.builder().base_url(&base).build().unwrap();
    let e = client
        .download(&format!("{base}/v3/billdownload/file?token=t"), None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e}");
    assert!(!e.is_not_sent(), "the request was sent: {e}");
    assert!(!e.maybe_processed(), "a download processes nothing: {e}");
    assert!(e.to_string().contains("it only reads"), "{e}");
}

#[tokio::test]
async fn one_endless_line_stops_at_the_line_limit() {
    let env = env().await;
    let line = vec![b'a'; 4 << 20];
    let base = file_server(&env, gzip(&line), true).await;
    let client = env.builder().base_url(&base).build().unwrap();
    let mut rows = client
        .download(&format!("{base}/v3/billdownload/file?token=t"), None)
        .await
        .unwrap()
        .trade_rows();
    let e = rows.next_row().await.unwrap_err();
    assert!(e.to_string().contains("longer than 65536 bytes"), "{e}");
}

#[tokio::test]
async fn a_server_error_to_a_post_may_have_been_processed_and_to_a_get_not() {
    let env = env().await;
    let base = raw_server(|mut s| async move {
        let body = r#"{"code":"SYSTEM_ERROR","message":"系统错误"}"#;
        let _ = s
            .write_all(
                format!(
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await;
    })
    .await;
    let client = env.builder().base_url(&base).build().unwrap();
    let e = client
        .send(&env.order(&unique("S5"), "https://example.com/n"))
        .await
        .unwrap_err();
    assert_eq!(e.as_api().map(|a| a.status().as_u16()), Some(500), "{e}");
    assert!(e.maybe_processed() && !e.is_not_sent(), "{e}");
    let ids = &env.g.client.ids;
    let q = wechatpay_models::v3::payscore::partner::serviceorder::QueryRequest::default()
        .service_id(ids.service_id.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no("RENT1");
    let e = client.send(&q).await.unwrap_err();
    assert!(!e.maybe_processed() && !e.is_not_sent(), "{e}");
}

#[tokio::test]
async fn requests_are_signed_for_the_configured_host_only() {
    let env = env().await;
    let client = env.client();
    let base = env.sandbox.base_url();
    let port = env.sandbox.addr().port();
    for other in [
        format!("http://127.0.0.1:{}/v3/billdownload/file?token=t", port + 1),
        format!("https://127.0.0.1:{port}/v3/billdownload/file?token=t"),
        format!("http://127.0.0.1.evil.example:{port}/v3/billdownload/file"),
        format!("http://evil@127.0.0.1:{port}/v3/billdownload/file"),
    ] {
        let e = client.download(&other, None).await.unwrap_err();
        let Error::Build(b) = &e else {
            panic!("{other}: {e}")
        };
        assert_eq!(b.field(), Some("download_url"), "{other}");
        let req = http::Request::get(other.as_str())
            .body(bytes::Bytes::new())
            .unwrap();
        let e = client.execute(req).await.unwrap_err();
        assert!(e.is_not_sent(), "{other}: {e}");
    }
    // The configured host itself is fine (here: an unknown token, a WeChat Pay error).
    let e = client
        .download(&format!("{base}/v3/billdownload/file?token=none"), None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Api(_)), "{e}");
}
