//! The simulated deduction and the callback deliveries, driven from the store so that
//! both survive a restart.

pub(crate) mod wake;

use std::time::{Duration, Instant};

use wechatpay_core::{ResponseSignature, headers};

use crate::AppState;
use crate::callbacks::CallbackError;
use crate::config::Deduction;
use crate::store::{Attempt, Delivery, OrderRow, Probe, StoreError};
use crate::util::{random_hex, request_id};

/// Runs forever: deductions and deliveries as they fall due.
pub(crate) async fn run(s: AppState) {
    let mut checkpointed = Instant::now();
    loop {
        if checkpointed.elapsed() >= Duration::from_secs(1) {
            checkpointed = Instant::now();
            let st = s.clone();
            // Off the async threads: the request log's batch, then the checkpoint that
            // writes and syncs the database file.
            let done = tokio::task::spawn_blocking(move || {
                st.store().flush_log()?;
                st.store().checkpoint()
            })
            .await;
            if let Ok(Err(e)) = done {
                tracing::warn!(error = %wechatpay_core::ErrorChain(&e), "WAL checkpoint");
            }
        }
        if let Err(e) = tick(&s) {
            tracing::error!(error = %wechatpay_core::ErrorChain(&e), "sandbox worker");
        }
        // While the next deadline is being computed, every new one wakes the worker (the
        // permit is kept); afterwards only those earlier than the planned wake-up do.
        s.worker().planning();
        let now = s.now_ms();
        // With every callback slot taken, due callbacks wait for a slot to free (which
        // wakes the worker), not for a timer.
        let next = if s.worker().slots.available_permits() == 0 {
            1000
        } else {
            s.store()
                .next_due_ms()
                .ok()
                .flatten()
                .map_or(1000, |t| (t - now).clamp(1, 1000))
        };
        s.worker().planned(now + next);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(u64::try_from(next).unwrap_or(1000))) => {}
            () = s.worker().woken() => {}
        }
    }
}

fn tick(s: &AppState) -> Result<(), CallbackError> {
    let now = s.now_ms();
    for row in s.store().due_deductions(now)? {
        deduct(s, row)?;
    }
    for r in s.store().due_refunds(now)? {
        crate::refunds::settle(s, r)?;
    }
    // At most `max_concurrent_callbacks` attempts at once; a finished one wakes the worker.
    let free = s.worker().slots.available_permits();
    if free > 0 {
        for d in s.store().take_due_deliveries(now, free)? {
            let Ok(permit) = s.worker().slots.clone().try_acquire_owned() else {
                break;
            };
            let s = s.clone();
            tokio::spawn(async move {
                deliver(s.clone(), d).await;
                drop(permit);
                s.worker().wake();
            });
        }
    }
    s.bill_links().prune(now);
    Ok(())
}

fn deduct(s: &AppState, mut row: OrderRow) -> Result<(), CallbackError> {
    let now = s.now_ms();
    row.deduction_due_ms = None;
    row.updated_ms = now;
    let service = row
        .order
        .service_id
        .as_ref()
        .map(|x| x.as_str().to_owned())
        .unwrap_or_default();
    let openid = row
        .order
        .openid
        .as_ref()
        .map(|x| x.as_str().to_owned())
        .unwrap_or_default();
    if deduction_outcome(s, &service, &openid)? == Deduction::Fail {
        tracing::info!(out_order_no = %row.out_order_no, "deduction failed (configured); order stays USER_PAYING");
        row.deduction_error = Some(
            "扣款失败: the user's balance is insufficient (configured); call pay to try again, or let the user pay (test helper user-pays)"
                .into(),
        );
        return Ok(save(s, &row, None)?);
    }
    let callback = crate::payscore::state::collect(s, &mut row)?;
    tracing::info!(out_order_no = %row.out_order_no, "deducted; order DONE / USER_PAID");
    Ok(save(s, &row, callback.as_ref())?)
}

/// Saves the deduction outcome unless a request changed the order meanwhile (then the
/// order is looked at again on the next tick, as it now is).
fn save(s: &AppState, row: &OrderRow, callback: Option<&Delivery>) -> Result<(), StoreError> {
    if !s.store().update_order(row, callback)? {
        tracing::debug!(out_order_no = %row.out_order_no, "order changed during the deduction; reconsidering");
    }
    Ok(())
}

