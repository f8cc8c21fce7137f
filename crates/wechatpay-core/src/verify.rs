//! Verifying what WeChat Pay signs: every 2xx response (204 included) and every callback.
//!
//! The message is three lines: `Wechatpay-Timestamp\nWechatpay-Nonce\nRAW-BODY\n`, checked
//! over the raw body bytes, never over re-encoded JSON. Checks run in the order the official
//! SDKs use: headers present → timestamp fresh → serial known → RSA signature.

use std::collections::HashMap;

use crate::error::{SignError, VerifyError};
use crate::keys::{Certificate, PrivateKey, PublicKey};
use crate::{DEFAULT_MAX_SKEW_SECS, SIGNATURE_TYPE, headers};

/// The `Wechatpay-*` signature headers of a response or callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSignature {
    /// `Wechatpay-Timestamp`, as received (it enters the message verbatim).
    pub timestamp: String,
    /// `Wechatpay-Nonce`.
    pub nonce: String,
    /// `Wechatpay-Serial`: a platform certificate serial or a `PUB_KEY_ID_…`.
    pub serial: String,
    /// `Wechatpay-Signature`, base64.
    pub signature: String,
}

impl ResponseSignature {
    /// Reads the four headers. `Wechatpay-Signature-Type`, when present, must be
    /// `WECHATPAY2-SHA256-RSA2048`.
    ///
    /// # Errors
    /// [`VerifyError::MissingHeader`] naming the first absent header,
    /// [`VerifyError::MalformedHeader`] for one that cannot be a signature header (not
    /// ASCII, or longer than any real value: 20 bytes for the timestamp, 128 for the nonce
    /// and serial, 1024 for the signature), or [`VerifyError::UnsupportedSignatureType`].
    pub fn from_headers(h: &http::HeaderMap) -> Result<Self, VerifyError> {
        let get = |name: &'static str, max: usize| {
            let v = h.get(name).ok_or(VerifyError::MissingHeader(name))?;
            let malformed = |reason: String| VerifyError::MalformedHeader { name, reason };
            if v.len() > max {
                return Err(malformed(format!(
                    "{} bytes, at most {max} expected",
                    v.len()
                )));
            }
            let v = v
                .to_str()
                .map_err(|_| malformed("not printable ASCII".into()))?
                .trim();
            if v.is_empty() {
                return Err(VerifyError::MissingHeader(name));
            }
            Ok(v.to_owned())
        };
        if let Some(t) = h.get(headers::SIGNATURE_TYPE) {
            let t = t.to_str().unwrap_or_default().trim();
            if t != SIGNATURE_TYPE {
                return Err(VerifyError::UnsupportedSignatureType(
                    t.chars().take(64).collect(),
                ));
            }
        }
        Ok(Self {
            timestamp: get(headers::TIMESTAMP, 20)?,
            nonce: get(headers::NONCE, 128)?,
            serial: get(headers::SERIAL, 128)?,
            signature: get(headers::SIGNATURE, 1024)?,
        })
    }

    /// The message that is signed: `timestamp\nnonce\nbody\n`.
    #[must_use]
    pub fn message(&self, body: &[u8]) -> Vec<u8> {
        message(&self.timestamp, &self.nonce, body)
    }

    /// Signs `body` as WeChat Pay does (the emulator side).
    ///
    /// # Errors
    /// [`SignError`] when the crypto library refuses to sign.
    pub fn sign(
        key: &PrivateKey,
        serial: &str,
        timestamp: i64,
        nonce: &str,
        body: &[u8],
    ) -> Result<Self, SignError> {
        let timestamp = timestamp.to_string();
        let signature = key.sign(&message(&timestamp, nonce, body))?;
        Ok(Self {
            timestamp,
            nonce: nonce.to_owned(),
            serial: serial.to_owned(),
            signature,
        })
    }

    /// Writes the four headers plus `Wechatpay-Signature-Type`.
    pub fn apply_to(&self, h: &mut http::HeaderMap) {
        for (name, value) in [
            (headers::TIMESTAMP, self.timestamp.as_str()),
            (headers::NONCE, &self.nonce),
            (headers::SERIAL, &self.serial),
            (headers::SIGNATURE, &self.signature),
            (headers::SIGNATURE_TYPE, SIGNATURE_TYPE),
        ] {
            if let Ok(v) = http::HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        }
    }
}

