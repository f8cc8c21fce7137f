//! Error types of the protocol layer.
//!
//! Crypto failures are opaque on purpose: they say *that* a signature or a tag did not
//! match, never anything about the computation. Context that helps (the serial, the header
//! name, the observed clock skew) is always included.

/// Shows an error with its causes, each once, as `error: cause: cause`.
///
/// Every error of the toolkit displays its own layer only, as the standard library and
/// reqwest do, and gives its cause through [`std::error::Error::source`]; use this where the
/// whole story is wanted in one line (a log event, a message to a person).
///
/// ```
/// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
/// let e = wechatpay_core::KeyError::Io { path: "key.pem".into(), source: io };
/// assert_eq!(e.to_string(), "cannot read key.pem");
/// assert_eq!(wechatpay_core::ErrorChain(&e).to_string(), "cannot read key.pem: no such file");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

/// A key, certificate or APIv3 key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not PEM, or holds no block of the expected kind.
    #[error("expected a {expected} PEM block, {}", pem_found(found))]
    Pem {
        /// What was looked for, e.g. `PRIVATE KEY`.
        expected: &'static str,
        /// The labels of the PEM blocks that were found instead (`CERTIFICATE`,
        /// `ENCRYPTED PRIVATE KEY` …); empty when the text holds no PEM at all.
        found: Vec<String>,
    },
    /// The PEM block was found but its content is not an acceptable RSA key, or the
    /// crypto library refused an operation with it.
    #[error("{what} rejected: {reason}")]
    Rejected {
        /// Which key.
        what: &'static str,
        /// Why (never key material).
        reason: KeyProblem,
    },
    /// The X.509 certificate could not be parsed.
    #[error("invalid X.509 certificate")]
    Certificate(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The APIv2 key is not 32 printable ASCII characters.
    #[error("the APIv2 key must be 32 printable ASCII characters, got {0}")]
    ApiV2Key(usize),
    /// The APIv3 key is not exactly 32 bytes.
    #[error("the APIv3 key must be exactly 32 bytes, got {0}")]
    ApiV3KeyLength(usize),
    /// An SM4 key is not exactly 16 bytes.
    #[error("an SM4 key must be exactly 16 bytes, got {0}")]
    Sm4KeyLength(usize),
    /// Reading a key file failed.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyProblem {
    /// Not an RSA key (WeChat Pay's keys are RSA).
    #[error("not an RSA key (WeChat Pay keys are RSA)")]
    NotRsa,
    /// An RSA key shorter than 2048 bits.
    #[error("the RSA key is shorter than 2048 bits (too weak)")]
    TooShort,
    /// An RSA key longer than the crypto library accepts (8192 bits).
    #[error("the RSA key is longer than 8192 bits")]
    TooLong,
    /// The key's encoding is broken or its parts do not agree.
    #[error("the key's encoding is invalid")]
    Malformed,
    /// More bytes than the key can encrypt with RSA-OAEP.
    #[error("{len} bytes, more than the {max} the key can encrypt")]
    PlaintextTooLong {
        /// Bytes given.
        len: usize,
        /// The most the key can encrypt (214 for RSA-2048).
        max: usize,
    },
    /// The crypto library failed without saying why.
    #[error("the crypto library refused it")]
    Crypto,
}

/// Words for the PEM blocks found instead of the expected one, with a hint for the usual
/// mix-ups.
fn pem_found(found: &[String]) -> String {
    let hint = |label: &str| match label {
        "ENCRYPTED PRIVATE KEY" => {
            " (the key is password-protected: decrypt it first, e.g. `openssl pkcs8 -in key.pem -out apiclient_key.pem`)"
        }
        "CERTIFICATE" => {
            " (a certificate such as apiclient_cert.pem, not a key; the private key is apiclient_key.pem)"
        }
        "PUBLIC KEY" => " (a public key, e.g. WeChat Pay's pub_key.pem)",
        "PRIVATE KEY" | "RSA PRIVATE KEY" => " (a private key)",
        _ => "",
    };
    match found {
        [] => "but the text holds no PEM block (is it the file's content, in PEM?)".to_owned(),
        [one] => format!("found {one}{}", hint(one)),
        many => format!("found {}", many.join(", ")),
    }
}

