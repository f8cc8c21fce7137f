//! Every typed endpoint, described once: the fluent chain, the description and the sandbox
//! agree on it; and its rules are checked on every call path before anything is sent.

use std::time::Duration;

use wechatpay::fluent::operations;
use wechatpay::{BuildError, Endpoint, Error};
use wechatpay_models::v3::payscore::PostPayment;
use wechatpay_models::v3::payscore::partner::serviceorder::{
    CancelRequest, CompleteRequest, ModifyRequest,
};

use crate::support::{env, unique};

#[test]
fn the_fluent_chain_yields_each_endpoints_method_and_path() {
    let ops = operations();
    assert!(ops.len() >= 9, "{ops:#?}");
    for op in &ops {
        assert_eq!(op.method, op.endpoint_method, "{op:#?}");
        assert_eq!(op.path, op.endpoint_path, "{op:#?}");
        assert!(op.path.starts_with("/v3/"), "{op:#?}");
    }
    let mut seen: Vec<_> = ops.iter().map(|o| (o.method.clone(), o.path)).collect();
    seen.sort_by_key(|(m, p)| (m.to_string(), *p));
    seen.dedup();
    assert_eq!(seen.len(), ops.len(), "one verb per method and path");
}

#[tokio::test]
async fn the_sandbox_routes_every_typed_endpoint() {
    let env = env().await;
    let client = env.client();
    for op in operations() {
        // Path parameters get a harmless value; the body is an empty object. A routed
        // endpoint answers with WeChat's JSON error (or success); an unrouted one with
        // an empty 404/405.
        let mut chain = client.chain(op.path);
        for seg in op.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                chain = chain.param(name, "ROUTE1");
            }
        }
        let answer = match op.method.as_str() {
            "GET" => chain.get().await,
            _ => chain.send_bytes(op.method.clone(), "{}").await,
        };
        match answer {
            Ok(r) => assert!(r.status().is_success(), "{op:?}"),
            Err(Error::Api(e)) => {
                assert!(
                    e.code().is_some(),
                    "{} {} is not routed: {e}",
                    op.method,
                    op.path
                );
                assert_ne!(e.status(), 405, "{op:?}");
            }
            Err(e) => panic!("{} {}: {e}", op.method, op.path),
        }
    }
}

fn complete(no: &str) -> CompleteRequest {
    // 300 fen of lines, but a total of 299: R1 is broken.
    CompleteRequest::new(
        no,
        "500001",
        "1900000109",
        vec![PostPayment::new("租金", 300)],
        299,
    )
}

fn modify(no: &str) -> ModifyRequest {
    ModifyRequest::new(
        no,
        "1900000109",
        vec![PostPayment::new("租金", 200)],
        100,
        "优惠",
    )
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
        .post(&CancelRequest::new("RENT2", "1900000109", "用户取消"))
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
    let req = CancelRequest::new("X|1", "1900000109", "用户取消");
    assert_eq!(
        req.target().unwrap(),
        "/v3/payscore/partner/serviceorder/X%7C1/cancel"
    );
    let body = String::from_utf8(req.body().unwrap()).unwrap();
    assert!(!body.contains("out_order_no"), "{body}");
    assert!(body.contains(r#""sub_mchid":"1900000109""#), "{body}");
}