async fn deliver(s: AppState, d: Delivery) {
    let w = s.world();
    let serial = w
        .providers
        .get(&d.sp_mchid)
        .map_or_else(|| w.public_key_id.clone(), |p| p.callback_serial.clone());
    let at_ms = s.now_ms();
    let attempt_no = d.attempts + 1;
    // On record before it is made: an attempt that reaches the receiver is never lost from
    // the record, even if the sandbox dies during it.
    let attempt_id = match s.store().start_attempt(d.id, attempt_no, at_ms) {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %wechatpay_core::ErrorChain(&e), "cannot record callback attempt; not sending it");
            return;
        }
    };
    let finish = |status, error, duration_ms, state, next| {
        let a = Attempt {
            delivery_id: d.id,
            attempt_no,
            at_ms,
            status,
            error,
            duration_ms,
        };
        if let Err(e) = s.store().finish_attempt(attempt_id, &a, state, next) {
            tracing::error!(error = %wechatpay_core::ErrorChain(&e), "cannot record callback attempt");
        }
    };
    let not_sent = |error: String| finish(None, Some(error), 0, "failed", None);
    let target = match callback_target(&d.notify_url, w.behaviour.remote_callbacks) {
        Ok(u) => u,
        Err(why) => return not_sent(format!("not sent: {why}")),
    };
    let mut h = http::HeaderMap::new();
    match ResponseSignature::sign(
        &w.platform_key,
        &serial,
        s.real_now(),
        &random_hex(16).to_lowercase(),
        d.body.as_bytes(),
    ) {
        Ok(sig) => sig.apply_to(&mut h),
        Err(e) => return not_sent(format!("not sent: the sandbox cannot sign it ({e})")),
    }
    if let Ok(v) = http::HeaderValue::from_str(&request_id(0)) {
        h.insert(headers::REQUEST_ID, v);
    }
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if attempt_no == 1
        && probed(d.id, w.behaviour.signature_probe_percent)
        && let Some(probe) = h
            .get(headers::SIGNATURE)
            .and_then(|v| v.to_str().ok())
            .and_then(|sig| {
                let mut ph = h.clone();
                let v = http::HeaderValue::from_str(&format!("{PROBE_PREFIX}{sig}")).ok()?;
                ph.insert(headers::SIGNATURE, v);
                Some(ph)
            })
    {
        let at_ms = s.now_ms();
        let (status, error, _) = post(&s, &target, probe, &d.body).await;
        let verifies =
            status.map(|st| !u16::try_from(st).is_ok_and(wechatpay_core::notify::is_acknowledged));
        if verifies == Some(false) {
            tracing::warn!(url = %d.notify_url, "the receiver acknowledged a signature probe: it does not verify signatures");
        }
        let p = Probe {
            at_ms,
            status,
            error,
            verifies,
        };
        if let Err(e) = s.store().record_probe(d.id, &p) {
            tracing::error!(error = %wechatpay_core::ErrorChain(&e), "cannot record the signature probe");
        }
    }
    let (status, error, duration_ms) = post(&s, &target, h, &d.body).await;
    let schedule = if d.event_type.starts_with("PAYSCORE.USER_OPEN_SERVICE")
        || d.event_type.starts_with("PAYSCORE.USER_CLOSE_SERVICE")
    {
        &w.behaviour.authorization_callback_schedule_secs
    } else if d.event_type.starts_with("REFUND.") {
        &w.behaviour.refund_callback_schedule_secs
    } else {
        &w.behaviour.callback_schedule_secs
    };
    let (state, next) = if error.is_none() {
        ("delivered", None)
    } else if let Some(wait) = usize::try_from(d.attempts)
        .ok()
        .and_then(|i| schedule.get(i))
    {
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let wait_ms = (*wait as f64 * 1000.0 * w.behaviour.callback_time_scale) as i64;
        ("pending", Some(s.now_ms() + wait_ms.max(0)))
    } else {
        ("failed", None)
    };
    tracing::info!(event = %d.event_id, attempt_no, ?status, state, "callback attempt");
    finish(status, error, duration_ms, state, next);
    if let Some(due) = next {
        s.wake_worker_at(due);
    }
}

