//! Configuration from outside the code: the `WXPAY_*` environment variables and, with the
//! `config` feature, named profiles in a `wxpay.toml` file, the same the `wxpay` CLI reads.
//!
//! ```toml
//! [profiles.prod]
//! mchid = "1900000109"
//! serial = "4096EE819812D60B81028D52CCC299E81E260B72"   # or merchant_certificate = "apiclient_cert.pem"
//! private_key = "apiclient_key.pem"                      # paths are relative to this file
//! apiv3_key = "…"
//! public_key_id = "PUB_KEY_ID_0119000001092025010195539798365202"
//! public_key = "pub_key.pem"
//! platform_certificates = []
//! # base_url = "http://127.0.0.1:8780"                 # the sandbox
//! ```
//!
//! ```no_run
//! # #[cfg(feature = "config")]
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use wechatpay::config::Profile;
//! let mut profile = Profile::load("wxpay.toml".as_ref(), Some("prod"))?;
//! profile.apply_env(); // WXPAY_* variables win over the file
//! let client = profile.builder().build()?;
//! # Ok(()) }
//! ```

use std::fmt;

use serde::Deserialize;

use crate::client::ClientBuilder;
use crate::error::BuildError;

/// One merchant's settings. File settings are paths; `apiv3_key` is the key itself.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Merchant number (`WXPAY_MCHID`).
    pub mchid: Option<String>,
    /// Merchant API certificate serial (`WXPAY_SERIAL`).
    pub serial: Option<String>,
    /// Path of the merchant private key (`WXPAY_PRIVATE_KEY`).
    pub private_key: Option<String>,
    /// Path of the merchant certificate: the serial when `serial` is absent, checked
    /// against it when present (`WXPAY_MERCHANT_CERTIFICATE`).
    pub merchant_certificate: Option<String>,
    /// The APIv3 key (`WXPAY_APIV3_KEY`). Never shown in `Debug`.
    pub apiv3_key: Option<String>,
    /// The APIv2 key (`WXPAY_APIV2_KEY`), for the order-detail page's signature. Never
    /// shown in `Debug`.
    pub apiv2_key: Option<String>,
    /// Base URL (`WXPAY_BASE_URL`).
    pub base_url: Option<String>,
    /// WeChat Pay public key id, `PUB_KEY_ID_…` (`WXPAY_PUBLIC_KEY_ID`).
    pub public_key_id: Option<String>,
    /// Path of the WeChat Pay public key (`WXPAY_PUBLIC_KEY`).
    pub public_key: Option<String>,
    /// Paths of platform certificates.
    #[serde(default)]
    pub platform_certificates: Vec<String>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("mchid", &self.mchid)
            .field("serial", &self.serial)
            .field("private_key", &self.private_key)
            .field(
                "apiv3_key",
                &self.apiv3_key.as_ref().map(|_| "** redacted **"),
            )
            .field(
                "apiv2_key",
                &self.apiv2_key.as_ref().map(|_| "** redacted **"),
            )
            .field("base_url", &self.base_url)
            .field("public_key_id", &self.public_key_id)
            .finish_non_exhaustive()
    }
}

/// The environment variables and the settings they set.
const ENV: [&str; 9] = [
    "WXPAY_MCHID",
    "WXPAY_SERIAL",
    "WXPAY_PRIVATE_KEY",
    "WXPAY_MERCHANT_CERTIFICATE",
    "WXPAY_APIV3_KEY",
    "WXPAY_APIV2_KEY",
    "WXPAY_BASE_URL",
    "WXPAY_PUBLIC_KEY_ID",
    "WXPAY_PUBLIC_KEY",
];

impl Profile {
    /// The settings given by the `WXPAY_*` environment variables.
    #[must_use]
    pub fn from_env() -> Self {
        let mut p = Self::default();
        p.apply_env();
        p
    }

    /// Overrides settings with the `WXPAY_*` environment variables that are set and not
    /// empty.
    pub fn apply_env(&mut self) {
        for name in ENV {
            if let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
                *self.slot(name) = Some(v);
            }
        }
    }

    fn slot(&mut self, env: &str) -> &mut Option<String> {
        match env {
            "WXPAY_MCHID" => &mut self.mchid,
            "WXPAY_SERIAL" => &mut self.serial,
            "WXPAY_PRIVATE_KEY" => &mut self.private_key,
            "WXPAY_MERCHANT_CERTIFICATE" => &mut self.merchant_certificate,
            "WXPAY_APIV3_KEY" => &mut self.apiv3_key,
            "WXPAY_APIV2_KEY" => &mut self.apiv2_key,
            "WXPAY_BASE_URL" => &mut self.base_url,
            "WXPAY_PUBLIC_KEY_ID" => &mut self.public_key_id,
            _ => &mut self.public_key,
        }
    }

    /// A client builder with these settings; files are read now, and what is missing or
    /// unusable is reported by [`ClientBuilder::build`].
    pub fn builder(&self) -> ClientBuilder {
        let mut b = ClientBuilder::default();
        if let Some(v) = &self.mchid {
            b = b.mchid(v);
        }
        if let Some(v) = &self.serial {
            b = b.serial(v);
        }
        if let Some(v) = &self.private_key {
            b = b.private_key_file(v);
        }
        if let Some(v) = &self.merchant_certificate {
            b = b.merchant_certificate_file(v);
        }
        if let Some(v) = &self.apiv3_key {
            b = b.apiv3_key(v);
        }
        if let Some(v) = &self.apiv2_key {
            b = b.apiv2_key(v);
        }
        if let Some(v) = &self.base_url {
            b = b.base_url(v);
        }
        match (&self.public_key_id, &self.public_key) {
            (Some(id), Some(path)) => b = b.wechatpay_public_key_file(id, path),
            (None, None) => {}
            (Some(_), None) => {
                b = b.defer(BuildError::Missing(
                    "public_key (the file of the WeChat Pay public key named by public_key_id)",
                ));
            }
            (None, Some(_)) => {
                b = b.defer(BuildError::Missing(
                    "public_key_id (the PUB_KEY_ID_… of the WeChat Pay public key)",
                ));
            }
        }
        for c in &self.platform_certificates {
            b = b.platform_certificate_file(c);
        }
        b
    }
}

