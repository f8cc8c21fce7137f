//! Calls through an egress proxy: a small local proxy that tunnels `CONNECT` and forwards
//! absolute-form requests, recording what it was asked.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{env, unique};

struct Proxy {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    async fn start(credentials: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{credentials}{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let h = heads.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, h.clone()));
            }
        });
        Self { url, heads }
    }
}

async fn relay(mut client: TcpStream, heads: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    heads.lock().unwrap().push(head.clone());
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let (method, target) = (
        request_line.next().unwrap_or_default().to_owned(),
        request_line.next().unwrap_or_default().to_owned(),
    );
    let mut upstream;
    if method == "CONNECT" {
        upstream = TcpStream::connect(&target).await.unwrap();
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .unwrap();
    } else {
        // http://host:port/path → connect to host:port, send the origin form.
        let rest = target.strip_prefix("http://").unwrap();
        let (authority, path) = rest.split_at(rest.find('/').unwrap());
        upstream = TcpStream::connect(authority).await.unwrap();
        let forwarded: String = head
            .lines()
            .skip(1)
            .filter(|l| !l.to_ascii_lowercase().starts_with("proxy-"))
            .map(|l| format!("{l}\r\n"))
            .collect();
        let first = format!("{method} {path} HTTP/1.1\r\n");
        upstream.write_all(first.as_bytes()).await.unwrap();
        upstream.write_all(forwarded.as_bytes()).await.unwrap();
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

fn proxy_authorization(head: &str) -> Option<&str> {
    head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then_some(value.trim())
    })
}

#[tokio::test]
async fn calls_go_through_a_configured_proxy_with_its_credentials() {
    let env = env().await;
    let proxy = Proxy::start("wxpay:s3cret@").await;
    let builder = env.builder().proxy(&proxy.url);
    assert!(
        !format!("{builder:?}").contains("s3cret"),
        "proxy credentials never show"
    );
    let client = builder.build().unwrap();
    let no = unique("PX");
    assert_eq!(
        client
            .send(&env.order(&no, "https://example.com/n"))
            .await
            .unwrap(),
        None
    );
    let heads = proxy.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    let sandbox = env.sandbox.base_url();
    assert!(
        heads[0].starts_with(&format!(
            "POST {sandbox}/v3/payscore/partner/serviceorder/direct-complete HTTP/1.1"
        )),
        "{}",
        heads[0]
    );
    // base64("wxpay:s3cret")
    assert!(
        proxy_authorization(&heads[0]) == Some("Basic d3hwYXk6czNjcmV0"),
        "{}",
        heads[0]
    );
    assert!(
        env.sandbox_orders()
            .await
            .iter()
            .any(|o| o["out_order_no"] == no.as_str()),
        "the order reached the sandbox"
    );
}

#[tokio::test]
async fn a_bad_proxy_url_is_refused_at_build() {
    let env = env().await;
    let e = env.builder().proxy("not a url").build().unwrap_err();
    assert!(e.to_string().starts_with("proxy: "), "{e}");
}

/// A TLS front for the sandbox, with a certificate for 127.0.0.1 issued by a fresh CA.
/// Returns its address and the CA's PEM.
async fn tls_front(upstream: std::net::SocketAddr) -> (std::net::SocketAddr, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use tokio_rustls::rustls;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut up = TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    (addr, ca.pem())
}

#[tokio::test]
async fn https_goes_through_the_proxy_in_a_connect_tunnel() {
    let env = env().await;
    let (front, ca) = tls_front(env.sandbox.addr()).await;
    let proxy = Proxy::start("wxpay:s3cret@").await;
    let client = env
        .builder()
        .base_url(format!("https://{front}"))
        .proxy(&proxy.url)
        .root_certificate_pem(ca)
        .build()
        .unwrap();
    let no = unique("TL");
    client
        .send(&env.order(&no, "https://example.com/n"))
        .await
        .unwrap();
    let heads = proxy.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with(&format!("CONNECT {front} HTTP/1.1")),
        "{}",
        heads[0]
    );
    assert!(
        proxy_authorization(&heads[0]) == Some("Basic d3hwYXk6czNjcmV0"),
        "{}",
        heads[0]
    );
    assert!(
        !heads[0].to_ascii_lowercase().contains("wechatpay"),
        "the proxy sees the tunnel, not the request"
    );
}
