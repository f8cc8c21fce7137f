//! `wxpay sandbox init|serve`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use wechatpay_sandbox::{Config, Sandbox};

use crate::profile::Context;

/// `wxpay sandbox …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Write a complete sandbox configuration with fresh keys, and a matching client profile.
    #[command(
        after_help = "Example:\n  wxpay sandbox init sandbox/ && cd sandbox && wxpay sandbox serve\n  # in another shell, in the same folder:\n  wxpay call GET /v3/certificates"
    )]
    Init {
        /// Folder to create (must not contain the files already).
        dir: PathBuf,
        /// The address the sandbox will listen on, written in both `sandbox.toml` and the
        /// client profile `wxpay.toml` (default 127.0.0.1:8780; another port for a second
        /// sandbox).
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
    },
    /// Run the sandbox; logs one line per request. Stop with Ctrl-C.
    #[command(
        after_help = "Example:\n  wxpay sandbox serve --config sandbox/sandbox.toml --addr 127.0.0.1:8780"
    )]
    Serve {
        /// Sandbox configuration (from `wxpay sandbox init`).
        #[arg(long = "config", default_value = "sandbox.toml")]
        sandbox_config: PathBuf,
        /// Listen address (overrides `listen` in the file; port 0 picks a free one).
        #[arg(long)]
        addr: Option<String>,
    },
    /// Act as the user on a running sandbox: authorize, revoke, confirm an order.
    #[command(subcommand)]
    User(UserCommand),
    /// Move the running sandbox's test clock (business time) forward.
    #[command(subcommand)]
    Clock(ClockCommand),
    /// Make the next API requests matching a path fail as asked, to test error paths.
    #[command(subcommand)]
    Fault(FaultCommand),
    /// Insert paid orders (and some refunds) of one day straight into the sandbox's
    /// database, to try bills and the console at scale.
    #[command(
        after_help = "Example:\n  wxpay sandbox seed --orders 1000000 --day 2025-03-01\n  wxpay bill download --date 2025-03-01 --gzip --out big.csv   # once the test clock is past 10:00 of the next day"
    )]
    Seed {
        /// Sandbox configuration (from `wxpay sandbox init`).
        #[arg(long = "config", default_value = "sandbox.toml")]
        sandbox_config: PathBuf,
        /// How many paid orders.
        #[arg(long)]
        orders: u64,
        /// Their day, yyyy-MM-dd (Beijing time).
        #[arg(long)]
        day: String,
        /// Refund half of every N-th order (0: none).
        #[arg(long, default_value_t = 10)]
        refund_every: u64,
    },
}

/// `wxpay sandbox fault …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum FaultCommand {
    /// The next N requests matching --method and --path fail as --kind says.
    #[command(
        after_help = "Examples:\n  wxpay sandbox fault add --path '/v3/payscore/partner/serviceorder/*/complete' --kind error\n  wxpay sandbox fault add --method GET --path '/v3/payscore/partner/serviceorder' --kind delay --ms 15000\n  wxpay sandbox fault add --path '/v3/refund/domestic/refunds' --kind drop-after --times 2\n\nKinds: error (WeChat's answer, 500 SYSTEM_ERROR unless --status/--code/--message say\notherwise), delay (--ms before handling), drop-after (carried out, then closed without\nthe answer), close-before (closed without an answer, not carried out)."
    )]
    Add {
        /// The request path; `*` stands for any run of characters.
        #[arg(long)]
        path: String,
        /// GET, POST, … (default: any).
        #[arg(long)]
        method: Option<String>,
        /// How the requests fail.
        #[arg(long, value_enum)]
        kind: FaultKind,
        /// How many requests.
        #[arg(long, default_value_t = 1)]
        times: u32,
        /// For --kind error: the HTTP status.
        #[arg(long, default_value_t = 500)]
        status: u16,
        /// For --kind error: WeChat's code.
        #[arg(long, default_value = "SYSTEM_ERROR")]
        code: String,
        /// For --kind error: WeChat's message.
        #[arg(long, default_value = "系统错误")]
        message: String,
        /// For --kind delay: how long, in ms.
        #[arg(long, required_if_eq("kind", "delay"))]
        ms: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
    /// Remove every fault waiting.
    Clear {
        #[command(flatten)]
        target: Target,
    },
}

