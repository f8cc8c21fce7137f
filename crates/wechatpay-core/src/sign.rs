//! Request signing: the `WECHATPAY2-SHA256-RSA2048` `Authorization` header.
//!
//! The signed message is five lines, each ending in `\n`:
//! `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`, over the exact request-target and body
//! bytes that go on the wire.

use std::fmt;
use std::str::FromStr;

use crate::SIGNATURE_TYPE;
use crate::error::{AuthorizationError, SignError, VerifyError};
use crate::keys::{PrivateKey, PublicKey};

/// The parts of an HTTP request that the signature covers, borrowed from the request that
/// will be sent.
#[derive(Debug, Clone, Copy)]
pub struct SignableRequest<'a> {
    method: &'a str,
    url: &'a str,
    body: &'a [u8],
}

impl<'a> SignableRequest<'a> {
    /// `method` is the upper-case verb, `url` the absolute path plus `?query` exactly as
    /// sent (already percent-encoded), `body` the exact bytes sent (empty for GET).
    #[must_use]
    pub fn new(method: &'a str, url: &'a str, body: &'a [u8]) -> Self {
        Self { method, url, body }
    }

    /// The message that is signed: `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`.
    #[must_use]
    pub fn message(&self, timestamp: i64, nonce: &str) -> Vec<u8> {
        let mut m = Vec::with_capacity(
            self.method.len() + self.url.len() + nonce.len() + self.body.len() + 16,
        );
        m.extend_from_slice(self.method.as_bytes());
        m.push(b'\n');
        m.extend_from_slice(self.url.as_bytes());
        m.push(b'\n');
        m.extend_from_slice(timestamp.to_string().as_bytes());
        m.push(b'\n');
        m.extend_from_slice(nonce.as_bytes());
        m.push(b'\n');
        m.extend_from_slice(self.body);
        m.push(b'\n');
        m
    }

    /// Signs the request as merchant `mchid` (for a service provider: the sp_mchid) with
    /// the API key whose certificate serial is `serial_no`.
    ///
    /// # Errors
    /// [`SignError`] when the crypto library refuses to sign.
    pub fn sign(
        &self,
        mchid: &str,
        serial_no: &str,
        key: &PrivateKey,
        timestamp: i64,
        nonce: &str,
    ) -> Result<Authorization, SignError> {
        Ok(Authorization {
            mchid: mchid.to_owned(),
            nonce_str: nonce.to_owned(),
            signature: key.sign(&self.message(timestamp, nonce))?,
            timestamp,
            serial_no: serial_no.to_owned(),
        })
    }
}

/// A parsed or freshly built `Authorization: WECHATPAY2-SHA256-RSA2048 …` value.
///
/// `Display` writes the canonical header value; [`FromStr`] accepts the five parameters
/// in any order, as the server does.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Merchant number (the service provider's for partner APIs).
    pub mchid: String,
    /// The request nonce.
    pub nonce_str: String,
    /// Base64 signature.
    pub signature: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// Serial of the merchant API certificate.
    pub serial_no: String,
}

impl fmt::Debug for Authorization {
    // The signature is a bearer credential for five minutes: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("mchid", &self.mchid)
            .field("nonce_str", &self.nonce_str)
            .field("timestamp", &self.timestamp)
            .field("serial_no", &self.serial_no)
            .field("signature", &"** redacted **")
            .finish()
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SIGNATURE_TYPE} mchid=\"{}\",nonce_str=\"{}\",signature=\"{}\",timestamp=\"{}\",serial_no=\"{}\"",
            self.mchid, self.nonce_str, self.signature, self.timestamp, self.serial_no
        )
    }
}

impl Authorization {
    /// Sets the `Authorization` header, marked sensitive so that `http`'s `Debug` and
    /// well-behaved loggers hide it.
    pub fn apply_to(&self, headers: &mut http::HeaderMap) {
        if let Ok(mut v) = http::HeaderValue::from_str(&self.to_string()) {
            v.set_sensitive(true);
            headers.insert(http::header::AUTHORIZATION, v);
        }
    }

