//! The JSON request bodies the sandbox parses (and the SDK validates): direct-complete,
//! create, complete, refund. Parsing and validation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_models::Endpoint;
use wechatpay_models::v3::payscore::partner::serviceorder::{
    CompleteRequest, CreateRequest, DirectCompleteRequest,
};
use wechatpay_models::v3::refund::domestic::RefundRequest;

fuzz_target!(|data: &[u8]| {
    let now = 1_764_146_249;
    if let Ok(r) = serde_json::from_slice::<DirectCompleteRequest>(data) {
        let _ = r.validate_at(now);
        let _ = r.body();
    }
    if let Ok(r) = serde_json::from_slice::<CreateRequest>(data) {
        let _ = r.validate_at(now);
    }
    if let Ok(r) = serde_json::from_slice::<CompleteRequest>(data) {
        let _ = r.validate_at(now);
    }
    if let Ok(r) = serde_json::from_slice::<RefundRequest>(data) {
        let _ = r.validate_at(now);
    }
});