/// `--kind` of `wxpay sandbox fault add`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum FaultKind {
    /// WeChat Pay's error answer, before anything is done.
    Error,
    /// A pause before the request is handled.
    Delay,
    /// Carried out, then the connection is closed without the answer.
    DropAfter,
    /// The connection is closed without an answer; nothing is done.
    CloseBefore,
}

/// Where the running sandbox is: `--url`, else the profile's `base_url`.
#[derive(Debug, clap::Args)]
pub(crate) struct Target {
    /// The sandbox's URL (default: base_url of the profile, as `wxpay sandbox init` wrote it).
    #[arg(long)]
    url: Option<String>,
    /// Give up when the sandbox has not answered within this many seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

/// `wxpay sandbox user …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum UserCommand {
    /// The user authorizes the service: by a pre-authorization's token, or directly.
    #[command(
        after_help = "Examples:\n  wxpay sandbox user authorize --token AAQTnZo… --openid oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\n  wxpay sandbox user authorize --service-id 500001 --sub-mchid 1900000110 --openid oUpF8u…"
    )]
    Authorize {
        /// The apply_permissions_token of `POST /v3/payscore/partner/permissions`.
        #[arg(long)]
        token: Option<String>,
        /// The service (without --token).
        #[arg(long)]
        service_id: Option<String>,
        /// The sub-merchant (without --token).
        #[arg(long)]
        sub_mchid: Option<String>,
        /// The user.
        #[arg(long)]
        openid: String,
        #[command(flatten)]
        target: Target,
    },
    /// The user closes the service in WeChat (USER_CLOSE_SERVICE).
    #[command(
        after_help = "Example:\n  wxpay sandbox user revoke --service-id 500001 --sub-mchid 1900000110 --openid oUpF8u…"
    )]
    Revoke {
        /// The service.
        #[arg(long)]
        service_id: String,
        /// The sub-merchant.
        #[arg(long)]
        sub_mchid: String,
        /// The user.
        #[arg(long)]
        openid: String,
        #[command(flatten)]
        target: Target,
    },
    /// The user confirms a need-confirm order (USER_CONFIRM), by its package or its number.
    #[command(
        after_help = "Examples:\n  wxpay sandbox user confirm --package AAQT… --openid oUpF8u…\n  wxpay sandbox user confirm --sub-mchid 1900000110 --out-order-no RENT1 --openid oUpF8u…"
    )]
    Confirm {
        /// The order's package (from create).
        #[arg(long)]
        package: Option<String>,
        /// The sub-merchant (without --package).
        #[arg(long)]
        sub_mchid: Option<String>,
        /// The order (without --package).
        #[arg(long)]
        out_order_no: Option<String>,
        /// The user who confirms (default: the order's).
        #[arg(long)]
        openid: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// The user pays an order whose deduction failed, from Pay Score's list of orders to
    /// pay (USER_PAID; a JSAPI row in the bill, keyed by out_order_no).
    #[command(after_help = "Example:
  wxpay sandbox user pay --sub-mchid 1900000110 --out-order-no RENT1

Make deductions fail first: POST /_sandbox/api/test-helpers/deduction-outcome
{\"openid\": \"…\", \"outcome\": \"fail\"}, or deduction = \"fail\" for the user in sandbox.toml.")]
    Pay {
        /// The sub-merchant (empty for a direct merchant's order).
        #[arg(long, default_value = "")]
        sub_mchid: String,
        /// The order.
        #[arg(long)]
        out_order_no: String,
        #[command(flatten)]
        target: Target,
    },
}

/// `wxpay sandbox clock …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ClockCommand {
    /// Advance business time: token and package expiry, deductions and callback retries
    /// fall due as if that much time had passed (signatures keep the real clock).
    #[command(
        after_help = "Examples:\n  wxpay sandbox clock advance 1h\n  wxpay sandbox clock advance 90s"
    )]
    Advance {
        /// How much: a number with s, m, h or d (`90s`, `15m`, `1h`, `3d`).
        by: String,
        #[command(flatten)]
        target: Target,
    },
}

