//! The fluent chain: one node per URL segment (`direct-complete` → `direct_complete()`),
//! path parameters as methods taking the value, and typed verbs on the leaves. Modules
//! mirror the URL, one per product: [`payscore::partner::serviceorder`] holds the nodes
//! under `v3/payscore/partner/serviceorder`.
//!
//! ```no_run
//! # use wechatpay_models::v3::payscore::partner::serviceorder::*;
//! # async fn run(client: wechatpay::Client, req: DirectCompleteRequest) -> wechatpay::Result<()> {
//! client.v3().payscore().partner().serviceorder().direct_complete().post(&req).await?;
//! let cancel = CancelRequest::new("RENT1", "1900000109", "user cancelled");
//! client.v3().payscore().partner().serviceorder().out_order_no("RENT1").cancel()
//!     .post(&cancel)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! A node that took a path parameter keeps its value, and a verb refuses a request
//! whose own field says otherwise ([`BuildError::ParamMismatch`](crate::BuildError)).
//! Every node also has `raw()`, the untyped [`Chain`] at that path, and `PATH`, its
//! template.
//!
//! The nodes are generated from one table (the `fluent!` invocation at the end of this
//! file) whose verbs name the request types; each verb's path is checked against its
//! request's [`Endpoint::PATH`] when the crate compiles, so a node cannot drift from
//! the endpoint it sends. [`operations`] lists every typed verb.

use http::Method;
use wechatpay_models::Endpoint;

use crate::chain::{Chain, ChainClient};
use crate::client::Client;

/// One typed verb of the fluent chain, as [`operations`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The request type.
    pub request: &'static str,
    /// The verb's method (`post` → `POST`).
    pub method: Method,
    /// The path template of the node the verb is on.
    pub path: &'static str,
    /// [`Endpoint::METHOD`] of the request type.
    pub endpoint_method: Method,
    /// [`Endpoint::PATH`] of the request type.
    pub endpoint_path: &'static str,
}

impl Operation {
    fn new<E: Endpoint>(verb: &str, path: &'static str) -> Self {
        Self {
            request: std::any::type_name::<E>(),
            method: Method::from_bytes(verb.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET),
            path,
            endpoint_method: E::METHOD,
            endpoint_path: E::PATH,
        }
    }
}

/// Every typed verb of the fluent chain, in table order.
#[must_use]
pub fn operations() -> Vec<Operation> {
    let mut out = Vec::new();
    V3::<Client>::operations(&mut out);
    out
}

