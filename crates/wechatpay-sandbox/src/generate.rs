//! `init`: a complete, ready-to-use sandbox set with fresh keys, and the matching client
//! credentials.

use std::path::Path;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256, SerialNumber};
use serde::Serialize;
use wechatpay_core::{ApiV3Key, PrivateKey, RandomNonce};
use zeroize::Zeroizing;

use crate::SandboxError;
use crate::config::{
    Behaviour, Config, Deduction, PlatformConfig, ProviderConfig, RefundOutcome, ServiceConfig,
    SubMerchantConfig, UserConfig,
};

/// What a client needs to talk to a generated sandbox (one merchant profile).
#[derive(Clone, Serialize)]
pub struct ClientCredentials {
    /// Service provider mchid.
    pub mchid: String,
    /// Merchant certificate serial.
    pub serial: String,
    /// Merchant private key, PKCS#8 PEM.
    #[serde(skip)]
    pub private_key_pem: Zeroizing<String>,
    /// Merchant certificate PEM.
    pub merchant_certificate_pem: String,
    /// The platform public key id.
    pub public_key_id: String,
    /// The platform public key PEM.
    pub public_key_pem: String,
    /// The platform certificate PEM.
    pub platform_certificate_pem: String,
    /// The platform certificate serial.
    pub platform_certificate_serial: String,
    /// The APIv3 key.
    #[serde(skip)]
    pub apiv3_key: String,
    /// The APIv2 key (order-detail page signatures).
    #[serde(skip)]
    pub apiv2_key: String,
    /// Identities to put in orders.
    pub ids: DemoIds,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("mchid", &self.mchid)
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// The business identities of a generated set.
#[derive(Debug, Clone, Serialize)]
pub struct DemoIds {
    /// Provider appid.
    pub appid: String,
    /// Sub-merchant.
    pub sub_mchid: String,
    /// Sub-merchant appid.
    pub sub_appid: String,
    /// Service id (risk cap 200 yuan): no-confirm (免确认), direct-complete opened.
    pub service_id: String,
    /// A need-confirm (需确认) service id: orders are confirmed by the user.
    pub confirm_service_id: String,
    /// A user whose deductions succeed.
    pub openid: String,
    /// A user whose deductions always fail.
    pub failing_openid: String,
    /// A user who never authorised the service.
    pub unauthorised_openid: String,
}

/// A generated sandbox: its configuration (keys inline) and the client side.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Sandbox configuration, keys inline as PEM.
    pub config: Config,
    /// The matching client credentials.
    pub client: ClientCredentials,
}

/// 20 random bytes as hex, first nibble non-zero so that every SDK prints the same serial.
#[must_use]
pub fn hex_serial() -> String {
    loop {
        let s = crate::util::random_hex(20);
        if !s.starts_with('0') {
            return s;
        }
    }
}

use crate::util::random_digits as digits;

