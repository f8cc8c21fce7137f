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

/// The name of the only supported algorithm.
pub const ALGORITHM: &str = "AEAD_AES_256_GCM";
const TAG_LEN: usize = 16;

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

/// GCM decryption in steps (NIST SP 800-38D), for `AEAD_AES_256_GCM` and
/// [`SM4_GCM`](crate::sm4gcm): the cipher's counter mode (AES-CTR from aws-lc-rs) decrypts
/// the bytes as they arrive and GHASH authenticates them; the last 16 bytes are the tag. **Nothing it returns is authentic until [`finish`](Self::finish) succeeds**:
/// keep it where no one can use it (a temporary file) until then.
///
/// ```
/// # fn main() -> Result<(), wechatpay_core::DecryptError> {
/// let key = wechatpay_core::ApiV3Key::new("Av4mVSbkMpNfhx2oRC7zrW5DHAtOc3eJ").unwrap();
/// let sealed = key.seal("0123456789ab", "", b"a large bill")?;
/// let mut open = key.open_stream("0123456789ab", "")?;
/// let mut plain = Vec::new();
/// for piece in sealed.chunks(5) {
///     plain.extend_from_slice(&open.update(piece)?);
/// }
/// open.finish()?;
/// assert_eq!(plain, b"a large bill");
/// # Ok(())
/// # }
/// ```
pub struct OpenStream {
    ctr: Ctr,
    ghash: ghash::GHash,
    /// `E(K, J0)`, which masks the tag.
    mask: [u8; 16],
    aad_len: u64,
    /// Ciphertext bytes decrypted (all but the held-back tail).
    ct_len: u64,
    /// The last bytes received, held back: the tag once the input ends.
    tail: Vec<u8>,
    /// Ciphertext not yet a whole GHASH block.
    partial: Vec<u8>,
    out: Vec<u8>,
}

impl fmt::Debug for OpenStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenStream")
            .field("decrypted", &self.ct_len)
            .finish_non_exhaustive()
    }
}

/// GCM's counter is 32 bits after a 96-bit nonce: 2^32 − 2 blocks of data at most.
const MAX_GCM_BYTES: u64 = ((1 << 32) - 2) * 16;

/// The counter-mode half of GCM, by block cipher.
pub(crate) enum Ctr {
    Aes(aws_lc_rs::cipher::StreamingDecryptingKey),
    Sm4(crate::sm4gcm::Sm4Ctr),
}

impl OpenStream {
    fn aes(raw: &[u8; 32], nonce: &str, aad: &[u8]) -> Result<Self, DecryptError> {
        use aws_lc_rs::cipher::{
            AES_256, DecryptionContext, EncryptingKey, StreamingDecryptingKey, UnboundCipherKey,
        };
        let n: [u8; 12] = nonce
            .as_bytes()
            .try_into()
            .map_err(|_| DecryptError::NonceLength(nonce.len()))?;
        let failed = |_| DecryptError::Failed;
        // H = E(K, 0¹²⁸) and E(K, J0) with J0 = nonce ‖ 0³¹1, one ECB call for both.
        let mut blocks = Zeroizing::new([0u8; 32]);
        blocks[16..28].copy_from_slice(&n);
        blocks[31] = 1;
        EncryptingKey::ecb(UnboundCipherKey::new(&AES_256, raw).map_err(failed)?)
            .and_then(|k| k.encrypt(&mut blocks[..]))
            .map_err(failed)?;
        // The data is counter blocks from inc32(J0) = nonce ‖ 0³⁰10.
        let mut iv = [0u8; 16];
        iv[..12].copy_from_slice(&n);
        iv[15] = 2;
        let ctr = StreamingDecryptingKey::ctr(
            UnboundCipherKey::new(&AES_256, raw).map_err(failed)?,
            DecryptionContext::Iv128(iv.into()),
        )
        .map_err(failed)?;
        let (mut h, mut mask) = ([0u8; 16], [0u8; 16]);
        h.copy_from_slice(&blocks[..16]);
        mask.copy_from_slice(&blocks[16..]);
        Ok(Self::with(Ctr::Aes(ctr), &h, mask, aad))
    }

    /// A stream over the counter mode `ctr`, with GHASH key `h` and tag mask `E(K, J0)`.
    pub(crate) fn with(ctr: Ctr, h: &[u8; 16], mask: [u8; 16], aad: &[u8]) -> Self {
        use ghash::universal_hash::{KeyInit as _, UniversalHash as _};
        let mut ghash = ghash::GHash::new(ghash::Key::from_slice(h));
        ghash.update_padded(aad);
        Self {
            ctr,
            ghash,
            mask,
            aad_len: aad.len() as u64,
            ct_len: 0,
            tail: Vec::with_capacity(TAG_LEN),
            partial: Vec::with_capacity(16),
            out: Vec::new(),
        }
    }

