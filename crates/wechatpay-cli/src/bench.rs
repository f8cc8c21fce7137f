//! `wxpay bench`: N concurrent clients sending partner direct-complete orders, then
//! throughput, latency percentiles, errors by code, CPU time per request and memory.
//!
//! CPU time is read per thread from `/proc/self/task` (Linux): the embedded sandbox runs
//! on threads named `wx-sandbox`, the clients on `wx-client`.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;
use wechatpay_models::Endpoint as _;
use wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest;
use wechatpay_models::v3::payscore::{PostDiscount, PostPayment, TimeRange};

use crate::profile::Context;

mod measure;
use measure::{process_cpu, rsa_costs, rss_mb, thread_cpu};

/// Arguments of `wxpay bench`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  wxpay bench                      # embedded sandbox, 16 clients, 10 s\n  wxpay bench -c 32 --duration 60s --json\n  wxpay bench --url http://127.0.0.1:8780 --count 10000   # a running sandbox; credentials and ids from the profile"
)]
pub(crate) struct Args {
    /// Load a running sandbox at this URL (credentials from the profile, ids from --ids) instead of an embedded one.
    #[arg(long)]
    url: Option<String>,
    /// Concurrent clients.
    #[arg(short = 'c', long, default_value_t = 16)]
    concurrency: usize,
    /// How long to run, e.g. 10s, 2m (ignored with --count).
    #[arg(long, default_value = "10s")]
    duration: String,
    /// Send exactly this many orders instead.
    #[arg(short = 'n', long)]
    count: Option<u64>,
    /// Offered load in orders/s across all clients (default: as fast as they can).
    #[arg(long)]
    rate: Option<f64>,
    /// With --url: service_id,appid,sub_mchid,openid for the orders (as printed in wxpay.toml by `sandbox init`).
    #[arg(long)]
    ids: Option<String>,
    /// Append the out_order_no of every order the server acknowledged (2xx) to this file,
    /// one per line, as it happens (for crash trials).
    #[arg(long)]
    acked: Option<std::path::PathBuf>,
    /// The orders' notify_url (default: a closed local port).
    #[arg(long, default_value = "http://127.0.0.1:9/notify")]
    notify_url: String,
    /// With --url: retries after a 429/5xx or a lost connection (default: the SDK's); 0
    /// counts every 503 of an overloaded sandbox as an error.
    #[arg(long)]
    retries: Option<u32>,
    /// With --url: sign N distinct orders before the run, then send them over and over
    /// without signing again (the sandbox takes a resent signed request within its 5-minute
    /// window and de-duplicates the order), so that one process can offer many times the
    /// sandbox's peak. Answers are counted by status and code, not verified; a client that
    /// got `Retry-After` waits that long before its next order.
    #[arg(long, value_name = "N", requires = "url", conflicts_with = "acked")]
    replay: Option<usize>,
}

/// A signed request, ready to be sent again: its `Authorization` and body.
struct Signed {
    authorization: String,
    body: Vec<u8>,
}

/// `n` distinct orders signed now with the profile's key.
fn presign(p: &wechatpay::config::Profile, ids: &Ids, n: usize) -> anyhow::Result<Vec<Signed>> {
    let mchid = p
        .mchid
        .as_deref()
        .context("--replay needs the profile's mchid")?;
    let serial = p
        .serial
        .as_deref()
        .context("--replay needs the profile's serial")?;
    let path = p
        .private_key
        .as_deref()
        .context("--replay needs the profile's private_key")?;
    let pem = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    let key = wechatpay_core::PrivateKey::from_pem(&pem)?;
    let now = wechatpay_sandbox::now();
    let prefix = format!("R{}", wechatpay_core::RandomNonce::alphanumeric(8));
    (0..n.max(1))
        .map(|i| {
            let o = order(
                ids,
                format!("{prefix}{i}"),
                now,
                "http://127.0.0.1:9/notify",
            );
            let body = serde_json::to_vec(&o)?;
            let nonce = wechatpay_core::RandomNonce::alphanumeric(32);
            let auth =
                wechatpay_core::SignableRequest::new("POST", DirectCompleteRequest::PATH, &body)
                    .sign(mchid, serial, &key, now, &nonce)?;
            Ok(Signed {
                authorization: auth.to_string(),
                body,
            })
        })
        .collect()
}

