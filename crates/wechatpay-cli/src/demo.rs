//! `wxpay demo`: the whole Pay Score direct-complete flow on a fresh machine.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use axum::http::StatusCode;
use wechatpay::notify::Event;
use wechatpay_models::Endpoint;
use wechatpay_models::v3::payscore::partner::serviceorder::{DirectCompleteRequest, QueryRequest};
use wechatpay_models::v3::payscore::{
    CollectionState, Location, OrderState, PostDiscount, PostPayment, ServiceOrder, TimeRange,
};
use wechatpay_sandbox::testing::Recorder;

use crate::profile::Context;

/// Arguments of `wxpay demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How long to wait for the callback, in seconds.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
}

struct Steps {
    json: bool,
    started: Instant,
    n: usize,
    log: Vec<serde_json::Value>,
}

impl Steps {
    fn step(&mut self, title: &str, t: Instant, lines: &[String]) {
        self.n += 1;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if self.json {
            self.log.push(serde_json::json!({"step": self.n, "title": title, "ms": (ms * 10.0).round() / 10.0, "details": lines}));
        } else {
            println!("[{}] ✔ {title}  ({ms:.1} ms)", self.n);
            for l in lines {
                println!("      {l}");
            }
        }
    }
}

fn state(o: &ServiceOrder) -> String {
    let s = |x: Option<String>| x.unwrap_or_else(|| "-".into());
    format!(
        "{} / {} / {}",
        s(o.state.as_ref().map(ToString::to_string)),
        s(o.state_description.as_ref().map(ToString::to_string)),
        s(o.collection
            .as_ref()
            .and_then(|c| c.state.as_ref())
            .map(ToString::to_string))
    )
}

