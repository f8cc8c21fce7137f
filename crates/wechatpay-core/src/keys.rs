//! RSA keys and certificates, behind our own types so that no crypto-library type appears
//! in the public API.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    KeyPair, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, SubjectPublicKeyInfoDer};
use zeroize::Zeroizing;

use crate::error::{DecryptError, KeyError, KeyProblem, SignError};

fn rejected(what: &'static str, reason: KeyProblem) -> KeyError {
    KeyError::Rejected { what, reason }
}

/// What the crypto library's refusal of a key means (its reasons are fixed names).
fn refused(what: &'static str) -> impl Fn(aws_lc_rs::error::KeyRejected) -> KeyError {
    move |e| {
        rejected(
            what,
            match e.description_() {
                "TooSmall" => KeyProblem::TooShort,
                "TooLarge" => KeyProblem::TooLong,
                "WrongAlgorithm" => KeyProblem::NotRsa,
                "InvalidEncoding" | "InconsistentComponents" => KeyProblem::Malformed,
                _ => KeyProblem::Crypto,
            },
        )
    }
}

/// The crypto library failed an operation with a key it had accepted.
fn failed(what: &'static str) -> impl Fn(aws_lc_rs::error::Unspecified) -> KeyError {
    move |_| rejected(what, KeyProblem::Crypto)
}

/// `rsaEncryption`, 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION: x509_cert::der::asn1::ObjectIdentifier =
    x509_cert::der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// An RSA private key: the merchant API key (`apiclient_key.pem`) that signs requests, or
/// the platform key an emulator signs responses with.
///
/// Cheap to clone. `Debug` never shows key material; the key is freed (and cleared by
/// aws-lc) when the last clone is dropped.
#[derive(Clone)]
pub struct PrivateKey {
    pair: Arc<RsaKeyPair>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(** redacted **)")
    }
}

impl PrivateKey {
    /// Loads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`), RSA 2048 bits or more.
    ///
    /// # Errors
    /// [`KeyError::Pem`] when no private-key block is found, [`KeyError::Rejected`] when it
    /// is not an acceptable RSA key.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|_| pem_error("PRIVATE KEY (or RSA PRIVATE KEY)", pem))?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => return Err(rejected("private key", KeyProblem::NotRsa)),
        }
        .map_err(refused("private key"))?;
        Ok(Self {
            pair: Arc::new(pair),
        })
    }

    /// Loads [`from_pem`](Self::from_pem) from a file.
    ///
    /// # Errors
    /// [`KeyError::Io`] when the file cannot be read, otherwise as `from_pem`.
    pub fn from_pem_file(path: impl AsRef<std::path::Path>) -> Result<Self, KeyError> {
        Self::from_pem(&read(path.as_ref())?)
    }

    /// Generates a fresh RSA-2048 key.
    ///
    /// # Errors
    /// [`KeyError::Rejected`] if the crypto library fails to generate a key.
    pub fn generate() -> Result<Self, KeyError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed("new key"))?;
        Ok(Self {
            pair: Arc::new(pair),
        })
    }

    /// The key as PKCS#8 PEM text (for writing a freshly generated key to a file).
    ///
    /// # Errors
    /// [`KeyError::Rejected`] if the key cannot be encoded.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let der = self.pkcs8_der()?;
        Ok(Zeroizing::new(pem_encode("PRIVATE KEY", &der)))
    }

    /// The key as PKCS#8 DER.
    ///
    /// # Errors
    /// [`KeyError::Rejected`] if the key cannot be encoded.
    pub fn pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'static>>::as_der(&*self.pair)
            .map_err(failed("private key"))?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    /// The matching public key.
    ///
    /// # Errors
    /// [`KeyError::Rejected`] if the crypto library cannot encode or re-read the public
    /// half (not expected for a key it accepted).
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        let spki = self
            .pair
            .public_key()
            .as_der()
            .map_err(failed("public key"))?;
        PublicKey::from_spki_der(spki.as_ref())
    }

    /// SHA256withRSA (PKCS#1 v1.5) over `message`, base64-encoded: 344 characters for a
    /// 2048-bit key. PKCS#1 v1.5 is deterministic, so equal inputs give equal output.
    ///
    /// # Errors
    /// [`SignError`] if the crypto library refuses to sign; never a made-up signature.
    pub fn sign(&self, message: &[u8]) -> Result<String, SignError> {
        SIGNS.fetch_add(1, Ordering::Relaxed);
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
            .map_err(|_| SignError)?;
        Ok(B64.encode(sig))
    }

    /// Decrypts an RSA-OAEP (SHA-1, MGF1-SHA-1) base64 ciphertext, as WeChat Pay encrypts
    /// sensitive response fields to the merchant key.
    ///
    /// # Errors
    /// [`DecryptError::Base64`] or [`DecryptError::Failed`].
    pub fn decrypt_oaep(&self, ciphertext_b64: &str) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        let ct = B64
            .decode(ciphertext_b64.trim())
            .map_err(|_| DecryptError::Base64)?;
        let der = self.pkcs8_der().map_err(|_| DecryptError::Failed)?;
        let key = PrivateDecryptingKey::from_pkcs8(&der).map_err(|_| DecryptError::Failed)?;
        let key = OaepPrivateDecryptingKey::new(key).map_err(|_| DecryptError::Failed)?;
        let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
        let n = key
            .decrypt(&OAEP_SHA1_MGF1SHA1, &ct, &mut out, None)
            .map_err(|_| DecryptError::Failed)?
            .len();
        out.truncate(n);
        Ok(out)
    }
}

