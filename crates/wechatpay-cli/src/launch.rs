//! `wxpay launch …`: the parameters a front end passes to the Pay Score pages.

use std::process::ExitCode;

use anyhow::Context as _;
use wechatpay::launch::{self, Launch};

use crate::profile::Context;

/// `wxpay launch …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// The order-detail page (wxpayScoreDetail), signed with the profile's APIv2 key.
    #[command(
        after_help = "Example:\n  wxpay launch detail --service-id 500001 --out-order-no RENT1\n\nmch_id is the profile's mchid (the service provider's); the key is its apiv2_key\n(WXPAY_APIV2_KEY). The sandbox checks a launch: POST /_sandbox/api/test-helpers/check-launch."
    )]
    Detail {
        /// The service.
        #[arg(long)]
        service_id: String,
        /// The order.
        #[arg(long)]
        out_order_no: String,
    },
    /// The confirm page (wxpayScoreUse) for an order's package.
    #[command(after_help = "Example:\n  wxpay launch use --package AAQTnZo…")]
    Use {
        /// The package that create answered.
        #[arg(long)]
        package: String,
    },
    /// The authorization page (wxpayScoreEnable) for an apply_permissions_token.
    #[command(after_help = "Example:\n  wxpay launch enable --token AAQTnZo…")]
    Enable {
        /// The apply_permissions_token.
        #[arg(long)]
        token: String,
    },
}

pub(crate) fn run(ctx: &Context, c: Command) -> anyhow::Result<ExitCode> {
    let page = match c {
        Command::Detail {
            service_id,
            out_order_no,
        } => ctx
            .client()?
            .as_async()
            .launch_detail(&service_id, &out_order_no)
            .context("the detail page is signed with the APIv2 key: set apiv2_key in the profile or WXPAY_APIV2_KEY")?,
        Command::Use { package } => launch::use_order(&package),
        Command::Enable { token } => launch::enable(&token),
    };
    print(ctx, &page);
    Ok(ExitCode::SUCCESS)
}

/// Prints a launch for each kind of front end.
pub(crate) fn print(ctx: &Context, page: &Launch) {
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"businessType": page.business_type, "extraData": page.extra_data(), "queryString": page.query_string()})
        );
    } else {
        println!("businessType: {}", page.business_type);
        println!(
            "mini-program  wx.openBusinessView extraData: {}",
            page.extra_data()
        );
        println!(
            "JSAPI / APP   queryString (query):          {}",
            page.query_string()
        );
    }
}
