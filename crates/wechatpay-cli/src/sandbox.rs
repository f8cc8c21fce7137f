//! `wxpay sandbox init|serve`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use wechatpay_sandbox::{Config, Sandbox};

use crate::profile::Context;

/// `wxpay sandbox …`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Write a complete sandbox configuration with fresh keys, and a matching client profile.
    #[command(
        after_help = "Example:\n  wxpay sandbox init sandbox/ && cd sandbox && wxpay sandbox serve\n  # in another shell, in the same folder:\n  wxpay call GET /v3/certificates"
    )]
    Init {
        /// Folder to create (must not contain the files already).
        dir: PathBuf,
    },
    /// Run the sandbox; logs one line per request. Stop with Ctrl-C.
    #[command(
        after_help = "Example:\n  wxpay sandbox serve --config sandbox/sandbox.toml --addr 127.0.0.1:8780"
    )]
    Serve {
        /// Sandbox configuration (from `wxpay sandbox init`).
        #[arg(long = "config", default_value = "sandbox.toml")]
        sandbox_config: PathBuf,
        /// Listen address (overrides `listen` in the file; port 0 picks a free one).
        #[arg(long)]
        addr: Option<String>,
    },
}

pub(crate) fn run(ctx: &Context, c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Init { dir } => {
            let g = wechatpay_sandbox::generate(wechatpay_sandbox::now())?;
            let files = g.write_to(&dir)?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({"files": files, "ids": g.client.ids, "mchid": g.client.mchid})
                );
            } else {
                println!("Sandbox written to {}:", dir.display());
                for f in &files {
                    println!("  {f}");
                }
                println!(
                    "\nNext:\n  cd {}\n  wxpay sandbox serve              # listens on {}\n  wxpay call GET /v3/certificates  # in another shell, same folder (uses wxpay.toml)",
                    dir.display(),
                    g.config.listen
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            sandbox_config,
            addr,
        } => {
            let (mut cfg, dir): (Config, PathBuf) = Config::from_file(&sandbox_config)?;
            if let Some(a) = addr {
                cfg.listen = a;
            }
            let rt = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
            rt.block_on(async {
                let sandbox = Sandbox::start(cfg, &dir).await?;
                // The first line on stdout is the URL: scripts wait for it.
                println!(
                    "sandbox listening on {} (inspection: {}/_sandbox/)",
                    sandbox.base_url(),
                    sandbox.base_url()
                );
                tokio::signal::ctrl_c()
                    .await
                    .context("cannot wait for Ctrl-C")?;
                eprintln!("stopping");
                sandbox.shutdown().await;
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
