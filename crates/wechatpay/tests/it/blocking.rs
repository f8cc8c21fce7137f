//! The blocking client: same names, no `.await`, against the sandbox.

use wechatpay_models::v3::payscore::OrderState;
use wechatpay_models::v3::payscore::partner::serviceorder::QueryRequest;

use crate::support::{Env, env_with, unique};

fn in_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    // The blocking client must not run inside an async runtime.
    std::thread::spawn(f).join().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_client_supports_all_three_styles() {
    let env: Env = env_with(|c| c.behaviour.deduction_delay_ms = 60_000).await;
    let client = env.builder().build_blocking().unwrap();
    let ids = env.g.client.ids.clone();
    let (a, b, c) = (
        env.order(&unique("BA"), "http://127.0.0.1:9/n"),
        env.order(&unique("BB"), "http://127.0.0.1:9/n"),
        env.order(&unique("BC"), "http://127.0.0.1:9/n"),
    );
    let order = in_thread(move || {
        assert_eq!(
            client
                .v3()
                .payscore()
                .partner()
                .serviceorder()
                .direct_complete()
                .post(&a)
                .unwrap(),
            None
        );
        assert_eq!(
            client
                .chain("v3/payscore/partner/serviceorder/direct-complete")
                .post(&b)
                .unwrap()
                .status(),
            204
        );
        client.send(&c).unwrap();
        let err = client.send(&a.clone().attach("changed")).unwrap_err();
        assert_eq!(
            err.code(),
            Some("INVALID_REQUEST"),
            "same out_order_no, other parameters: {err}"
        );
        client
            .send(
                &QueryRequest::default()
                    .service_id(ids.service_id.as_str())
                    .sub_mchid(ids.sub_mchid.as_str())
                    .out_order_no(c.out_order_no.as_str()),
            )
            .unwrap()
    });
    assert_eq!(order.state, Some(OrderState::Doing));
    assert_eq!(env.sandbox_orders().await.len(), 3);
}
