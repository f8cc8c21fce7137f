//! `v3/payscore/serviceorder/…`: the service-order family of a direct merchant (普通商户).
//!
//! The same calls as [`partner::serviceorder`](super::partner::serviceorder), at the paths
//! without `/partner`, with the merchant's `appid` where the partner calls name a
//! `sub_mchid`, and answering `200` with the order where the partner calls answer `204`
//! (spec §6.1; WeChat Pay's merchant samples). Their rules are the partner calls' rules:
//! each converts into its partner twin (`From`) with an empty `sub_mchid`, which is also how
//! a server can handle both modes with one code path.

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
pub use direct_complete::DirectCompleteRequest;
pub use modify::ModifyRequest;
pub use pay::PayRequest;
pub use query::QueryRequest;
pub use sync::SyncRequest;
