//! The sandbox's request path without sockets, next to the RSA work it cannot avoid:
//! a signed partner direct-complete goes through the whole router (request log,
//! authentication with its RSA verify, decoding, validation, the SQLite file, the signed
//! answer), against one bare RSA verify plus one sign. A change that adds work to every
//! request shows as a larger ratio of the two (`docs/performance.md`). The same path with
//! the database in memory shows what the file costs.
//!
//! `cargo bench -p wechatpay-sandbox --bench request_path`

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tower::ServiceExt as _;
use wechatpay_core::{PrivateKey, SignableRequest};
use wechatpay_models::Endpoint as _;
use wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest;
use wechatpay_models::v3::payscore::{PostDiscount, PostPayment, TimeRange};

fn request_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let g = wechatpay_sandbox::generate(wechatpay_sandbox::now()).unwrap();
    let mut config = g.config.clone();
    config.database = dir.path().join("bench.sqlite").display().to_string();
    // Orders stay collecting: the work measured is direct-complete itself.
    config.behaviour.deduction_delay_ms = 3_600_000;
    config.services[0].risk_cap = i64::MAX;
    let app = rt.block_on(async {
        wechatpay_sandbox::app(wechatpay_sandbox::AppState::new(&config, dir.path()).unwrap())
    });
    config.database = ":memory:".into();
    let in_memory = rt.block_on(async {
        wechatpay_sandbox::app(wechatpay_sandbox::AppState::new(&config, dir.path()).unwrap())
    });
    let cl = &g.client;
    let key = PrivateKey::from_pem(&cl.private_key_pem).unwrap();
    let seq = AtomicU64::new(0);
    let signed = || {
        let now = wechatpay_sandbox::now();
        let i = seq.fetch_add(1, Ordering::Relaxed);
        let order = DirectCompleteRequest::default()
            .service_id(cl.ids.service_id.as_str())
            .appid(cl.ids.appid.as_str())
            .sub_mchid(cl.ids.sub_mchid.as_str())
            .out_order_no(format!("BENCH{i}"))
            .service_introduction("共享充电宝")
            .post_payments(vec![
                PostPayment::new("使用时长", 300)
                    .description("3小时")
                    .count(3),
            ])
            .total_amount(250)
            .time_range(TimeRange::from_unix(now - 3600, now - 60))
            .notify_url("http://127.0.0.1:9/notify")
            .openid(cl.ids.openid.as_str())
            .post_discounts(vec![PostDiscount::new("新用户立减", "首单优惠", 50)]);
        let body = serde_json::to_vec(&order).unwrap();
        let path = DirectCompleteRequest::PATH;
        let nonce = wechatpay_core::RandomNonce::alphanumeric(32);
        let auth = SignableRequest::new("POST", path, &body)
            .sign(&cl.mchid, &cl.serial, &key, now, &nonce)
            .unwrap();
        Request::post(path)
            .header(header::HOST, "127.0.0.1:8780")
            .header(header::AUTHORIZATION, auth.to_string())
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "request-path-bench")
            .body(Body::from(body))
            .unwrap()
    };
    let answer = rt.block_on(app.clone().oneshot(signed())).unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.status());

    let mut g = c.benchmark_group("sandbox request path");
    g.bench_function("direct-complete, SQLite file", |b| {
        b.iter_batched(
            signed,
            |req| rt.block_on(app.clone().oneshot(req)).unwrap(),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("direct-complete, database in memory", |b| {
        b.iter_batched(
            signed,
            |req| rt.block_on(in_memory.clone().oneshot(req)).unwrap(),
            BatchSize::SmallInput,
        );
    });
    let public = key.public_key().unwrap();
    let message = vec![b'x'; 600];
    let sig = key.sign(&message).unwrap();
    g.bench_function("bare RSA: one verify and one sign", |b| {
        b.iter(|| {
            assert!(public.verify(&message, &sig));
            key.sign(&message).unwrap()
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = request_path
}
criterion_main!(benches);
