//! The trade bill (交易账单) as typed rows.
//!
//! The file is not standard CSV: a UTF-8 BOM, a header row, detail rows whose every value
//! starts with a backquote (`` ` ``) and is never quoted (values may hold `,` only after
//! the backquote is dropped, so fields are split on ``,` ``), then a summary header and
//! a summary row. Columns are found by their header name, so the `ALL`, `SUCCESS` and
//! `REFUND` layouts (and old layouts) all parse. Amounts in yuan become integer fen
//! exactly, from the text, never through floats; fees (5 decimals) become [`Fee`].
//! [`TradeBillParser::finish`] checks the summary row against the rows.
//!
//! ```
//! use wechatpay_models::v3::bill::trade::parse;
//!
//! let bill = "\u{feff}交易时间,微信订单号,商户订单号,交易状态,应结订单金额,商户数据包,手续费\r\n\
//!     `2025-03-01 10:00:05,`4200002501202503011000000001,`1217752501201407033233368018,`SUCCESS,`25.00,`wxzff|1000000000202503010000000000001|RENT-1,`0.15000\r\n\
//!     总交易单数,应结订单总金额,手续费总金额\r\n\
//!     `1,`25.00,`0.15000\r\n";
//! let (rows, summary) = parse(bill).unwrap();
//! assert_eq!(rows[0].settlement_total.get(), 2500);
//! assert_eq!(rows[0].payscore.as_ref().unwrap().out_order_no, "RENT-1");
//! assert_eq!(summary.count, 1);
//! ```

use std::fmt;

use crate::ids::Fen;

mod rows;
pub use rows::{Fee, PayscoreAttach, TradeBillRow, TradeBillSummary, TradeKind};

/// The longest line a trade bill may have, in bytes (its line end included). A row of
/// 29 fields is well under 1 KiB; readers refuse a longer line instead of holding it, so
/// that a file of one endless line cannot take their memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Why a trade bill does not parse, or does not add up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BillError {
    /// Line `line` is not what the layout allows there.
    Line {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The summary row does not match the rows.
    Summary {
        /// The summary column.
        column: &'static str,
        /// What the summary row says.
        stated: String,
        /// What the rows add up to.
        computed: String,
    },
    /// The bill ended before its summary row.
    Truncated,
}

impl fmt::Display for BillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line { line, reason } => write!(f, "trade bill line {line}: {reason}"),
            Self::Summary {
                column,
                stated,
                computed,
            } => write!(
                f,
                "trade bill summary {column} says {stated} but the rows add up to {computed}"
            ),
            Self::Truncated => f.write_str("trade bill ends before its summary row"),
        }
    }
}

impl std::error::Error for BillError {}

/// Detail columns, by field: the header names (first the current one, then old ones).
const DETAIL: [&[&str]; 29] = [
    &["交易时间"],
    &["公众账号ID"],
    &["商户号"],
    &["特约商户号"],
    &["设备号"],
    &["微信订单号"],
    &["商户订单号"],
    &["用户标识"],
    &["交易类型"],
    &["交易状态"],
    &["付款银行"],
    &["货币种类"],
    &["应结订单金额", "总金额"],
    &["代金券金额", "企业红包金额"],
    &["退款申请时间"],
    &["退款成功时间"],
    &["微信退款单号"],
    &["商户退款单号"],
    &["退款金额"],
    &["充值券退款金额", "企业红包退款金额"],
    &["退款类型"],
    &["退款状态"],
    &["商品名称"],
    &["商户数据包"],
    &["手续费"],
    &["费率"],
    &["订单金额"],
    &["申请退款金额"],
    &["费率备注"],
];

const SUMMARY: [&[&str]; 7] = [
    &["总交易单数"],
    &["应结订单总金额", "总金额"],
    &["退款总金额"],
    &["充值券退款总金额", "企业红包退款总金额"],
    &["手续费总金额"],
    &["订单总金额"],
    &["申请退款总金额"],
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Header,
    Rows,
    SummaryHeader,
    Done,
}

