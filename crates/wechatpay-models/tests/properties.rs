//! Properties of local validation and of bill amounts, for any input: validation never
//! panics, R1 passes exactly when total = Σ payments − Σ discounts, and fen ↔ yuan (and
//! fee) amounts round-trip through text exactly.

#![allow(clippy::unwrap_used, missing_docs)]

use proptest::prelude::*;
use wechatpay_models::v3::bill::trade::{Fee, decimal};
use wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest;
use wechatpay_models::v3::payscore::{PostDiscount, PostPayment, TimeRange};
use wechatpay_models::v3::refund::domestic::{RefundRequest, RefundRequestAmount};
use wechatpay_models::{Endpoint, Fen, Rule};

const NOW: i64 = 1_764_146_249;

fn order(
    strings: &[String],
    payments: Vec<PostPayment>,
    discounts: Vec<PostDiscount>,
    total: i64,
    (start, end): (i64, i64),
) -> DirectCompleteRequest {
    let s = |i: usize| strings.get(i).cloned().unwrap_or_default();
    DirectCompleteRequest::default()
        .service_id(s(0))
        .appid(s(1))
        .sub_mchid(s(2))
        .out_order_no(s(3))
        .service_introduction(s(4))
        .post_payments(payments)
        .total_amount(total)
        .time_range(TimeRange::from_unix(start, end))
        .notify_url(s(5))
        .openid(s(6))
        .post_discounts(discounts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any strings (emoji, control characters, empty, long), any amounts and times.
    #[test]
    fn validation_never_panics(
        strings in prop::collection::vec(any::<String>(), 0..8),
        pay in prop::collection::vec((any::<String>(), any::<i64>()), 0..4),
        disc in prop::collection::vec((any::<String>(), any::<String>(), any::<i64>()), 0..4),
        total in any::<i64>(),
        times in (any::<i64>(), any::<i64>()),
        refund in (any::<String>(), any::<i64>(), any::<i64>()),
    ) {
        let payments = pay.into_iter().map(|(n, a)| PostPayment::new(n, a)).collect();
        let discounts = disc.into_iter().map(|(n, d, a)| PostDiscount::new(n, d, a)).collect();
        let o = order(&strings, payments, discounts, total, times);
        let _ = o.validate_at(NOW);
        let (no, r, t) = refund;
        let _ = RefundRequest::default().sub_mchid("1900000109").transaction_id("4200").out_refund_no(no).amount(RefundRequestAmount::default().refund(r).total(t)).validate_at(NOW);
    }

    /// R1 holds exactly when total_amount = Σ post_payments − Σ post_discounts.
    #[test]
    fn r1_passes_only_on_the_exact_total(
        pay in prop::collection::vec(0i64..100_000, 1..5),
        disc in prop::collection::vec(0i64..1_000, 0..3),
        delta in -3i64..=3,
    ) {
        let sum: i64 = pay.iter().sum::<i64>() - disc.iter().sum::<i64>();
        let payments = pay.iter().enumerate().map(|(i, a)| PostPayment::new(format!("费用{i}"), *a)).collect();
        let discounts = disc.iter().enumerate().map(|(i, a)| PostDiscount::new(format!("优惠{i}"), "说明", *a)).collect();
        let strings: Vec<String> = ["500001", "wxd678efh567hg6787", "1900000109", "RENT1", "充电宝", "https://example.com/n", "oUser"]
            .iter().map(|s| (*s).to_owned()).collect();
        let o = order(&strings, payments, discounts, sum + delta, (NOW - 3600, NOW - 60));
        let r1 = o.validate_at(NOW).err().is_some_and(|e| e.has(Rule::TotalAmount));
        prop_assert_eq!(r1, delta != 0);
    }

    /// Fen printed as yuan parses back to the same fen; fees with 5 decimals too.
    #[test]
    fn bill_amounts_round_trip_exactly(fen in -1_000_000_000_000i64..1_000_000_000_000, fee in 0i64..10_000_000_000) {
        prop_assert_eq!(decimal(&Fen(fen).to_string(), 2), Some(fen));
        prop_assert_eq!(decimal(&Fee(fee).to_string(), 5), Some(fee));
        // A yuan amount read at fee precision is the same money.
        prop_assert_eq!(decimal(&Fen(fen).to_string(), 5), Some(fen * 1000));
    }
}