/// A self-signed certificate for `key` with the given hex serial, valid from now - 1 day for
/// 5 years.
///
/// # Errors
/// [`SandboxError::Config`] when the certificate cannot be made.
pub fn self_signed_certificate(
    key: &PrivateKey,
    serial_hex: &str,
    common_name: &str,
    org: &str,
    now: i64,
) -> Result<String, SandboxError> {
    let err = |e: rcgen::Error| SandboxError::Config(format!("certificate generation: {e}"));
    let pem = key.to_pkcs8_pem().map_err(|source| SandboxError::Key {
        what: "certificate key".into(),
        source,
    })?;
    let kp = KeyPair::from_pem_and_sign_algo(&pem, &PKCS_RSA_SHA256).map_err(err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    let bytes: Vec<u8> = (0..serial_hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&serial_hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    params.serial_number = Some(SerialNumber::from_slice(&bytes));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "CN");
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    let start = time::OffsetDateTime::from_unix_timestamp(now - 86_400)
        .map_err(|e| SandboxError::Config(format!("certificate start time {now}: {e}")))?;
    params.not_before = start;
    params.not_after = start + time::Duration::days(5 * 365);
    Ok(params.self_signed(&kp).map_err(err)?.pem())
}

/// Generates a complete set: platform key + certificate + public key id, one service
/// provider with a sub-merchant, a service, and three users (paying, failing, and one
/// without authorisation). `now` is unix seconds.
///
/// # Errors
/// When key generation fails.
pub fn generate(now: i64) -> Result<Generated, SandboxError> {
    let kerr = |source| SandboxError::Key {
        what: "generated keys".into(),
        source,
    };
    let mchid = "1900000109".to_owned();
    let platform = PrivateKey::generate().map_err(kerr)?;
    let platform_serial = hex_serial();
    let platform_cert = self_signed_certificate(
        &platform,
        &platform_serial,
        "Sandbox platform sign",
        "wechatpay-rs sandbox",
        now,
    )?;
    let merchant = PrivateKey::generate().map_err(kerr)?;
    let serial = hex_serial();
    let merchant_cert =
        self_signed_certificate(&merchant, &serial, &mchid, "sandbox merchant", now)?;
    let date = crate::util::payscore_time(now)
        .get(..8)
        .unwrap_or("20250101")
        .to_owned();
    let public_key_id = format!("PUB_KEY_ID_01{mchid}{date}{}", digits(14));
    let apiv3_key = ApiV3Key::generate()
        .map_err(kerr)?
        .expose_secret()
        .to_string();
    let apiv2_key = wechatpay_core::apiv2::ApiV2Key::generate()
        .expose()
        .to_owned();
    let ids = DemoIds {
        appid: format!("wx{}", RandomNonce::alphanumeric(16).to_lowercase()),
        sub_mchid: "1900000110".into(),
        sub_appid: format!("wx{}", RandomNonce::alphanumeric(16).to_lowercase()),
        service_id: digits(32),
        confirm_service_id: digits(32),
        openid: format!("o{}", RandomNonce::alphanumeric(27)),
        failing_openid: format!("o{}", RandomNonce::alphanumeric(27)),
        unauthorised_openid: format!("o{}", RandomNonce::alphanumeric(27)),
    };
    let config = Config {
        listen: "127.0.0.1:8780".into(),
        console_token: None,
        allowed_hosts: Vec::new(),
        public_url: None,
        database: "sandbox.sqlite".into(),
        behaviour: Behaviour::default(),
        platform: PlatformConfig {
            public_key_id: public_key_id.clone(),
            private_key: platform.to_pkcs8_pem().map_err(kerr)?.to_string(),
            certificate: Some(platform_cert.clone()),
        },
        providers: vec![ProviderConfig {
            mchid: mchid.clone(),
            serial: serial.clone(),
            public_key: None,
            certificate: Some(merchant_cert.clone()),
            apiv3_key: apiv3_key.clone(),
            apiv2_key: Some(apiv2_key.clone()),
            appids: vec![ids.appid.clone()],
            callback_serial: None,
            sub_merchants: vec![SubMerchantConfig {
                sub_mchid: ids.sub_mchid.clone(),
                sub_appids: vec![ids.sub_appid.clone()],
            }],
        }],
        services: vec![
            ServiceConfig {
                service_id: ids.service_id.clone(),
                risk_cap: 20_000,
                providers: vec![mchid.clone()],
                direct_complete: true,
                need_confirm: false,
            },
            ServiceConfig {
                service_id: ids.confirm_service_id.clone(),
                risk_cap: 20_000,
                providers: vec![mchid.clone()],
                direct_complete: false,
                need_confirm: true,
            },
        ],
        users: vec![
            UserConfig {
                service_id: ids.service_id.clone(),
                openid: ids.openid.clone(),
                deduction: Deduction::Success,
                refund: RefundOutcome::Success,
            },
            UserConfig {
                service_id: ids.service_id.clone(),
                openid: ids.failing_openid.clone(),
                deduction: Deduction::Fail,
                refund: RefundOutcome::Abnormal,
            },
        ],
    };
    let client = ClientCredentials {
        mchid,
        serial,
        private_key_pem: merchant.to_pkcs8_pem().map_err(kerr)?,
        merchant_certificate_pem: merchant_cert,
        public_key_id,
        public_key_pem: platform.public_key().map_err(kerr)?.to_pem(),
        platform_certificate_pem: platform_cert,
        platform_certificate_serial: platform_serial,
        apiv3_key,
        apiv2_key,
        ids,
    };
    Ok(Generated { config, client })
}

impl Generated {
    /// Writes the set into `dir`: `sandbox.toml` with key files beside it, the merchant's
    /// key and certificate, the platform public key and certificate, and `wxpay.toml`, a
    /// client profile named `sandbox` for the `wxpay` CLI. Existing files are not
    /// overwritten.
    ///
    /// # Errors
    /// [`SandboxError::Exists`] when a file exists already, [`SandboxError::Io`] when one
    /// cannot be written.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<String>, SandboxError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| SandboxError::io(format!("cannot create {}", dir.display()), e))?;
        let mut cfg = self.config.clone();
        let c = &self.client;
        let files: Vec<(&str, String)> = vec![
            (
                "platform_key.pem",
                std::mem::replace(&mut cfg.platform.private_key, "platform_key.pem".into()),
            ),
            ("platform_cert.pem", c.platform_certificate_pem.clone()),
            ("platform_pub.pem", c.public_key_pem.clone()),
            ("merchant_key.pem", c.private_key_pem.to_string()),
            ("merchant_cert.pem", c.merchant_certificate_pem.clone()),
        ];
        cfg.platform.certificate = Some("platform_cert.pem".into());
        for p in &mut cfg.providers {
            p.certificate = Some("merchant_cert.pem".into());
        }
        let ids = &c.ids;
        let profile = format!(
            "# wxpay client profile for the sandbox in this folder ({base}).\n# Start it with: wxpay sandbox serve --config sandbox.toml\n\n[profiles.sandbox]\nmchid = \"{mchid}\"\nserial = \"{serial}\"\nprivate_key = \"merchant_key.pem\"\napiv3_key = \"{apiv3}\"\napiv2_key = \"{apiv2}\"\nbase_url = \"http://{base}\"\npublic_key_id = \"{pkid}\"\npublic_key = \"platform_pub.pem\"\nplatform_certificates = [\"platform_cert.pem\"]\n\n# Ids bound in sandbox.toml, for your test orders:\n# appid = \"{appid}\", sub_mchid = \"{sub}\", sub_appid = \"{subapp}\", service_id = \"{svc}\" (no-confirm), \"{csvc}\" (need-confirm)\n# openid (pays) = \"{openid}\", openid (deduction fails) = \"{fail}\"\n",
            base = cfg.listen,
            mchid = c.mchid,
            serial = c.serial,
            apiv3 = c.apiv3_key,
            apiv2 = c.apiv2_key,
            pkid = c.public_key_id,
            appid = ids.appid,
            sub = ids.sub_mchid,
            subapp = ids.sub_appid,
            svc = ids.service_id,
            csvc = ids.confirm_service_id,
            openid = ids.openid,
            fail = ids.failing_openid,
        );
        let mut all = files;
        all.push(("sandbox.toml", cfg.to_toml()));
        all.push(("wxpay.toml", profile));
        for (name, _) in &all {
            if dir.join(name).exists() {
                return Err(SandboxError::Exists(dir.join(name).display().to_string()));
            }
        }
        let mut written = Vec::new();
        for (name, text) in all {
            let p = dir.join(name);
            let private = name.ends_with("key.pem") || name.ends_with(".toml");
            write_new_file(&p, text.as_bytes(), private)
                .map_err(|e| SandboxError::io(format!("cannot write {}", p.display()), e))?;
            written.push(p.display().to_string());
        }
        Ok(written)
    }
}