/// Parses a trade bill line by line, so that a bill of any size streams through it.
///
/// Feed every line ([`line`](Self::line), without or with its `\r`), then call
/// [`finish`](Self::finish) to get the summary, checked against the rows.
#[derive(Debug, Clone)]
pub struct TradeBillParser {
    part: Part,
    line_no: u64,
    detail: [Option<usize>; 29],
    summary_cols: [Option<usize>; 7],
    computed: Totals,
    summary: Option<TradeBillSummary>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    count: u64,
    settlement_total: i64,
    refund: i64,
    recharge_coupon_refund: i64,
    fee: i64,
    order_amount: i64,
    refund_requested: i64,
}

impl Default for TradeBillParser {
    fn default() -> Self {
        Self::new()
    }
}

impl TradeBillParser {
    /// A parser expecting the header row.
    #[must_use]
    pub fn new() -> Self {
        Self {
            part: Part::Header,
            line_no: 0,
            detail: [None; 29],
            summary_cols: [None; 7],
            computed: Totals::default(),
            summary: None,
        }
    }

    /// The error for a next line longer than [`MAX_LINE_BYTES`], for readers that stop
    /// reading it.
    #[must_use]
    pub fn line_too_long(&self) -> BillError {
        BillError::Line {
            line: self.line_no + 1,
            reason: format!("longer than {MAX_LINE_BYTES} bytes"),
        }
    }

