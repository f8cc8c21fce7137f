//! The endpoint table: every typed endpoint, once, as a tree of URL segments whose
//! leaves name the verb and the request type. The client expands it into its fluent chain
//! (`client.v3().payscore()…`), the sandbox into its router; this crate checks at compile
//! time that each leaf's path is its request type's [`Endpoint::PATH`](crate::Endpoint::PATH)
//! and, in a test, that its verb is the type's method.

/// Calls `$callback! { … }` with the table: the children of `v3`, each one of
///
/// * `$(#[doc])* verb => RequestType;` a typed endpoint at this node (`get`, `post`, …);
/// * `$(#[doc])* method() mod module::Node "segment" { … }` a segment opening a module;
/// * `$(#[doc])* method() Node "segment" { … }` a segment in the same module;
/// * `$(#[doc])* name(value) Node { … }` a path parameter `{name}`.
///
/// `for_each_endpoint!(leaves $callback, (args…))` calls instead, for each leaf,
/// `$callback!((args…) verb RequestType [path pieces])`, where the pieces `concat!` to the
/// path of the leaf's node, in the position of the invocation (items or statements).
///
/// Adding an endpoint is one leaf here (see CONTRIBUTING.md); the sandbox does not compile
/// until it handles it.
#[macro_export]
#[doc(hidden)]
macro_rules! for_each_endpoint {
    (leaves $callback:path, ($($args:tt)*)) => {
        $crate::for_each_endpoint!($crate::__endpoint_leaves; $callback, ($($args)*) ["/v3"]);
    };
    ($callback:path $(; $($prefix:tt)*)?) => {
        $callback! {
            $($($prefix)*)?
            /// `v3/payscore`: Pay Score (微信支付分).
            payscore() mod payscore::Payscore "payscore" {
                /// `v3/payscore/partner`: the service-provider (服务商) APIs.
                partner() mod partner::Partner "partner" {
                    /// `v3/payscore/partner/permissions`: users' authorizations (免确认预授权).
                    permissions() mod permissions::Permissions "permissions" {
                        /// Pre-authorizes a user: an `apply_permissions_token` for the page.
                        post => $crate::v3::payscore::partner::permissions::ApplyPermissionsRequest;
                        /// `…/search`.
                        search() Search "search" {
                            /// A user's authorization, by openid or sub_openid.
                            get => $crate::v3::payscore::partner::permissions::QueryPermissionsByOpenidRequest;
                        }
                        /// `…/terminate`.
                        terminate() Terminate "terminate" {
                            /// Ends a user's authorization, by openid or sub_openid (answers 204).
                            post => $crate::v3::payscore::partner::permissions::TerminatePermissionsRequest;
                        }
                        /// `…/authorization-code`.
                        authorization_code() AuthorizationCode "authorization-code" {
                            /// `…/authorization-code/{authorization_code}`: one authorization.
                            authorization_code(value) ByCode {
                                /// The authorization with this code.
                                get => $crate::v3::payscore::partner::permissions::QueryPermissionsByCodeRequest;
                                /// `…/{authorization_code}/terminate`.
                                terminate() TerminateByCode "terminate" {
                                    /// Ends the authorization (answers 204).
                                    post => $crate::v3::payscore::partner::permissions::TerminatePermissionsByCodeRequest;
                                }
                            }
                        }
                    }
                    /// `v3/payscore/partner/serviceorder`: service orders.
                    serviceorder() mod serviceorder::Serviceorder "serviceorder" {
                        /// Creates a service order.
                        post => $crate::v3::payscore::partner::serviceorder::CreateRequest;
                        /// Queries a service order.
                        get => $crate::v3::payscore::partner::serviceorder::QueryRequest;
                        /// `…/direct-complete` (创单结单合并): create and complete in one call.
                        direct_complete() DirectComplete "direct-complete" {
                            /// Creates and completes the order: `None` for the documented 204,
                            /// `Some(order)` if the server answers 200 with the order.
                            post => $crate::v3::payscore::partner::serviceorder::DirectCompleteRequest;
                        }
                        /// `…/{out_order_no}`: one order, by merchant order number.
                        out_order_no(value) Order {
                            /// `…/{out_order_no}/cancel`.
                            cancel() Cancel "cancel" {
                                /// Cancels the order (answers 204).
                                post => $crate::v3::payscore::partner::serviceorder::CancelRequest;
                            }
                            /// `…/{out_order_no}/complete`.
                            complete() Complete "complete" {
                                /// Completes the order with its final bill (answers 204).
                                post => $crate::v3::payscore::partner::serviceorder::CompleteRequest;
                            }
                            /// `…/{out_order_no}/modify`.
                            modify() Modify "modify" {
                                /// Lowers the amount being collected (answers 204).
                                post => $crate::v3::payscore::partner::serviceorder::ModifyRequest;
                            }
                            /// `…/{out_order_no}/pay`.
                            pay() Pay "pay" {
                                /// Asks WeChat Pay to collect now (answers 204).
                                post => $crate::v3::payscore::partner::serviceorder::PayRequest;
                            }
                            /// `…/{out_order_no}/sync`.
                            sync() Sync "sync" {
                                /// Reports a payment through the merchant's own channel (answers 204).
                                post => $crate::v3::payscore::partner::serviceorder::SyncRequest;
                            }
                        }
                    }
                }
                /// `v3/payscore/permissions`: users' authorizations, for a direct merchant.
                permissions() mod permissions::Permissions "permissions" {
                    /// Pre-authorizes a user: an `apply_permissions_token` for the page.
                    post => $crate::v3::payscore::permissions::ApplyPermissionsRequest;
                    /// `…/authorization-code`.
                    authorization_code() AuthorizationCode "authorization-code" {
                        /// `…/authorization-code/{authorization_code}`: one authorization.
                        authorization_code(value) ByCode {
                            /// The authorization with this code.
                            get => $crate::v3::payscore::permissions::QueryPermissionsByCodeRequest;
                            /// `…/{authorization_code}/terminate`.
                            terminate() TerminateByCode "terminate" {
                                /// Ends the authorization (answers 204).
                                post => $crate::v3::payscore::permissions::TerminatePermissionsByCodeRequest;
                            }
                        }
                    }
                    /// `…/openid`.
                    openid() Openid "openid" {
                        /// `…/openid/{openid}`: one user's authorization.
                        openid(value) ByOpenid {
                            /// The user's authorization.
                            get => $crate::v3::payscore::permissions::QueryPermissionsByOpenidRequest;
                            /// `…/{openid}/terminate`.
                            terminate() TerminateByOpenid "terminate" {
                                /// Ends the user's authorization (answers 204).
                                post => $crate::v3::payscore::permissions::TerminatePermissionsByOpenidRequest;
                            }
                        }
                    }
                }
                /// `v3/payscore/serviceorder`: service orders of a direct merchant (普通商户).
                serviceorder() mod serviceorder::Serviceorder "serviceorder" {
                    /// Creates a service order.
                    post => $crate::v3::payscore::serviceorder::CreateRequest;
                    /// Queries a service order.
                    get => $crate::v3::payscore::serviceorder::QueryRequest;
                    /// `…/direct-complete` (创单结单合并) for a direct merchant.
                    direct_complete() DirectComplete "direct-complete" {
                        /// Creates and completes the order (answers 200 with the order).
                        post => $crate::v3::payscore::serviceorder::DirectCompleteRequest;
                    }
                    /// `…/{out_order_no}`: one order, by merchant order number.
                    out_order_no(value) Order {
                        /// `…/{out_order_no}/cancel`.
                        cancel() Cancel "cancel" {
                            /// Cancels the order (answers 200 with its ids).
                            post => $crate::v3::payscore::serviceorder::CancelRequest;
                        }
                        /// `…/{out_order_no}/complete`.
                        complete() Complete "complete" {
                            /// Completes the order with its final bill (answers 200).
                            post => $crate::v3::payscore::serviceorder::CompleteRequest;
                        }
                        /// `…/{out_order_no}/modify`.
                        modify() Modify "modify" {
                            /// Lowers the amount being collected (answers 200).
                            post => $crate::v3::payscore::serviceorder::ModifyRequest;
                        }
                        /// `…/{out_order_no}/pay`.
                        pay() Pay "pay" {
                            /// Asks WeChat Pay to collect now (answers 200 with its ids).
                            post => $crate::v3::payscore::serviceorder::PayRequest;
                        }
                        /// `…/{out_order_no}/sync`.
                        sync() Sync "sync" {
                            /// Reports a payment through the merchant's own channel (answers 200).
                            post => $crate::v3::payscore::serviceorder::SyncRequest;
                        }
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
                        post => $crate::v3::refund::domestic::RefundRequest;
                        /// `…/refunds/{out_refund_no}`: one refund.
                        out_refund_no(value) ByOutRefundNo {
                            /// The refund's state.
                            get => $crate::v3::refund::domestic::QueryRefundRequest;
                        }
                        /// `…/refunds/{refund_id}`: one refund, by WeChat Pay's id.
                        refund_id(value) ByRefundId {
                            /// `…/{refund_id}/apply-abnormal-refund`.
                            apply_abnormal_refund() ApplyAbnormalRefund "apply-abnormal-refund" {
                                /// Sends an ABNORMAL refund again, to another account.
                                post => $crate::v3::refund::domestic::ApplyAbnormalRefundRequest;
                            }
                        }
                    }
                }
            }
            /// `v3/bill`: bills for reconciliation (download them with `Client::download_bill`).
            bill() mod bill::Bill "bill" {
                /// `v3/bill/tradebill`.
                tradebill() Tradebill "tradebill" {
                    /// Applies for a trade bill.
                    get => $crate::v3::bill::TradeBillRequest;
                }
                /// `v3/bill/fundflowbill`.
                fundflowbill() Fundflowbill "fundflowbill" {
                    /// Applies for the service provider's fund-flow bill.
                    get => $crate::v3::bill::FundFlowBillRequest;
                }
                /// `v3/bill/sub-merchant-fundflowbill`.
                sub_merchant_fundflowbill() SubMerchantFundflowbill "sub-merchant-fundflowbill" {
                    /// Applies for a sub-merchant's (encrypted) fund-flow bill.
                    get => $crate::v3::bill::SubMerchantFundFlowBillRequest;
                }
            }
        }
    };
}