/// An RSA public key that verifies signatures: a WeChat Pay public key
/// (`PUB_KEY_ID_…`, from the merchant console), the key inside a platform certificate, or a
/// merchant's public key on the emulator side.
#[derive(Clone)]
pub struct PublicKey {
    inner: Arc<PublicInner>,
}

struct PublicInner {
    parsed: ParsedPublicKey,
    spki: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("spki_len", &self.inner.spki.len())
            .finish()
    }
}

impl PublicKey {
    /// Loads a PEM `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo), as WeChat Pay hands out its
    /// public keys (`pub_key.pem`).
    ///
    /// # Errors
    /// [`KeyError::Pem`] or [`KeyError::Rejected`].
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes())
            .map_err(|_| pem_error("PUBLIC KEY", pem))?;
        Self::from_spki_der(der.as_ref())
    }

    /// Loads [`from_pem`](Self::from_pem) from a file.
    ///
    /// # Errors
    /// [`KeyError::Io`] when the file cannot be read, otherwise as `from_pem`.
    pub fn from_pem_file(path: impl AsRef<std::path::Path>) -> Result<Self, KeyError> {
        Self::from_pem(&read(path.as_ref())?)
    }

    /// Loads a DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// [`KeyError::Rejected`] when it is not an RSA key of 2048 bits or more.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        PublicEncryptingKey::from_der(der).map_err(refused("public key"))?;
        let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
            .map_err(|_| rejected("public key", KeyProblem::Malformed))?;
        Ok(Self {
            inner: Arc::new(PublicInner {
                parsed,
                spki: der.to_vec(),
            }),
        })
    }

    /// The key as `BEGIN PUBLIC KEY` PEM text.
    #[must_use]
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.inner.spki)
    }

    /// Checks a base64 SHA256withRSA signature over `message`. A signature that is not
    /// base64 (such as a `WECHATPAY/SIGNTEST/` probe) simply does not verify.
    #[must_use]
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        let Ok(sig) = B64.decode(signature_b64) else {
            return false;
        };
        VERIFIES.fetch_add(1, Ordering::Relaxed);
        self.inner.parsed.verify_sig(message, &sig).is_ok()
    }

    /// Encrypts a sensitive field with RSA-OAEP (SHA-1, MGF1-SHA-1, empty label) and
    /// returns base64. Send the key's serial or `PUB_KEY_ID_…` in `Wechatpay-Serial`.
    ///
    /// # Errors
    /// [`KeyError::Rejected`] when the plaintext is longer than the key allows (214 bytes
    /// for RSA-2048).
    pub fn encrypt_oaep(&self, plaintext: &[u8]) -> Result<String, KeyError> {
        let key = PublicEncryptingKey::from_der(&self.inner.spki).map_err(refused("public key"))?;
        let key = OaepPublicEncryptingKey::new(key).map_err(failed("public key"))?;
        let max = key.max_plaintext_size(&OAEP_SHA1_MGF1SHA1);
        if plaintext.len() > max {
            return Err(rejected(
                "OAEP plaintext",
                KeyProblem::PlaintextTooLong {
                    len: plaintext.len(),
                    max,
                },
            ));
        }
        let mut out = vec![0u8; key.ciphertext_size()];
        let ct = key
            .encrypt(&OAEP_SHA1_MGF1SHA1, plaintext, &mut out, None)
            .map_err(failed("OAEP encryption"))?;
        Ok(B64.encode(ct))
    }
}

