//! The rule checks shared by several requests (R1, R2, R4–R8 of the contract).

use super::values::{
    Location, ON_ACCEPT, PostDiscount, PostPayment, REPEATABLE_PAYMENT_NAME, TimeRange,
};
use crate::ids::Fen;
use crate::validate::{Check, Item, Rule, parse_payscore_time, payscore_time};

/// R1, R2, R4, R5, R6 (for lines), R8: the money and item rules shared by
/// direct-complete, complete and modify.
pub(crate) fn check_bill(
    c: &mut Check,
    payments: &[PostPayment],
    discounts: &[PostDiscount],
    total: Fen,
    max_discounts: usize,
) {
    if payments.is_empty() {
        c.push(
            "/post_payments",
            Rule::ItemCount,
            "must have 1 to 100 items, got 0",
            None,
        );
    }
    let sum = check_lines(c, payments, discounts, max_discounts);
    if total.0 < 0 {
        c.push(
            "/total_amount",
            Rule::NonNegative,
            "must be >= 0 fen",
            Some(total.0.into()),
        );
    }
    match sum {
        Some(s) if s == total => {}
        Some(s) => c.push(
            "/total_amount",
            Rule::TotalAmount,
            format!("must equal sum(post_payments.amount) - sum(post_discounts.amount) = {} fen, got {} (count is informational and never multiplied)", s.0, total.0),
            Some(total.0.into()),
        ),
        None => c.push("/total_amount", Rule::TotalAmount, "amounts overflow", Some(total.0.into())),
    }
}

/// R2, R4 (upper bounds), R5, R6, R8 for each line; returns Σ payments − Σ discounts
/// (`None` on overflow).
pub(crate) fn check_lines(
    c: &mut Check,
    payments: &[PostPayment],
    discounts: &[PostDiscount],
    max_discounts: usize,
) -> Option<Fen> {
    if payments.len() > 100 {
        c.push(
            "/post_payments",
            Rule::ItemCount,
            format!("must have 1 to 100 items, got {}", payments.len()),
            None,
        );
    }
    if discounts.len() > max_discounts {
        c.push(
            "/post_discounts",
            Rule::ItemCount,
            format!(
                "must have at most {max_discounts} items, got {}",
                discounts.len()
            ),
            None,
        );
    }
    let mut sum = Some(Fen::ZERO);
    let mut seen = std::collections::HashSet::new();
    for (i, p) in payments.iter().enumerate() {
        c.required_max(Item("post_payments", i, "name"), &p.name, 20);
        c.opt_max(
            Item("post_payments", i, "description"),
            p.description.as_deref(),
            30,
        );
        if p.amount.0 < 0 {
            c.push(
                Item("post_payments", i, "amount"),
                Rule::NonNegative,
                "must be >= 0 fen",
                Some(p.amount.0.into()),
            );
        }
        check_count(c, Item("post_payments", i, "count"), p.count);
        if p.name != REPEATABLE_PAYMENT_NAME && !p.name.is_empty() && !seen.insert(p.name.as_str())
        {
            c.push(
                Item("post_payments", i, "name"),
                Rule::UniqueNames,
                format!("payment name {:?} repeats (only 商品信息 may)", p.name),
                Some(p.name.clone().into()),
            );
        }
        sum = sum.and_then(|s| s.checked_add(p.amount));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, d) in discounts.iter().enumerate() {
        c.required_max(Item("post_discounts", i, "name"), &d.name, 20);
        c.required_max(Item("post_discounts", i, "description"), &d.description, 30);
        if d.amount.0 < 0 {
            c.push(
                Item("post_discounts", i, "amount"),
                Rule::NonNegative,
                "must be >= 0 fen",
                Some(d.amount.0.into()),
            );
        }
        check_count(c, Item("post_discounts", i, "count"), d.count);
        if !d.name.is_empty() && !seen.insert(d.name.as_str()) {
            c.push(
                Item("post_discounts", i, "name"),
                Rule::UniqueNames,
                format!("discount name {:?} repeats", d.name),
                Some(d.name.clone().into()),
            );
        }
        sum = sum.and_then(|s| s.checked_sub(d.amount));
    }
    sum
}

fn check_count(c: &mut Check, field: Item<'_>, count: Option<u32>) {
    if let Some(n) = count.filter(|n| !(1..=100).contains(n)) {
        c.push(
            field,
            Rule::Count,
            "must be within 1 to 100",
            Some(n.into()),
        );
    }
}

