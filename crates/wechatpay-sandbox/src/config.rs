//! The sandbox configuration (TOML) and the loaded, checked world it describes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wechatpay_core::{ApiV3Key, Certificate, PrivateKey, PublicKey};

use crate::SandboxError;

/// The whole configuration, as written in `sandbox.toml`.
///
/// Key fields (`private_key`, `certificate`, `public_key`) take either a file path
/// (relative to the configuration file) or the PEM text itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (default `127.0.0.1:8780`; port 0 picks a free one).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// SQLite file (relative to the configuration file), or `:memory:`.
    #[serde(default = "default_database")]
    pub database: String,
    /// Behaviour switches.
    #[serde(default)]
    pub behaviour: Behaviour,
    /// The platform (WeChat Pay) key.
    pub platform: PlatformConfig,
    /// Service providers (服务商), or direct merchants.
    pub providers: Vec<ProviderConfig>,
    /// Pay Score services.
    #[serde(default)]
    pub services: Vec<ServiceConfig>,
    /// Users who have authorised a service (免确认授权).
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Lets callers that are not on this machine use the console, its JSON and the test
    /// helpers, with this token (once as `?token=`, then a cookie; or
    /// `Authorization: Bearer`). Required to listen on an address other than loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_token: Option<String>,
    /// Further `Host` names under which the console, its JSON and the test helpers answer
    /// (`name` with any port, or `name:port`). Besides them only the listening address,
    /// `localhost`, `127.0.0.1` and `[::1]` with the listening port are accepted: a web page
    /// whose name was rebound to 127.0.0.1 (DNS rebinding) is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// The base URL clients reach the sandbox at, for the links it gives out (a bill's
    /// `download_url`). Default: `http://` and the listening address. Never taken from a
    /// request's `Host` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

fn default_listen() -> String {
    "127.0.0.1:8780".into()
}

fn default_database() -> String {
    "sandbox.sqlite".into()
}