/// The URL to call, if callbacks may go there: parsed once, by the HTTP client's own URL
/// parser, and judged by the parsed host (text after an `@` or a `\\` means different hosts
/// to different parsers). With `remote` false only loopback hosts are allowed; user info
/// is never.
fn callback_target(url: &str, remote: bool) -> Result<reqwest::Url, &'static str> {
    let u = reqwest::Url::parse(url).map_err(|_| "notify_url is not a URL")?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err("notify_url is not http(s)");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("notify_url carries user info");
    }
    let host = u.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if remote || loopback {
        Ok(u)
    } else {
        Err("notify_url is not a loopback address (set behaviour.remote_callbacks = true to allow)")
    }
}

/// The start of a signature probe's `Wechatpay-Signature`.
const PROBE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// Whether delivery `id` is preceded by a signature probe: `percent` of them, by id.
fn probed(id: i64, percent: u8) -> bool {
    id.rem_euclid(100) < i64::from(percent)
}

/// Posts a callback body with headers `h`: the receiver's status, why it failed (a
/// non-2xx answer with its start, or no answer), and the round trip in ms.
async fn post(
    s: &AppState,
    target: &reqwest::Url,
    h: http::HeaderMap,
    body: &str,
) -> (Option<i64>, Option<String>, i64) {
    let started = Instant::now();
    let result = s
        .worker()
        .http
        .post(target.clone())
        .headers(h)
        .body(body.to_owned())
        .send()
        .await;
    let (status, error) = match result {
        Ok(mut r) => {
            // A 3xx is not followed (the client has no redirect policy): a failed attempt.
            let st = r.status().as_u16();
            // The start of the answer only, for the record.
            let mut head = Vec::new();
            while head.len() < 1024 {
                match r.chunk().await {
                    Ok(Some(c)) => head.extend_from_slice(&c[..c.len().min(1024)]),
                    _ => break,
                }
            }
            let body = String::from_utf8_lossy(&head);
            let ok = wechatpay_core::notify::is_acknowledged(st);
            (
                Some(i64::from(st)),
                (!ok).then(|| {
                    format!(
                        "receiver answered {st}: {}",
                        body.chars().take(200).collect::<String>()
                    )
                }),
            )
        }
        Err(e) => (
            None,
            Some(if e.is_timeout() {
                "receiver did not answer in time".to_owned()
            } else {
                format!("cannot reach receiver: {e}")
            }),
        ),
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    (status, error, duration_ms)
}

/// What a deduction from `openid` does: the test helper's setting, else the user's
/// `deduction` in `sandbox.toml`, else success.
fn deduction_outcome(
    s: &AppState,
    service_id: &str,
    openid: &str,
) -> Result<Deduction, StoreError> {
    Ok(
        match s
            .store()
            .setting(&format!("deduction:{openid}"))?
            .as_deref()
        {
            Some("fail") => Deduction::Fail,
            Some(_) => Deduction::Success,
            None => s
                .world()
                .users
                .get(&(service_id.to_owned(), openid.to_owned()))
                .copied()
                .unwrap_or_default(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::callback_target;

    #[test]
    fn loopback_hosts() {
        for u in [
            "http://127.0.0.1:9/n",
            "http://localhost/x",
            "https://[::1]:8443/n",
            "http://127.8.0.1/",
        ] {
            assert!(callback_target(u, false).is_ok(), "{u}");
        }
        for u in [
            "https://example.com/n",
            "http://10.0.0.1/n",
            "http://127.0.0.1.evil.com/",
            "http://user@example.com/",
            "ftp://127.0.0.1/",
            // The trial's: the host is 10.200.0.1 for the HTTP client (`\\` ends the host).
            "https://10.200.0.1:9441\\@127.0.0.1/n",
            "http://127.0.0.1@10.0.0.1/n",
        ] {
            assert!(callback_target(u, false).is_err(), "{u}");
        }
        assert!(callback_target("https://example.com/n", true).is_ok());
        assert!(callback_target("https://u:p@example.com/n", true).is_err());
    }
}
