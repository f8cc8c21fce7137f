//! `wxpay demo`: the whole Pay Score direct-complete flow on a fresh machine.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use axum::http::StatusCode;
use wechatpay::notify::{CallbackVerifier, Event, Notification};
use wechatpay_models::Endpoint;
use wechatpay_models::v3::payscore::partner::permissions::ApplyPermissionsRequest;
use wechatpay_models::v3::payscore::partner::serviceorder::{
    CompleteRequest, CreateRequest, DirectCompleteRequest, QueryRequest,
};
use wechatpay_models::v3::payscore::{
    CollectionState, Location, OrderState, PostDiscount, PostPayment, RiskFund, ServiceOrder,
    TimeRange,
};
use wechatpay_sandbox::testing::Recorder;

use crate::profile::Context;

/// Arguments of `wxpay demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How long to wait for each callback, in seconds.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// Which story: `direct` (direct-complete, the short default), `authorize` (the user
    /// authorizes the service first) or `confirm` (a need-confirm order the user confirms).
    #[arg(long, value_enum, default_value_t = Flow::Direct)]
    flow: Flow,
}

/// The stories `wxpay demo` tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Flow {
    /// Direct-complete for a user who authorized already, USER_PAID, query.
    Direct,
    /// Apply, the user authorizes (USER_OPEN_SERVICE), then the direct story.
    Authorize,
    /// Create, launch parameters, the user confirms (USER_CONFIRM), complete, USER_PAID.
    Confirm,
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
    let result = rt.block_on(flow(&mut steps, a.flow, Duration::from_secs(a.timeout)));
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

/// The sandbox, a client for its merchant, and a receiver that verifies callbacks.
struct Stage {
    sandbox: wechatpay_sandbox::Sandbox,
    g: wechatpay_sandbox::Generated,
    client: wechatpay::Client,
    callbacks: CallbackVerifier,
    recorder: Recorder,
    timeout: Duration,
}

async fn flow(steps: &mut Steps, which: Flow, timeout: Duration) -> anyhow::Result<()> {
    let t = Instant::now();
    let (sandbox, g) = wechatpay_sandbox::testing::start(|c| {
        c.behaviour.deduction_delay_ms = 300;
        // Every callback is preceded by WeChat Pay's signature probe, refused by the
        // receiver that verifies with the SDK.
        c.behaviour.signature_probe_percent = 100;
    })
    .await?;
    let c = &g.client;
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
    let client = crate::profile::sandbox_client(c, sandbox.base_url())
        .apiv2_key(&c.apiv2_key)
        .build()?;
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
    let stage = Stage {
        sandbox,
        g,
        client,
        callbacks,
        recorder,
        timeout,
    };
    match which {
        Flow::Direct => {
            let openid = stage.g.client.ids.openid.clone();
            direct_complete(steps, &stage, &openid, 0).await?;
        }
        Flow::Authorize => {
            let openid = authorize(steps, &stage).await?;
            direct_complete(steps, &stage, &openid, 1).await?;
        }
        Flow::Confirm => confirm(steps, &stage).await?,
    }
    stage.sandbox.shutdown().await;
    Ok(())
}

/// Waits for callback number `index` (from 0, not counting signature probes) and verifies
/// it: (notification, its serial, and how the receiver answered the probe before it).
async fn callback(stage: &Stage, index: usize) -> anyhow::Result<(Notification, String)> {
    let is_probe = |r: &wechatpay_sandbox::testing::Received| {
        r.headers
            .get("Wechatpay-Signature")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("WECHATPAY/SIGNTEST/"))
    };
    let mut want = index + 1;
    let (probe, r) = loop {
        let got = stage.recorder.wait_for(want, stage.timeout).await;
        let real: Vec<usize> = (0..got.len()).filter(|&i| !is_probe(&got[i])).collect();
        if let Some(&i) = real.get(index) {
            let probe = i
                .checked_sub(1)
                .and_then(|p| got.get(p))
                .filter(|p| is_probe(p))
                .map(|p| p.status);
            break (probe, got[i].clone());
        }
        if got.len() < want {
            bail!("no callback within {} s", stage.timeout.as_secs())
        }
        want = got.len() + 1;
    };
    ensure!(
        r.status == StatusCode::NO_CONTENT,
        "the receiver rejected the callback ({})",
        r.status
    );
    ensure!(
        probe.is_none_or(|st| !st.is_success()),
        "the receiver acknowledged a signature probe: it does not verify signatures"
    );
    let n = stage.callbacks.verify(&r.headers, &r.body)?;
    let mut serial = r
        .headers
        .get("Wechatpay-Serial")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    if let Some(st) = probe {
        serial += &format!(
            "; WeChat Pay's signature probe before it (WECHATPAY/SIGNTEST/) was refused with {}",
            st.as_u16()
        );
    }
    Ok((n, serial))
}