pub(crate) fn run(ctx: &Context, c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::User(u) => {
            let (target, name, body) = match u {
                UserCommand::Authorize {
                    token,
                    service_id,
                    sub_mchid,
                    openid,
                    target,
                } => (
                    target,
                    "authorize",
                    serde_json::json!({"apply_permissions_token": token, "service_id": service_id, "sub_mchid": sub_mchid, "openid": openid}),
                ),
                UserCommand::Revoke {
                    service_id,
                    sub_mchid,
                    openid,
                    target,
                } => (
                    target,
                    "revoke-authorization",
                    serde_json::json!({"service_id": service_id, "sub_mchid": sub_mchid, "openid": openid}),
                ),
                UserCommand::Confirm {
                    package,
                    sub_mchid,
                    out_order_no,
                    openid,
                    target,
                } => (
                    target,
                    "confirm-order",
                    serde_json::json!({"package": package, "sub_mchid": sub_mchid, "out_order_no": out_order_no, "openid": openid}),
                ),
                UserCommand::Pay {
                    sub_mchid,
                    out_order_no,
                    target,
                } => (
                    target,
                    "user-pays",
                    serde_json::json!({"sub_mchid": sub_mchid, "out_order_no": out_order_no}),
                ),
            };
            helper(ctx, &target, name, &body)
        }
        Command::Fault(FaultCommand::Add {
            path,
            method,
            kind,
            times,
            status,
            code,
            message,
            ms,
            target,
        }) => {
            let mut body = serde_json::json!({ "path": path, "method": method, "times": times });
            let kind = match kind {
                FaultKind::Error => {
                    body["status"] = status.into();
                    body["code"] = code.into();
                    body["message"] = message.into();
                    "error"
                }
                FaultKind::Delay => {
                    body["ms"] = ms.unwrap_or_default().into();
                    "delay"
                }
                FaultKind::DropAfter => "drop-after",
                FaultKind::CloseBefore => "close-before",
            };
            body["kind"] = kind.into();
            helper(ctx, &target, "fault", &body)
        }
        Command::Fault(FaultCommand::Clear { target }) => {
            helper(ctx, &target, "faults/clear", &serde_json::json!({}))
        }
        Command::Clock(ClockCommand::Advance { by, target }) => {
            let seconds = parse_duration(&by)?;
            helper(
                ctx,
                &target,
                "clock/advance",
                &serde_json::json!({ "seconds": seconds }),
            )
        }
        Command::Init { dir, addr } => {
            let mut g = wechatpay_sandbox::generate(wechatpay_sandbox::now())?;
            if let Some(addr) = addr {
                g.config.listen = addr.to_string();
            }
            let files = g.write_to(&dir)?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({"files": files, "ids": g.client.ids, "mchid": g.client.mchid})
                );
            } else {
                println!("Sandbox written to {}:", dir.display());
                for f in &files {
                    println!("  {f}");
                }
                println!(
                    "\nNext:\n  cd {}\n  wxpay sandbox serve              # listens on {}\n  wxpay call GET /v3/certificates  # in another shell, same folder (uses wxpay.toml)",
                    dir.display(),
                    g.config.listen
                );
                if addr.is_some_and(|a| !a.ip().is_loopback()) {
                    println!(
                        "\nOther machines can reach {}: set console_token in sandbox.toml (16 characters or more) before serving.",
                        g.config.listen
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed {
            sandbox_config,
            orders,
            day,
            refund_every,
        } => {
            let (cfg, dir): (Config, PathBuf) = Config::from_file(&sandbox_config)?;
            let date = wechatpay_models::v3::bill::parse_bill_date(&day)
                .with_context(|| format!("--day {day:?} is not a date written yyyy-MM-dd"))?;
            let started = std::time::Instant::now();
            let n = wechatpay_sandbox::seed(&cfg, &dir, date, orders, refund_every)
                .with_context(|| format!("cannot seed {}", dir.join(&cfg.database).display()))?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({"payments": n.payments, "refunds": n.refunds, "day": day})
                );
            } else {
                println!(
                    "inserted {} paid orders and {} refunds on {day} in {:.1} s",
                    n.payments,
                    n.refunds,
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            sandbox_config,
            addr,
        } => {
            let (mut cfg, dir): (Config, PathBuf) = Config::from_file(&sandbox_config)?;
            if let Some(a) = addr {
                cfg.listen = a;
            }
            let rt = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
            rt.block_on(async {
                let sandbox = Sandbox::start(cfg, &dir).await?;
                // The first line on stdout is the URL: scripts wait for it.
                println!(
                    "sandbox listening on {} (console: {}/_sandbox/)",
                    sandbox.base_url(),
                    sandbox.base_url()
                );
                stop_signal().await?;
                eprintln!("stopping");
                sandbox.shutdown().await;
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Ctrl-C (SIGINT), or SIGTERM (from `kill`, a service manager or a container runtime): both
/// stop the sandbox cleanly, so that its bill files are removed.
async fn stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot wait for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    Ok(())
}

/// `90s`, `15m`, `1h`, `3d` (or plain seconds) as seconds.
fn parse_duration(s: &str) -> anyhow::Result<i64> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = n
        .parse()
        .with_context(|| format!("{s:?} is not a duration like 90s, 15m, 1h or 3d"))?;
    let unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => anyhow::bail!("unknown unit {other:?}: use s, m, h or d"),
    };
    Ok(n * unit)
}

/// The most of a test helper's answer that is read (the SDK's limit for JSON answers).
const MAX_HELPER_ANSWER: usize = wechatpay::DEFAULT_MAX_RESPONSE_BYTES;

/// POSTs `body` to test helper `name` of the sandbox at `base`: (status, answer). With the
/// SDK's safe settings: a deadline, a size cap, and no redirects (a redirect would re-post
/// the body to wherever it points).
pub(crate) async fn call_helper(
    base: &str,
    name: &str,
    body: &serde_json::Value,
    timeout: std::time::Duration,
) -> anyhow::Result<(reqwest::StatusCode, serde_json::Value)> {
    let url = format!(
        "{}/_sandbox/api/test-helpers/{name}",
        base.trim_end_matches('/')
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(wechatpay::DEFAULT_CONNECT_TIMEOUT.min(timeout))
        .build()
        .context("cannot build the HTTP client")?;
    let call = async {
        let mut r = http
            .post(&url)
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(body)?)
            .send()
            .await
            .with_context(|| format!("cannot reach the sandbox at {}", crate::clean(base, 200)))?;
        let status = r.status();
        if status.is_redirection() {
            let to = r
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|l| crate::clean(&String::from_utf8_lossy(l.as_bytes()), 300))
                .unwrap_or_default();
            anyhow::bail!("{base} answered {status}, a redirect to {to:?}: not followed");
        }
        if r.content_length()
            .is_some_and(|n| n > MAX_HELPER_ANSWER as u64)
        {
            anyhow::bail!("the sandbox's answer is larger than {MAX_HELPER_ANSWER} bytes");
        }
        let mut bytes = Vec::new();
        while let Some(c) = r.chunk().await.context("the sandbox's answer broke off")? {
            if bytes.len() + c.len() > MAX_HELPER_ANSWER {
                anyhow::bail!("the sandbox's answer is larger than {MAX_HELPER_ANSWER} bytes");
            }
            bytes.extend_from_slice(&c);
        }
        Ok((status, serde_json::from_slice(&bytes).unwrap_or_default()))
    };
    tokio::time::timeout(timeout, call).await.map_err(|_| {
        anyhow::anyhow!(
            "the sandbox at {} did not answer within {} s",
            crate::clean(base, 200),
            timeout.as_secs_f64()
        )
    })?
}

/// Calls a test helper of the running sandbox and prints its answer.
fn helper(
    ctx: &Context,
    target: &Target,
    name: &str,
    body: &serde_json::Value,
) -> anyhow::Result<ExitCode> {
    let base = match &target.url {
        Some(u) => u.clone(),
        None => ctx
            .profile()?
            .base_url
            .context("give --url: the profile has no base_url")?,
    };
    let rt = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    let timeout = std::time::Duration::from_secs(target.timeout);
    let (status, v) = rt.block_on(call_helper(&base, name, body, timeout))?;
    if ctx.json {
        println!("{v}");
    } else {
        match v.get("error").and_then(serde_json::Value::as_str) {
            Some(e) => eprintln!("refused: {}", crate::clean(e, 500)),
            None => println!("{}", serde_json::to_string_pretty(&v)?),
        }
    }
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::parse_duration("1h").unwrap(), 3600);
        assert_eq!(super::parse_duration("90s").unwrap(), 90);
        assert_eq!(super::parse_duration("3d").unwrap(), 259_200);
        assert_eq!(super::parse_duration("120").unwrap(), 120);
        assert!(super::parse_duration("1y").is_err());
    }
}