pub(crate) fn run(ctx: &Context, a: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    let mut steps = Steps {
        json: ctx.json,
        started: Instant::now(),
        n: 0,
        log: Vec::new(),
    };
    let result = rt.block_on(flow(&mut steps, Duration::from_secs(a.timeout)));
    let total = steps.started.elapsed().as_millis();
    match result {
        Ok(()) => {
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({"ok": true, "total_ms": total, "steps": steps.log})
                );
            } else {
                println!(
                    "\nAll {} steps passed in {total} ms. Next: `wxpay sandbox init DIR` for a sandbox of your own.",
                    steps.n
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({"ok": false, "failed_step": steps.n + 1, "error": format!("{e:#}"), "steps": steps.log})
                );
            } else {
                println!("[{}] ✘ failed: {e:#}", steps.n + 1);
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn flow(steps: &mut Steps, timeout: Duration) -> anyhow::Result<()> {
    let t = Instant::now();
    let (sandbox, g) =
        wechatpay_sandbox::testing::start(|c| c.behaviour.deduction_delay_ms = 300).await?;
    let c = &g.client;
    let ids = &c.ids;
    steps.step(
        "Started a local WeChat Pay sandbox with freshly generated keys",
        t,
        &[
            format!("base URL {}", sandbox.base_url()),
            format!(
                "service provider mchid {} (merchant certificate serial {})",
                c.mchid, c.serial
            ),
            format!(
                "platform public key {} and certificate {}",
                c.public_key_id, c.platform_certificate_serial
            ),
        ],
    );

    let t = Instant::now();
    let client = crate::profile::sandbox_client(c, sandbox.base_url()).build()?;
    let callbacks = client.callback_verifier()?;
    let receiver = callbacks.clone();
    let recorder = Recorder::start_with(
        0,
        Arc::new(move |h, b| match receiver.verify(h, b) {
            Ok(_) => StatusCode::NO_CONTENT,
            Err(e) => e.status(),
        }),
    )
    .await?;
    steps.step(
        "Started a callback receiver that verifies with the SDK",
        t,
        &[format!("notify_url {}", recorder.url())],
    );

    let t = Instant::now();
    let now = wechatpay_sandbox::now();
    let out_order_no = format!("DEMO{}", wechatpay_core::RandomNonce::alphanumeric(16));
    let req = DirectCompleteRequest::new(
        ids.service_id.as_str(),
        ids.appid.as_str(),
        ids.sub_mchid.as_str(),
        out_order_no.as_str(),
        "共享充电宝",
        vec![
            PostPayment::new("使用时长", 300)
                .description("3小时, 1元/小时")
                .count(3),
        ],
        250,
        TimeRange::from_unix(now - 3 * 3600 - 60, now - 60),
        recorder.url(),
        ids.openid.as_str(),
    )
    .sub_appid(ids.sub_appid.as_str())
    .post_discounts(vec![PostDiscount::new("新用户立减", "首单优惠0.5元", 50)])
    .location(Location::new("望京SOHO T1"));
    req.validate_at(now)?;
    let answer = client
        .v3()
        .payscore()
        .partner()
        .serviceorder()
        .direct_complete()
        .post(&req)
        .await?;
    ensure!(answer.is_none(), "expected 204 No Content");
    steps.step(
        "POST /v3/payscore/partner/serviceorder/direct-complete (fluent chain)",
        t,
        &[
            format!("out_order_no {out_order_no}, user {}", ids.openid),
            "bill: 使用时长 300 fen − 新用户立减 50 fen = total_amount 250 fen (2.50 yuan)".into(),
            "rules R1–R8 checked locally, request signed WECHATPAY2-SHA256-RSA2048".into(),
            format!(
                "answer 204 No Content, signature verified with {}",
                c.public_key_id
            ),
        ],
    );

    let t = Instant::now();
    let q = QueryRequest::by_out_order_no(
        ids.service_id.as_str(),
        ids.sub_mchid.as_str(),
        out_order_no.as_str(),
    );
    let order = client.send(&q).await?;
    ensure!(
        order.state == Some(OrderState::Doing),
        "expected DOING, got {}",
        state(&order)
    );
    steps.step(
        "GET /v3/payscore/partner/serviceorder (typed query)",
        t,
        &[format!(
            "state {} — WeChat is collecting 250 fen",
            state(&order)
        )],
    );

    let t = Instant::now();
    let got = recorder.wait_for(1, timeout).await;
    let Some(first) = got.first() else {
        bail!("no callback within {} s", timeout.as_secs())
    };
    let n = callbacks.verify(&first.headers, &first.body)?;
    let Event::PayscoreUserPaid(paid) = &n.event else {
        bail!("unexpected event {}", n.event_type)
    };
    ensure!(
        first.status == StatusCode::NO_CONTENT,
        "the receiver rejected the callback ({})",
        first.status
    );
    let detail = paid.collection.as_ref().and_then(|c| c.details.first());
    steps.step(
        "Received the PAYSCORE.USER_PAID callback",
        t,
        &[
            format!(
                "signature verified ({}), resource decrypted with the APIv3 key (AEAD_AES_256_GCM)",
                first
                    .headers
                    .get("Wechatpay-Serial")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
            ),
            format!(
                "event {} \"{}\": order {} is {}",
                n.event_type,
                n.summary,
                paid.out_order_no,
                state(paid)
            ),
            format!(
                "paid {} fen via {}, transaction_id {}",
                detail.map_or(0, |d| d.amount.0),
                detail
                    .and_then(|d| d.paid_type.as_ref())
                    .map_or_else(|| "-".into(), ToString::to_string),
                detail
                    .and_then(|d| d.transaction_id.as_ref())
                    .map_or("-", |t| t.as_str())
            ),
            "receiver answered 204: acknowledged".into(),
        ],
    );

    let t = Instant::now();
    let order = client.send(&q).await?;
    let col = order.collection.as_ref();
    ensure!(
        order.state == Some(OrderState::Done)
            && col.and_then(|c| c.state.as_ref()) == Some(&CollectionState::UserPaid),
        "expected DONE / USER_PAID, got {}",
        state(&order)
    );
    steps.step(
        "Queried the final order",
        t,
        &[format!(
            "state {}, paid_amount {} fen",
            state(&order),
            col.and_then(|c| c.paid_amount).map_or(0, |f| f.0)
        )],
    );
    sandbox.shutdown().await;
    Ok(())
}