/// Apply, the user authorizes, USER_OPEN_SERVICE: returns the new user's openid.
async fn authorize(steps: &mut Steps, stage: &Stage) -> anyhow::Result<String> {
    let ids = &stage.g.client.ids;
    let t = Instant::now();
    let code = format!("AUTH{}", wechatpay_core::RandomNonce::alphanumeric(16));
    let token = stage
        .client
        .send(
            &ApplyPermissionsRequest::default()
                .service_id(ids.service_id.as_str())
                .appid(ids.appid.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .authorization_code(code.as_str())
                .notify_url(stage.recorder.url()),
        )
        .await?
        .apply_permissions_token;
    let page = wechatpay::launch::enable(&token);
    steps.step(
        "POST /v3/payscore/partner/permissions (pre-authorization)",
        t,
        &[
            format!("authorization_code {code}: apply_permissions_token of {} characters, valid one hour", token.len()),
            format!("the front end opens businessType {} with extraData {{apply_permissions_token}}", page.business_type),
        ],
    );

    let t = Instant::now();
    let openid = format!("o{}", wechatpay_core::RandomNonce::alphanumeric(27));
    let (status, answer) = crate::sandbox::call_helper(
        &stage.sandbox.base_url(),
        "authorize",
        &serde_json::json!({"apply_permissions_token": token, "openid": openid}),
        stage.timeout,
    )
    .await?;
    ensure!(
        status.is_success(),
        "the user could not authorize: {answer}"
    );
    let (n, serial) = callback(stage, 0).await?;
    let Event::PayscoreUserOpenService(a) = &n.event else {
        bail!("unexpected event {}", n.event_type)
    };
    steps.step(
        "The user authorized in the Pay Score page; PAYSCORE.USER_OPEN_SERVICE received",
        t,
        &[
            format!("sandbox test helper POST /_sandbox/api/test-helpers/authorize as {openid}"),
            format!("callback signature verified ({serial}), resource decrypted: {} for sub_mchid {}, at {}",
                a.user_service_status.as_deref().unwrap_or("-"),
                n.sub_mchid().unwrap_or("-"),
                a.openorclose_time.as_deref().unwrap_or("-")),
        ],
    );
    Ok(openid)
}

/// Direct-complete for `openid`, USER_PAID (callback number `index`), final query.
async fn direct_complete(
    steps: &mut Steps,
    stage: &Stage,
    openid: &str,
    index: usize,
) -> anyhow::Result<()> {
    let (client, ids) = (&stage.client, &stage.g.client.ids);
    let t = Instant::now();
    let now = wechatpay_sandbox::now();
    let out_order_no = format!("DEMO{}", wechatpay_core::RandomNonce::alphanumeric(16));
    let req = DirectCompleteRequest::default()
        .service_id(ids.service_id.as_str())
        .appid(ids.appid.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(out_order_no.as_str())
        .service_introduction("共享充电宝")
        .post_payments(vec![
            PostPayment::new("使用时长", 300)
                .description("3小时, 1元/小时")
                .count(3),
        ])
        .total_amount(250)
        .time_range(TimeRange::from_unix(now - 3 * 3600 - 60, now - 60))
        .notify_url(stage.recorder.url())
        .openid(openid)
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
            format!("out_order_no {out_order_no}, user {openid}"),
            "bill: 使用时长 300 fen − 新用户立减 50 fen = total_amount 250 fen (2.50 yuan)".into(),
            "rules R1–R8 checked locally, request signed WECHATPAY2-SHA256-RSA2048".into(),
            format!(
                "answer 204 No Content, signature verified with {}",
                stage.g.client.public_key_id
            ),
        ],
    );

    let t = Instant::now();
    let q = QueryRequest::default()
        .service_id(ids.service_id.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(out_order_no.as_str());
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
    paid(steps, stage, &q, index).await
}

/// USER_PAID (callback number `index`), then the final query.
async fn paid(
    steps: &mut Steps,
    stage: &Stage,
    q: &QueryRequest,
    index: usize,
) -> anyhow::Result<()> {
    let t = Instant::now();
    let (n, serial) = callback(stage, index).await?;
    let Event::PayscoreUserPaid(paid) = &n.event else {
        bail!("unexpected event {}", n.event_type)
    };
    let detail = paid.collection.as_ref().and_then(|c| c.details.first());
    steps.step(
        "Received the PAYSCORE.USER_PAID callback",
        t,
        &[
            format!(
                "signature verified ({serial}), resource decrypted with the APIv3 key (AEAD_AES_256_GCM)"
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
    let order = stage.client.send(q).await?;
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
    Ok(())
}

/// Need-confirm: create, launch parameters, the user confirms, complete, USER_PAID.
async fn confirm(steps: &mut Steps, stage: &Stage) -> anyhow::Result<()> {
    let (client, ids) = (&stage.client, &stage.g.client.ids);
    let t = Instant::now();
    let out_order_no = format!("RENT{}", wechatpay_core::RandomNonce::alphanumeric(16));
    let created = client
        .send(
            &CreateRequest::default()
                .service_id(ids.confirm_service_id.as_str())
                .appid(ids.appid.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .out_order_no(out_order_no.as_str())
                .service_introduction("充电宝租借")
                .risk_fund(RiskFund::new("DEPOSIT", 9900))
                .time_range(TimeRange::on_accept())
                .notify_url(stage.recorder.url())
                .sub_appid(ids.sub_appid.as_str()),
        )
        .await?;
    let package = created
        .package
        .clone()
        .context("create answered no package")?;
    let page = wechatpay::launch::use_order(&package);
    steps.step(
        "POST /v3/payscore/partner/serviceorder (need-confirm create)",
        t,
        &[
            format!(
                "out_order_no {out_order_no}: state {}, deposit 99.00 yuan waived, starts OnAccept",
                state(&created)
            ),
            format!("package of {} characters, valid one hour", package.len()),
            format!(
                "front end: wx.openBusinessView({{businessType: '{}', extraData: {{package}}}})",
                page.business_type
            ),
        ],
    );

    let t = Instant::now();
    let (status, answer) = crate::sandbox::call_helper(
        &stage.sandbox.base_url(),
        "confirm-order",
        &serde_json::json!({"package": package, "openid": ids.openid}),
        stage.timeout,
    )
    .await?;
    ensure!(status.is_success(), "the user could not confirm: {answer}");
    let (n, serial) = callback(stage, 0).await?;
    let Event::PayscoreUserConfirm(o) = &n.event else {
        bail!("unexpected event {}", n.event_type)
    };
    steps.step(
        "The user confirmed the order; PAYSCORE.USER_CONFIRM received",
        t,
        &[
            format!(
                "sandbox test helper POST /_sandbox/api/test-helpers/confirm-order as {}",
                ids.openid
            ),
            format!(
                "callback signature verified ({serial}): order {} is {}, started {}",
                o.out_order_no,
                state(o),
                o.time_range.as_ref().map_or("-", |r| r.start_time.as_str())
            ),
        ],
    );

    let t = Instant::now();
    let detail = client.launch_detail(ids.confirm_service_id.as_str(), &out_order_no)?;
    let mut check = detail.extra_data();
    check["business_type"] = serde_json::json!(detail.business_type);
    let (_, verdict) = crate::sandbox::call_helper(
        &stage.sandbox.base_url(),
        "check-launch",
        &check,
        stage.timeout,
    )
    .await?;
    ensure!(
        verdict["valid"] == true,
        "the detail page's sign is refused: {verdict}"
    );
    steps.step(
        "Built the order-detail page's parameters (wxpayScoreDetail), signed with the APIv2 key",
        t,
        &[
            format!("queryString {}", detail.query_string()),
            "the sandbox checked the HMAC-SHA256 sign as the Pay Score page would".into(),
        ],
    );

    let t = Instant::now();
    client
        .send(
            &CompleteRequest::default()
                .out_order_no(out_order_no.as_str())
                .service_id(ids.confirm_service_id.as_str())
                .sub_mchid(ids.sub_mchid.as_str())
                .post_payments(vec![PostPayment::new("租金", 300).description("3小时")])
                .total_amount(300),
        )
        .await?;
    steps.step(
        "POST /v3/payscore/partner/serviceorder/{out_order_no}/complete",
        t,
        &["total 300 fen: WeChat now deducts without a password".into()],
    );
    let q = QueryRequest::default()
        .service_id(ids.confirm_service_id.as_str())
        .sub_mchid(ids.sub_mchid.as_str())
        .out_order_no(out_order_no.as_str());
    paid(steps, stage, &q, 1).await
}