/// How the sandbox behaves where the documentation leaves a choice, and its time scales.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    /// What partner direct-complete answers: 204 (documented) or 200 with the order.
    pub partner_direct_complete_status: u16,
    /// Delay from completion to the simulated deduction, in milliseconds.
    pub deduction_delay_ms: u64,
    /// Callback retry intervals after the first attempt, in seconds.
    pub callback_schedule_secs: Vec<u64>,
    /// Multiplies the callback schedule (e.g. 0.001 to run it in milliseconds in tests).
    pub callback_time_scale: f64,
    /// How long a receiver has to answer a callback, in milliseconds.
    pub callback_timeout_ms: u64,
    /// `associated_data` of callback resources.
    pub callback_associated_data: String,
    /// Allowed distance of the Authorization timestamp from the server clock, seconds.
    pub max_skew_secs: u64,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Time limit of one request, milliseconds.
    pub request_timeout_ms: u64,
    /// Most discounts in a direct-complete order (5 in the current docs, 30 in old ones).
    pub max_post_discounts: usize,
    /// Whether cancel is allowed while the deduction is pending (sources disagree).
    pub cancel_while_paying: bool,
    /// Deliver callbacks to hosts other than loopback (`127.0.0.0/8`, `localhost`, `[::1]`).
    /// Off by default, so that a local sandbox never calls out of the machine.
    pub remote_callbacks: bool,
    /// Most callback attempts in progress at once; further due callbacks wait their turn
    /// (a silent receiver cannot make the sandbox open a socket per callback).
    pub max_concurrent_callbacks: usize,
    /// Percent of callbacks (0–100) that are preceded by a signature probe: the same
    /// envelope signed `WECHATPAY/SIGNTEST/…`, which a receiver must refuse with a non-2xx
    /// status (WeChat Pay's integration notes, `payscore-provider-notes.md`). The answer is
    /// recorded; a 2xx marks the receiver as not verifying signatures. 0 (off) by default.
    pub signature_probe_percent: u8,
    /// Refuse a request whose `nonce_str` was seen within the timestamp window. Off by
    /// default: WeChat Pay documents no such check (protocol spec §2.4), and a resend of
    /// the same signed request (to the backup host, say) is accepted there.
    pub reject_replayed_nonce: bool,
    /// Retry intervals of the authorization callbacks (USER_OPEN_SERVICE,
    /// USER_CLOSE_SERVICE), in seconds: 15 s … then hourly for three days (lifecycle
    /// spec §2.7).
    pub authorization_callback_schedule_secs: Vec<u64>,
    /// Whether a merchant's terminate also sends USER_CLOSE_SERVICE (not documented;
    /// lifecycle spec §2.4 recommends sending it).
    pub close_callback_on_terminate: bool,
    /// Close keep-alive connections idle this long, in seconds (0: never), as WeChat Pay
    /// does after about 8 s (the field report behind wechatpay-java PR #187).
    pub idle_timeout_secs: u64,
    /// Close a connection whose request head (request line and headers) is not complete
    /// this long after its first byte, in seconds (0: never). It cuts off clients that
    /// send their headers a byte at a time (slowloris).
    pub header_read_timeout_secs: u64,
    /// Answer `408` when a request body is not complete this long after its head, in
    /// seconds (0: never).
    pub body_read_timeout_secs: u64,
    /// Most open connections. A new one beyond it closes the connection that has waited
    /// longest for a request, if one has waited a second or more (as nginx reuses idle
    /// keep-alive connections); otherwise the new one gets `503` and is closed.
    pub max_connections: usize,
    /// Most requests handled at once; beyond it, an immediate `503 SYSTEM_ERROR` with
    /// `Retry-After: 1` (unsigned: it is given before the caller is known).
    pub max_in_flight: usize,
    /// How long a refund stays PROCESSING before it settles, in seconds of business time
    /// (the test clock moves it). Refunds to the balance take up to about 5 minutes.
    pub refund_delay_secs: u64,
    /// Retry intervals of REFUND.* callbacks, in seconds (15 s … 6 h, 24 h 4 min in all,
    /// lifecycle spec §4.6).
    pub refund_callback_schedule_secs: Vec<u64>,
    /// Bills of a day can be applied for from this hour (Beijing time) of the next day;
    /// before it, `STATEMENT_CREATING` (lifecycle spec §5.1).
    pub bill_ready_hour: u32,
    /// How long a bill's `download_url` is valid, in seconds (5 minutes in the 2024–2025
    /// documents, 30 s in 2021 ones).
    pub bill_link_valid_secs: u64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            partner_direct_complete_status: 204,
            deduction_delay_ms: 2_000,
            callback_schedule_secs: vec![15, 15, 30, 180, 1800, 1800, 1800, 1800, 3600],
            callback_time_scale: 1.0,
            callback_timeout_ms: 5_000,
            callback_associated_data: String::new(),
            max_skew_secs: 300,
            max_body_bytes: 64 * 1024,
            request_timeout_ms: 10_000,
            max_post_discounts: 5,
            cancel_while_paying: true,
            remote_callbacks: false,
            max_concurrent_callbacks: 32,
            signature_probe_percent: 0,
            reject_replayed_nonce: false,
            authorization_callback_schedule_secs: {
                let mut s = vec![15, 15, 30, 180, 1800, 1800, 1800, 1800, 3600];
                let three_days: u64 = 3 * 86_400;
                while s.iter().sum::<u64>() + 3600 <= three_days {
                    s.push(3600);
                }
                s
            },
            close_callback_on_terminate: true,
            idle_timeout_secs: 8,
            header_read_timeout_secs: 5,
            body_read_timeout_secs: 5,
            max_connections: 1024,
            max_in_flight: 256,
            refund_delay_secs: 10,
            refund_callback_schedule_secs: vec![
                15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600,
                21600,
            ],
            bill_ready_hour: 10,
            bill_link_valid_secs: 300,
        }
    }
}

