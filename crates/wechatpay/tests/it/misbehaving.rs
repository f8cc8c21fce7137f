//! A local server that misbehaves on purpose, written on raw TCP so that every defect can
//! be produced: huge and endless bodies, redirects, silence, connections cut mid-answer,
//! `Retry-After`, idle connections closed by the server (bad certificate downloads are in
//! `certificates.rs`, on the same server).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wechatpay::{Error, TransportKind};
use wechatpay_core::{PrivateKey, ResponseSignature};
use wechatpay_models::v3::payscore::partner::serviceorder::{CancelRequest, QueryRequest};

use crate::support::{Env, env, unique};

/// What the server does with one request.
#[derive(Clone)]
pub(crate) enum Reply {
    /// A signed answer (the body is signed as WeChat Pay signs it).
    Signed {
        status: u16,
        body: Vec<u8>,
        headers: Vec<(&'static str, String)>,
        serial: Option<String>,
    },
    /// These exact bytes, then the connection stays open for more requests.
    Raw(Vec<u8>),
    /// A 200 with a chunked body that never ends.
    Endless,
    /// Read the request, never answer.
    Silence,
    /// Read the request, then close the connection without a byte of answer.
    Close,
    /// A signed 204, then close the connection a little later while it is idle.
    SignedThenIdleClose,
}

#[derive(Debug, Clone)]
struct Hit {
    at: Instant,
    head: String,
    body: Vec<u8>,
    connection: usize,
}

#[derive(Clone)]
pub(crate) struct Server {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Server {
    /// Serves `script` in order (the last reply repeats); `/v3/certificates` answers come
    /// from `certs` when given.
    pub(crate) async fn start(env: &Env, script: Vec<Reply>) -> Self {
        Self::start_with(env, script, None).await
    }

    pub(crate) async fn start_with(env: &Env, script: Vec<Reply>, certs: Option<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let signer = Signer::of(env);
        let h = hits.clone();
        tokio::spawn(async move {
            let mut connection = 0;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                connection += 1;
                let (h, script, signer, certs) =
                    (h.clone(), script.clone(), signer.clone(), certs.clone());
                tokio::spawn(serve(stream, connection, h, script, signer, certs));
            }
        });
        Self { addr, hits }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub(crate) fn hits_on(&self, path: &str) -> usize {
        self.hits()
            .iter()
            .filter(|h| {
                h.head
                    .split(' ')
                    .nth(1)
                    .is_some_and(|p| p.starts_with(path))
            })
            .count()
    }
}

#[derive(Clone)]
struct Signer {
    key: PrivateKey,
    key_id: String,
}

impl Signer {
    fn of(env: &Env) -> Self {
        Self {
            key: PrivateKey::from_pem(&env.g.config.platform.private_key).unwrap(),
            key_id: env.g.client.public_key_id.clone(),
        }
    }