/// An X.509 platform certificate (平台证书) as served by `GET /v3/certificates`, or a
/// merchant certificate (`apiclient_cert.pem`).
#[derive(Clone)]
pub struct Certificate {
    serial: String,
    not_before: i64,
    not_after: i64,
    key: PublicKey,
    pem: String,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("serial", &self.serial)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Parses a PEM certificate (`BEGIN CERTIFICATE`).
    ///
    /// # Errors
    /// [`KeyError::Pem`], [`KeyError::Certificate`], or [`KeyError::Rejected`] when the key
    /// inside is not RSA-2048+.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        use x509_cert::der::{Decode, Encode};
        let der = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|_| pem_error("CERTIFICATE", pem))?;
        let cert = x509_cert::Certificate::from_der(der.as_ref())
            .map_err(|e| KeyError::Certificate(Box::new(e)))?;
        let tbs = &cert.tbs_certificate;
        let serial_bytes = tbs.serial_number.as_bytes();
        // DER prefixes a 0x00 to keep a serial with its top bit set positive.
        let serial_bytes = match serial_bytes {
            [0, rest @ ..] if !rest.is_empty() => rest,
            b => b,
        };
        let serial = serial_bytes.iter().map(|b| format!("{b:02X}")).collect();
        let secs = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let algorithm = &tbs.subject_public_key_info.algorithm.oid;
        if *algorithm != RSA_ENCRYPTION {
            return Err(rejected("certificate key", KeyProblem::NotRsa));
        }
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| KeyError::Certificate(Box::new(e)))?;
        Ok(Self {
            serial,
            not_before: secs(tbs.validity.not_before),
            not_after: secs(tbs.validity.not_after),
            key: PublicKey::from_spki_der(&spki)?,
            pem: pem_encode("CERTIFICATE", der.as_ref()),
        })
    }

    /// Loads [`from_pem`](Self::from_pem) from a file.
    ///
    /// # Errors
    /// [`KeyError::Io`] when the file cannot be read, otherwise as `from_pem`.
    pub fn from_pem_file(path: impl AsRef<std::path::Path>) -> Result<Self, KeyError> {
        Self::from_pem(&read(path.as_ref())?)
    }

    /// The serial number as upper-case hex, as sent in `serial_no` and `Wechatpay-Serial`.
    #[must_use]
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Start of validity (NotBefore), unix seconds.
    #[must_use]
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// End of validity (NotAfter), unix seconds.
    #[must_use]
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Whether `now` (unix seconds) lies within the validity period.
    #[must_use]
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// The certificate's public key.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// The certificate as PEM text.
    #[must_use]
    pub fn to_pem(&self) -> &str {
        &self.pem
    }
}

/// `KeyError::Pem` for text without an `expected` block, naming the blocks it has.
fn pem_error(expected: &'static str, text: &str) -> KeyError {
    let found = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .map(|l| l.chars().take(40).collect())
        .collect();
    KeyError::Pem { expected, found }
}

fn read(path: &std::path::Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// PEM-encodes `der` with 64-character lines.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

static SIGNS: AtomicU64 = AtomicU64::new(0);
static VERIFIES: AtomicU64 = AtomicU64::new(0);

/// RSA signatures made and checked by this process so far (every [`PrivateKey::sign`] and
/// every [`PublicKey::verify`] of a base64 signature): what a benchmark counts to state its
/// cryptographic bound honestly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RsaOperations {
    /// Signatures made (RSA private-key operations).
    pub signs: u64,
    /// Signatures checked (RSA public-key operations).
    pub verifies: u64,
}