    /// Takes one line; returns the row when it is a detail row.
    ///
    /// # Errors
    /// [`BillError::Line`] for a line the layout does not allow (a missing header, an
    /// amount that is not a decimal number, a line after the summary).
    pub fn line(&mut self, line: &str) -> Result<Option<TradeBillRow>, BillError> {
        self.line_no += 1;
        let mut line = line.strip_suffix('\r').unwrap_or(line);
        if self.line_no == 1 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.is_empty() {
            return Ok(None);
        }
        match self.part {
            Part::Header => {
                let names: Vec<&str> = line.split(',').map(str::trim).collect();
                self.detail = resolve(&DETAIL, &names);
                for (need, name) in [(0, "交易时间"), (5, "微信订单号"), (9, "交易状态")]
                {
                    if self.detail[need].is_none() {
                        return Err(self.err(format!(
                            "the header has no {name} column; is this a trade bill?"
                        )));
                    }
                }
                self.part = Part::Rows;
                Ok(None)
            }
            Part::Rows if line.starts_with('`') => self.row(line).map(Some),
            Part::Rows => {
                let names: Vec<&str> = line.split(',').map(str::trim).collect();
                self.summary_cols = resolve(&SUMMARY, &names);
                if self.summary_cols[0].is_none() {
                    return Err(self.err("expected a detail row (starting with `) or the summary header (总交易单数,…)".into()));
                }
                self.part = Part::SummaryHeader;
                Ok(None)
            }
            Part::SummaryHeader => {
                let f = fields(line);
                let get = |k: usize| self.summary_cols[k].and_then(|i| f.get(i).copied());
                let count_text = get(0).unwrap_or("");
                let count = decimal(count_text, 0)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| self.err(format!("总交易单数 {count_text:?} is not a count")))?;
                let fen = |k: usize| -> Result<Option<Fen>, BillError> {
                    get(k).map(|t| self.amount(t, 2).map(Fen)).transpose()
                };
                let summary = TradeBillSummary {
                    count,
                    settlement_total: fen(1)?,
                    refund: fen(2)?,
                    recharge_coupon_refund: fen(3)?,
                    fee: get(4).map(|t| self.amount(t, 5).map(Fee)).transpose()?,
                    order_amount: fen(5)?,
                    refund_requested: fen(6)?,
                };
                self.summary = Some(summary);
                self.part = Part::Done;
                Ok(None)
            }
            Part::Done => Err(self.err("text after the summary row".into())),
        }
    }

    /// Ends the bill: the summary row, checked against the rows.
    ///
    /// # Errors
    /// [`BillError::Truncated`] without a summary row; [`BillError::Summary`] when a
    /// total or the count differs from the rows.
    pub fn finish(self) -> Result<TradeBillSummary, BillError> {
        let s = self.summary.ok_or(BillError::Truncated)?;
        let c = self.computed;
        let mismatch = |column: &'static str, stated: String, computed: String| {
            Err(BillError::Summary {
                column,
                stated,
                computed,
            })
        };
        if s.count != c.count {
            return mismatch("总交易单数", s.count.to_string(), c.count.to_string());
        }
        let fen_checks = [
            ("应结订单总金额", s.settlement_total, c.settlement_total),
            ("退款总金额", s.refund, c.refund),
            (
                "充值券退款总金额",
                s.recharge_coupon_refund,
                c.recharge_coupon_refund,
            ),
            ("订单总金额", s.order_amount, c.order_amount),
            ("申请退款总金额", s.refund_requested, c.refund_requested),
        ];
        for (column, stated, computed) in fen_checks {
            if let Some(stated) = stated.filter(|v| v.get() != computed) {
                return mismatch(column, stated.to_string(), Fen(computed).to_string());
            }
        }
        if let Some(fee) = s.fee.filter(|v| v.0 != c.fee) {
            return mismatch("手续费总金额", fee.to_string(), Fee(c.fee).to_string());
        }
        Ok(s)
    }

    fn err(&self, reason: String) -> BillError {
        BillError::Line {
            line: self.line_no,
            reason,
        }
    }

    fn amount(&self, text: &str, decimals: u32) -> Result<i64, BillError> {
        decimal(text, decimals).ok_or_else(|| {
            self.err(format!(
                "{text:?} is not an amount with at most {decimals} decimals"
            ))
        })
    }

    fn row(&mut self, line: &str) -> Result<TradeBillRow, BillError> {
        let f = fields(line);
        let text = |k: usize| -> String {
            self.detail[k]
                .and_then(|i| f.get(i))
                .map_or_else(String::new, |s| (*s).to_owned())
        };
        let number = |k: usize, decimals: u32| -> Result<i64, BillError> {
            match self.detail[k].and_then(|i| f.get(i)) {
                None => Ok(0),
                Some(t) => self.amount(t, decimals),
            }
        };
        let attach = text(23);
        let row = TradeBillRow {
            trade_time: text(0),
            appid: text(1),
            mchid: text(2),
            sub_mchid: text(3),
            device_info: text(4),
            transaction_id: text(5),
            out_trade_no: text(6),
            openid: text(7),
            trade_type: text(8),
            trade_state: text(9),
            bank_type: text(10),
            currency: text(11),
            settlement_total: Fen(number(12, 2)?),
            coupon: Fen(number(13, 2)?),
            refund_apply_time: text(14),
            refund_success_time: text(15),
            refund_id: text(16),
            out_refund_no: text(17),
            refund: Fen(number(18, 2)?),
            recharge_coupon_refund: Fen(number(19, 2)?),
            refund_type: text(20),
            refund_status: text(21),
            body: text(22),
            payscore: PayscoreAttach::parse(&attach),
            attach,
            fee: Fee(number(24, 5)?),
            rate: text(25),
            order_amount: Fen(number(26, 2)?),
            refund_requested: Fen(number(27, 2)?),
            rate_note: text(28),
        };
        let t = &mut self.computed;
        t.count += 1;
        // Totals of real bills stay far below i64::MAX fen; saturate rather than wrap.
        t.settlement_total = t
            .settlement_total
            .saturating_add(row.settlement_total.get());
        t.refund = t.refund.saturating_add(row.refund.get());
        t.recharge_coupon_refund = t
            .recharge_coupon_refund
            .saturating_add(row.recharge_coupon_refund.get());
        t.fee = t.fee.saturating_add(row.fee.0);
        t.order_amount = t.order_amount.saturating_add(row.order_amount.get());
        t.refund_requested = t
            .refund_requested
            .saturating_add(row.refund_requested.get());
        Ok(row)
    }
}

/// Parses a whole bill held in memory: its rows and checked summary.
///
/// # Errors
/// As [`TradeBillParser::line`] and [`TradeBillParser::finish`].
pub fn parse(text: &str) -> Result<(Vec<TradeBillRow>, TradeBillSummary), BillError> {
    let mut p = TradeBillParser::new();
    let mut rows = Vec::new();
    for line in text.split('\n') {
        if let Some(r) = p.line(line)? {
            rows.push(r);
        }
    }
    Ok((rows, p.finish()?))
}