/// The platform key pair WeChat Pay signs with.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    /// The WeChat Pay public key id, `PUB_KEY_ID_…`.
    pub public_key_id: String,
    /// The platform private key (path or PEM).
    pub private_key: String,
    /// Optionally a platform certificate of the same key (path or PEM): served by
    /// `GET /v3/certificates` and usable as `Wechatpay-Serial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

/// A service provider (or direct merchant) allowed to call the sandbox.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// sp_mchid.
    pub mchid: String,
    /// Serial of its API certificate.
    pub serial: String,
    /// Its public key (path or PEM), or give `certificate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Its API certificate (path or PEM); the serial must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Its APIv3 key (32 characters).
    pub apiv3_key: String,
    /// Its APIv2 key (32 characters): checks the signatures of front-end launches
    /// (`/_sandbox/api/test-helpers/check-launch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apiv2_key: Option<String>,
    /// Appids bound to it.
    #[serde(default)]
    pub appids: Vec<String>,
    /// Which key id signs its callbacks (default: the public key id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_serial: Option<String>,
    /// Its sub-merchants.
    #[serde(default)]
    pub sub_merchants: Vec<SubMerchantConfig>,
}

/// A key setting as `Debug` may show it: a path, or that inline PEM is hidden.
fn shown(v: &str) -> &str {
    if v.trim_start().starts_with("-----BEGIN") {
        "** inline PEM **"
    } else {
        v
    }
}

impl std::fmt::Debug for PlatformConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformConfig")
            .field("public_key_id", &self.public_key_id)
            .field("private_key", &shown(&self.private_key))
            .field("certificate", &self.certificate.as_deref().map(shown))
            .finish()
    }
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("mchid", &self.mchid)
            .field("serial", &self.serial)
            .field("apiv3_key", &"** redacted **")
            .field(
                "apiv2_key",
                &self.apiv2_key.as_ref().map(|_| "** redacted **"),
            )
            .field("appids", &self.appids)
            .field("sub_merchants", &self.sub_merchants)
            .finish_non_exhaustive()
    }
}

/// A sub-merchant bound to a provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubMerchantConfig {
    /// sub_mchid.
    pub sub_mchid: String,
    /// Sub-merchant appids.
    #[serde(default)]
    pub sub_appids: Vec<String>,
}

/// A Pay Score service id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// service_id.
    pub service_id: String,
    /// Risk cap (服务风险金额) in fen: larger totals are refused.
    pub risk_cap: i64,
    /// Providers (mchid) allowed to use it.
    pub providers: Vec<String>,
    /// Direct-complete permission opened.
    #[serde(default = "yes")]
    pub direct_complete: bool,
    /// Whether the service needs user confirmation (direct-complete needs `false`).
    #[serde(default)]
    pub need_confirm: bool,
}

fn yes() -> bool {
    true
}

/// What happens when WeChat tries to deduct from a user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deduction {
    /// The deduction succeeds.
    #[default]
    Success,
    /// Every deduction fails; the order stays `USER_PAYING`.
    Fail,
}

/// A user who authorised a service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The service.
    pub service_id: String,
    /// openid under the provider's appid.
    pub openid: String,
    /// Deduction outcome.
    #[serde(default)]
    pub deduction: Deduction,
    /// How refunds to this user end.
    #[serde(default)]
    pub refund: RefundOutcome,
}

/// How a refund to a user ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundOutcome {
    /// SUCCESS, to the user's balance.
    #[default]
    Success,
    /// ABNORMAL: the user's card is frozen or cancelled.
    Abnormal,
}

impl Config {
    /// The database file, relative to `dir` (the folder of `sandbox.toml`), or `:memory:`.
    #[must_use]
    pub fn database_path(&self, dir: &Path) -> String {
        if self.database == ":memory:" {
            self.database.clone()
        } else {
            dir.join(&self.database).display().to_string()
        }
    }