#[cfg(feature = "config")]
pub use file::ConfigError;

#[cfg(feature = "config")]
mod file {
    use std::collections::BTreeMap;
    use std::path::Path;

    use serde::Deserialize;

    use super::Profile;

    /// A configuration file that cannot be used.
    #[derive(Debug, thiserror::Error)]
    #[non_exhaustive]
    pub enum ConfigError {
        /// The file cannot be read.
        #[error("cannot read {path}")]
        Read {
            /// The file.
            path: String,
            /// The OS reason.
            #[source]
            source: std::io::Error,
        },
        /// The file is not a valid configuration.
        #[error("{path} is not a valid wxpay configuration")]
        Parse {
            /// The file.
            path: String,
            /// Where and why.
            #[source]
            source: toml::de::Error,
        },
        /// The profile is not in the file.
        #[error("profile {name:?} is not in {path} (profiles: {available}); choose one")]
        NoProfile {
            /// The profile asked for.
            name: String,
            /// The file.
            path: String,
            /// The profiles it has.
            available: String,
        },
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        profiles: BTreeMap<String, Profile>,
    }

    impl Profile {
        /// Loads profile `name` from a `wxpay.toml` file (`[profiles.NAME]` tables); with
        /// no name, the only profile, or else the one named `default`. Paths in the file
        /// are taken relative to it.
        ///
        /// # Errors
        /// [`ConfigError`] when the file cannot be read or parsed, or lacks the profile.
        pub fn load(path: &Path, name: Option<&str>) -> Result<Self, ConfigError> {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: shown.clone(),
                source,
            })?;
            let file: File = toml::from_str(&text).map_err(|source| ConfigError::Parse {
                path: shown.clone(),
                source,
            })?;
            let name = match name {
                Some(n) => n.to_owned(),
                None if file.profiles.len() == 1 => {
                    file.profiles.keys().next().cloned().unwrap_or_default()
                }
                None => "default".to_owned(),
            };
            let mut p =
                file.profiles
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| ConfigError::NoProfile {
                        available: file.profiles.keys().cloned().collect::<Vec<_>>().join(", "),
                        name,
                        path: shown,
                    })?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let rel = |v: &mut String| *v = dir.join(&*v).display().to_string();
            for v in [
                &mut p.private_key,
                &mut p.merchant_certificate,
                &mut p.public_key,
            ]
            .into_iter()
            .flatten()
            {
                rel(v);
            }
            p.platform_certificates.iter_mut().for_each(rel);
            Ok(p)
        }
    }
}

/// The builder's constructor from the environment lives here, beside the profile it
/// reads, so that the builder does not depend on the configuration module.
impl ClientBuilder {
    /// A builder configured from the `WXPAY_*` environment variables, as the `wxpay` CLI
    /// reads them: `WXPAY_MCHID`, `WXPAY_SERIAL` (or `WXPAY_MERCHANT_CERTIFICATE`, a
    /// file), `WXPAY_PRIVATE_KEY` (a file), `WXPAY_APIV3_KEY`, `WXPAY_BASE_URL`,
    /// `WXPAY_PUBLIC_KEY_ID` with `WXPAY_PUBLIC_KEY` (a file). Unset and empty variables
    /// are skipped; add anything else with the setters.
    ///
    /// ```no_run
    /// let client = wechatpay::ClientBuilder::from_env().build()?;
    /// # Ok::<(), wechatpay::Error>(())
    /// ```
    pub fn from_env() -> Self {
        Profile::from_env().builder()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apiv3_key_is_never_shown() {
        let p = Profile {
            apiv3_key: Some("Av4mVSbkMpNfhx2oRC7zrW5DHAtOc3eJ".into()),
            ..Profile::default()
        };
        assert!(!format!("{p:?}").contains("Av4m"));
    }

    #[test]
    fn half_a_public_key_is_reported_at_build() {
        let p = Profile {
            public_key_id: Some("PUB_KEY_ID_1".into()),
            ..Profile::default()
        };
        let e = p.builder().build().unwrap_err();
        assert!(e.to_string().contains("public_key"), "{e}");
    }
}
