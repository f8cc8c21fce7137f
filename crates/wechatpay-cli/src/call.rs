//! `wxpay call` and `wxpay certs download`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde_json::{Map, Value, json};

use crate::clean;
use crate::profile::Context;

/// Arguments of `wxpay call`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// HTTP method: GET, POST, PUT, PATCH or DELETE.
    method: String,
    /// Path (with or without leading /), e.g. /v3/payscore/partner/serviceorder/direct-complete.
    path: String,
    /// JSON body: the text itself, @file, or @- for standard input.
    #[arg(short = 'd', long = "data", conflicts_with = "field")]
    data: Option<String>,
    /// Body field key=value (a string; use key:=json for numbers, booleans, objects).
    #[arg(short = 'f', long = "field")]
    field: Vec<String>,
    /// Query parameter key=value (percent-encoded for you).
    #[arg(short = 'q', long = "query")]
    query: Vec<String>,
}

fn split_kv(s: &str, what: &str) -> anyhow::Result<(String, String)> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .with_context(|| format!("{what} {s:?} is not key=value"))
}

fn body(a: &Args) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(d) = &a.data {
        let text = crate::text_or_file(d)?;
        serde_json::from_str::<Value>(&text).context("the -d body is not valid JSON")?;
        // Sent byte for byte as given: that is what gets signed.
        return Ok(Some(text.into_bytes()));
    }
    if a.field.is_empty() {
        return Ok(None);
    }
    let mut m = Map::new();
    for f in &a.field {
        let (k, v) = split_kv(f, "field")?;
        match k.strip_suffix(':') {
            Some(k) => m.insert(
                k.to_owned(),
                serde_json::from_str(&v)
                    .with_context(|| format!("field {k}:= needs JSON, got {v:?}"))?,
            ),
            None => m.insert(k, Value::String(v)),
        };
    }
    Ok(Some(serde_json::to_vec(&Value::Object(m))?))
}

pub(crate) fn run(ctx: &Context, a: Args) -> anyhow::Result<ExitCode> {
    let method: http::Method = a
        .method
        .to_ascii_uppercase()
        .parse()
        .with_context(|| format!("{} is not an HTTP method", a.method))?;
    let body = body(&a)?;
    if body.is_some() && matches!(method, http::Method::GET | http::Method::DELETE) {
        bail!("{method} requests carry no body; pass parameters with -q");
    }
    let client = ctx.client()?;
    let mut chain = client.chain(&a.path);
    for q in &a.query {
        let (k, v) = split_kv(q, "query")?;
        chain = chain.query(k, v);
    }
    match chain.send_bytes(method, body.unwrap_or_default()) {
        Ok(r) => {
            let parsed: Option<Value> = serde_json::from_slice(r.bytes()).ok();
            if ctx.json {
                println!(
                    "{}",
                    json!({"status": r.status().as_u16(), "request_id": r.request_id(), "verified_by": r.verified_by(), "body": parsed})
                );
            } else {
                eprintln!(
                    "HTTP {} · Request-ID {} · signature verified ({})",
                    r.status(),
                    clean(r.request_id().unwrap_or("-"), 100),
                    clean(r.verified_by().unwrap_or("unsigned download"), 100)
                );
                match parsed {
                    Some(v) => println!("{}", serde_json::to_string_pretty(&v)?),
                    None if r.bytes().is_empty() => {}
                    // A file the user asked for: as it is into a pipe, made safe on a terminal.
                    None if std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
                        println!("{}", clean(&r.text(), usize::MAX));
                    }
                    None => std::io::Write::write_all(&mut std::io::stdout(), r.bytes())?,
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(wechatpay::Error::Api(e)) => {
            if ctx.json {
                println!(
                    "{}",
                    json!({"status": e.status().as_u16(), "request_id": e.request_id(), "code": e.code(), "message": e.message(), "detail": e.detail()})
                );
            } else {
                eprintln!(
                    "HTTP {} · Request-ID {}",
                    e.status(),
                    clean(e.request_id().unwrap_or("-"), 100)
                );
                eprintln!(
                    "code:    {}",
                    clean(e.code().unwrap_or("(no JSON body)"), 100)
                );
                eprintln!("message: {}", clean(e.message().unwrap_or_default(), 500));
                if let Some(l) = e.location() {
                    eprintln!("location: {} (redirects are never followed)", clean(l, 300));
                }
                if let Some(d) = e.detail() {
                    eprintln!("detail:  {}", serde_json::to_string(d)?);
                }
                eprintln!("{}", hint(e.code()));
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

fn hint(code: Option<&str>) -> &'static str {
    match code {
        Some("SIGN_ERROR") => {
            "hint: check mchid/serial/private key of the profile and the clock; `wxpay sign` shows the exact string-to-sign."
        }
        Some("PARAM_ERROR") => {
            "hint: detail.field names the parameter; fix it and send the same out_order_no again."
        }
        Some("NO_AUTH") => {
            "hint: the service_id, appid, sub_mchid or user is not bound or authorised."
        }
        Some("SYSTEM_ERROR" | "FREQUENCY_LIMITED") => {
            "hint: retry later with exactly the same parameters."
        }
        _ => "hint: branch on the code; quote the Request-ID to WeChat Pay support.",
    }
}

/// `wxpay certs …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum CertsCommand {
    /// Download, decrypt (APIv3 key), verify and save the platform certificates.
    #[command(after_help = "Example:\n  wxpay --profile prod certs download --out certs/")]
    Download {
        /// Folder to write `<serial>.pem` files into.
        #[arg(long, default_value = ".")]
        out: std::path::PathBuf,
    },
}

pub(crate) fn certs(ctx: &Context, c: CertsCommand) -> anyhow::Result<ExitCode> {
    let CertsCommand::Download { out } = c;
    let client = ctx.client()?;
    let serials = client.refresh_certificates()?;
    if serials.is_empty() {
        eprintln!(
            "this merchant has no platform certificate (WeChat answered RESOURCE_NOT_EXISTS): use the WeChat Pay public key (PUB_KEY_ID_…) from the merchant console"
        );
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut saved = Vec::new();
    for cert in client
        .as_async()
        .platform_certificates()
        .into_iter()
        .filter(|c| serials.iter().any(|s| s == c.serial()))
    {
        let path = out.join(format!("{}.pem", cert.serial()));
        // A new file renamed over the old one: never written through a planted link.
        let mut tmp = tempfile::Builder::new()
            .prefix(".wxpay-cert.")
            .tempfile_in(&out)
            .with_context(|| format!("cannot create a file in {}", out.display()))?;
        std::io::Write::write_all(&mut tmp, cert.to_pem().as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        tmp.persist(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let expires = wechatpay_core::certificates::rfc3339_beijing(cert.not_after());
        if ctx.json {
            saved.push(json!({"serial": cert.serial(), "expire_time": expires, "path": path}));
        } else {
            println!(
                "{}  valid until {expires}  -> {}",
                cert.serial(),
                path.display()
            );
        }
    }
    if ctx.json {
        println!("{}", Value::Array(saved));
    }
    Ok(ExitCode::SUCCESS)
}
