//! `v3/payscore/partner/serviceorder/…`: Pay Score service orders for service providers
//! (服务商). The headline endpoint is [`DirectCompleteRequest`] (创单结单合并).
//!
//! One file per endpoint: the request struct and its [`Endpoint`](crate::Endpoint)
//! description side by side.

mod cancel;
mod complete;
mod create;
mod direct_complete;
mod modify;
mod pay;
mod query;
mod sync;

pub use cancel::CancelRequest;
pub use complete::CompleteRequest;
pub use create::CreateRequest;
pub use direct_complete::{DirectCompleteRequest, MAX_DIRECT_COMPLETE_DISCOUNTS};
pub use modify::ModifyRequest;
pub use pay::PayRequest;
pub use query::QueryRequest;
pub use sync::{SyncDetail, SyncRequest};

#[cfg(test)]
pub(crate) mod sample {
    use super::super::super::{PostDiscount, PostPayment, TimeRange};
    use super::DirectCompleteRequest;

    /// 2025-11-26 16:00:00 Beijing.
    pub(crate) const NOW: i64 = 1_764_144_000;

    pub(crate) fn direct_complete() -> DirectCompleteRequest {
        DirectCompleteRequest::new(
            "500001",
            "wxd678efh567hg6787",
            "1900000109",
            "1234323JKHDFE1243252",
            "某某酒店",
            vec![
                PostPayment::new("就餐费用", 40000)
                    .description("就餐人均100元")
                    .count(4),
            ],
            39900,
            TimeRange::new("20251126100000", "20251126120000"),
            "https://api.test.com",
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        )
        .post_discounts(vec![PostDiscount::new(
            "满20减1元",
            "不与其他优惠叠加",
            100,
        )])
    }
}