/// Sends a pre-signed request; the error key of a non-2xx answer is its `code`. After an
/// answer with `Retry-After`, waits that long (at most 10 s) before returning.
async fn send_signed(http: &reqwest::Client, url: &str, r: &Signed) -> Result<(), String> {
    let resp = http
        .post(url)
        .header("Authorization", &r.authorization)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header(
            "User-Agent",
            concat!("wxpay-bench/", env!("CARGO_PKG_VERSION")),
        )
        .body(r.body.clone())
        .send()
        .await
        .map_err(|e| {
            let kind = if e.is_connect() {
                "connect"
            } else if e.is_timeout() {
                "timeout"
            } else {
                "lost"
            };
            let mut src: &dyn std::error::Error = &e;
            while let Some(s) = src.source() {
                src = s;
            }
            format!("TRANSPORT ({kind}: {src})")
        })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    // A well-behaved client waits as long as Retry-After says before its next request.
    let wait = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let body = resp.bytes().await.unwrap_or_default();
    if let Some(secs) = wait {
        tokio::time::sleep(Duration::from_secs(secs.min(10))).await;
    }
    Err(serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("HTTP_{}", status.as_u16())))
}

fn error_key(e: &wechatpay::Error) -> String {
    match e {
        wechatpay::Error::Api(api) => api.code().unwrap_or("HTTP_ERROR").to_owned(),
        wechatpay::Error::Signature(_) => "SIGNATURE".into(),
        wechatpay::Error::Transport(_) => "TRANSPORT".into(),
        other => format!("{other}"),
    }
}

fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let (n, unit) = s.trim().split_at(
        s.trim()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(s.trim().len()),
    );
    let n: u64 = n
        .parse()
        .with_context(|| format!("duration {s:?}: expected e.g. 10s or 2m"))?;
    Ok(match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        _ => bail!("duration {s:?}: unit must be ms, s or m"),
    })
}

struct Ids {
    service_id: String,
    appid: String,
    sub_mchid: String,
    openid: String,
}

