//! The fluent chain: one method per URL segment (`direct-complete` → `direct_complete()`),
//! path parameters as methods taking the value, and typed verbs on the leaves.
//!
//! ```no_run
//! # use wechatpay_models::v3::payscore::partner::serviceorder::*;
//! # async fn run(client: wechatpay::Client, req: DirectCompleteRequest) -> wechatpay::Result<()> {
//! client.v3().payscore().partner().serviceorder().direct_complete().post(&req).await?;
//! client.v3().payscore().partner().serviceorder().out_order_no("RENT1").cancel()
//!     .post(&CancelRequest { sub_mchid: "1900000109".into(), service_id: None, reason: "user cancelled".into() })
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Every node also has `raw()`, the untyped [`Chain`] at that path.

use wechatpay_models::v3::payscore::{
    ServiceOrder, partner::serviceorder as partner, serviceorder as direct,
};

use crate::chain::{Chain, Transport};
use crate::request::ForOrder;

macro_rules! node {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        #[must_use]
        #[repr(transparent)]
        pub struct $name<C>(Chain<C>);

        impl<C: Transport> $name<C> {
            /// The untyped chain at this path.
            pub fn raw(self) -> Chain<C> {
                self.0
            }
        }
    };
}

macro_rules! child {
    ($parent:ident { $($(#[$doc:meta])* $method:ident => $child:ident $segment:literal;)* }) => {
        impl<C: Transport> $parent<C> {
            $($(#[$doc])* pub fn $method(self) -> $child<C> {
                $child(self.0.join($segment))
            })*
        }
    };
}

node!(/// `v3`
    V3);
node!(/// `v3/payscore`
    Payscore);
node!(/// `v3/payscore/partner`
    PayscorePartner);
node!(/// `v3/payscore/partner/serviceorder`: create (`post`) and query (`get`).
    PartnerServiceorder);
node!(/// `v3/payscore/partner/serviceorder/direct-complete` (创单结单合并).
    PartnerDirectComplete);
node!(/// `v3/payscore/partner/serviceorder/{out_order_no}`.
    PartnerOrder);
node!(/// `…/{out_order_no}/cancel`.
    PartnerCancel);
node!(/// `…/{out_order_no}/complete`.
    PartnerComplete);
node!(/// `…/{out_order_no}/modify`.
    PartnerModify);
node!(/// `…/{out_order_no}/pay`.
    PartnerPay);
node!(/// `…/{out_order_no}/sync`.
    PartnerSync);
node!(/// `v3/payscore/serviceorder` (direct merchant).
    Serviceorder);
node!(/// `v3/payscore/serviceorder/direct-complete` (direct merchant).
    DirectComplete);

impl<C: Transport> V3<C> {
    pub(crate) fn new(client: C) -> Self {
        V3(Chain::new(client, "v3"))
    }
}

child!(V3 { /// `payscore`
    payscore => Payscore "payscore"; });
child!(Payscore {
    /// `partner`
    partner => PayscorePartner "partner";
    /// `serviceorder` (direct merchant)
    serviceorder => Serviceorder "serviceorder";
});
child!(PayscorePartner { /// `serviceorder`
    serviceorder => PartnerServiceorder "serviceorder"; });
child!(PartnerServiceorder { /// `direct-complete`
    direct_complete => PartnerDirectComplete "direct-complete"; });
child!(PartnerOrder {
    /// `cancel`
    cancel => PartnerCancel "cancel";
    /// `complete`
    complete => PartnerComplete "complete";
    /// `modify`
    modify => PartnerModify "modify";
    /// `pay`
    pay => PartnerPay "pay";
    /// `sync`
    sync => PartnerSync "sync";
});
child!(Serviceorder { /// `direct-complete`
    direct_complete => DirectComplete "direct-complete"; });

impl<C: Transport> PartnerServiceorder<C> {
    /// `{out_order_no}`: the merchant order number (kept as given, percent-encoded).
    pub fn out_order_no(self, out_order_no: impl Into<String>) -> PartnerOrder<C> {
        PartnerOrder(
            self.0
                .join("{out_order_no}")
                .param("out_order_no", out_order_no),
        )
    }

    /// Create a service order (`POST`).
    pub fn post(&self, req: &partner::CreateRequest) -> C::Output<ServiceOrder> {
        self.0.client.send_typed(req)
    }

    /// Query a service order (`GET ?service_id&out_order_no&sub_mchid`).
    pub fn get(&self, req: &partner::QueryRequest) -> C::Output<ServiceOrder> {
        self.0.client.send_typed(req)
    }
}

impl<C: Transport> PartnerDirectComplete<C> {
    /// Creates and completes the order. `None` for the documented 204; `Some(order)` if
    /// the server answers 200 with the order.
    pub fn post(&self, req: &partner::DirectCompleteRequest) -> C::Output<Option<ServiceOrder>> {
        self.0.client.send_typed(req)
    }
}

impl<C: Transport> DirectComplete<C> {
    /// Creates and completes a direct merchant's order (answers 200 with the order).
    pub fn post(&self, req: &direct::DirectCompleteRequest) -> C::Output<ServiceOrder> {
        self.0.client.send_typed(req)
    }
}

macro_rules! order_verb {
    ($($node:ident => $body:ty;)*) => {$(
        impl<C: Transport> $node<C> {
            /// Sends the action (answers 204).
            pub fn post(&self, body: &$body) -> C::Output<()> {
                let out_order_no = self.0.param_value("out_order_no").unwrap_or_default();
                self.0.client.send_typed(&ForOrder::new(out_order_no, body))
            }
        }
    )*};
}

order_verb! {
    PartnerCancel => partner::CancelRequest;
    PartnerComplete => partner::CompleteRequest;
    PartnerModify => partner::ModifyRequest;
    PartnerPay => partner::PayRequest;
    PartnerSync => partner::SyncRequest;
}