/// The values of a detail or summary line: the leading backquote dropped, split on ``,` ``.
fn fields(line: &str) -> Vec<&str> {
    line.strip_prefix('`').unwrap_or(line).split(",`").collect()
}

fn resolve<const N: usize>(table: &[&[&str]; N], names: &[&str]) -> [Option<usize>; N] {
    let mut out = [None; N];
    for (k, aliases) in table.iter().enumerate() {
        out[k] = aliases
            .iter()
            .find_map(|a| names.iter().position(|n| n == a));
    }
    out
}

/// A decimal number as an integer of `10^-decimals` units, exactly: `"0.15"` with 2
/// decimals is 15. Digits past `decimals` must be zeros (`"45.0"` is 45 with 0 decimals);
/// an empty value is 0.
#[must_use]
pub fn decimal(text: &str, decimals: u32) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return Some(0);
    }
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let keep = usize::try_from(decimals).ok()?;
    if frac.len() > keep && frac.bytes().skip(keep).any(|b| b != b'0') {
        return None;
    }
    let mut v: i64 = 0;
    for b in int.bytes() {
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    let fb = frac.as_bytes();
    for i in 0..keep {
        let d = fb.get(i).map_or(0, |b| i64::from(b - b'0'));
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_integers() {
        assert_eq!(decimal("0.01", 2), Some(1));
        assert_eq!(decimal("25.00", 2), Some(2500));
        assert_eq!(decimal("0.0", 2), Some(0));
        assert_eq!(decimal("45.0", 0), Some(45));
        assert_eq!(decimal("0.15000", 5), Some(15000));
        assert_eq!(decimal("0.15000", 2), Some(15));
        assert_eq!(decimal("0.155", 2), None);
        assert_eq!(decimal("1e3", 2), None);
        assert_eq!(decimal(".", 2), None);
        assert_eq!(decimal("-0.30", 2), Some(-30));
        assert_eq!(decimal("99999999999999999999", 2), None);
        // A float would make this 1999999.9999…; integers keep it exact.
        assert_eq!(decimal("19999.99", 2), Some(1_999_999));
    }

    #[test]
    fn payscore_attach_keeps_pipes_in_out_order_no() {
        let a = PayscoreAttach::parse("wxzff|1000|A|B*C").unwrap();
        assert_eq!(
            (a.order_id.as_str(), a.out_order_no.as_str()),
            ("1000", "A|B*C")
        );
        assert_eq!(PayscoreAttach::parse("other"), None);
    }

    #[test]
    fn a_row_says_its_kind_and_the_order_it_reconciles_with() {
        let row = |trade_type: &str, out_trade_no: &str, attach: &str| TradeBillRow {
            trade_type: trade_type.into(),
            out_trade_no: out_trade_no.into(),
            payscore: PayscoreAttach::parse(attach),
            attach: attach.into(),
            ..TradeBillRow::default()
        };
        let deduction = row("AUTH", "1217752501201407033233368018", "wxzff|1000|RENT1");
        assert_eq!(deduction.kind(), TradeKind::PayscoreDeduction);
        assert_eq!(deduction.order_no(), "RENT1");
        let active = row("JSAPI", "RENT2", "");
        assert_eq!(active.kind(), TradeKind::Jsapi);
        assert_eq!(active.order_no(), "RENT2");
        assert_eq!(row("MWEB", "T", "").kind(), TradeKind::H5);
        assert_eq!(
            row("PAYBYCARD", "T", "").kind(),
            TradeKind::Other("PAYBYCARD".into())
        );
    }

    #[test]
    fn a_wrong_summary_is_reported_with_both_values() {
        let bill = "交易时间,微信订单号,交易状态,应结订单金额\n`2025-03-01 10:00:05,`42,`SUCCESS,`25.00\n总交易单数,应结订单总金额\n`1,`25.01\n";
        let e = parse(bill).unwrap_err();
        assert_eq!(
            e,
            BillError::Summary {
                column: "应结订单总金额",
                stated: "25.01".into(),
                computed: "25.00".into()
            }
        );
        assert_eq!(
            parse(&bill[..bill.len() - 11]).unwrap_err(),
            BillError::Truncated
        );
        assert!(matches!(
            parse("a,b\n").unwrap_err(),
            BillError::Line { line: 1, .. }
        ));
    }
}