    fn answer(
        &self,
        status: u16,
        body: &[u8],
        headers: &[(&'static str, String)],
        serial: Option<&str>,
    ) -> Vec<u8> {
        let sig = ResponseSignature::sign(
            &self.key,
            serial.unwrap_or(&self.key_id),
            wechatpay_sandbox::now(),
            "n0nce",
            body,
        )
        .unwrap();
        let mut head = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nRequest-ID: 08TEST-{status}\r\nWechatpay-Timestamp: {}\r\nWechatpay-Nonce: {}\r\nWechatpay-Serial: {}\r\nWechatpay-Signature: {}\r\n",
            body.len(),
            sig.timestamp,
            sig.nonce,
            sig.serial,
            sig.signature
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        out
    }
}

/// Reads one request: the head up to the blank line, then `Content-Length` bytes.
async fn read_request(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.ok()?;
    Some((head, body))
}

async fn serve(
    mut s: TcpStream,
    connection: usize,
    hits: Arc<Mutex<Vec<Hit>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    signer: Signer,
    certs: Option<Reply>,
) {
    while let Some((head, body)) = read_request(&mut s).await {
        hits.lock().unwrap().push(Hit {
            at: Instant::now(),
            head: head.clone(),
            body,
            connection,
        });
        let reply = match (&certs, head.starts_with("GET /v3/certificates")) {
            (Some(c), true) => c.clone(),
            _ => {
                let mut q = script.lock().unwrap();
                if q.len() > 1 {
                    q.pop_front().unwrap()
                } else {
                    q.front().cloned().unwrap()
                }
            }
        };
        match reply {
            Reply::Signed {
                status,
                body,
                headers,
                serial,
            } => {
                let out = signer.answer(status, &body, &headers, serial.as_deref());
                if s.write_all(&out).await.is_err() {
                    return;
                }
            }
            Reply::Raw(bytes) => {
                if s.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Reply::Endless => {
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .await;
                let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
                while s.write_all(chunk.as_bytes()).await.is_ok() {}
                return;
            }
            Reply::Silence => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Reply::Close => return,
            Reply::SignedThenIdleClose => {
                let out = signer.answer(204, b"", &[], None);
                let _ = s.write_all(&out).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                return;
            }
        }
    }
}

pub(crate) fn signed(status: u16, body: &str) -> Reply {
    Reply::Signed {
        status,
        body: body.as_bytes().to_vec(),
        headers: Vec::new(),
        serial: None,
    }
}

pub(crate) fn client(env: &Env, server: &Server) -> wechatpay::ClientBuilder {
    env.builder()
        .base_url(server.url())
        .retry_backoff(Duration::from_millis(1))
}

fn query(env: &Env) -> QueryRequest {
    let ids = &env.g.client.ids;
    QueryRequest::default()
        .service_id(ids.service_id.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no("RENT1")
}

fn transport(e: &Error) -> &wechatpay::TransportError {
    match e {
        Error::Transport(t) => t,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_huge_declared_body_is_refused_before_it_is_read() {
    let env = env().await;
    let mut raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\n\r\n".to_vec();
    raw.extend_from_slice(&[b'x'; 1024]);
    let server = Server::start(&env, vec![Reply::Raw(raw)]).await;
    let err = client(&env, &server)
        .build()
        .unwrap()
        .send(&query(&env))
        .await
        .unwrap_err();
    let t = transport(&err);
    assert_eq!(t.kind(), TransportKind::TooLarge, "{err}");
    // Sent, but a query only reads: nothing to have been processed.
    assert!(!err.maybe_processed() && !err.is_not_sent());
    assert!(
        err.to_string().contains("answer too large"),
        "{err}: {:?}",
        std::error::Error::source(&err)
    );
}

#[tokio::test]
async fn an_endless_body_stops_at_the_limit() {
    let env = env().await;
    let server = Server::start(&env, vec![Reply::Endless]).await;
    let err = client(&env, &server)
        .max_response_bytes(256 * 1024)
        .build()
        .unwrap()
        .send(&query(&env))
        .await
        .unwrap_err();
    assert_eq!(transport(&err).kind(), TransportKind::TooLarge, "{err}");
    assert_eq!(
        transport(&err).attempts(),
        1,
        "a too-large answer is not retried"
    );
}

#[tokio::test]
async fn a_redirect_is_an_error_naming_the_location_and_nothing_follows_it() {
    let env = env().await;
    let other = Server::start(&env, vec![signed(204, "")]).await;
    let location = format!(
        "{}/v3/payscore/partner/serviceorder/direct-complete",
        other.url()
    );
    let server = Server::start(
        &env,
        vec![Reply::Raw(
            format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").into_bytes(),
        )],
    )
    .await;
    let err = client(&env, &server)
        .max_retries(3)
        .build()
        .unwrap()
        .send(&env.order(&unique("RD"), "https://example.com/n"))
        .await
        .unwrap_err();
    let api = err.as_api().expect("an API error");
    assert_eq!(api.status(), 307);
    assert_eq!(api.location(), Some(location.as_str()));
    assert!(err.to_string().contains("not followed"), "{err}");
    assert_eq!(server.hits().len(), 1, "the POST is sent once");
    assert!(other.hits().is_empty(), "nothing reaches the other origin");
}

/// A listener whose accept queue is full: connection attempts hang until they time out,
/// as with a host that drops packets.
fn full_listener() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    let socket = socket2_listener();
    let addr = socket.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    (socket, held)
}

fn socket2_listener() -> std::net::TcpListener {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let l = s.listen(0).unwrap();
    l.into_std().unwrap()
}

#[tokio::test]
async fn a_connect_timeout_is_not_sent_and_is_retried() {
    let env = env().await;
    let (listener, _held) = full_listener();
    let client = env
        .builder()
        .base_url(format!("http://{}", listener.local_addr().unwrap()))
        .connect_timeout(Duration::from_millis(150))
        .max_retries(1)
        .retry_backoff(Duration::from_millis(1))
        .build()
        .unwrap();
    let err = client
        .send(&env.order(&unique("CT"), "https://example.com/n"))
        .await
        .unwrap_err();
    let t = transport(&err);
    assert_eq!(t.kind(), TransportKind::Connect, "{err}");
    assert_eq!(
        t.attempts(),
        2,
        "a connection never made is retried, even for POST"
    );
    assert!(err.is_not_sent() && !err.maybe_processed(), "{err}");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    let mut chain = Vec::new();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    // Whichever timer fires first (the client's connect timeout or the attempt's), it
    // is a timeout, not a refusal.
    assert!(
        chain
            .iter()
            .any(|c| c.contains("deadline has elapsed") || c.contains("timed out"))
            && !chain.iter().any(|c| c.contains("refused")),
        "a connect timeout, not a refusal: {chain:?}"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_when_it_fits_the_deadline() {
    let env = env().await;
    let busy = |after: &str| Reply::Signed {
        status: 503,
        body: br#"{"code":"SYSTEM_ERROR","message":"busy"}"#.to_vec(),
        headers: vec![("Retry-After", after.to_owned())],
        serial: None,
    };
    let order = r#"{"out_order_no":"RENT1","state":"DOING"}"#;
    let server = Server::start(&env, vec![busy("1"), signed(200, order)]).await;
    let got = client(&env, &server)
        .max_retries(2)
        .build()
        .unwrap()
        .send(&query(&env))
        .await
        .unwrap();
    assert_eq!(got.out_order_no, "RENT1");
    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    assert!(
        hits[1].at - hits[0].at >= Duration::from_millis(950),
        "waited {:?}",
        hits[1].at - hits[0].at
    );

    // A Retry-After beyond the deadline is not waited for: the 503 comes back at once.
    let server = Server::start(&env, vec![busy("3600")]).await;
    let err = client(&env, &server)
        .max_retries(2)
        .build()
        .unwrap()
        .send(&query(&env))
        .await
        .unwrap_err();
    assert_eq!(
        err.as_api().map(|a| a.status().as_u16()),
        Some(503),
        "{err}"
    );
    assert_eq!(server.hits().len(), 1);
}

#[tokio::test]
async fn one_deadline_bounds_every_attempt() {
    let env = env().await;
    let server = Server::start(&env, vec![Reply::Silence]).await;
    let err = client(&env, &server)
        .timeout(Duration::from_millis(300))
        .deadline(Duration::from_millis(800))
        .max_retries(10)
        .build()
        .unwrap()
        .send(&query(&env))
        .await
        .unwrap_err();
    let t = transport(&err);
    assert_eq!(t.kind(), TransportKind::Timeout, "{err}");
    assert!(
        (2..=4).contains(&t.attempts()),
        "{} attempts fit in 800 ms of 300 ms each",
        t.attempts()
    );
    assert!(!err.maybe_processed() && !err.is_not_sent(), "{err}");
    assert!(err.to_string().contains("it only reads"), "{err}");
    assert!(server.hits().len() <= 4);
}

#[tokio::test]
async fn an_unknown_outcome_is_resent_only_where_wechat_pay_deduplicates() {
    let env = env().await;
    // direct-complete is de-duplicated by out_order_no: resent with the identical body.
    let retrying = |server: &Server| client(&env, server).max_retries(2).build().unwrap();
    let server = Server::start(&env, vec![Reply::Close, signed(204, "")]).await;
    let answer = retrying(&server)
        .send(&env.order(&unique("RS"), "https://example.com/n"))
        .await
        .unwrap();
    assert_eq!(answer, None);
    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].body, hits[1].body, "the identical body");
    let nonce = |h: &Hit| {
        h.head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
            .unwrap()
            .to_owned()
    };
    assert_ne!(nonce(&hits[0]), nonce(&hits[1]), "signed anew");

    // cancel is not: the error says the outcome is unknown, and nothing is resent.
    let server = Server::start(&env, vec![Reply::Close, signed(204, "")]).await;
    let cancel = CancelRequest::default()
        .out_order_no("RENT1")
        .sub_mchid("1900000109")
        .reason("用户取消");
    let err = retrying(&server).send(&cancel).await.unwrap_err();
    assert_eq!(transport(&err).kind(), TransportKind::Closed, "{err}");
    assert!(err.maybe_processed(), "{err}");
    assert!(
        err.to_string().contains("query before sending it again"),
        "{err}"
    );
    assert_eq!(server.hits().len(), 1);

    // A resend refused as a re-entry: the first attempt was processed.
    let server = Server::start(
        &env,
        vec![
            Reply::Close,
            signed(
                400,
                r#"{"code":"INVALID_REQUEST","message":"订单重入参数校验失败"}"#,
            ),
        ],
    )
    .await;
    let err = crate::misbehaving::client(&env, &server)
        .max_retries(2)
        .build()
        .unwrap()
        .send(&env.order(&unique("RE"), "https://example.com/n"))
        .await
        .unwrap_err();
    assert!(err.as_api().unwrap().after_resend(), "{err}");
    assert!(
        err.to_string().contains("the first attempt was processed"),
        "{err}"
    );

    // Resends can be turned off.
    let server = Server::start(&env, vec![Reply::Close, signed(204, "")]).await;
    let err = crate::misbehaving::client(&env, &server)
        .max_retries(2)
        .resend_deduplicated(false)
        .build()
        .unwrap()
        .send(&env.order(&unique("RO"), "https://example.com/n"))
        .await
        .unwrap_err();
    assert!(err.maybe_processed(), "{err}");
    assert_eq!(server.hits().len(), 1);
}

#[tokio::test]
async fn a_connection_closed_by_the_server_while_idle_is_not_a_failure() {
    let env = env().await;
    let server = Server::start(&env, vec![Reply::SignedThenIdleClose]).await;
    let client = client(&env, &server).build().unwrap();
    for i in 0..3 {
        client
            .send(&env.order(&unique("IC"), "https://example.com/n"))
            .await
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
        // Let the server close the connection while it is idle in the pool.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let hits = server.hits();
    assert_eq!(hits.len(), 3, "no call needed a second attempt");
    assert_eq!(
        hits[2].connection, 3,
        "each call found the old connection gone"
    );
}

#[tokio::test]
async fn an_empty_200_is_not_an_absent_order() {
    let env = env().await;
    for body in ["", "{}"] {
        let server = Server::start(&env, vec![signed(200, body)]).await;
        let err = client(&env, &server)
            .build()
            .unwrap()
            .send(&env.order(&unique("E2"), "https://example.com/n"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{body:?}: {err}");
        assert!(err.maybe_processed());
        // A query expecting JSON too: a decode error, never an empty success.
        let err = client(&env, &server)
            .build()
            .unwrap()
            .send(&query(&env))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{body:?}: {err}");
    }
}