    /// Reads and parses a configuration file (paths inside resolve against its folder).
    ///
    /// # Errors
    /// [`SandboxError::Config`] naming the file and the problem.
    pub fn from_file(path: &Path) -> Result<(Self, PathBuf), SandboxError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SandboxError::Config(format!("cannot read {}: {e}", path.display())))?;
        let cfg: Config = toml::from_str(&text)
            .map_err(|e| SandboxError::Config(format!("{}: {e}", path.display())))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok((cfg, dir))
    }

    /// The configuration as TOML text.
    #[must_use]
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

/// The loaded configuration: keys parsed, bindings indexed.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) behaviour: Behaviour,
    pub(crate) platform_key: PrivateKey,
    pub(crate) public_key_id: String,
    pub(crate) platform_cert: Option<Certificate>,
    pub(crate) providers: HashMap<String, Provider>,
    pub(crate) services: HashMap<String, ServiceConfig>,
    pub(crate) users: HashMap<(String, String), Deduction>,
    /// Users whose refunds end ABNORMAL.
    pub(crate) abnormal_refunds: HashSet<String>,
    pub(crate) console_token: Option<String>,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) public_url: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) serial: String,
    pub(crate) key: PublicKey,
    pub(crate) apiv3_key: ApiV3Key,
    pub(crate) apiv2_key: Option<wechatpay_core::apiv2::ApiV2Key>,
    pub(crate) appids: HashSet<String>,
    pub(crate) subs: HashMap<String, HashSet<String>>,
    pub(crate) callback_serial: String,
}

fn pem_or_file(value: &str, dir: &Path) -> Result<String, SandboxError> {
    if value.trim_start().starts_with("-----BEGIN") {
        return Ok(value.to_owned());
    }
    let p = dir.join(value);
    std::fs::read_to_string(&p)
        .map_err(|e| SandboxError::Config(format!("cannot read {}: {e}", p.display())))
}

