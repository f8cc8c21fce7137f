//! Merchant profiles: a TOML file with named profiles, overridable by environment
//! variables. Secrets are never echoed.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// Global options.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: Option<PathBuf>,
    pub(crate) profile: Option<String>,
    pub(crate) json: bool,
}

pub(crate) use wechatpay::config::Profile;

impl Context {
    fn config_path(&self) -> Option<PathBuf> {
        if let Some(p) = &self.config {
            return Some(p.clone());
        }
        let local = PathBuf::from("wxpay.toml");
        if local.exists() {
            return Some(local);
        }
        std::env::var_os("HOME")
            .map(|h| Path::new(&h).join(".config/wxpay/config.toml"))
            .filter(|p| p.exists())
    }

    /// The selected profile, with paths made relative to the configuration file and
    /// environment overrides applied (`WXPAY_MCHID`, `WXPAY_SERIAL`, `WXPAY_PRIVATE_KEY`,
    /// `WXPAY_MERCHANT_CERTIFICATE`, `WXPAY_APIV3_KEY`, `WXPAY_BASE_URL`,
    /// `WXPAY_PUBLIC_KEY_ID`, `WXPAY_PUBLIC_KEY`).
    pub(crate) fn profile(&self) -> anyhow::Result<Profile> {
        let mut p = match self.config_path() {
            Some(path) => Profile::load(&path, self.profile.as_deref())?,
            None if self.profile.is_some() => bail!(
                "--profile {} given but no configuration file found (create wxpay.toml, or run `wxpay sandbox init DIR`)",
                self.profile.as_deref().unwrap_or_default()
            ),
            None => Profile::default(),
        };
        p.apply_env();
        Ok(p)
    }

    /// A blocking client for the selected profile.
    pub(crate) fn client(&self) -> anyhow::Result<wechatpay::blocking::Client> {
        client_for(&self.profile()?)
    }
}

/// A blocking client for `p`.
pub(crate) fn client_for(p: &Profile) -> anyhow::Result<wechatpay::blocking::Client> {
    p.builder()
        .build_blocking()
        .context("the profile (wxpay.toml or WXPAY_* variables) does not make a client")
}

/// A client builder for a generated sandbox's merchant.
pub(crate) fn sandbox_client(
    c: &wechatpay_sandbox::ClientCredentials,
    base_url: String,
) -> wechatpay::ClientBuilder {
    wechatpay::Client::builder()
        .base_url(base_url)
        .mchid(&c.mchid)
        .serial(&c.serial)
        .private_key_pem(&c.private_key_pem)
        .wechatpay_public_key(&c.public_key_id, &c.public_key_pem)
        .apiv3_key(&c.apiv3_key)
}
