//! Every typed endpoint's rules are checked on every call path before anything is sent, and
//! a fluent leaf sends only the request its path names.

use std::time::Duration;

use wechatpay::{BuildError, Endpoint, Error};
use wechatpay_models::v3::payscore::PostPayment;
use wechatpay_models::v3::payscore::partner::serviceorder::{
    CancelRequest, CompleteRequest, ModifyRequest,
};

use crate::support::{env, unique};

fn complete(no: &str) -> CompleteRequest {
    // 300 fen of lines, but a total of 299: R1 is broken.
    CompleteRequest::default()
        .out_order_no(no)
        .service_id("500001")
        .sub_mchid("1900000109")
        .post_payments(vec![PostPayment::new("租金", 300)])
        .total_amount(299)
}

fn modify(no: &str) -> ModifyRequest {
    ModifyRequest::default()
        .out_order_no(no)
        .sub_mchid("1900000109")
        .post_payments(vec![PostPayment::new("租金", 200)])
        .total_amount(100)
        .reason("优惠")
}

fn refused_locally<T: std::fmt::Debug>(what: &str, r: wechatpay::Result<T>) {
    match r {
        Err(Error::Validation(v)) => assert!(v.has_field("/total_amount"), "{what}: {v}"),
        other => panic!("{what}: expected a local validation error, got {other:?}"),
    }
}

/// A client whose server does not exist: anything that reached the network would be a
/// transport error, so a validation error proves the request was refused locally.
fn offline(env: &crate::support::Env) -> wechatpay::ClientBuilder {
    env.builder()
        .base_url("http://127.0.0.1:9")
        .retry_backoff(Duration::from_millis(1))
}

#[tokio::test]
async fn wrong_totals_are_refused_locally_on_every_async_path() {
    let env = env().await;
    let client = offline(&env).build().unwrap();
    let no = unique("T");
    refused_locally("send complete", client.send(&complete(&no)).await);
    refused_locally("send modify", client.send(&modify(&no)).await);
    let order = || {
        client
            .v3()
            .payscore()
            .partner()
            .serviceorder()
            .out_order_no(&no)
    };
    refused_locally(
        "fluent complete",
        order().complete().post(&complete(&no)).await,
    );
    refused_locally("fluent modify", order().modify().post(&modify(&no)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_totals_are_refused_locally_on_every_blocking_path() {
    let env = env().await;
    let client = offline(&env).build_blocking().unwrap();
    let no = unique("T");
    std::thread::spawn(move || {
        refused_locally("blocking send complete", client.send(&complete(&no)));
        refused_locally("blocking send modify", client.send(&modify(&no)));
        let order = || {
            client
                .v3()
                .payscore()
                .partner()
                .serviceorder()
                .out_order_no(&no)
        };
        refused_locally(
            "blocking fluent complete",
            order().complete().post(&complete(&no)),
        );
        refused_locally(
            "blocking fluent modify",
            order().modify().post(&modify(&no)),
        );
    })
    .join()
    .unwrap();
}

#[tokio::test]
async fn a_fluent_leaf_refuses_a_request_for_another_order() {
    let env = env().await;
    let client = offline(&env).build().unwrap();
    let err = client
        .v3()
        .payscore()
        .partner()
        .serviceorder()
        .out_order_no("RENT1")
        .cancel()
        .post(
            &CancelRequest::default()
                .out_order_no("RENT2")
                .sub_mchid("1900000109")
                .reason("用户取消"),
        )
        .await
        .unwrap_err();
    let Error::Build(BuildError::ParamMismatch {
        name,
        chain,
        request,
    }) = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*name, chain.as_str(), request.as_str()),
        ("out_order_no", "RENT1", "RENT2")
    );
    assert_eq!(
        err.to_string(),
        "path parameter out_order_no is \"RENT1\" in the chain but \"RENT2\" in the request"
    );
}

#[test]
fn path_parameters_go_in_the_path_never_in_the_body() {
    let req = CancelRequest::default()
        .out_order_no("X|1")
        .sub_mchid("1900000109")
        .reason("用户取消");
    assert_eq!(
        req.target().unwrap(),
        "/v3/payscore/partner/serviceorder/X%7C1/cancel"
    );
    let body = String::from_utf8(req.body().unwrap()).unwrap();
    assert!(!body.contains("out_order_no"), "{body}");
    assert!(body.contains(r#""sub_mchid":"1900000109""#), "{body}");
}