/// The RSA operations of this process so far.
#[must_use]
pub fn rsa_operations() -> RsaOperations {
    RsaOperations {
        signs: SIGNS.load(Ordering::Relaxed),
        verifies: VERIFIES.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_operations_are_counted() {
        let k = PrivateKey::generate().unwrap();
        let before = rsa_operations();
        let sig = k.sign(b"x").unwrap();
        assert!(k.public_key().unwrap().verify(b"x", &sig));
        let after = rsa_operations();
        // Other tests run beside this one: at least ours were counted.
        assert!(after.signs > before.signs && after.verifies > before.verifies);
    }

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/");

    fn file(name: &str) -> String {
        std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
    }

    #[test]
    fn pkcs1_and_pkcs8_give_the_same_signature() {
        let a = PrivateKey::from_pem(&file("merchant_key.pem")).unwrap();
        let b = PrivateKey::from_pem(&file("merchant_key_pkcs1.pem")).unwrap();
        assert_eq!(a.sign(b"hello").unwrap(), b.sign(b"hello").unwrap());
        assert_eq!(a.public_key().unwrap().to_pem(), file("merchant_pub.pem"));
    }

    #[test]
    fn bad_keys_are_errors_not_panics() {
        assert!(matches!(
            PrivateKey::from_pem("nonsense"),
            Err(KeyError::Pem { .. })
        ));
        let broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            PrivateKey::from_pem(broken),
            Err(KeyError::Rejected { .. })
        ));
        let e = PublicKey::from_pem(&file("merchant_key.pem")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected a PUBLIC KEY PEM block, found PRIVATE KEY (a private key)"
        );
        let e = PrivateKey::from_pem(&file("merchant_cert.pem")).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "expected a PRIVATE KEY (or RSA PRIVATE KEY) PEM block, found CERTIFICATE (a certificate"
            ),
            "{e}"
        );
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let e = PrivateKey::from_pem(encrypted).unwrap_err();
        assert!(e.to_string().contains("password-protected"), "{e}");
        let e = PrivateKey::from_pem("nonsense").unwrap_err();
        assert!(e.to_string().contains("holds no PEM block"), "{e}");
        let e = PrivateKey::from_pem_file("/nonexistent/apiclient_key.pem").unwrap_err();
        // Its own layer, then the OS reason as its source.
        assert_eq!(e.to_string(), "cannot read /nonexistent/apiclient_key.pem");
        assert!(
            std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("No such file")),
            "{e}"
        );
        let e = Certificate::from_pem(&file("platform_pub.pem")).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("found PUBLIC KEY (a public key, e.g. WeChat Pay's pub_key.pem)"),
            "{e}"
        );
    }

    #[test]
    fn debug_shows_what_identifies_a_key_and_nothing_secret() {
        let public = PublicKey::from_pem(&file("merchant_pub.pem")).unwrap();
        assert_eq!(format!("{public:?}"), "PublicKey { spki_len: 294 }");
        let cert = Certificate::from_pem(&file("merchant_cert.pem")).unwrap();
        let shown = format!("{cert:?}");
        assert!(
            shown.starts_with(&format!("Certificate {{ serial: {:?}", cert.serial())),
            "{shown}"
        );
    }

    #[test]
    fn oaep_takes_exactly_up_to_the_key_size() {
        let public = PublicKey::from_pem(&file("merchant_pub.pem")).unwrap();
        let key = PrivateKey::from_pem(&file("merchant_key.pem")).unwrap();
        // RSA-2048 with OAEP SHA-1: 256 - 2 * 20 - 2 = 214 bytes.
        let c = public.encrypt_oaep(&[7u8; 214]).unwrap();
        assert_eq!(key.decrypt_oaep(&c).unwrap().as_slice(), &[7u8; 214][..]);
        assert!(matches!(
            public.encrypt_oaep(&[7u8; 215]),
            Err(KeyError::Rejected { .. })
        ));
    }

    #[test]
    fn weak_and_non_rsa_certificates_say_why() {
        let data = |n: &str| {
            std::fs::read_to_string(format!("{}/tests/data/{n}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
        };
        // DER keeps a serial whose top bit is set positive with a leading 0x00, which is
        // not part of the serial WeChat Pay shows.
        let high = Certificate::from_pem(&data("high_bit_serial_cert.pem")).unwrap();
        assert_eq!(high.serial(), "9A1DE55AD98ED71D6EDD4A4A16996DE7B47773A8");
        let e = Certificate::from_pem(&data("rsa1024_cert.pem")).unwrap_err();
        assert!(e.to_string().contains("shorter than 2048 bits"), "{e}");
        let e = Certificate::from_pem(&data("ec_cert.pem")).unwrap_err();
        assert!(e.to_string().contains("not an RSA key"), "{e}");
    }

    #[test]
    fn certificate_serials_match_the_vectors() {
        let c = Certificate::from_pem(&file("platform_cert.pem")).unwrap();
        assert_eq!(c.serial(), "2ECE126AA196328A878DCF84957EA582A7326FF9");
        assert_eq!(c.public_key().to_pem(), file("platform_pub.pem"));
        let m = Certificate::from_pem(&file("merchant_cert.pem")).unwrap();
        assert_eq!(m.serial(), "4096EE819812D60B81028D52CCC299E81E260B72");
        // valid 2025-01-01 .. 2035-01-01 UTC
        assert!(m.is_valid_at(1_764_146_396));
        assert!(!m.is_valid_at(1_735_689_599));
        assert!(!m.is_valid_at(2_051_222_401));
    }

    #[test]
    fn debug_never_shows_key_material() {
        let k = PrivateKey::from_pem(&file("merchant_key.pem")).unwrap();
        assert_eq!(format!("{k:?}"), "PrivateKey(** redacted **)");
    }

    #[test]
    fn oaep_round_trip_and_generated_keys() {
        let k = PrivateKey::generate().unwrap();
        let ct = k
            .public_key()
            .unwrap()
            .encrypt_oaep("张三".as_bytes())
            .unwrap();
        assert_eq!(&*k.decrypt_oaep(&ct).unwrap(), "张三".as_bytes());
        let again = PrivateKey::from_pem(&k.to_pkcs8_pem().unwrap()).unwrap();
        assert_eq!(again.sign(b"x").unwrap(), k.sign(b"x").unwrap());
        assert!(k.public_key().unwrap().encrypt_oaep(&[0u8; 215]).is_err());
    }
}
