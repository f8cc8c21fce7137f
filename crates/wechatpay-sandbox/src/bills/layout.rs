//! The bytes of the bills (lifecycle spec §5.4, §5.5): the official layout, written as
//! rows stream from SQLite, hashed (uncompressed) and optionally gzip-compressed.

use std::io::Write;

use wechatpay_core::digest::Sha1;
use wechatpay_models::Fen;
use wechatpay_models::v3::bill::trade::Fee;

use crate::store::{RefundRow, StoreError, TransactionRow, for_each_refund, for_each_transaction};

/// Which rows a trade bill holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    All,
    Success,
    Refund,
}

/// Hashes what passes through, uncompressed.
struct Hashing<W: Write> {
    inner: W,
    sha1: Sha1,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(b)?;
        self.sha1.update(&b[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a bill to `path` through `fill` (which returns the number of detail rows),
/// gzip-compressed when asked; the SHA-1 of the uncompressed bytes, or `None` when the
/// bill has no rows.
pub(super) fn write_bill(
    path: &std::path::Path,
    gzip: bool,
    fill: impl FnOnce(&mut dyn Write) -> Result<u64, StoreError>,
) -> Result<Option<String>, StoreError> {
    let file = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(path)?);
    let (rows, sha1) = if gzip {
        let mut out = Hashing {
            inner: flate2::write::GzEncoder::new(file, flate2::Compression::fast()),
            sha1: Sha1::new(),
        };
        let rows = fill(&mut out)?;
        out.inner.finish()?.flush()?;
        (rows, out.sha1)
    } else {
        let mut out = Hashing {
            inner: file,
            sha1: Sha1::new(),
        };
        let rows = fill(&mut out)?;
        out.inner.flush()?;
        (rows, out.sha1)
    };
    Ok((rows > 0).then(|| sha1.finish_hex()))
}

const ALL_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const SUCCESS_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注";
const REFUND_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const ALL_SUMMARY: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";
const SUCCESS_SUMMARY: &str = "总交易单数,应结订单总金额,手续费总金额,订单总金额";
/// The fee rate of every sandbox payment, 0.60%: the fee in 0.00001 yuan is fen × 6.
const RATE: &str = "0.60%";

/// `yyyy-MM-dd HH:mm:ss` in Beijing time.
fn bill_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000 + 8 * 3600)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// One detail or summary line: every value after a backquote, `\r\n` at the end. Line
/// breaks inside values would end the row, so they become spaces.
fn line(out: &mut dyn Write, values: &[&str]) -> std::io::Result<()> {
    let mut s = String::with_capacity(400);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('`');
        s.extend(
            v.chars()
                .map(|c| if c == '\r' || c == '\n' { ' ' } else { c }),
        );
    }
    s.push_str("\r\n");
    out.write_all(s.as_bytes())
}

fn header_line(out: &mut dyn Write, names: &str) -> std::io::Result<()> {
    out.write_all(names.as_bytes())?;
    out.write_all(b"\r\n")
}

/// The first 14 columns, common to every layout: 交易时间 … 代金券金额.
fn head<'a>(
    t: &'a TransactionRow,
    sp: &'a str,
    time: &'a str,
    state: &'a str,
    settlement: &'a str,
) -> [&'a str; 14] {
    let sub = if t.sub_mchid.is_empty() {
        "0"
    } else {
        &t.sub_mchid
    };
    [
        time,
        &t.appid,
        sp,
        sub,
        "",
        &t.transaction_id,
        t.bill_trade_no(),
        &t.openid,
        &t.trade_type,
        state,
        "OTHERS",
        "CNY",
        settlement,
        "0.00",
    ]
}

/// 商户数据包: Pay Score's `wxzff|order_id|out_order_no` on a deduction; empty on an
/// active payment, whose 商户订单号 is the out_order_no itself.
fn attach(t: &TransactionRow) -> String {
    if t.trade_type == crate::store::ACTIVE_PAYMENT {
        String::new()
    } else {
        format!("wxzff|{}|{}", t.order_id, t.out_order_no)
    }
}