/// Writes a new file at `path`, whole or not at all: the bytes go to a temporary file
/// beside it (created exclusively, owner-only), which is then linked into place only if
/// nothing is at `path` yet (a planted link included). A file that is not `private` is made
/// readable by others just before that; a key never is, even for a moment.
///
/// # Errors
/// The OS error, [`std::io::ErrorKind::AlreadyExists`] when the path exists.
pub fn write_new_file(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".wxpay-new.")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    if !private {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    tmp.persist_noclobber(path).map(drop).map_err(|e| e.error)
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn new_files_are_whole_owner_only_for_keys_and_never_replace_anything() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        super::write_new_file(&key, b"secret", true).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (std::fs::read(&key).unwrap(), mode(&key)),
            (b"secret".to_vec(), 0o600)
        );
        let cert = dir.path().join("cert.pem");
        super::write_new_file(&cert, b"public", false).unwrap();
        assert_eq!(mode(&cert), 0o644);
        let again = super::write_new_file(&key, b"other", true).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        let link = dir.path().join("planted.pem");
        std::os::unix::fs::symlink(&cert, &link).unwrap();
        let planted = super::write_new_file(&link, b"other", true).unwrap_err();
        assert_eq!(planted.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&cert).unwrap(), b"public");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            3,
            "no temporary file left"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let g = super::generate(crate::now()).unwrap();
        let shown = format!("{g:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(!shown.contains(&g.client.apiv3_key), "{shown}");
    }
}
