//! `wxpay bill download`: apply for a bill, stream it, verify its hash, save it.

use std::io::{BufRead as _, Read as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use wechatpay_models::v3::bill::trade::{MAX_LINE_BYTES, TradeBillParser, TradeBillSummary};
use wechatpay_models::v3::bill::{
    FundFlowBillRequest, SubMerchantFundFlowBillRequest, TradeBillRequest,
};

use crate::profile::Context;

/// `wxpay bill …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Apply for a day's bill, download it as a stream, verify its SHA-1 and save it
    /// decompressed. Nothing is left at --out unless the whole file verified.
    #[command(
        after_help = "Examples:\n  wxpay bill download --date 2025-03-01 --out trade-2025-03-01.csv\n  wxpay bill download --date 2025-03-01 --sub-mchid 1900000109 --bill-type REFUND --out refunds.csv\n  wxpay bill download --date 2025-03-01 --type fundflow --sub-mchid 1900000109 --algorithm SM4_GCM --out fund.csv\n\nBills of a day are ready from 10:00 (Beijing time) of the next day; before that WeChat Pay\nanswers STATEMENT_CREATING. A day without business answers NO_STATEMENT_EXIST.\nExit status 1 on any failure, including a hash mismatch."
    )]
    Download(DownloadArgs),
    /// Download a download_url you already have (from an apply answer), verify its SHA-1
    /// and save it decompressed.
    #[command(
        after_help = "Example:\n  wxpay bill fetch --url 'https://api.mch.weixin.qq.com/v3/billdownload/file?token=…&tartype=gzip' \\\n     --sha1 23c2df2c63eb435552756e4cf100c546927a0d32 --out bill.csv\n\nThe link is valid 5 minutes; it is signed for and refused on any other host than the profile's."
    )]
    Fetch {
        /// The download_url.
        #[arg(long)]
        url: String,
        /// Its hash_value.
        #[arg(long)]
        sha1: String,
        /// Where to save the file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Arguments of `wxpay bill download`.
#[derive(Debug, clap::Args)]
pub(crate) struct DownloadArgs {
    /// The day, yyyy-MM-dd (Beijing time).
    #[arg(long)]
    date: String,
    /// trade (交易账单) or fundflow (资金账单; with --sub-mchid, the sub-merchant's encrypted one).
    #[arg(long = "type", default_value = "trade", value_parser = ["trade", "fundflow"])]
    kind: String,
    /// Trade bills: ALL, SUCCESS or REFUND.
    #[arg(long, default_value = "ALL", value_parser = ["ALL", "SUCCESS", "REFUND"])]
    bill_type: String,
    /// One sub-merchant (trade bills: all of them when left out).
    #[arg(long)]
    sub_mchid: Option<String>,
    /// The sub-merchant fund-flow bill's encryption (decrypted either way).
    #[arg(long, default_value = "AEAD_AES_256_GCM", value_parser = ["AEAD_AES_256_GCM", "SM4_GCM"])]
    algorithm: String,
    /// Ask for the gzip-compressed transfer (the saved file is always decompressed).
    #[arg(long)]
    gzip: bool,
    /// Where to save the bill.
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(ctx: &Context, c: Command) -> anyhow::Result<ExitCode> {
    let a = match c {
        Command::Download(a) => a,
        Command::Fetch { url, sha1, out } => {
            let link = wechatpay_models::v3::bill::BillLink {
                hash_type: "SHA1".into(),
                hash_value: sha1,
                download_url: url,
            };
            let saved = ctx.client()?.save_bill(&link, &out)?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({"path": saved.path, "bytes": saved.bytes, "received": saved.received, "sha1": saved.sha1})
                );
            } else {
                println!(
                    "saved {} ({} bytes, {} received), SHA-1 {} verified",
                    saved.path.display(),
                    saved.bytes,
                    saved.received,
                    saved.sha1
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let client = ctx.client()?;
    // Saved under a random name next to --out, checked, then renamed: a failure leaves
    // nothing at --out.
    let dir = match a.out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let part = tempfile::Builder::new()
        .prefix(".wxpay-bill.")
        .suffix(".part")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?
        .into_temp_path();
    let saved = match (a.kind.as_str(), &a.sub_mchid) {
        ("fundflow", Some(sub)) => {
            let mut req = SubMerchantFundFlowBillRequest::default()
                .sub_mchid(sub.as_str())
                .bill_date(&a.date)
                .algorithm(&a.algorithm);
            req.tar_type = a.gzip.then(|| "GZIP".into());
            let bills = client.send(&req)?;
            client.save_encrypted_bill(&bills, &part)?
        }
        ("fundflow", None) => {
            let mut req = FundFlowBillRequest::default().bill_date(&a.date);
            req.tar_type = a.gzip.then(|| "GZIP".into());
            client.save_bill(&client.send(&req)?, &part)?
        }
        _ => {
            let mut req = TradeBillRequest::default()
                .bill_date(&a.date)
                .bill_type(&a.bill_type);
            req.tar_type = a.gzip.then(|| "GZIP".into());
            if let Some(s) = &a.sub_mchid {
                req = req.sub_mchid(s.as_str());
            }
            client.save_bill(&client.send(&req)?, &part)?
        }
    };
    let summary = if a.kind == "trade" {
        Some(check_trade_bill(&part)?)
    } else {
        None
    };
    part.persist(&a.out)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    let mut saved = saved;
    saved.path.clone_from(&a.out);
    if ctx.json {
        let mut v = serde_json::json!({
            "path": saved.path,
            "bytes": saved.bytes,
            "received": saved.received,
            "sha1": saved.sha1,
        });
        if let Some(s) = &summary {
            v["rows"] = s.count.into();
            v["totals_fen"] = serde_json::json!({
                "settlement_total": s.settlement_total.map(|f| f.get()),
                "refund": s.refund.map(|f| f.get()),
                "order_amount": s.order_amount.map(|f| f.get()),
                "refund_requested": s.refund_requested.map(|f| f.get()),
            });
            v["fee_yuan"] = s.fee.map(|f| f.to_string()).into();
        }
        println!("{v}");
    } else {
        println!(
            "saved {} ({} bytes, {} received)",
            saved.path.display(),
            saved.bytes,
            saved.received
        );
        println!("SHA-1 {} (matches the signed answer)", saved.sha1);
        if let Some(s) = &summary {
            let yuan = |f: Option<wechatpay_models::Fen>| {
                f.map_or_else(|| "-".to_owned(), |f| f.to_string())
            };
            println!("{} rows; summary agrees with the rows", s.count);
            println!(
                "应结订单总金额 {}  退款总金额 {}  手续费总金额 {}  订单总金额 {}",
                yuan(s.settlement_total),
                yuan(s.refund),
                s.fee.map_or_else(|| "-".to_owned(), |f| f.to_string()),
                yuan(s.order_amount)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses a saved trade bill and checks its summary against its rows.
fn check_trade_bill(path: &std::path::Path) -> anyhow::Result<TradeBillSummary> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut r = std::io::BufReader::with_capacity(256 * 1024, f);
    let mut p = TradeBillParser::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut r)
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        if n == MAX_LINE_BYTES && line.last() != Some(&b'\n') {
            return Err(p.line_too_long().into());
        }
        let text = std::str::from_utf8(line.strip_suffix(b"\n").unwrap_or(&line))
            .context("the bill is not UTF-8 text")?;
        p.line(text)?;
    }
    Ok(p.finish()?)
}
