//! `wxpay refund create|query|abnormal`: refunds over the typed models.

use std::process::ExitCode;

use anyhow::Context as _;
use wechatpay_models::v3::refund::domestic::{
    AbnormalRefundTo, ApplyAbnormalRefundRequest, QueryRefundRequest, Refund, RefundRequest,
    RefundRequestAmount,
};

use crate::profile::Context;

/// `wxpay refund …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Refund (part of) a Pay Score deduction, by its transaction_id
    /// (collection.details[].transaction_id of the paid order).
    #[command(
        after_help = "Example:\n  wxpay refund create --sub-mchid 1900000109 --transaction-id 4200002501202503011000000001 \\\n     --out-refund-no RF20250301001 --refund 500 --total 2500 --reason 归还后多收费用\n\nAmounts are integer fen. Retry with the same --out-refund-no: WeChat Pay refunds it at most once."
    )]
    Create {
        /// The sub-merchant of the payment.
        #[arg(long)]
        sub_mchid: String,
        /// The deduction: collection.details[].transaction_id.
        #[arg(long)]
        transaction_id: String,
        /// Your refund number (≤ 64 bytes of 0-9 A-Z a-z _ - | * @).
        #[arg(long)]
        out_refund_no: String,
        /// Fen to refund.
        #[arg(long)]
        refund: i64,
        /// The deduction's amount in fen (collection.details[].amount).
        #[arg(long)]
        total: i64,
        /// Shown to the user.
        #[arg(long)]
        reason: Option<String>,
        /// Where REFUND.* callbacks go.
        #[arg(long)]
        notify_url: Option<String>,
    },
    /// A refund's state.
    #[command(
        after_help = "Example:\n  wxpay refund query --sub-mchid 1900000109 --out-refund-no RF20250301001"
    )]
    Query {
        /// The sub-merchant.
        #[arg(long)]
        sub_mchid: String,
        /// The refund number.
        #[arg(long)]
        out_refund_no: String,
    },
    /// Send an ABNORMAL refund (the user's card was frozen or closed) again, to another
    /// account.
    #[command(
        after_help = "Examples:\n  wxpay refund abnormal --sub-mchid 1900000109 --refund-id 50300000012025030100000000001 \\\n     --out-refund-no RF20250301001 --to merchant-bank-card\n  printf '%s\\n%s\\n' 6222020000000000000 张三 | wxpay refund abnormal ... --to user-bank-card --bank-type ICBC_DEBIT\n\nFor the user's bank card, the card number and the cardholder's name are read from standard\ninput, one per line (they stay out of the shell's history), and encrypted for WeChat Pay."
    )]
    Abnormal {
        /// The sub-merchant.
        #[arg(long)]
        sub_mchid: String,
        /// WeChat Pay's refund id (refund_id of the refund).
        #[arg(long)]
        refund_id: String,
        /// Your refund number of that refund.
        #[arg(long)]
        out_refund_no: String,
        /// Where the money goes.
        #[arg(long, value_enum)]
        to: AbnormalTo,
        /// The user's bank, for --to user-bank-card (`ICBC_DEBIT`, …).
        #[arg(long, required_if_eq("to", "user-bank-card"))]
        bank_type: Option<String>,
    },
}

/// `--to` of `wxpay refund abnormal`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum AbnormalTo {
    /// The user's bank card (card number and name from standard input).
    UserBankCard,
    /// The merchant's own bank card.
    MerchantBankCard,
}

pub(crate) fn run(ctx: &Context, c: Command) -> anyhow::Result<ExitCode> {
    let client = ctx.client()?;
    let refund = match c {
        Command::Create {
            sub_mchid,
            transaction_id,
            out_refund_no,
            refund,
            total,
            reason,
            notify_url,
        } => {
            let mut req = RefundRequest::default()
                .sub_mchid(sub_mchid)
                .transaction_id(transaction_id)
                .out_refund_no(out_refund_no)
                .amount(RefundRequestAmount::default().refund(refund).total(total));
            req.reason = reason;
            req.notify_url = notify_url;
            client.send(&req)?
        }
        Command::Query {
            sub_mchid,
            out_refund_no,
        } => client.send(
            &QueryRefundRequest::default()
                .out_refund_no(out_refund_no)
                .sub_mchid(sub_mchid),
        )?,
        Command::Abnormal {
            sub_mchid,
            refund_id,
            out_refund_no,
            to,
            bank_type,
        } => {
            let mut req = ApplyAbnormalRefundRequest::default()
                .refund_id(refund_id)
                .sub_mchid(sub_mchid)
                .out_refund_no(out_refund_no);
            req.bank_type = bank_type;
            req.kind = match to {
                AbnormalTo::MerchantBankCard => AbnormalRefundTo::MerchantBankCard,
                AbnormalTo::UserBankCard => {
                    let mut lines = std::io::stdin().lines();
                    let mut next = |what: &str| -> anyhow::Result<String> {
                        let line = lines
                            .next()
                            .transpose()?
                            .with_context(|| format!("the {what} (a line on standard input)"))?;
                        Ok(client.encrypt_sensitive(line.trim())?)
                    };
                    req.bank_account = Some(next("card number")?);
                    req.real_name = Some(next("cardholder's name")?);
                    AbnormalRefundTo::UserBankCard
                }
            };
            client.send(&req)?
        }
    };
    print(ctx, &refund)?;
    Ok(ExitCode::SUCCESS)
}

fn print(ctx: &Context, r: &Refund) -> anyhow::Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string(r)?);
        return Ok(());
    }
    // Every field is server text: escaped for the terminal.
    let c = |s: &str| crate::clean(s, 200);
    let status = r.status.as_ref().map_or("-", |s| s.as_str());
    println!(
        "refund {} ({}): {}",
        c(&r.out_refund_no),
        c(&r.refund_id),
        c(status)
    );
    println!(
        "  {} of {} yuan from transaction {}",
        r.amount.refund,
        r.amount.total,
        c(&r.transaction_id)
    );
    println!(
        "  created {}{}",
        c(&r.create_time),
        r.success_time
            .as_ref()
            .map(|t| format!(", succeeded {}", c(t)))
            .unwrap_or_default()
    );
    Ok(())
}