impl World {
    pub(crate) fn load(cfg: &Config, dir: &Path) -> Result<Self, SandboxError> {
        let bad = |what: &str, source: wechatpay_core::KeyError| SandboxError::Key {
            what: what.to_owned(),
            source,
        };
        let platform_key = PrivateKey::from_pem(&pem_or_file(&cfg.platform.private_key, dir)?)
            .map_err(|e| bad("platform.private_key", e))?;
        if !cfg.platform.public_key_id.starts_with("PUB_KEY_ID_") {
            return Err(SandboxError::Config(
                "platform.public_key_id must start with PUB_KEY_ID_".into(),
            ));
        }
        let platform_cert = match &cfg.platform.certificate {
            Some(c) => {
                let cert = Certificate::from_pem(&pem_or_file(c, dir)?)
                    .map_err(|e| bad("platform.certificate", e))?;
                let expected = platform_key
                    .public_key()
                    .map_err(|e| bad("platform.private_key", e))?;
                if cert.public_key().to_pem() != expected.to_pem() {
                    return Err(SandboxError::Config(
                        "platform.certificate is not for platform.private_key".into(),
                    ));
                }
                Some(cert)
            }
            None => None,
        };
        let mut providers = HashMap::new();
        for p in &cfg.providers {
            let what = format!("providers[{}]", p.mchid);
            let key = match (&p.public_key, &p.certificate) {
                (Some(k), _) => {
                    PublicKey::from_pem(&pem_or_file(k, dir)?).map_err(|e| bad(&what, e))?
                }
                (None, Some(c)) => {
                    let cert =
                        Certificate::from_pem(&pem_or_file(c, dir)?).map_err(|e| bad(&what, e))?;
                    if cert.serial() != p.serial {
                        return Err(SandboxError::Config(format!(
                            "{what}: certificate serial {} differs from serial {}",
                            cert.serial(),
                            p.serial
                        )));
                    }
                    cert.public_key().clone()
                }
                (None, None) => {
                    return Err(SandboxError::Config(format!(
                        "{what}: give public_key or certificate"
                    )));
                }
            };
            let provider = Provider {
                serial: p.serial.clone(),
                key,
                apiv3_key: ApiV3Key::new(&p.apiv3_key).map_err(|e| bad(&what, e))?,
                apiv2_key: p
                    .apiv2_key
                    .as_deref()
                    .map(wechatpay_core::apiv2::ApiV2Key::new)
                    .transpose()
                    .map_err(|e| bad(&what, e))?,
                appids: p.appids.iter().cloned().collect(),
                subs: p
                    .sub_merchants
                    .iter()
                    .map(|s| (s.sub_mchid.clone(), s.sub_appids.iter().cloned().collect()))
                    .collect(),
                callback_serial: p
                    .callback_serial
                    .clone()
                    .unwrap_or_else(|| cfg.platform.public_key_id.clone()),
            };
            if provider.callback_serial != cfg.platform.public_key_id
                && platform_cert
                    .as_ref()
                    .is_none_or(|c| c.serial() != provider.callback_serial)
            {
                return Err(SandboxError::Config(format!(
                    "{what}: callback_serial names no platform key"
                )));
            }
            providers.insert(p.mchid.clone(), provider);
        }
        let b = &cfg.behaviour;
        if ![200, 204].contains(&b.partner_direct_complete_status) {
            return Err(SandboxError::Config(
                "behaviour.partner_direct_complete_status must be 200 or 204".into(),
            ));
        }
        if !(b.callback_time_scale.is_finite() && b.callback_time_scale >= 0.0) {
            return Err(SandboxError::Config(
                "behaviour.callback_time_scale must be >= 0".into(),
            ));
        }
        if cfg
            .console_token
            .as_deref()
            .is_some_and(|t| t.trim().len() < 16)
        {
            return Err(SandboxError::Config(
                "console_token must be at least 16 characters".into(),
            ));
        }
        if cfg.behaviour.signature_probe_percent > 100 {
            return Err(SandboxError::Config(format!(
                "behaviour.signature_probe_percent is {}; give 0 to 100",
                cfg.behaviour.signature_probe_percent
            )));
        }
        if let Some(u) = &cfg.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(SandboxError::Config(format!(
                "public_url {u:?} must start with http:// or https://"
            )));
        }
        Ok(Self {
            console_token: cfg.console_token.clone(),
            allowed_hosts: cfg
                .allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            public_url: cfg
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
            behaviour: cfg.behaviour.clone(),
            platform_key,
            public_key_id: cfg.platform.public_key_id.clone(),
            platform_cert,
            providers,
            services: cfg
                .services
                .iter()
                .map(|s| (s.service_id.clone(), s.clone()))
                .collect(),
            users: cfg
                .users
                .iter()
                .map(|u| ((u.service_id.clone(), u.openid.clone()), u.deduction))
                .collect(),
            abnormal_refunds: cfg
                .users
                .iter()
                .filter(|u| u.refund == RefundOutcome::Abnormal)
                .map(|u| u.openid.clone())
                .collect(),
        })
    }

    /// The serial to sign an answer with: the one the caller asked for in
    /// `Wechatpay-Serial` when it is one of ours, else the public key id.
    pub(crate) fn response_serial(&self, requested: Option<&str>) -> String {
        match requested {
            Some(s) if self.platform_cert.as_ref().is_some_and(|c| c.serial() == s) => s.to_owned(),
            _ => self.public_key_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    /// `docs/sandbox-behaviour.md` lists every `[behaviour]` switch with its default and
    /// source: a new switch without a line there fails here.
    #[test]
    fn every_behaviour_switch_is_documented() {
        let doc = include_str!("../../../docs/sandbox-behaviour.md");
        let switches = serde_json::to_value(super::Behaviour::default()).unwrap();
        for name in switches.as_object().unwrap().keys() {
            assert!(
                doc.contains(&format!("`{name}`")),
                "docs/sandbox-behaviour.md does not document behaviour.{name}"
            );
        }
    }
}