    /// Checks the signature against `request` with the merchant's public key (what the
    /// server, or an emulator, does). Freshness and the serial are the caller's checks.
    ///
    /// # Errors
    /// [`VerifyError::BadSignature`] when it does not verify.
    pub fn verify(
        &self,
        request: &SignableRequest<'_>,
        key: &PublicKey,
    ) -> Result<(), VerifyError> {
        if key.verify(
            &request.message(self.timestamp, &self.nonce_str),
            &self.signature,
        ) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature {
                serial: self.serial_no.clone(),
                probe: false,
            })
        }
    }
}

impl FromStr for Authorization {
    type Err = AuthorizationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .trim()
            .strip_prefix(SIGNATURE_TYPE)
            .ok_or(AuthorizationError::Scheme)?;
        if !rest.starts_with(' ') {
            return Err(AuthorizationError::Scheme);
        }
        let (mut mchid, mut nonce, mut sig, mut ts, mut serial) = (None, None, None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| AuthorizationError::Malformed(part.chars().take(20).collect()))?;
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .filter(|v| !v.contains('"'))
                .ok_or_else(|| AuthorizationError::Malformed(k.to_owned()))?;
            let slot = match k {
                "mchid" => &mut mchid,
                "nonce_str" => &mut nonce,
                "signature" => &mut sig,
                "timestamp" => &mut ts,
                "serial_no" => &mut serial,
                other => {
                    return Err(AuthorizationError::Malformed(
                        other.chars().take(20).collect(),
                    ));
                }
            };
            if slot.replace(v.to_owned()).is_some() {
                return Err(AuthorizationError::Duplicate(k.to_owned()));
            }
        }
        let ts = ts.ok_or(AuthorizationError::Missing("timestamp"))?;
        Ok(Self {
            mchid: mchid.ok_or(AuthorizationError::Missing("mchid"))?,
            nonce_str: nonce.ok_or(AuthorizationError::Missing("nonce_str"))?,
            signature: sig.ok_or(AuthorizationError::Missing("signature"))?,
            timestamp: ts
                .parse()
                .map_err(|_| AuthorizationError::Timestamp(ts.clone()))?,
            serial_no: serial.ok_or(AuthorizationError::Missing("serial_no"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example_in_any_order() {
        let s = r#"WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",signature="uOVRnA4q==",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C""#;
        let a: Authorization = s.parse().unwrap();
        assert_eq!(a.mchid, "1900009191");
        assert_eq!(a.timestamp, 1_554_208_460);
        assert_eq!(a.serial_no, "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C");
        assert_eq!(a.to_string(), s);
        let reordered = r#"WECHATPAY2-SHA256-RSA2048 serial_no="S", timestamp="1",signature="x",nonce_str="n",mchid="m""#;
        assert_eq!(reordered.parse::<Authorization>().unwrap().serial_no, "S");
    }

    #[test]
    fn rejects_malformed_values() {
        let bad = |s: &str| s.parse::<Authorization>().unwrap_err();
        assert_eq!(bad("Bearer x"), AuthorizationError::Scheme);
        assert_eq!(
            bad(r#"WECHATPAY2-SHA256-RSA2048 mchid="1""#),
            AuthorizationError::Missing("timestamp")
        );
        assert!(matches!(
            bad(r#"WECHATPAY2-SHA256-RSA2048 mchid=1"#),
            AuthorizationError::Malformed(_)
        ));
        assert!(matches!(
            bad(r#"WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2""#),
            AuthorizationError::Duplicate(_)
        ));
        assert!(matches!(
            bad(
                r#"WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",signature="s",timestamp="17x",serial_no="s""#
            ),
            AuthorizationError::Timestamp(_)
        ));
    }

    #[test]
    fn debug_redacts_the_signature() {
        let a: Authorization = r#"WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",signature="SECRETSIG",timestamp="1",serial_no="s""#.parse().unwrap();
        assert!(!format!("{a:?}").contains("SECRETSIG"));
    }
}
