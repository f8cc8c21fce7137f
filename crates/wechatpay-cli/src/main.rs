//! `wxpay`: call WeChat Pay APIv3 from the shell, run the local sandbox, and debug
//! signatures, callbacks and certificates.

mod bench;
mod bill;
mod call;
mod debug;
mod demo;
mod launch;
mod profile;
mod refund;
mod sandbox;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// WeChat Pay APIv3 from the shell: signed calls, a local sandbox, signature debugging.
#[derive(Debug, Parser)]
#[command(name = "wxpay", version, about, long_about = None, after_help = "Start with `wxpay demo`: a complete Pay Score direct-complete flow against a local sandbox.\nConfiguration: wxpay.toml in the current folder (or --profiles FILE), profile chosen with --profile.")]
struct Cli {
    /// File of merchant profiles (default: ./wxpay.toml, then ~/.config/wxpay/config.toml).
    #[arg(
        long = "profiles",
        value_name = "FILE",
        global = true,
        env = "WXPAY_CONFIG"
    )]
    config: Option<std::path::PathBuf>,
    /// Profile to use from the configuration file.
    #[arg(long, global = true, env = "WXPAY_PROFILE")]
    profile: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole Pay Score flow on an embedded sandbox with fresh keys, and explain each step.
    #[command(after_help = "Example:\n  wxpay demo\n\nExit status 0 only if every step passed.")]
    Demo(demo::Args),
    /// Call any endpoint, signed and verified.
    #[command(
        after_help = "Examples:\n  wxpay call POST /v3/payscore/partner/serviceorder/direct-complete -d @order.json\n  wxpay call GET /v3/payscore/partner/serviceorder -q service_id=500001 -q sub_mchid=1900000110 -q out_order_no=RENT1\n  wxpay call POST /v3/payscore/partner/serviceorder/RENT1/cancel -f sub_mchid=1900000110 -f reason=取消"
    )]
    Call(call::Args),
    /// Run or set up the local WeChat Pay sandbox.
    #[command(subcommand)]
    Sandbox(sandbox::Command),
    /// Generate merchant keys.
    #[command(subcommand)]
    Keys(debug::KeysCommand),
    /// Print the exact string-to-sign and Authorization for a request.
    #[command(
        after_help = "Example:\n  wxpay sign --method POST --url /v3/payscore/partner/serviceorder/direct-complete --body @order.json \\\n     --mchid 1900000109 --serial 4096EE81... --private-key apiclient_key.pem --timestamp 1764146249 --nonce abc"
    )]
    Sign(debug::SignArgs),
    /// Check a response or callback signature from its headers and body.
    #[command(
        after_help = "Example:\n  wxpay verify -H 'Wechatpay-Timestamp: 1764146279' -H 'Wechatpay-Nonce: …' -H 'Wechatpay-Serial: PUB_KEY_ID_…' \\\n     -H 'Wechatpay-Signature: …' --body @body.json --public-key-id PUB_KEY_ID_… --public-key pub_key.pem"
    )]
    Verify(debug::VerifyArgs),
    /// Callbacks: verify and decrypt.
    #[command(subcommand)]
    Notify(debug::NotifyCommand),
    /// Platform certificates.
    #[command(subcommand)]
    Certs(call::CertsCommand),
    /// Parameters for the Pay Score pages a front end opens (authorize, confirm, details).
    #[command(subcommand)]
    Launch(launch::Command),
    /// Load-test direct-complete against an embedded sandbox or a URL.
    Bench(bench::Args),
    /// Refunds of Pay Score deductions.
    #[command(subcommand)]
    Refund(refund::Command),
    /// Reconciliation bills: download, verify, save.
    #[command(subcommand)]
    Bill(bill::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(match &cli.command {
        Command::Sandbox(sandbox::Command::Serve { .. }) => "info,wechatpay_sandbox=info",
        _ => "warn",
    });
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", clean(&format!("{e:#}"), 4000));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = profile::Context {
        config: cli.config,
        profile: cli.profile,
        json: cli.json,
    };
    match cli.command {
        Command::Demo(a) => demo::run(&ctx, a),
        Command::Call(a) => call::run(&ctx, a),
        Command::Sandbox(c) => sandbox::run(&ctx, c),
        Command::Keys(c) => debug::keys(&ctx, c),
        Command::Sign(a) => debug::sign(&ctx, a),
        Command::Verify(a) => debug::verify(&ctx, a),
        Command::Notify(c) => debug::notify(&ctx, c),
        Command::Certs(c) => call::certs(&ctx, c),
        Command::Launch(c) => launch::run(&ctx, c),
        Command::Bench(a) => bench::run(&ctx, a),
        Command::Refund(c) => refund::run(&ctx, c),
        Command::Bill(c) => bill::run(&ctx, c),
    }
}

/// Reads `@file` (or `-` for stdin) or returns the text itself.
pub(crate) fn text_or_file(v: &str) -> anyhow::Result<String> {
    use anyhow::Context as _;
    match v.strip_prefix('@') {
        Some("-") => {
            std::io::read_to_string(std::io::stdin()).context("cannot read standard input")
        }
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}")),
        None => Ok(v.to_owned()),
    }
}

/// Logs to standard error, filtered by `WXPAY_LOG`, else `RUST_LOG`, else `default`
/// (e.g. `WXPAY_LOG=wechatpay=debug` shows one line per call).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WXPAY_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// An error with its causes, each once (`a: b: c`).
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    wechatpay_core::ErrorChain(e).to_string()
}

/// Text that came from a server, made safe for a terminal.
pub(crate) use wechatpay::printable as clean;

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