/// The crypto library refused to produce a signature. Nothing is sent with a made-up
/// signature instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("RSA signing failed in the crypto library")]
pub struct SignError;

/// A response or callback failed verification. Such a message must never be used as data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required `Wechatpay-*` header is absent or empty.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A `Wechatpay-*` header is present but unusable (not ASCII, or too long to be one).
    /// The value itself is never repeated.
    #[error("malformed header {name}: {reason}")]
    MalformedHeader {
        /// The header.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `Wechatpay-Signature-Type` names an algorithm this SDK does not support.
    #[error("unsupported Wechatpay-Signature-Type {0:?}")]
    UnsupportedSignatureType(String),
    /// `Wechatpay-Timestamp` is not a decimal number of seconds.
    #[error("Wechatpay-Timestamp {0:?} is not unix seconds")]
    InvalidTimestamp(String),
    /// The signing time is too far from the local clock.
    #[error(
        "Wechatpay-Timestamp is {skew_secs}s away from the local clock (allowed: {max_skew_secs}s); check the clock or this is a replay"
    )]
    StaleTimestamp {
        /// Observed difference (local − signed), in seconds.
        skew_secs: i64,
        /// The configured tolerance.
        max_skew_secs: u64,
    },
    /// `Wechatpay-Serial` names no key in the trust store.
    #[error(
        "Wechatpay-Serial {0:?} is not a trusted platform certificate or public key; add it or refresh certificates"
    )]
    UnknownSerial(String),
    /// The platform certificate named by the serial is not valid at this time.
    #[error("platform certificate {0} is outside its validity period")]
    CertificateExpired(String),
    /// The signature does not verify (this includes `WECHATPAY/SIGNTEST/` probes and
    /// signatures that are not valid base64).
    #[error("signature does not verify with key {serial}{}", if *probe { " (WECHATPAY/SIGNTEST/ probe)" } else { "" })]
    BadSignature {
        /// The serial that was used.
        serial: String,
        /// Whether the signature was a `WECHATPAY/SIGNTEST/` probe.
        probe: bool,
    },
}

/// An `AEAD_AES_256_GCM` (or OAEP) ciphertext could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// The ciphertext is not valid base64.
    #[error("ciphertext is not valid base64")]
    Base64,
    /// The ciphertext is shorter than the 16-byte tag.
    #[error("ciphertext is shorter than the 16-byte authentication tag")]
    TooShort,
    /// The nonce is not 12 bytes.
    #[error("nonce must be 12 bytes, got {0}")]
    NonceLength(usize),
    /// The algorithm named in the message is not `AEAD_AES_256_GCM`.
    #[error("unsupported algorithm {0:?} (expected AEAD_AES_256_GCM)")]
    Algorithm(String),
    /// Authentication failed: wrong key, nonce, associated data, or tampered data.
    #[error("decryption failed (wrong APIv3 key or tampered data)")]
    Failed,
    /// The plaintext is not UTF-8 where text was expected.
    #[error("decrypted plaintext is not UTF-8")]
    Utf8,
}

/// An `Authorization` header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The scheme is not `WECHATPAY2-SHA256-RSA2048`.
    #[error("Authorization scheme is not WECHATPAY2-SHA256-RSA2048")]
    Scheme,
    /// The parameter list is not `key="value",…`.
    #[error("Authorization parameters are malformed near {0:?}")]
    Malformed(String),
    /// A parameter is missing.
    #[error("Authorization lacks {0}")]
    Missing(&'static str),
    /// A parameter appears twice.
    #[error("Authorization repeats {0}")]
    Duplicate(String),
    /// `timestamp` is not decimal seconds.
    #[error("Authorization timestamp {0:?} is not unix seconds")]
    Timestamp(String),
}