/// Walks the table's tree for `for_each_endpoint!(leaves …)`.
#[macro_export]
#[doc(hidden)]
macro_rules! __endpoint_leaves {
    ($cb:path, $args:tt [$($tmpl:expr),*]) => {};
    ($cb:path, $args:tt [$($tmpl:expr),*] $(#[$doc:meta])* $verb:ident => $Req:path; $($rest:tt)*) => {
        $cb!($args $verb $Req [$($tmpl),*]);
        $crate::__endpoint_leaves!($cb, $args [$($tmpl),*] $($rest)*);
    };
    ($cb:path, $args:tt [$($tmpl:expr),*] $(#[$doc:meta])* $method:ident() mod $m:ident::$Child:ident $seg:literal { $($body:tt)* } $($rest:tt)*) => {
        $crate::__endpoint_leaves!($cb, $args [$($tmpl,)* "/", $seg] $($body)*);
        $crate::__endpoint_leaves!($cb, $args [$($tmpl),*] $($rest)*);
    };
    ($cb:path, $args:tt [$($tmpl:expr),*] $(#[$doc:meta])* $method:ident() $Child:ident $seg:literal { $($body:tt)* } $($rest:tt)*) => {
        $crate::__endpoint_leaves!($cb, $args [$($tmpl,)* "/", $seg] $($body)*);
        $crate::__endpoint_leaves!($cb, $args [$($tmpl),*] $($rest)*);
    };
    ($cb:path, $args:tt [$($tmpl:expr),*] $(#[$doc:meta])* $param:ident(value) $Child:ident { $($body:tt)* } $($rest:tt)*) => {
        $crate::__endpoint_leaves!($cb, $args [$($tmpl,)* "/{", stringify!($param), "}"] $($body)*);
        $crate::__endpoint_leaves!($cb, $args [$($tmpl),*] $($rest)*);
    };
}

/// One leaf, checked: its node's path is its request type's `Endpoint::PATH` (a compile
/// error otherwise), and it is recorded for the tests (its request type must be built by
/// name from `Default`).
macro_rules! check_leaf {
    (($out:ident) $verb:ident $Req:path [$($tmpl:expr),*]) => {
        const _: () = assert!(
            same(<$Req as $crate::Endpoint>::PATH, concat!($($tmpl),*)),
            "{}",
            concat!("the table lists ", stringify!($Req), " at ", $($tmpl,)* ", not at its Endpoint::PATH")
        );
        $out.push(Leaf {
            verb: stringify!($verb),
            method: <$Req as $crate::Endpoint>::METHOD,
            path: <$Req as $crate::Endpoint>::PATH,
            empty: || $crate::Endpoint::validate_at(&<$Req as Default>::default(), 1_764_144_000),
        });
    };
}

/// One leaf of the table, for its tests.
#[cfg_attr(not(test), allow(dead_code))]
struct Leaf {
    verb: &'static str,
    method: http::Method,
    path: &'static str,
    /// `validate_at` of the request built with nothing set (`Default`).
    empty: fn() -> Result<(), crate::ValidationErrors>,
}

/// Every leaf of the table.
#[cfg_attr(not(test), allow(dead_code))]
fn all_leaves() -> Vec<Leaf> {
    let mut out = Vec::new();
    for_each_endpoint!(leaves check_leaf, (out));
    out
}

/// Whether two strings are equal, at compile time. (Its only callers are constant
/// assertions, which Rust 1.88, the MSRV, does not count as uses.)
#[allow(dead_code)]
const fn same(a: &str, b: &str) -> bool {
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

#[cfg(test)]
mod tests {
    #[test]
    fn each_leaf_is_listed_under_its_method_and_once() {
        let leaves = super::all_leaves();
        assert!(leaves.len() >= 30, "{}", leaves.len());
        for l in &leaves {
            assert_eq!(l.verb.to_ascii_uppercase(), l.method.as_str(), "{}", l.path);
        }
        let mut seen: Vec<_> = leaves.iter().map(|l| (l.method.as_str(), l.path)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), leaves.len(), "one leaf per method and path");
    }

    /// Requests are built by name from `Default`: one with nothing set is refused locally,
    /// each required field named.
    #[test]
    fn a_request_with_nothing_set_is_refused_naming_its_required_fields() {
        for l in super::all_leaves() {
            let e = (l.empty)().expect_err(l.path);
            assert!(
                e.violations()
                    .iter()
                    .any(|v| v.rule == crate::Rule::Required),
                "{}: {e}",
                l.path
            );
        }
    }
}