/// The trade bill of `sp` for `day`, in the layout of §5.4. Returns the number of rows.
pub(super) fn trade_bill(
    conn: &rusqlite::Connection,
    sp: &str,
    sub: Option<&str>,
    day: (i64, i64),
    kind: Kind,
    out: &mut dyn Write,
) -> Result<u64, StoreError> {
    out.write_all("\u{feff}".as_bytes())?;
    header_line(
        out,
        match kind {
            Kind::All => ALL_HEADER,
            Kind::Success => SUCCESS_HEADER,
            Kind::Refund => REFUND_HEADER,
        },
    )?;
    let (mut rows, mut paid, mut fees, mut refunded) = (0u64, 0i64, 0i64, 0i64);
    if kind != Kind::Refund {
        for_each_transaction(conn, sp, sub, day, |t| {
            let amount = Fen(t.amount).to_string();
            let fee = Fee(t.amount * 6).to_string();
            let (time, a) = (bill_time(t.paid_ms), attach(t));
            let head = head(t, sp, &time, "SUCCESS", &amount);
            if kind == Kind::All {
                let tail = [
                    "0",
                    "0",
                    "0.00",
                    "0.00",
                    "",
                    "",
                    &t.description,
                    &a,
                    &fee,
                    RATE,
                    &amount,
                    "0.00",
                    "",
                ];
                line(out, &[&head[..], &tail[..]].concat())?;
            } else {
                let tail = [t.description.as_str(), &a, &fee, RATE, &amount, ""];
                line(out, &[&head[..], &tail[..]].concat())?;
            }
            rows += 1;
            paid += t.amount;
            fees += t.amount * 6;
            Ok(())
        })?;
    }
    if kind != Kind::Success {
        for_each_refund(conn, sp, sub, day, false, |r: &RefundRow, t| {
            let refund = Fen(r.refund).to_string();
            let (time, a) = (bill_time(r.created_ms), attach(t));
            let head = head(t, sp, &time, "REFUND", "0.00");
            let success = r.success_ms.map(bill_time).unwrap_or_default();
            let refund_cols = [
                r.refund_id.as_str(),
                &r.out_refund_no,
                &refund,
                "0.00",
                "ORIGINAL",
                &r.status,
                &t.description,
                &a,
                "0.00000",
                RATE,
                "0.00",
                &refund,
                "",
            ];
            if kind == Kind::All {
                line(out, &[&head[..], &refund_cols[..]].concat())?;
            } else {
                line(
                    out,
                    &[&head[..], &[time.as_str(), &success][..], &refund_cols[..]].concat(),
                )?;
            }
            rows += 1;
            refunded += r.refund;
            Ok(())
        })?;
    }
    let count = rows.to_string();
    let (paid, refunded, fees) = (
        Fen(paid).to_string(),
        Fen(refunded).to_string(),
        Fee(fees).to_string(),
    );
    if kind == Kind::Success {
        header_line(out, SUCCESS_SUMMARY)?;
        line(out, &[&count, &paid, &fees, &paid])?;
    } else {
        header_line(out, ALL_SUMMARY)?;
        line(
            out,
            &[&count, &paid, &refunded, "0.00", &fees, &paid, &refunded],
        )?;
    }
    Ok(rows)
}

/// A sub-merchant's BASIC-account fund flow for `day` (§5.5): income for payments,
/// expense for refunds that succeeded that day, with the running balance of the day.
pub(super) fn fund_flow_bill(
    conn: &rusqlite::Connection,
    sp: &str,
    sub: &str,
    day: (i64, i64),
    out: &mut dyn Write,
) -> Result<u64, StoreError> {
    out.write_all("\u{feff}".as_bytes())?;
    header_line(
        out,
        "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号",
    )?;
    let (mut rows, mut balance, mut income, mut n_in, mut expense, mut n_out) =
        (0u64, 0i64, 0i64, 0u64, 0i64, 0u64);
    for_each_transaction(conn, sp, Some(sub), day, |t| {
        balance += t.amount;
        income += t.amount;
        n_in += 1;
        rows += 1;
        let flow = format!("{}{}", t.transaction_id, rows);
        line(
            out,
            &[
                &bill_time(t.paid_ms),
                &t.transaction_id,
                &flow,
                "交易",
                "交易",
                "收入",
                &Fen(t.amount).to_string(),
                &Fen(balance).to_string(),
                "system",
                "",
                t.bill_trade_no(),
            ],
        )?;
        Ok(())
    })?;
    for_each_refund(conn, sp, Some(sub), day, true, |r, t| {
        balance -= r.refund;
        expense += r.refund;
        n_out += 1;
        rows += 1;
        let flow = format!("{}{}", r.refund_id, rows);
        line(
            out,
            &[
                &bill_time(r.success_ms.unwrap_or_default()),
                &r.refund_id,
                &flow,
                "退款",
                "退款",
                "支出",
                &Fen(r.refund).to_string(),
                &Fen(balance).to_string(),
                "system",
                "",
                &t.transaction_id,
            ],
        )?;
        Ok(())
    })?;
    header_line(out, "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额")?;
    line(
        out,
        &[
            &rows.to_string(),
            &n_in.to_string(),
            &Fen(income).to_string(),
            &n_out.to_string(),
            &Fen(expense).to_string(),
        ],
    )?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::{attach, head};
    use crate::store::{ACTIVE_PAYMENT, DEDUCTION, TransactionRow};

    fn tx(trade_type: &str) -> TransactionRow {
        TransactionRow {
            transaction_id: "4200".into(),
            sp_mchid: "1900000109".into(),
            sub_mchid: "1900000110".into(),
            out_trade_no: "1217752501201407033233368018".into(),
            out_order_no: "RENT1".into(),
            order_id: "1000".into(),
            appid: "wx1".into(),
            openid: "oUser1".into(),
            amount: 250,
            paid_ms: 0,
            description: "充电宝".into(),
            trade_type: trade_type.into(),
        }
    }

    /// payscore-provider-notes.md, bill rows: a deduction is `AUTH` with a generated
    /// 商户订单号 and the order in 商户数据包; an active payment is `JSAPI` keyed by the
    /// out_order_no.
    #[test]
    fn deductions_and_active_payments_have_their_own_rows() {
        let t = tx(DEDUCTION);
        let h = head(&t, "1900000109", "2025-03-01 10:00:00", "SUCCESS", "2.50");
        assert_eq!((h[6], h[8]), ("1217752501201407033233368018", "AUTH"));
        assert_eq!(attach(&t), "wxzff|1000|RENT1");
        let t = tx(ACTIVE_PAYMENT);
        let h = head(&t, "1900000109", "2025-03-01 10:00:00", "SUCCESS", "2.50");
        assert_eq!((h[6], h[8]), ("RENT1", "JSAPI"));
        assert_eq!(attach(&t), "");
    }
}