fn order(ids: &Ids, no: String, now: i64, notify_url: &str) -> DirectCompleteRequest {
    DirectCompleteRequest::default()
        .service_id(ids.service_id.as_str())
        .appid(ids.appid.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(no)
        .service_introduction("共享充电宝")
        .post_payments(vec![
            PostPayment::new("使用时长", 300)
                .description("3小时")
                .count(3),
        ])
        .total_amount(250)
        .time_range(TimeRange::from_unix(now - 3600, now - 60))
        .notify_url(notify_url)
        .openid(ids.openid.as_str())
        .post_discounts(vec![PostDiscount::new("新用户立减", "首单优惠", 50)])
}

#[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
pub(crate) fn run(ctx: &Context, a: Args) -> anyhow::Result<ExitCode> {
    if a.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if a.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        bail!("--rate must be a positive number of orders per second");
    }
    let duration = parse_duration(&a.duration)?;
    let (sign_us, verify_us) = rsa_costs()?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);

    // The sandbox (embedded) on its own runtime and threads.
    let sandbox_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("wx-sandbox")
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("wx-client")
        .enable_all()
        .build()?;
    let db = std::env::temp_dir().join(format!(
        "wxpay-bench-{}.sqlite",
        wechatpay_core::RandomNonce::alphanumeric(8)
    ));
    let mut replay = None;
    let (client, ids, target, sandbox) = match &a.url {
        None => {
            let db_path = db.display().to_string();
            let (sandbox, g) =
                sandbox_rt.block_on(wechatpay_sandbox::testing::start(move |c| {
                    c.database = db_path;
                    // Orders stay collecting during the run: the load is direct-complete itself.
                    c.behaviour.deduction_delay_ms = 3_600_000;
                    c.services[0].risk_cap = i64::MAX;
                }))?;
            let c = &g.client;
            let client = crate::profile::sandbox_client(c, sandbox.base_url())
                .max_retries(0)
                .build()?;
            let ids = Ids {
                service_id: c.ids.service_id.clone(),
                appid: c.ids.appid.clone(),
                sub_mchid: c.ids.sub_mchid.clone(),
                openid: c.ids.openid.clone(),
            };
            (
                client,
                ids,
                format!("embedded sandbox {}", sandbox.base_url()),
                Some(sandbox),
            )
        }
        Some(url) => {
            let ids = a
                .ids
                .as_deref()
                .context("--url needs --ids service_id,appid,sub_mchid,openid")?;
            let parts: Vec<&str> = ids.split(',').collect();
            let [service_id, appid, sub_mchid, openid] = parts[..] else {
                bail!("--ids needs four comma-separated values")
            };
            let mut p = ctx.profile()?;
            p.base_url = Some(url.clone());
            let mut b = p.builder();
            if let Some(r) = a.retries {
                b = b.max_retries(r);
            }
            let client = b
                .build_blocking()
                .context("the profile (wxpay.toml or WXPAY_* variables) does not make a client")?
                .as_async()
                .clone();
            let ids = Ids {
                service_id: service_id.into(),
                appid: appid.into(),
                sub_mchid: sub_mchid.into(),
                openid: openid.into(),
            };
            if let Some(n) = a.replay {
                let set = presign(&p, &ids, n)?;
                let to = format!(
                    "{}{}",
                    url.trim_end_matches('/'),
                    DirectCompleteRequest::PATH
                );
                // Kept-alive connections are given up before the server's idle close,
                // as the SDK does.
                let http = reqwest::Client::builder()
                    .pool_idle_timeout(wechatpay::POOL_IDLE_TIMEOUT)
                    .build()?;
                replay = Some(Arc::new((http, to, set)));
            }
            (client, ids, url.clone(), None)
        }
    };

    let acked = match &a.acked {
        Some(p) => Some(Arc::new(std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("cannot open {}", p.display()))?,
        ))),
        None => None,
    };
    let notify_url: Arc<str> = Arc::from(a.notify_url.as_str());
    let sent = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let ids = Arc::new(ids);
    let bar = if ctx.json || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(a.count.unwrap_or(duration.as_secs()));
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    };
    let cpu0 = (
        thread_cpu("wx-client"),
        thread_cpu("wx-sandbox"),
        process_cpu(),
    );
    let rsa0 = wechatpay_core::rsa_operations();
    let started = Instant::now();
    let deadline = started + duration;
    let prefix = format!("B{}", wechatpay_core::RandomNonce::alphanumeric(8));
    let results = client_rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..a.concurrency {
            let (client, ids, sent, done, prefix) = (
                client.clone(),
                ids.clone(),
                sent.clone(),
                done.clone(),
                prefix.clone(),
            );
            let (acked, notify_url, replay) = (acked.clone(), notify_url.clone(), replay.clone());
            let count = a.count;
            let rate = a.rate;
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors: BTreeMap<String, u64> = BTreeMap::new();
                loop {
                    let i = sent.fetch_add(1, Ordering::Relaxed);
                    if count.map_or(Instant::now() >= deadline, |n| i >= n) {
                        break;
                    }
                    // Open loop at --rate: order i is due at start + i/rate, and its latency
                    // counts from then (no coordinated omission).
                    let t = match rate {
                        Some(r) => {
                            #[allow(clippy::cast_precision_loss)]
                            let due = started + Duration::from_secs_f64(i as f64 / r);
                            tokio::time::sleep_until(due.into()).await;
                            due
                        }
                        None => Instant::now(),
                    };
                    let no = format!("{prefix}{i}");
                    let req = order(&ids, no.clone(), wechatpay_sandbox::now(), &notify_url);
                    let r = match &replay {
                        Some(r) => {
                            let (http, url, set) = &**r;
                            send_signed(
                                http,
                                url,
                                &set[usize::try_from(i).unwrap_or(0) % set.len()],
                            )
                            .await
                        }
                        None => client.send(&req).await.map(drop).map_err(|e| error_key(&e)),
                    };
                    if let (Ok(()), Some(f)) = (&r, &acked) {
                        use std::io::Write as _;
                        if let Ok(mut f) = f.lock() {
                            let _ = writeln!(f, "{no}");
                        }
                    }
                    lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    done.fetch_add(1, Ordering::Relaxed);
                    if let Err(key) = r {
                        *errors.entry(key).or_default() += 1;
                    }
                }
                (lat, errors)
            }));
        }
        let ticker = {
            let (bar, done) = (bar.clone(), done.clone());
            let count = a.count;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let d = done.load(Ordering::Relaxed);
                    let el = started.elapsed().as_secs_f64();
                    bar.set_position(count.map_or(started.elapsed().as_secs(), |_| d));
                    bar.set_message(format!("{d} orders, {:.0}/s", d as f64 / el.max(1e-9)));
                }
            })
        };
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await);
        }
        ticker.abort();
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let cpu1 = (
        thread_cpu("wx-client"),
        thread_cpu("wx-sandbox"),
        process_cpu(),
    );
    let rsa1 = wechatpay_core::rsa_operations();
    let (rss, peak) = rss_mb();
    let mut lat: Vec<u32> = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for r in results {
        let (l, e) = r.context("a client task failed")?;
        lat.extend(l);
        for (k, v) in e {
            *errors.entry(k).or_default() += v;
        }
    }
    if let Some(s) = sandbox {
        sandbox_rt.block_on(s.shutdown());
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    lat.sort_unstable();
    let n = lat.len();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
        f64::from(lat[i]) / 1000.0
    };
    let err_total: u64 = errors.values().sum();
    let throughput = n as f64 / elapsed;
    let per = |c: f64| if n == 0 { 0.0 } else { c * 1000.0 / n as f64 };
    let (client_cpu, sandbox_cpu) = if a.url.is_some() {
        (per(cpu1.2 - cpu0.2), f64::NAN)
    } else {
        (per(cpu1.0 - cpu0.0), per(cpu1.1 - cpu0.1))
    };
    // The RSA operations this process really did per order in the window (client and
    // embedded sandbox; callbacks signed meanwhile included). The bound uses them; with
    // --url the server's share is not visible here, so one sign and one verify are assumed.
    let per_order = |ops: u64| if n == 0 { 0.0 } else { ops as f64 / n as f64 };
    let (signs, verifies) = (
        per_order(rsa1.signs - rsa0.signs),
        per_order(rsa1.verifies - rsa0.verifies),
    );
    let (bound_signs, bound_verifies) = match (&a.url, n) {
        (None, 1..) => (signs, verifies),
        (Some(_), 1..) => (signs + 1.0, verifies + 1.0),
        _ => (2.0, 2.0),
    };
    let crypto_bound =
        cores as f64 * 1e6 / (bound_signs * sign_us + bound_verifies * verify_us).max(1e-9);
    // Each side's own RSA work per order: one sign and one verify.
    let rsa_work_ms = (sign_us + verify_us) / 1000.0;
    if ctx.json {
        println!(
            "{}",
            json!({
                "target": target, "concurrency": a.concurrency, "offered_rate": a.rate, "seconds": elapsed, "requests": n, "errors": err_total,
                "errors_by_code": errors, "throughput_rps": throughput,
                "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
                "cpu_ms_per_request": {"client": client_cpu, "sandbox": if sandbox_cpu.is_nan() { None } else { Some(sandbox_cpu) }},
                "rss_mb": {"now": rss, "peak": peak, "covers": if a.url.is_some() { "client process" } else { "client and embedded sandbox" }},
                "cpu_to_rsa_work": {"client": client_cpu / rsa_work_ms, "sandbox": if sandbox_cpu.is_nan() { None } else { Some(sandbox_cpu / rsa_work_ms) }},
                "crypto": {"rsa_sign_us": sign_us, "rsa_verify_us": verify_us, "cores": cores, "signs_per_order": bound_signs, "verifies_per_order": bound_verifies, "bound_rps": crypto_bound, "ratio_to_bound": throughput / crypto_bound},
            })
        );
    } else {
        println!(
            "direct-complete load on {target}: {} clients, {elapsed:.1} s",
            a.concurrency
        );
        println!(
            "requests     {n} ({} ok, {err_total} errors)",
            n as u64 - err_total
        );
        println!("throughput   {throughput:.1} orders/s");
        println!(
            "latency      p50 {:.2} ms · p90 {:.2} ms · p99 {:.2} ms · max {:.2} ms",
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0)
        );
        if sandbox_cpu.is_nan() {
            println!("cpu/request  client {client_cpu:.3} ms (whole process)");
        } else {
            println!(
                "cpu/request  client {client_cpu:.3} ms ({:.2}× its RSA work) · sandbox {sandbox_cpu:.3} ms ({:.2}×)",
                client_cpu / rsa_work_ms,
                sandbox_cpu / rsa_work_ms
            );
        }
        println!(
            "memory       RSS {rss:.1} MB (peak {peak:.1} MB) for {}",
            if a.url.is_some() {
                "this client process"
            } else {
                "client + embedded sandbox"
            }
        );
        println!(
            "crypto       RSA-2048 sign {sign_us:.0} µs, verify {verify_us:.0} µs; per order {bound_signs:.2} sign + {bound_verifies:.2} verify{} → bound {cores} cores = {crypto_bound:.0}/s; achieved {:.2}×",
            if a.url.is_some() {
                " (the server's 1 + 1 assumed)"
            } else {
                " (counted)"
            },
            throughput / crypto_bound
        );
        for (k, v) in &errors {
            println!("error        {k}: {v}");
        }
    }
    Ok(if err_total == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
