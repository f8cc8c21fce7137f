//! Platform certificate download, `GET /v3/certificates`.
//!
//! The answer lists certificates encrypted with the APIv3 key. The procedure, as the
//! official PHP tool does it: decrypt each entry, check its serial, then verify the
//! response signature **with the certificate just decrypted** (the one named in
//! `Wechatpay-Serial`). Merchants registered after late 2024 have no platform certificate
//! and get 404 `RESOURCE_NOT_EXISTS` (older text: `NOT_FOUND`): they use a WeChat Pay public
//! key instead.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use crate::aead::{ALGORITHM, ApiV3Key};
use crate::error::{DecryptError, KeyError, VerifyError};
use crate::keys::Certificate;
use crate::verify::{ResponseSignature, Verifier};

/// The request path.
pub const PATH: &str = "/v3/certificates";

/// At most this many certificates in one download. WeChat Pay lists one or two (two while
/// it rotates); more is not a certificate list to trust.
pub const MAX_CERTIFICATES: usize = 16;

/// The response body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateList {
    /// One entry per certificate.
    pub data: Vec<EncryptedCertificate>,
}

/// One downloaded certificate, still encrypted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncryptedCertificate {
    /// Serial, upper-case hex.
    pub serial_no: String,
    /// RFC 3339 start of use.
    pub effective_time: String,
    /// RFC 3339 end of use.
    pub expire_time: String,
    /// The encrypted PEM.
    pub encrypt_certificate: EncryptedPem,
}

/// The `encrypt_certificate` object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncryptedPem {
    /// `AEAD_AES_256_GCM`.
    pub algorithm: String,
    /// 12-character nonce.
    pub nonce: String,
    /// `certificate`.
    pub associated_data: String,
    /// base64 ciphertext‖tag of the PEM text.
    pub ciphertext: String,
}

/// Why a download was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateListError {
    /// The list holds more certificates than any real download.
    #[error("the download lists {0} certificates (at most {MAX_CERTIFICATES} are accepted)")]
    TooMany(usize),
    /// The body is not a certificate list.
    #[error("certificate list is not valid JSON")]
    Json(#[source] serde_json::Error),
    /// An entry could not be decrypted with the APIv3 key.
    #[error("certificate {serial} does not decrypt")]
    Decrypt {
        /// The entry's serial.
        serial: String,
        /// Why.
        #[source]
        source: DecryptError,
    },
    /// An entry is not a usable certificate.
    #[error("certificate {serial} is not usable")]
    Certificate {
        /// The entry's serial.
        serial: String,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// The decrypted certificate's serial differs from the listed `serial_no`.
    #[error("listed serial {listed} but the certificate's serial is {actual}")]
    SerialMismatch {
        /// `serial_no` in the list.
        listed: String,
        /// The certificate's own serial.
        actual: String,
    },
    /// The response does not verify with the downloaded certificates.
    #[error("the certificate download's signature does not verify")]
    Signature(#[from] VerifyError),
}

/// Decrypts every entry of a download (without verifying the response signature).
///
/// # Errors
/// See [`CertificateListError`].
pub fn decrypt(body: &[u8], key: &ApiV3Key) -> Result<Vec<Certificate>, CertificateListError> {
    let list: CertificateList = serde_json::from_slice(body).map_err(CertificateListError::Json)?;
    if list.data.len() > MAX_CERTIFICATES {
        return Err(CertificateListError::TooMany(list.data.len()));
    }
    list.data
        .iter()
        .map(|e| {
            let serial = || e.serial_no.clone();
            let enc = &e.encrypt_certificate;
            if enc.algorithm != ALGORITHM {
                return Err(CertificateListError::Decrypt {
                    serial: serial(),
                    source: DecryptError::Algorithm(enc.algorithm.clone()),
                });
            }
            let pem = key
                .decrypt_to_string(&enc.nonce, &enc.associated_data, &enc.ciphertext)
                .map_err(|source| CertificateListError::Decrypt {
                    serial: serial(),
                    source,
                })?;
            let cert = Certificate::from_pem(&pem).map_err(|source| {
                CertificateListError::Certificate {
                    serial: serial(),
                    source,
                }
            })?;
            if cert.serial() != e.serial_no {
                return Err(CertificateListError::SerialMismatch {
                    listed: serial(),
                    actual: cert.serial().to_owned(),
                });
            }
            Ok(cert)
        })
        .collect()
}

/// Decrypts a download and verifies its signature with the certificates it contains.
/// Returns the certificates that have not expired at `now` (one published ahead of its
/// start, for a rotation, is kept); an expired one is never returned. The certificate that
/// signed the download is valid, or the signature check fails.
///
/// # Errors
/// See [`CertificateListError`].
pub fn decrypt_and_verify(
    signature: &ResponseSignature,
    body: &[u8],
    key: &ApiV3Key,
    now: i64,
    max_skew_secs: u64,
) -> Result<Vec<Certificate>, CertificateListError> {
    let certs = decrypt(body, key)?;
    let mut v = Verifier::new().with_max_skew(max_skew_secs);
    for c in &certs {
        v.add_certificate(c.clone());
    }
    v.verify(signature, body, now)?;
    Ok(certs.into_iter().filter(|c| c.not_after() >= now).collect())
}

/// Builds the response body for `certs` (the emulator side). `nonce` makes one
/// 12-character nonce per entry.
///
/// # Errors
/// [`DecryptError::NonceLength`] when a nonce is not 12 bytes.
pub fn encrypt(
    certs: &[Certificate],
    key: &ApiV3Key,
    mut nonce: impl FnMut() -> String,
) -> Result<String, DecryptError> {
    let data = certs
        .iter()
        .map(|c| {
            let n = nonce();
            Ok(EncryptedCertificate {
                serial_no: c.serial().to_owned(),
                effective_time: rfc3339_beijing(c.not_before()),
                expire_time: rfc3339_beijing(c.not_after()),
                encrypt_certificate: EncryptedPem {
                    algorithm: ALGORITHM.to_owned(),
                    ciphertext: key.encrypt(&n, "certificate", c.to_pem().as_bytes())?,
                    nonce: n,
                    associated_data: "certificate".to_owned(),
                },
            })
        })
        .collect::<Result<Vec<_>, DecryptError>>()?;
    Ok(serde_json::to_string(&CertificateList { data }).unwrap_or_default())
}

/// Formats unix seconds as RFC 3339 in Beijing time (`+08:00`), as WeChat Pay writes times.
#[must_use]
pub fn rfc3339_beijing(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.to_offset(time::macros::offset!(+8)))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