fn message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    m.extend_from_slice(timestamp.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(nonce.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

#[derive(Debug, Clone)]
enum Trusted {
    PublicKey(PublicKey),
    Certificate(Certificate),
}

/// The platform trust store: WeChat Pay public keys (`PUB_KEY_ID_…`) and platform
/// certificates (by serial), either or both (the migration case), plus the clock tolerance.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: HashMap<String, Trusted>,
    max_skew_secs: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// An empty store with the default ±300 s tolerance.
    #[must_use]
    pub fn new() -> Self {
        Self {
            keys: HashMap::new(),
            max_skew_secs: DEFAULT_MAX_SKEW_SECS,
        }
    }

    /// Sets the allowed distance between `Wechatpay-Timestamp` and the local clock.
    #[must_use]
    pub fn with_max_skew(mut self, secs: u64) -> Self {
        self.max_skew_secs = secs;
        self
    }

    /// The allowed distance between `Wechatpay-Timestamp` and the local clock.
    #[must_use]
    pub fn max_skew_secs(&self) -> u64 {
        self.max_skew_secs
    }

    /// Trusts a WeChat Pay public key under its id (`PUB_KEY_ID_…`).
    pub fn add_public_key(&mut self, id: impl Into<String>, key: PublicKey) {
        self.keys.insert(id.into(), Trusted::PublicKey(key));
    }

    /// Trusts a platform certificate under its serial, within its validity period.
    pub fn add_certificate(&mut self, cert: Certificate) {
        self.keys
            .insert(cert.serial().to_owned(), Trusted::Certificate(cert));
    }

    /// Whether a key with this serial or id is trusted.
    #[must_use]
    pub fn contains(&self, serial: &str) -> bool {
        self.keys.contains_key(serial)
    }

    /// Whether the store holds no key at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The trusted serials and ids, sorted.
    #[must_use]
    pub fn serials(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The key to announce in the request's `Wechatpay-Serial`: the public key when one
    /// is configured, else the newest platform certificate valid at `now`.
    #[must_use]
    pub fn preferred_serial(&self, now: i64) -> Option<&str> {
        let mut best: Option<(&str, i64)> = None;
        for (serial, t) in &self.keys {
            let rank = match t {
                Trusted::PublicKey(_) => i64::MAX,
                Trusted::Certificate(c) if c.is_valid_at(now) => c.not_before(),
                Trusted::Certificate(_) => continue,
            };
            if best.is_none_or(|(s, r)| rank > r || (rank == r && serial.as_str() < s)) {
                best = Some((serial, rank));
            }
        }
        best.map(|(s, _)| s)
    }

    /// The trusted platform certificates.
    #[must_use]
    pub fn certificates(&self) -> Vec<&Certificate> {
        let mut v: Vec<&Certificate> = self
            .keys
            .values()
            .filter_map(|t| match t {
                Trusted::Certificate(c) => Some(c),
                Trusted::PublicKey(_) => None,
            })
            .collect();
        v.sort_by(|a, b| a.serial().cmp(b.serial()));
        v
    }

    /// The public key for a serial, if trusted.
    #[must_use]
    pub fn public_key(&self, serial: &str) -> Option<&PublicKey> {
        self.keys.get(serial).map(|t| match t {
            Trusted::PublicKey(k) => k,
            Trusted::Certificate(c) => c.public_key(),
        })
    }

    /// Verifies a signed response or callback at time `now` (unix seconds).
    ///
    /// # Errors
    /// [`VerifyError::InvalidTimestamp`], [`VerifyError::StaleTimestamp`],
    /// [`VerifyError::UnknownSerial`], [`VerifyError::CertificateExpired`] or
    /// [`VerifyError::BadSignature`], in that order of checking.
    pub fn verify(
        &self,
        sig: &ResponseSignature,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let ts: i64 = sig
            .timestamp
            .parse()
            .map_err(|_| VerifyError::InvalidTimestamp(sig.timestamp.clone()))?;
        let skew = now.saturating_sub(ts);
        if skew.unsigned_abs() > self.max_skew_secs {
            return Err(VerifyError::StaleTimestamp {
                skew_secs: skew,
                max_skew_secs: self.max_skew_secs,
            });
        }
        let key = match self.keys.get(&sig.serial) {
            None => return Err(VerifyError::UnknownSerial(sig.serial.clone())),
            Some(Trusted::PublicKey(k)) => k,
            Some(Trusted::Certificate(c)) if c.is_valid_at(now) => c.public_key(),
            Some(Trusted::Certificate(_)) => {
                return Err(VerifyError::CertificateExpired(sig.serial.clone()));
            }
        };
        if key.verify(&sig.message(body), &sig.signature) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature {
                serial: sig.serial.clone(),
                probe: sig.signature.starts_with("WECHATPAY/SIGNTEST/"),
            })
        }
    }
}
