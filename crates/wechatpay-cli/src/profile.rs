//! Merchant profiles: a TOML file with named profiles, overridable by environment
//! variables. Secrets are never echoed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// Global options.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: Option<PathBuf>,
    pub(crate) profile: Option<String>,
    pub(crate) json: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One merchant.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    pub(crate) mchid: Option<String>,
    pub(crate) serial: Option<String>,
    /// Path of the merchant private key.
    pub(crate) private_key: Option<String>,
    /// Path of the merchant certificate (serial read from it when `serial` is absent).
    pub(crate) merchant_certificate: Option<String>,
    pub(crate) apiv3_key: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) public_key_id: Option<String>,
    /// Path of the WeChat Pay public key.
    pub(crate) public_key: Option<String>,
    /// Paths of platform certificates.
    #[serde(default)]
    pub(crate) platform_certificates: Vec<String>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("mchid", &self.mchid)
            .field("serial", &self.serial)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

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
    /// `WXPAY_APIV3_KEY`, `WXPAY_BASE_URL`, `WXPAY_PUBLIC_KEY_ID`, `WXPAY_PUBLIC_KEY`).
    pub(crate) fn profile(&self) -> anyhow::Result<Profile> {
        let mut p = Profile::default();
        if let Some(path) = self.config_path() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let file: File = toml::from_str(&text).with_context(|| {
                format!("{} is not a valid wxpay configuration", path.display())
            })?;
            let name = match &self.profile {
                Some(n) => n.clone(),
                None if file.profiles.len() == 1 => {
                    file.profiles.keys().next().cloned().unwrap_or_default()
                }
                None => "default".into(),
            };
            p = match file.profiles.get(&name) {
                Some(found) => found.clone(),
                None => bail!(
                    "profile {name:?} is not in {} (profiles: {}); choose one with --profile",
                    path.display(),
                    file.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            };
            let dir = path.parent().unwrap_or(Path::new("."));
            let rel = |v: &mut Option<String>| {
                if let Some(x) = v {
                    *x = dir.join(&*x).display().to_string();
                }
            };
            rel(&mut p.private_key);
            rel(&mut p.merchant_certificate);
            rel(&mut p.public_key);
            for c in &mut p.platform_certificates {
                *c = dir.join(&*c).display().to_string();
            }
        } else if let Some(n) = &self.profile {
            bail!(
                "--profile {n} given but no configuration file found (create wxpay.toml, or run `wxpay sandbox init DIR`)"
            );
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        for (var, slot) in [
            ("WXPAY_MCHID", &mut p.mchid),
            ("WXPAY_SERIAL", &mut p.serial),
            ("WXPAY_PRIVATE_KEY", &mut p.private_key),
            ("WXPAY_APIV3_KEY", &mut p.apiv3_key),
            ("WXPAY_BASE_URL", &mut p.base_url),
            ("WXPAY_PUBLIC_KEY_ID", &mut p.public_key_id),
            ("WXPAY_PUBLIC_KEY", &mut p.public_key),
        ] {
            if let Some(v) = env(var) {
                *slot = Some(v);
            }
        }
        Ok(p)
    }

    /// A blocking client for the selected profile.
    pub(crate) fn client(&self) -> anyhow::Result<wechatpay::blocking::Client> {
        client_for(&self.profile()?)
    }
}

/// A blocking client for `p`.
pub(crate) fn client_for(p: &Profile) -> anyhow::Result<wechatpay::blocking::Client> {
    let need = |v: &Option<String>, what: &str| -> anyhow::Result<String> {
        v.clone().with_context(|| {
            format!("no {what} configured: set it in the profile (wxpay.toml) or the environment")
        })
    };
    let mut b = wechatpay::Client::builder()
        .mchid(need(&p.mchid, "mchid")?)
        .private_key_file(need(&p.private_key, "private_key")?);
    match (&p.serial, &p.merchant_certificate) {
        (Some(s), _) => b = b.serial(s),
        (None, Some(c)) => {
            b = b.merchant_certificate_pem(
                &std::fs::read_to_string(c).with_context(|| format!("cannot read {c}"))?,
            )
        }
        (None, None) => {
            bail!("no serial configured: set serial or merchant_certificate in the profile")
        }
    }
    if let Some(u) = &p.base_url {
        b = b.base_url(u);
    }
    if let Some(k) = &p.apiv3_key {
        b = b.apiv3_key(k);
    }
    if let (Some(id), Some(path)) = (&p.public_key_id, &p.public_key) {
        b = b.wechatpay_public_key(
            id,
            &std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
        );
    }
    for c in &p.platform_certificates {
        b = b.platform_certificate_pem(
            &std::fs::read_to_string(c).with_context(|| format!("cannot read {c}"))?,
        );
    }
    Ok(b.build_blocking()?)
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
