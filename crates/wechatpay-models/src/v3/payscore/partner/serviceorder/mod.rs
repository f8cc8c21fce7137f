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
        DirectCompleteRequest::default()
            .service_id("500001")
            .appid("wxd678efh567hg6787")
            .sub_mchid("1900000109")
            .out_order_no("1234323JKHDFE1243252")
            .service_introduction("某某酒店")
            .post_payments(vec![
                PostPayment::new("就餐费用", 40000)
                    .description("就餐人均100元")
                    .count(4),
            ])
            .total_amount(39900)
            .time_range(TimeRange::new("20251126100000", "20251126120000"))
            .notify_url("https://api.test.com")
            .openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
            .post_discounts(vec![PostDiscount::new(
                "满20减1元",
                "不与其他优惠叠加",
                100,
            )])
    }
}

#[cfg(test)]
mod tests {
    use super::sample::NOW;
    use super::*;
    use crate::endpoint::Endpoint;
    use crate::v3::payscore::{PostPayment, RiskFund, TimeRange};
    use crate::validate::Rule;

    fn create() -> CreateRequest {
        CreateRequest {
            service_id: "500001".into(),
            appid: "wxd678efh567hg6787".into(),
            sub_mchid: "1900000109".into(),
            sub_appid: None,
            out_order_no: "RENT1".into(),
            service_introduction: "共享充电宝".into(),
            post_payments: None,
            post_discounts: None,
            risk_fund: RiskFund {
                name: "DEPOSIT".into(),
                amount: 9900.into(),
                description: None,
            },
            time_range: TimeRange {
                start_time: "OnAccept".into(),
                start_time_remark: None,
                end_time: None,
                end_time_remark: None,
            },
            location: None,
            attach: None,
            notify_url: "https://example.com/notify".into(),
            openid: None,
            sub_openid: None,
            need_user_confirm: None,
        }
    }

    #[test]
    fn create_checks_risk_fund_times_and_the_no_confirm_user() {
        create().validate_at(NOW).unwrap();
        let mut c = create();
        c.risk_fund.name = "DEPOSITS".into();
        c.time_range.start_time = "now".into();
        c.need_user_confirm = Some(false);
        let e = c.validate_at(NOW).unwrap_err();
        for (field, rule) in [
            ("/risk_fund/name", Rule::OneOf),
            ("/time_range/start_time", Rule::Time),
            ("/openid", Rule::Required),
        ] {
            assert!(
                e.violations()
                    .iter()
                    .any(|v| v.field == field && v.rule == rule),
                "{field}: {e}"
            );
        }
        c = create();
        c.need_user_confirm = Some(false);
        c.openid = Some("o1".into());
        c.time_range = TimeRange::new("20251126170000", "20251126190000");
        c.validate_at(NOW).unwrap();
        // Spec §8 G3: a start earlier than the call is refused, at the precision given.
        c.time_range = TimeRange::new("20251126100000", "20251126190000");
        assert!(
            c.validate_at(NOW)
                .unwrap_err()
                .has_field("/time_range/start_time")
        );
        c.time_range = TimeRange::new("20251126", "20251126190000");
        c.validate_at(NOW).unwrap();
        c.sub_openid = Some("o2".into());
        assert!(c.validate_at(NOW).unwrap_err().has_field("/openid"));
    }

    #[test]
    fn order_actions_check_their_path_parameter_and_body() {
        let e = CancelRequest::default()
            .out_order_no("bad@no")
            .sub_mchid("1900000109")
            .reason("")
            .validate_at(NOW)
            .unwrap_err();
        assert!(
            e.has_field("/out_order_no") && e.has_field("/reason"),
            "{e}"
        );
        let mut s = SyncRequest::default()
            .out_order_no("RENT1")
            .service_id("500001")
            .sub_mchid("1900000109")
            .detail(SyncDetail {
                paid_time: "20251126".into(),
            });
        s.validate_at(NOW).unwrap();
        s.kind = "Order_paid".into();
        s.detail.paid_time = "2025-11-26".into();
        let e = s.validate_at(NOW).unwrap_err();
        assert!(
            e.has(Rule::OneOf) && e.has_field("/detail/paid_time"),
            "{e}"
        );
        assert!(
            PayRequest::default()
                .out_order_no("")
                .sub_mchid("1900000109")
                .validate_at(NOW)
                .is_err()
        );
        let line = || vec![PostPayment::new("租金", 100)];
        CompleteRequest::default()
            .out_order_no("RENT1")
            .service_id("500001")
            .sub_mchid("1900000109")
            .post_payments(line())
            .total_amount(100)
            .validate_at(NOW)
            .unwrap();
        assert!(
            CompleteRequest::default()
                .out_order_no("RENT1")
                .service_id("500001")
                .sub_mchid("1900000109")
                .post_payments(line())
                .total_amount(99)
                .validate_at(NOW)
                .unwrap_err()
                .has(Rule::TotalAmount)
        );
        assert!(
            ModifyRequest::default()
                .out_order_no("RENT1")
                .sub_mchid("1900000109")
                .post_payments(line())
                .total_amount(101)
                .reason("优惠")
                .validate_at(NOW)
                .unwrap_err()
                .has(Rule::TotalAmount)
        );
    }

    #[test]
    fn query_takes_exactly_one_key_and_sends_no_body() {
        let q = QueryRequest::default()
            .service_id("500001")
            .sub_mchid("1900000109")
            .out_order_no("RENT 1");
        assert_eq!(
            q.target().unwrap(),
            "/v3/payscore/partner/serviceorder?service_id=500001&out_order_no=RENT%201&sub_mchid=1900000109"
        );
        assert!(q.body().unwrap().is_empty());
        assert!(q.validate_at(NOW).unwrap_err().has(Rule::Charset));
        QueryRequest::default()
            .sub_mchid("1900000109")
            .query_id("15646546545165651651")
            .validate_at(NOW)
            .unwrap();
        let mut both = QueryRequest::default()
            .sub_mchid("1900000109")
            .query_id("1");
        both.out_order_no = Some("RENT1".into());
        assert!(both.validate_at(NOW).unwrap_err().has(Rule::Required));
    }
}
