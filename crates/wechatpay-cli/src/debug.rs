//! Debugging tools: keys, sign, verify, notify decrypt. Thin wrappers over
//! `wechatpay-core`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde_json::json;
use wechatpay_core::{
    ApiV3Key, Certificate, Clock as _, PrivateKey, PublicKey, ResponseSignature, SignableRequest,
    SystemClock, Verifier, VerifyError,
};

use crate::profile::Context;
use crate::text_or_file;

/// `wxpay keys …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate a merchant API key (RSA-2048, PKCS#8) and a self-signed certificate with a
    /// fresh serial, e.g. for a sandbox merchant.
    #[command(after_help = "Example:\n  wxpay keys gen --mchid 1900000109 --out keys/")]
    Gen {
        /// Merchant number for the certificate's CN.
        #[arg(long, default_value = "1900000109")]
        mchid: String,
        /// Folder for apiclient_key.pem and apiclient_cert.pem.
        #[arg(long, default_value = ".")]
        out: std::path::PathBuf,
    },
}

pub(crate) fn keys(ctx: &Context, c: KeysCommand) -> anyhow::Result<ExitCode> {
    let KeysCommand::Gen { mchid, out } = c;
    let key_path = out.join("apiclient_key.pem");
    let cert_path = out.join("apiclient_cert.pem");
    for p in [&key_path, &cert_path] {
        if p.exists() {
            bail!(
                "{} exists already; choose another --out folder",
                p.display()
            );
        }
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let key = PrivateKey::generate()?;
    let serial = wechatpay_sandbox::hex_serial();
    let cert = wechatpay_sandbox::self_signed_certificate(
        &key,
        &serial,
        &mchid,
        "wxpay generated merchant",
        SystemClock.now(),
    )?;
    wechatpay_sandbox::write_new_file(&key_path, key.to_pkcs8_pem()?.as_bytes(), true)
        .with_context(|| format!("cannot write {}", key_path.display()))?;
    wechatpay_sandbox::write_new_file(&cert_path, cert.as_bytes(), false)
        .with_context(|| format!("cannot write {}", cert_path.display()))?;
    if ctx.json {
        println!(
            "{}",
            json!({"serial": serial, "private_key": key_path, "certificate": cert_path})
        );
    } else {
        println!(
            "serial:      {serial}\nprivate key: {}\ncertificate: {}",
            key_path.display(),
            cert_path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `wxpay sign`.
#[derive(Debug, clap::Args)]
pub(crate) struct SignArgs {
    /// HTTP method.
    #[arg(long)]
    method: String,
    /// Path and query exactly as sent, e.g. /v3/certificates or /v3/x?a=1.
    #[arg(long)]
    url: String,
    /// Body exactly as sent: text, @file or @-; empty for GET.
    #[arg(long, default_value = "")]
    body: String,
    /// Unix seconds (default: now).
    #[arg(long)]
    timestamp: Option<i64>,
    /// Nonce (default: 32 random alphanumerics).
    #[arg(long)]
    nonce: Option<String>,
    /// Merchant number (default: the profile's).
    #[arg(long)]
    mchid: Option<String>,
    /// Merchant certificate serial (default: the profile's).
    #[arg(long)]
    serial: Option<String>,
    /// Merchant private key file (default: the profile's).
    #[arg(long)]
    private_key: Option<String>,
}

pub(crate) fn sign(ctx: &Context, a: SignArgs) -> anyhow::Result<ExitCode> {
    let needs_profile = a.mchid.is_none() || a.serial.is_none() || a.private_key.is_none();
    let p = if needs_profile {
        ctx.profile()?
    } else {
        crate::profile::Profile::default()
    };
    let mchid = a
        .mchid
        .or(p.mchid)
        .context("give --mchid (or configure a profile)")?;
    let serial = a
        .serial
        .or(p.serial)
        .context("give --serial (or configure a profile)")?;
    let key_path = a
        .private_key
        .or(p.private_key)
        .context("give --private-key (or configure a profile)")?;
    let key =
        PrivateKey::from_pem_file(&key_path).with_context(|| format!("private key {key_path}"))?;
    let body = text_or_file(&a.body)?;
    let ts = a.timestamp.unwrap_or_else(|| SystemClock.now());
    let nonce = a
        .nonce
        .unwrap_or_else(|| wechatpay_core::RandomNonce::alphanumeric(32));
    let method = a.method.to_ascii_uppercase();
    let req = SignableRequest::new(&method, &a.url, body.as_bytes());
    let message = String::from_utf8_lossy(&req.message(ts, &nonce)).into_owned();
    let auth = req.sign(&mchid, &serial, &key, ts, &nonce)?;
    if ctx.json {
        println!(
            "{}",
            json!({"message": message, "signature": auth.signature, "authorization": auth.to_string()})
        );
    } else {
        println!(
            "String to sign ({} bytes; every line ends with \\n):\n{message}",
            message.len()
        );
        println!("Signature:     {}\nAuthorization: {auth}", auth.signature);
    }
    Ok(ExitCode::SUCCESS)
}

/// Which keys to trust, and when "now" is.
#[derive(Debug, clap::Args)]
pub(crate) struct Trust {
    /// WeChat Pay public key id (PUB_KEY_ID_…), with --public-key.
    #[arg(long, requires = "public_key")]
    public_key_id: Option<String>,
    /// WeChat Pay public key file (BEGIN PUBLIC KEY).
    #[arg(long, requires = "public_key_id")]
    public_key: Option<String>,
    /// Platform certificate file (repeatable).
    #[arg(long = "certificate")]
    certificates: Vec<String>,
    /// Verify as of this unix time (default: now).
    #[arg(long)]
    now: Option<i64>,
    /// Allowed clock distance in seconds.
    #[arg(long, default_value_t = 300)]
    max_skew: u64,
}

impl Trust {
    fn verifier(&self, ctx: &Context) -> anyhow::Result<Verifier> {
        let mut v = Verifier::new().with_max_skew(self.max_skew);
        let (id, key, certs) = if self.public_key.is_none() && self.certificates.is_empty() {
            let p = ctx.profile()?;
            (p.public_key_id, p.public_key, p.platform_certificates)
        } else {
            (
                self.public_key_id.clone(),
                self.public_key.clone(),
                self.certificates.clone(),
            )
        };
        if let (Some(id), Some(path)) = (id, key) {
            v.add_public_key(
                id,
                PublicKey::from_pem_file(&path).with_context(|| format!("public key {path}"))?,
            );
        }
        for c in certs {
            v.add_certificate(
                Certificate::from_pem_file(&c).with_context(|| format!("certificate {c}"))?,
            );
        }
        if v.is_empty() {
            bail!(
                "no key to verify with: give --public-key-id with --public-key, or --certificate (or configure a profile)"
            );
        }
        Ok(v)
    }

    fn now(&self) -> i64 {
        self.now.unwrap_or_else(|| SystemClock.now())
    }
}

/// Arguments of `wxpay verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// A header as `Name: value` (repeatable): Wechatpay-Timestamp, -Nonce, -Serial, -Signature.
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// The raw body: text, @file or @-; empty for 204.
    #[arg(long, default_value = "")]
    body: String,
    #[command(flatten)]
    trust: Trust,
}

fn header_map(lines: &[String]) -> anyhow::Result<http::HeaderMap> {
    let mut h = http::HeaderMap::new();
    for l in lines {
        let (k, v) = l
            .split_once(':')
            .with_context(|| format!("header {l:?} is not `Name: value`"))?;
        h.insert(
            http::HeaderName::from_bytes(k.trim().as_bytes())
                .with_context(|| format!("bad header name {k:?}"))?,
            v.trim()
                .parse()
                .with_context(|| format!("bad header value for {k}"))?,
        );
    }
    Ok(h)
}

/// Stable reason names, as in the test vectors.
fn reason(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::MissingHeader(_) => "missing_header",
        VerifyError::UnsupportedSignatureType(_) => "unsupported_signature_type",
        VerifyError::InvalidTimestamp(_) | VerifyError::StaleTimestamp { .. } => "stale_timestamp",
        VerifyError::UnknownSerial(_) => "unknown_serial",
        VerifyError::CertificateExpired(_) => "certificate_expired",
        VerifyError::BadSignature { probe: true, .. } => "probe",
        _ => "bad_signature",
    }
}

pub(crate) fn verify(ctx: &Context, a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let h = header_map(&a.headers)?;
    let body = text_or_file(&a.body)?;
    let verifier = a.trust.verifier(ctx)?;
    let result = ResponseSignature::from_headers(&h).and_then(|sig| {
        verifier
            .verify(&sig, body.as_bytes(), a.trust.now())
            .map(|()| sig)
    });
    let (valid, why, serial) = match &result {
        Ok(sig) => (true, "ok", sig.serial.clone()),
        Err(e) => (
            false,
            reason(e),
            h.get("Wechatpay-Serial")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        ),
    };
    if ctx.json {
        println!(
            "{}",
            json!({"valid": valid, "reason": why, "serial": serial, "error": result.as_ref().err().map(ToString::to_string)})
        );
    } else {
        match &result {
            Ok(_) => println!("valid: signature verifies with {serial}"),
            Err(e) => println!("invalid ({why}): {}", crate::chain(e)),
        }
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `wxpay notify …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum NotifyCommand {
    /// Verify a callback's signature and decrypt its resource; prints the plaintext.
    #[command(
        after_help = "Example:\n  wxpay notify decrypt -H 'Wechatpay-Timestamp: …' -H 'Wechatpay-Nonce: …' -H 'Wechatpay-Serial: …' \\\n     -H 'Wechatpay-Signature: …' --body @callback.json --apiv3-key @apiv3_key.txt"
    )]
    Decrypt {
        /// A header as `Name: value` (repeatable).
        #[arg(short = 'H', long = "header")]
        headers: Vec<String>,
        /// The raw callback body: text, @file or @-.
        #[arg(long)]
        body: String,
        /// The APIv3 key: text, @file (default: the profile's).
        #[arg(long)]
        apiv3_key: Option<String>,
        #[command(flatten)]
        trust: Trust,
    },
    /// Receive callbacks locally: verify and decrypt each with the profile's keys, answer
    /// 204 (or 401/400 when one does not verify), and append one line per callback to a
    /// file: event type, event id, then out_order_no / out_refund_no / authorization code.
    #[command(
        after_help = "Example:\n  wxpay notify serve --addr 127.0.0.1:9080 --out callbacks.txt\n  # then use http://127.0.0.1:9080/notify as notify_url; the first line on stdout is the URL"
    )]
    Serve {
        /// Listen address (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: String,
        /// The file to append lines to.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

pub(crate) fn notify(ctx: &Context, c: NotifyCommand) -> anyhow::Result<ExitCode> {
    let (headers, body, apiv3_key, trust) = match c {
        NotifyCommand::Decrypt {
            headers,
            body,
            apiv3_key,
            trust,
        } => (headers, body, apiv3_key, trust),
        NotifyCommand::Serve { addr, out } => return serve_callbacks(ctx, &addr, &out),
    };
    let h = header_map(&headers)?;
    let body = text_or_file(&body)?;
    let key_text = match apiv3_key {
        Some(k) => text_or_file(&k)?,
        None => ctx
            .profile()?
            .apiv3_key
            .context("give --apiv3-key (or configure apiv3_key in the profile)")?,
    };
    let key = ApiV3Key::new(key_text.trim())?;
    let verifier = trust.verifier(ctx)?;
    let sig =
        ResponseSignature::from_headers(&h).map_err(wechatpay_core::notify::NotifyError::from);
    let result = sig.and_then(|sig| {
        wechatpay_core::notify::verify_and_decrypt(
            &sig,
            body.as_bytes(),
            &verifier,
            &key,
            trust.now(),
        )
    });
    match result {
        Ok(n) => {
            if ctx.json {
                let plain: serde_json::Value = serde_json::from_str(&n.plaintext)
                    .unwrap_or(serde_json::Value::String(n.plaintext.clone()));
                println!(
                    "{}",
                    json!({"valid": true, "id": n.envelope.id, "event_type": n.envelope.event_type, "summary": n.envelope.summary, "plaintext": plain})
                );
            } else {
                eprintln!(
                    "verified; event {} ({}), id {}",
                    crate::clean(&n.envelope.event_type, 100),
                    crate::clean(&n.envelope.summary, 200),
                    crate::clean(&n.envelope.id, 100)
                );
                println!("{}", crate::clean(&n.plaintext, usize::MAX));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let why = match &e {
                wechatpay_core::notify::NotifyError::Signature(v) => reason(v),
                wechatpay_core::notify::NotifyError::Decrypt(_) => "decrypt_failed",
                _ => "bad_envelope",
            };
            if ctx.json {
                println!(
                    "{}",
                    json!({"valid": false, "reason": why, "error": crate::chain(&e)})
                );
            } else {
                println!("invalid ({why}): {}", crate::chain(&e));
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// `wxpay notify serve`: a local callback receiver that records what it verified.
fn serve_callbacks(ctx: &Context, addr: &str, out: &std::path::Path) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let client = ctx.client()?;
    let verifier = client.callback_verifier()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .with_context(|| format!("cannot open {}", out.display()))?;
    let file = std::sync::Arc::new(std::sync::Mutex::new(file));
    let rt = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        println!(
            "receiving callbacks at http://{}/notify",
            listener.local_addr()?
        );
        let app = axum::Router::new().fallback(
            move |h: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (verifier, file) = (verifier.clone(), file.clone());
                async move {
                    match verifier.verify(&h, &body) {
                        Ok(n) => {
                            let about = n
                                .out_order_no()
                                .map(str::to_owned)
                                .or_else(|| n.refund().map(|r| r.out_refund_no.clone()))
                                .or_else(|| {
                                    n.service_authorization()
                                        .and_then(|a| a.authorization_code.clone())
                                })
                                .unwrap_or_default();
                            // Server text, one line per callback whatever it holds.
                            let line = format!(
                                "{} {} {}\n",
                                crate::clean(&n.event_type, 100),
                                crate::clean(&n.id, 100),
                                crate::clean(&about, 200)
                            );
                            let written = file
                                .lock()
                                .map_err(|_| ())
                                .and_then(|mut f| f.write_all(line.as_bytes()).map_err(|_| ()));
                            if written.is_err() {
                                return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                            }
                            axum::http::StatusCode::NO_CONTENT
                        }
                        Err(e) => {
                            eprintln!(
                                "refused a callback: {}",
                                crate::clean(&crate::chain(&e), 300)
                            );
                            e.status()
                        }
                    }
                }
            },
        );
        // The sandbox's server loop: slow heads and idle connections are closed.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop.send(true);
        });
        wechatpay_sandbox::serve_app(listener, app, stopped).await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
