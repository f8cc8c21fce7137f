//! The fluent chain: one node per URL segment (`direct-complete` → `direct_complete()`),
//! path parameters as methods taking the value, and typed verbs on the leaves. Modules
//! mirror the URL, one per product: [`payscore::partner::serviceorder`] holds the nodes
//! under `v3/payscore/partner/serviceorder`.
//!
//! ```no_run
//! # use wechatpay_models::v3::payscore::partner::serviceorder::*;
//! # async fn run(client: wechatpay::Client, req: DirectCompleteRequest) -> wechatpay::Result<()> {
//! client.v3().payscore().partner().serviceorder().direct_complete().post(&req).await?;
//! let cancel = CancelRequest::default()
//!     .out_order_no("RENT1")
//!     .sub_mchid("1900000109")
//!     .reason("user cancelled");
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
//! The nodes are generated from the endpoint table of `wechatpay-models`
//! (`for_each_endpoint!`), whose leaves name the request types; that crate checks each
//! leaf's path against its request's [`Endpoint::PATH`](wechatpay_models::Endpoint::PATH)
//! when it compiles, and the sandbox routes the same table, so a node cannot drift from the
//! endpoint it sends or the sandbox's handler.

use crate::chain::{Chain, ChainClient};
use crate::client::Client;

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

/// The root node around the table's tree.
macro_rules! fluent_root {
    ($($tree:tt)*) => {
        node! {
            /// `v3`: the root of the fluent chain.
            V3 [] ["/v3"] { $($tree)* }
        }
    };
}

wechatpay_models::for_each_endpoint!(fluent_root);
