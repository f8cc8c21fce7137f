//! Typed request and response models for WeChat Pay APIv3, starting with the Pay Score
//! (微信支付分) service-order family.
//!
//! * Modules mirror the URL: `v3/payscore/partner/serviceorder/direct-complete` →
//!   [`v3::payscore::partner::serviceorder::DirectCompleteRequest`].
//! * Requests are built by name: `CancelRequest::default().out_order_no("RENT1")…`, one
//!   setter per field, so two ids cannot be swapped unseen; a required field left out is
//!   refused by `validate_at` before sending, naming it. `null` is never serialised.
//! * Money is integer fen ([`Fen`]); never floats.
//! * Response models are lenient: unknown fields are ignored and enums keep values they do
//!   not know in an `Unknown(String)` variant, because WeChat adds states without notice.
//! * Each request type describes its endpoint ([`Endpoint`]: method, path template, path
//!   and query parameters, body encoding, answer type) next to its struct, and validates
//!   the documented rules locally ([`Endpoint::validate_at`]), reporting every violation
//!   at once, each naming the field and the rule.
//!
//! This crate has no crypto and no HTTP: it is shared by the client and the sandbox.

pub mod endpoint;
#[macro_use]
mod setters;
mod enums;
mod error;
mod ids;
mod table;
pub mod validate;

pub use endpoint::{
    BodyKind, DecodeRequestError, Endpoint, MissingPathParam, encode_segment, fill_template,
};
pub use error::{ApiErrorBody, ApiErrorDetail};
pub use ids::{AppId, Fen, MchId, OpenId, OrderId, OutOrderNo, ServiceId, TransactionId};
pub use validate::{Rule, ValidationErrors, Violation};

/// APIv3 models, by URL path.
pub mod v3 {
    /// `v3/payscore/…`: Pay Score (微信支付分).
    pub mod payscore {
        mod order;
        mod rules;
        mod values;
        pub use order::*;
        pub use values::*;
        /// `v3/payscore/partner/…`: the service-provider (服务商) APIs.
        pub mod partner {
            pub mod permissions;
            pub mod serviceorder;
        }
        pub mod permissions;
        pub mod serviceorder;
    }
    /// `v3/refund/…`: refunds.
    pub mod refund {
        pub mod domestic;
    }
    pub mod bill;
}