/// R7 for a finished service: valid formats, `start_time < now`, and when `end_required`,
/// `start_time < end_time <= now`. `now` is unix seconds.
pub(crate) fn check_time_range(c: &mut Check, tr: &TimeRange, now: i64, end_required: bool) {
    let now_bj = parse_payscore_time(&payscore_time(now));
    c.opt_max(
        "/time_range/start_time_remark",
        tr.start_time_remark.as_deref(),
        20,
    );
    c.opt_max(
        "/time_range/end_time_remark",
        tr.end_time_remark.as_deref(),
        20,
    );
    let start = parse_payscore_time(&tr.start_time);
    if start.is_none() {
        c.push(
            "/time_range/start_time",
            Rule::Time,
            "must be yyyyMMddHHmmss or yyyyMMdd",
            Some(tr.start_time.clone().into()),
        );
    }
    if let (Some(s), Some(n)) = (start, now_bj)
        && s >= n
    {
        c.push(
            "/time_range/start_time",
            Rule::Time,
            "must be earlier than the time of the call",
            Some(tr.start_time.clone().into()),
        );
    }
    match &tr.end_time {
        None if end_required => c.push(
            "/time_range/end_time",
            Rule::Required,
            "is required: the service is already over",
            None,
        ),
        None => {}
        Some(e) => match parse_payscore_time(e) {
            None => c.push(
                "/time_range/end_time",
                Rule::Time,
                "must be yyyyMMddHHmmss or yyyyMMdd",
                Some(e.clone().into()),
            ),
            Some(end) => {
                if start.is_some_and(|s| end <= s) {
                    c.push(
                        "/time_range/end_time",
                        Rule::Time,
                        "must be later than start_time",
                        Some(e.clone().into()),
                    );
                }
                if now_bj.is_some_and(|n| end > n) {
                    c.push(
                        "/time_range/end_time",
                        Rule::Time,
                        "must not be later than the time of the call",
                        Some(e.clone().into()),
                    );
                }
            }
        },
    }
}

pub(crate) fn check_location(c: &mut Check, l: Option<&Location>) {
    if let Some(l) = l {
        c.opt_max("/location/start_location", l.start_location.as_deref(), 50);
        c.opt_max("/location/end_location", l.end_location.as_deref(), 50);
    }
}

/// A created order's `start_time` must not be earlier than the call (spec §8 G3: "service
/// start time cannot be earlier than the call time, or pass OnAccept"), compared at the
/// precision given: a `yyyyMMdd` date may be today.
pub(crate) fn check_start_not_past(c: &mut Check, start_time: &str, now: i64) {
    let (Some(start), Some(now)) = (
        parse_payscore_time(start_time),
        parse_payscore_time(&payscore_time(now)),
    ) else {
        return;
    };
    let earlier = if start_time.len() == 8 {
        start / 1_000_000 < now / 1_000_000
    } else {
        start < now
    };
    if earlier {
        c.push(
            "/time_range/start_time",
            Rule::Time,
            "must not be earlier than the time of the call (use OnAccept for a service that starts when the user confirms)",
            Some(start_time.into()),
        );
    }
}

/// R7 formats for a created order: `start_time` is `yyyyMMddHHmmss`, `yyyyMMdd` or, when
/// the user confirms the order, `OnAccept`; `end_time` (optional) is a time after it.
pub(crate) fn check_time_formats(c: &mut Check, tr: &TimeRange, allow_on_accept: bool) {
    c.opt_max(
        "/time_range/start_time_remark",
        tr.start_time_remark.as_deref(),
        20,
    );
    c.opt_max(
        "/time_range/end_time_remark",
        tr.end_time_remark.as_deref(),
        20,
    );
    let on_accept = allow_on_accept && tr.start_time == ON_ACCEPT;
    let start = parse_payscore_time(&tr.start_time);
    if start.is_none() && !on_accept {
        c.push(
            "/time_range/start_time",
            Rule::Time,
            if allow_on_accept {
                "must be yyyyMMddHHmmss, yyyyMMdd or OnAccept"
            } else {
                "must be yyyyMMddHHmmss or yyyyMMdd"
            },
            Some(tr.start_time.clone().into()),
        );
    }
    if let Some(e) = &tr.end_time {
        match parse_payscore_time(e) {
            None => c.push(
                "/time_range/end_time",
                Rule::Time,
                "must be yyyyMMddHHmmss or yyyyMMdd",
                Some(e.clone().into()),
            ),
            Some(end) if start.is_some_and(|s| end <= s) => c.push(
                "/time_range/end_time",
                Rule::Time,
                "must be later than start_time",
                Some(e.clone().into()),
            ),
            Some(_) => {}
        }
    }
}