    /// Starts decrypting an encrypted bill file with its file key (as RSA-OAEP decrypted
    /// from `encrypt_key`): 32 bytes for `AEAD_AES_256_GCM`, 16 bytes for `SM4_GCM`.
    ///
    /// # Errors
    /// [`DecryptError::NonceLength`] when the nonce is not 12 bytes;
    /// [`DecryptError::Failed`] when the key has another length.
    pub fn for_file_key(
        key: &[u8],
        nonce: &str,
        associated_data: &str,
    ) -> Result<Self, DecryptError> {
        match key.len() {
            32 => ApiV3Key::new(key)
                .map_err(|_| DecryptError::Failed)?
                .open_stream(nonce, associated_data),
            16 => crate::sm4gcm::Sm4Key::new(key)
                .map_err(|_| DecryptError::Failed)?
                .open_stream(nonce, associated_data),
            _ => Err(DecryptError::Failed),
        }
    }

    /// Decrypts the next piece of `ciphertext‖tag`; returns the plaintext so far (the last
    /// 16 bytes received are held back until more come or the input ends). Not authentic
    /// before [`finish`](Self::finish).
    ///
    /// # Errors
    /// [`DecryptError::Failed`] beyond GCM's 64 GiB limit, or if the cipher fails.
    pub fn update(&mut self, input: &[u8]) -> Result<&[u8], DecryptError> {
        use ghash::universal_hash::UniversalHash as _;
        // Everything but the newest 16 bytes of tail ‖ input is ciphertext.
        let total = self.tail.len() + input.len();
        let ready = total.saturating_sub(TAG_LEN);
        let from_tail = ready.min(self.tail.len());
        let from_input = ready - from_tail;
        let mut ct = Vec::with_capacity(ready);
        ct.extend_from_slice(&self.tail[..from_tail]);
        ct.extend_from_slice(&input[..from_input]);
        self.tail.drain(..from_tail);
        self.tail.extend_from_slice(&input[from_input..]);
        self.ct_len += ct.len() as u64;
        if self.ct_len > MAX_GCM_BYTES {
            return Err(DecryptError::Failed);
        }
        // GHASH over whole blocks; a remainder waits for the next piece.
        let mut rest: &[u8] = &ct;
        if !self.partial.is_empty() {
            let take = (16 - self.partial.len()).min(rest.len());
            self.partial.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.partial.len() == 16 {
                self.ghash
                    .update(&[*ghash::Block::from_slice(&self.partial)]);
                self.partial.clear();
            }
        }
        let whole = rest.len() / 16 * 16;
        let blocks: Vec<ghash::Block> = rest[..whole]
            .chunks_exact(16)
            .map(|b| *ghash::Block::from_slice(b))
            .collect();
        self.ghash.update(&blocks);
        self.partial.extend_from_slice(&rest[whole..]);
        self.out.resize(ct.len() + 15, 0);
        let n = match &mut self.ctr {
            Ctr::Aes(k) => k
                .update(&ct, &mut self.out)
                .map_err(|_| DecryptError::Failed)?
                .written()
                .len(),
            Ctr::Sm4(c) => {
                c.apply(&ct, &mut self.out);
                ct.len()
            }
        };
        Ok(&self.out[..n])
    }

    /// Checks the tag over everything decrypted.
    ///
    /// # Errors
    /// [`DecryptError::TooShort`] when fewer than 16 bytes came; [`DecryptError::Failed`]
    /// when the tag does not match (wrong key or nonce, or changed data).
    pub fn finish(mut self) -> Result<(), DecryptError> {
        use ghash::universal_hash::UniversalHash as _;
        if self.tail.len() < TAG_LEN {
            return Err(DecryptError::TooShort);
        }
        self.ghash.update_padded(&self.partial);
        let mut lengths = [0u8; 16];
        lengths[..8].copy_from_slice(&(self.aad_len * 8).to_be_bytes());
        lengths[8..].copy_from_slice(&(self.ct_len * 8).to_be_bytes());
        self.ghash.update(&[lengths.into()]);
        let mut tag: [u8; 16] = self.ghash.finalize().into();
        for (t, m) in tag.iter_mut().zip(self.mask) {
            *t ^= m;
        }
        aws_lc_rs::constant_time::verify_slices_are_equal(&tag, &self.tail)
            .map_err(|_| DecryptError::Failed)
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
