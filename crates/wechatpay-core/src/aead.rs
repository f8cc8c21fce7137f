//! `AEAD_AES_256_GCM` with the APIv3 key: how WeChat Pay encrypts callback resources and
//! downloaded platform certificates.
//!
//! Key: the 32 ASCII bytes of the APIv3 key, used as they are. Nonce: the 12 bytes of the
//! `nonce` string. AAD: the bytes of `associated_data` (possibly empty). Ciphertext: base64
//! of ciphertext ‖ 16-byte tag.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use crate::error::{DecryptError, KeyError};
pub use crate::gcm::OpenStream;
use crate::gcm::TAG_LEN;

/// The name of the only supported algorithm.
pub const ALGORITHM: &str = "AEAD_AES_256_GCM";

/// The merchant's APIv3 key (APIv3密钥). `Debug` never shows it; the copy kept for
/// re-export is zeroized on drop.
#[derive(Clone)]
pub struct ApiV3Key {
    raw: Zeroizing<[u8; 32]>,
    key: Arc<LessSafeKey>,
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(** redacted **)")
    }
}

impl ApiV3Key {
    /// Takes the key as set in the merchant console: exactly 32 bytes (surrounding
    /// whitespace, as left by a text file, is trimmed).
    ///
    /// # Errors
    /// [`KeyError::ApiV3KeyLength`] when it is not 32 bytes.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let k = key.as_ref().trim_ascii();
        let raw: [u8; 32] = k
            .try_into()
            .map_err(|_| KeyError::ApiV3KeyLength(k.len()))?;
        let key = UnboundKey::new(&AES_256_GCM, &raw).map_err(|_| KeyError::Rejected {
            what: "APIv3 key",
            reason: crate::KeyProblem::Crypto,
        })?;
        Ok(Self {
            raw: Zeroizing::new(raw),
            key: Arc::new(LessSafeKey::new(key)),
        })
    }

    /// Generates a random 32-character alphanumeric key, as the merchant console asks for.
    ///
    /// # Errors
    /// Never in practice; the signature matches [`new`](Self::new).
    pub fn generate() -> Result<Self, KeyError> {
        Self::new(crate::RandomNonce::alphanumeric(32))
    }

    /// The key's text, to write into a configuration file.
    #[must_use]
    pub fn expose_secret(&self) -> Zeroizing<String> {
        Zeroizing::new(String::from_utf8_lossy(&self.raw[..]).into_owned())
    }

    /// Decrypts a base64 `ciphertext‖tag` with the given nonce and associated data.
    ///
    /// # Errors
    /// [`DecryptError::NonceLength`], [`DecryptError::Base64`], [`DecryptError::TooShort`]
    /// or [`DecryptError::Failed`] (wrong key, nonce, AAD or tampered data).
    pub fn decrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        ciphertext_b64: &str,
    ) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        let buf = Zeroizing::new(
            B64.decode(ciphertext_b64)
                .map_err(|_| DecryptError::Base64)?,
        );
        self.open(nonce, associated_data, &buf)
    }

    /// Decrypts binary `ciphertext‖tag` (an encrypted bill file, which is not Base64).
    ///
    /// # Errors
    /// [`DecryptError::NonceLength`], [`DecryptError::TooShort`] or
    /// [`DecryptError::Failed`] (wrong key, nonce, AAD or tampered data).
    pub fn open(
        &self,
        nonce: &str,
        associated_data: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        let mut buf = Zeroizing::new(sealed.to_vec());
        let n = self.open_in_place(nonce, associated_data, &mut buf)?.len();
        buf.truncate(n);
        Ok(buf)
    }

    /// Decrypts binary `ciphertext‖tag` in place, without a copy; the plaintext is the
    /// front of `sealed`. On failure the content of `sealed` is not to be used.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_in_place<'a>(
        &self,
        nonce: &str,
        associated_data: &str,
        sealed: &'a mut [u8],
    ) -> Result<&'a mut [u8], DecryptError> {
        let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes())
            .map_err(|_| DecryptError::NonceLength(nonce.len()))?;
        if sealed.len() < TAG_LEN {
            return Err(DecryptError::TooShort);
        }
        self.key
            .open_in_place(nonce, Aad::from(associated_data.as_bytes()), sealed)
            .map_err(|_| DecryptError::Failed)
    }

    /// Like [`decrypt`](Self::decrypt), for a UTF-8 plaintext (JSON or PEM).
    ///
    /// # Errors
    /// As `decrypt`, plus [`DecryptError::Utf8`].
    pub fn decrypt_to_string(
        &self,
        nonce: &str,
        associated_data: &str,
        ciphertext_b64: &str,
    ) -> Result<String, DecryptError> {
        let bytes = self.decrypt(nonce, associated_data, ciphertext_b64)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecryptError::Utf8)
    }

    /// Encrypts `plaintext` (the emulator side) and returns base64 `ciphertext‖tag`.
    ///
    /// # Errors
    /// [`DecryptError::NonceLength`] when the nonce is not 12 bytes.
    pub fn encrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        plaintext: &[u8],
    ) -> Result<String, DecryptError> {
        Ok(B64.encode(self.seal(nonce, associated_data, plaintext)?))
    }

    /// Encrypts `plaintext` to binary `ciphertext‖tag` (the emulator's encrypted bills).
    ///
    /// # Errors
    /// [`DecryptError::NonceLength`] when the nonce is not 12 bytes.
    pub fn seal(
        &self,
        nonce: &str,
        associated_data: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, DecryptError> {
        let n = Nonce::try_assume_unique_for_key(nonce.as_bytes())
            .map_err(|_| DecryptError::NonceLength(nonce.len()))?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(n, Aad::from(associated_data.as_bytes()), &mut buf)
            .map_err(|_| DecryptError::Failed)?;
        Ok(buf)
    }

    /// Starts decrypting a binary `ciphertext‖tag` that arrives in pieces (an encrypted
    /// bill too large to hold in memory), with the given nonce and associated data.
    ///
    /// # Errors
    /// [`DecryptError::NonceLength`] when the nonce is not 12 bytes.
    pub fn open_stream(
        &self,
        nonce: &str,
        associated_data: &str,
    ) -> Result<OpenStream, DecryptError> {
        OpenStream::aes(&self.raw, nonce, associated_data.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_opens_what_seal_sealed_in_any_pieces_and_nothing_else() {
        let k = ApiV3Key::generate().unwrap();
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100, 4097] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            for aad in ["", "certificate", "a longer associated data text"] {
                let sealed = k.seal("0123456789ab", aad, &plain).unwrap();
                for step in [1, 5, 16, 17, 1000] {
                    let mut s = k.open_stream("0123456789ab", aad).unwrap();
                    let mut out = Vec::new();
                    for c in sealed.chunks(step) {
                        out.extend_from_slice(s.update(c).unwrap());
                    }
                    s.finish().unwrap();
                    assert_eq!(out, plain, "len {len} aad {aad:?} step {step}");
                }
                // Any changed byte, the wrong nonce or the wrong AAD fails at the end.
                let mut changed = sealed.clone();
                let at = (len * 3) % changed.len();
                changed[at] ^= 0x40;
                let mut s = k.open_stream("0123456789ab", aad).unwrap();
                s.update(&changed).unwrap();
                assert!(matches!(s.finish(), Err(DecryptError::Failed)));
                let mut s = k.open_stream("0123456789ac", aad).unwrap();
                s.update(&sealed).unwrap();
                assert!(matches!(s.finish(), Err(DecryptError::Failed)));
                let mut s = k.open_stream("0123456789ab", "other").unwrap();
                s.update(&sealed).unwrap();
                assert!(matches!(s.finish(), Err(DecryptError::Failed)));
            }
        }
        let mut s = k.open_stream("0123456789ab", "").unwrap();
        s.update(&[0; 15]).unwrap();
        assert!(matches!(s.finish(), Err(DecryptError::TooShort)));
        assert!(matches!(
            k.open_stream("short", ""),
            Err(DecryptError::NonceLength(5))
        ));
    }

    #[test]
    fn the_key_text_comes_back_only_when_asked() {
        let text = "Av4mVSbkMpNfhx2oRC7zrW5DHAtOc3eJ";
        assert_eq!(ApiV3Key::new(text).unwrap().expose_secret().as_str(), text);
    }

    #[test]
    fn key_length_is_checked() {
        assert!(matches!(
            ApiV3Key::new("short"),
            Err(KeyError::ApiV3KeyLength(5))
        ));
        assert!(ApiV3Key::new("Av4mVSbkMpNfhx2oRC7zrW5DHAtOc3eJ\n").is_ok());
        assert_eq!(
            format!("{:?}", ApiV3Key::generate().unwrap()),
            "ApiV3Key(** redacted **)"
        );
    }

    #[test]
    fn round_trip_and_tamper() {
        let k = ApiV3Key::generate().unwrap();
        let ct = k
            .encrypt("0123456789ab", "payscore", "订单".as_bytes())
            .unwrap();
        assert_eq!(
            k.decrypt_to_string("0123456789ab", "payscore", &ct)
                .unwrap(),
            "订单"
        );
        assert_eq!(
            k.decrypt("0123456789ab", "", &ct).unwrap_err(),
            DecryptError::Failed
        );
        assert_eq!(
            k.decrypt("short", "", &ct).unwrap_err(),
            DecryptError::NonceLength(5)
        );
        assert_eq!(
            k.decrypt("0123456789ab", "", "!!").unwrap_err(),
            DecryptError::Base64
        );
    }
}