/// Whether two strings are equal, at compile time.
#[doc(hidden)]
pub const fn same_path(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A node: its struct (the chain plus the path parameters taken so far), `PATH`, `raw()`,
/// its verbs and children.
macro_rules! node {
    ($(#[$doc:meta])* $Name:ident [$($p:ident),*] [$($tmpl:expr),*] { $($items:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        #[must_use]
        pub struct $Name<C> {
            chain: crate::chain::Chain<C>,
            $($p: String,)*
        }

        impl<C: crate::chain::ChainClient> $Name<C> {
            /// The path template of this node.
            pub const PATH: &'static str = concat!($($tmpl),*);

            /// The untyped chain at this path.
            pub fn raw(self) -> crate::chain::Chain<C> {
                self.chain
            }

            pub(crate) fn operations(out: &mut Vec<crate::fluent::Operation>) {
                list!(out; $($items)*);
            }
        }

        items!($Name [$($tmpl),*] [$($p),*] $($items)*);
    };
}

/// A node's verbs and children, one by one.
macro_rules! items {
    ($node:ident [$($tmpl:expr),*] [$($p:ident),*]) => {};

    // A typed verb: sends the request, after checking its path parameters against the
    // values the chain took.
    ($node:ident [$($tmpl:expr),*] [$($p:ident),*]
     $(#[$doc:meta])* $verb:ident => $Req:path; $($rest:tt)*) => {
        impl<C: crate::chain::ChainClient> $node<C> {
            $(#[$doc])*
            pub fn $verb(&self, req: &$Req) -> C::Output<<$Req as wechatpay_models::Endpoint>::Response> {
                $(
                    let given: &str = AsRef::<str>::as_ref(&req.$p);
                    if given != self.$p {
                        return self.chain.client.fail(crate::error::BuildError::ParamMismatch {
                            name: stringify!($p),
                            chain: self.$p.clone(),
                            request: given.to_owned(),
                        }.into());
                    }
                )*
                crate::chain::ChainClient::send_endpoint(&self.chain.client, req)
            }
        }
        const _: () = assert!(
            crate::fluent::same_path(<$Req as wechatpay_models::Endpoint>::PATH, concat!($($tmpl),*)),
            "{}",
            concat!("fluent path ", $($tmpl,)* " differs from Endpoint::PATH of ", stringify!($Req))
        );
        items!($node [$($tmpl),*] [$($p),*] $($rest)*);
    };

    // A child segment that opens a module.
    ($node:ident [$($tmpl:expr),*] [$($p:ident),*]
     $(#[$doc:meta])* $method:ident() mod $m:ident::$Child:ident $seg:literal { $($body:tt)* } $($rest:tt)*) => {
        $(#[$doc])*
        pub mod $m {
            node!($(#[$doc])* $Child [$($p),*] [$($tmpl,)* "/", $seg] { $($body)* });

            impl<C: crate::chain::ChainClient> super::$node<C> {
                $(#[$doc])*
                pub fn $method(self) -> $Child<C> {
                    $Child { chain: self.chain.join($seg), $($p: self.$p,)* }
                }
            }
        }
        items!($node [$($tmpl),*] [$($p),*] $($rest)*);
    };

    // A child segment in the same module.
    ($node:ident [$($tmpl:expr),*] [$($p:ident),*]
     $(#[$doc:meta])* $method:ident() $Child:ident $seg:literal { $($body:tt)* } $($rest:tt)*) => {
        node!($(#[$doc])* $Child [$($p),*] [$($tmpl,)* "/", $seg] { $($body)* });

        impl<C: crate::chain::ChainClient> $node<C> {
            $(#[$doc])*
            pub fn $method(self) -> $Child<C> {
                $Child { chain: self.chain.join($seg), $($p: self.$p,)* }
            }
        }
        items!($node [$($tmpl),*] [$($p),*] $($rest)*);
    };

    // A path parameter: the node keeps its value.
    ($node:ident [$($tmpl:expr),*] [$($p:ident),*]
     $(#[$doc:meta])* $param:ident(value) $Child:ident { $($body:tt)* } $($rest:tt)*) => {
        node!($(#[$doc])* $Child [$($p,)* $param] [$($tmpl,)* "/{", stringify!($param), "}"] { $($body)* });

        impl<C: crate::chain::ChainClient> $node<C> {
            $(#[$doc])*
            pub fn $param(self, value: impl Into<String>) -> $Child<C> {
                let value = value.into();
                $Child {
                    chain: self
                        .chain
                        .join(concat!("{", stringify!($param), "}"))
                        .param(stringify!($param), value.clone()),
                    $($p: self.$p,)*
                    $param: value,
                }
            }
        }
        items!($node [$($tmpl),*] [$($p),*] $($rest)*);
    };
}

/// The typed verbs of a node and of its children, for [`operations`].
macro_rules! list {
    ($out:ident;) => {};
    ($out:ident; $(#[$doc:meta])* $verb:ident => $Req:path; $($rest:tt)*) => {
        $out.push(crate::fluent::Operation::new::<$Req>(stringify!($verb), Self::PATH));
        list!($out; $($rest)*);
    };
    ($out:ident; $(#[$doc:meta])* $method:ident() mod $m:ident::$Child:ident $seg:literal { $($body:tt)* } $($rest:tt)*) => {
        $m::$Child::<crate::client::Client>::operations($out);
        list!($out; $($rest)*);
    };
    ($out:ident; $(#[$doc:meta])* $method:ident() $Child:ident $seg:literal { $($body:tt)* } $($rest:tt)*) => {
        $Child::<crate::client::Client>::operations($out);
        list!($out; $($rest)*);
    };
    ($out:ident; $(#[$doc:meta])* $param:ident(value) $Child:ident { $($body:tt)* } $($rest:tt)*) => {
        $Child::<crate::client::Client>::operations($out);
        list!($out; $($rest)*);
    };
}

impl Client {
    /// The fluent chain's root: `client.v3().payscore().partner()…`.
    pub fn v3(&self) -> V3<Client> {
        V3::new(self.clone())
    }
}

impl<C: ChainClient> V3<C> {
    pub(crate) fn new(client: C) -> Self {
        V3 {
            chain: Chain::new(client, "v3"),
        }
    }
}

// The table: every typed endpoint appears here once, as a verb naming its request type.
node! {
    /// `v3`: the root of the fluent chain.
    V3 [] ["/v3"] {
        /// `v3/payscore`: Pay Score (微信支付分).
        payscore() mod payscore::Payscore "payscore" {
            /// `v3/payscore/partner`: the service-provider (服务商) APIs.
            partner() mod partner::Partner "partner" {
                /// `v3/payscore/partner/permissions`: users' authorizations (免确认预授权).
                permissions() mod permissions::Permissions "permissions" {
                    /// Pre-authorizes a user: an `apply_permissions_token` for the page.
                    post => wechatpay_models::v3::payscore::partner::permissions::ApplyPermissionsRequest;
                    /// `…/search`.
                    search() Search "search" {
                        /// A user's authorization, by openid or sub_openid.
                        get => wechatpay_models::v3::payscore::partner::permissions::QueryPermissionsByOpenidRequest;
                    }
                    /// `…/terminate`.
                    terminate() Terminate "terminate" {
                        /// Ends a user's authorization, by openid or sub_openid (answers 204).
                        post => wechatpay_models::v3::payscore::partner::permissions::TerminatePermissionsRequest;
                    }
                    /// `…/authorization-code`.
                    authorization_code() AuthorizationCode "authorization-code" {
                        /// `…/authorization-code/{authorization_code}`: one authorization.
                        authorization_code(value) ByCode {
                            /// The authorization with this code.
                            get => wechatpay_models::v3::payscore::partner::permissions::QueryPermissionsByCodeRequest;
                            /// `…/{authorization_code}/terminate`.
                            terminate() TerminateByCode "terminate" {
                                /// Ends the authorization (answers 204).
                                post => wechatpay_models::v3::payscore::partner::permissions::TerminatePermissionsByCodeRequest;
                            }
                        }
                    }
                }
                /// `v3/payscore/partner/serviceorder`: service orders.
                serviceorder() mod serviceorder::Serviceorder "serviceorder" {
                    /// Creates a service order.
                    post => wechatpay_models::v3::payscore::partner::serviceorder::CreateRequest;
                    /// Queries a service order.
                    get => wechatpay_models::v3::payscore::partner::serviceorder::QueryRequest;
                    /// `…/direct-complete` (创单结单合并): create and complete in one call.
                    direct_complete() DirectComplete "direct-complete" {
                        /// Creates and completes the order: `None` for the documented 204,
                        /// `Some(order)` if the server answers 200 with the order.
                        post => wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest;
                    }
                    /// `…/{out_order_no}`: one order, by merchant order number.
                    out_order_no(value) Order {
                        /// `…/{out_order_no}/cancel`.
                        cancel() Cancel "cancel" {
                            /// Cancels the order (answers 204).
                            post => wechatpay_models::v3::payscore::partner::serviceorder::CancelRequest;
                        }
                        /// `…/{out_order_no}/complete`.
                        complete() Complete "complete" {
                            /// Completes the order with its final bill (answers 204).
                            post => wechatpay_models::v3::payscore::partner::serviceorder::CompleteRequest;
                        }
                        /// `…/{out_order_no}/modify`.
                        modify() Modify "modify" {
                            /// Lowers the amount being collected (answers 204).
                            post => wechatpay_models::v3::payscore::partner::serviceorder::ModifyRequest;
                        }
                        /// `…/{out_order_no}/pay`.
                        pay() Pay "pay" {
                            /// Asks WeChat Pay to collect now (answers 204).
                            post => wechatpay_models::v3::payscore::partner::serviceorder::PayRequest;
                        }
                        /// `…/{out_order_no}/sync`.
                        sync() Sync "sync" {
                            /// Reports a payment through the merchant's own channel (answers 204).
                            post => wechatpay_models::v3::payscore::partner::serviceorder::SyncRequest;
                        }
                    }
                }
            }
            /// `v3/payscore/permissions`: users' authorizations, for a direct merchant.
            permissions() mod permissions::Permissions "permissions" {
                /// Pre-authorizes a user: an `apply_permissions_token` for the page.
                post => wechatpay_models::v3::payscore::permissions::ApplyPermissionsRequest;
                /// `…/authorization-code`.
                authorization_code() AuthorizationCode "authorization-code" {
                    /// `…/authorization-code/{authorization_code}`: one authorization.
                    authorization_code(value) ByCode {
                        /// The authorization with this code.
                        get => wechatpay_models::v3::payscore::permissions::QueryPermissionsByCodeRequest;
                        /// `…/{authorization_code}/terminate`.
                        terminate() TerminateByCode "terminate" {
                            /// Ends the authorization (answers 204).
                            post => wechatpay_models::v3::payscore::permissions::TerminatePermissionsByCodeRequest;
                        }
                    }
                }
                /// `…/openid`.
                openid() Openid "openid" {
                    /// `…/openid/{openid}`: one user's authorization.
                    openid(value) ByOpenid {
                        /// The user's authorization.
                        get => wechatpay_models::v3::payscore::permissions::QueryPermissionsByOpenidRequest;
                        /// `…/{openid}/terminate`.
                        terminate() TerminateByOpenid "terminate" {
                            /// Ends the user's authorization (answers 204).
                            post => wechatpay_models::v3::payscore::permissions::TerminatePermissionsByOpenidRequest;
                        }
                    }
                }
            }
            /// `v3/payscore/serviceorder`: service orders of a direct merchant (普通商户).
            serviceorder() mod serviceorder::Serviceorder "serviceorder" {
                /// `…/direct-complete` (创单结单合并) for a direct merchant.
                direct_complete() DirectComplete "direct-complete" {
                    /// Creates and completes the order (answers 200 with the order).
                    post => wechatpay_models::v3::payscore::serviceorder::DirectCompleteRequest;
                }
            }
        }
        /// `v3/refund`: refunds.
        refund() mod refund::Refund "refund" {
            /// `v3/refund/domestic`.
            domestic() Domestic "domestic" {
                /// `v3/refund/domestic/refunds`.
                refunds() Refunds "refunds" {
                    /// Refunds (part of) a payment: for Pay Score, a deduction's `transaction_id`.
                    post => wechatpay_models::v3::refund::domestic::RefundRequest;
                    /// `…/refunds/{out_refund_no}`: one refund.
                    out_refund_no(value) ByOutRefundNo {
                        /// The refund's state.
                        get => wechatpay_models::v3::refund::domestic::QueryRefundRequest;
                    }
                }
            }
        }
        /// `v3/bill`: bills for reconciliation (download them with `Client::download_bill`).
        bill() mod bill::Bill "bill" {
            /// `v3/bill/tradebill`.
            tradebill() Tradebill "tradebill" {
                /// Applies for a trade bill.
                get => wechatpay_models::v3::bill::TradeBillRequest;
            }
            /// `v3/bill/fundflowbill`.
            fundflowbill() Fundflowbill "fundflowbill" {
                /// Applies for the service provider's fund-flow bill.
                get => wechatpay_models::v3::bill::FundFlowBillRequest;
            }
            /// `v3/bill/sub-merchant-fundflowbill`.
            sub_merchant_fundflowbill() SubMerchantFundflowbill "sub-merchant-fundflowbill" {
                /// Applies for a sub-merchant's (encrypted) fund-flow bill.
                get => wechatpay_models::v3::bill::SubMerchantFundFlowBillRequest;
            }
        }
    }
}
