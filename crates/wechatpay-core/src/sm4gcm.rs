//! `SM4_GCM`: the SM4 block cipher (GB/T 32907) in GCM mode (NIST SP 800-38D, as RFC 8998
//! uses it), which WeChat Pay offers for sub-merchant fund-flow bills
//! (`algorithm=SM4_GCM`, a 128-bit file key). Same layout as
//! [`AEAD_AES_256_GCM`](crate::aead): 12-byte nonce, `ciphertext‖16-byte tag`.

use std::fmt;

use ghash::universal_hash::{KeyInit as _, UniversalHash as _};
use sm4::cipher::BlockEncrypt as _;
use zeroize::Zeroizing;

use crate::error::{DecryptError, KeyError};
use crate::gcm::{Ctr, OpenStream, Sm4Ctr};

/// The name WeChat Pay gives the algorithm in requests.
pub const ALGORITHM: &str = "SM4_GCM";

/// A 128-bit SM4 key (the file key of an `SM4_GCM` bill). `Debug` never shows it; it is
/// zeroized on drop.
#[derive(Clone)]
pub struct Sm4Key {
    raw: Zeroizing<[u8; 16]>,
}

impl fmt::Debug for Sm4Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm4Key(** redacted **)")
    }
}

impl Sm4Key {
    /// Takes exactly 16 bytes.
    ///
    /// # Errors
    /// [`KeyError::Sm4KeyLength`] when it is not 16 bytes.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let k = key.as_ref();
        let raw: [u8; 16] = k.try_into().map_err(|_| KeyError::Sm4KeyLength(k.len()))?;
        Ok(Self {
            raw: Zeroizing::new(raw),
        })
    }

    /// Generates a random key of 16 alphanumeric characters.
    ///
    /// # Errors
    /// Never in practice; the signature matches [`new`](Self::new).
    pub fn generate() -> Result<Self, KeyError> {
        Self::new(crate::RandomNonce::alphanumeric(16))
    }

    /// The key's bytes (to encrypt them for the receiver).
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.raw[..]
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
        Ok(self.seal_bytes(&nonce12(nonce)?, associated_data.as_bytes(), plaintext))
    }

    fn seal_bytes(&self, nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let (mut ctr, h, mask) = setup(&self.raw, nonce);
        let mut out = vec![0u8; plaintext.len()];
        ctr.apply(plaintext, &mut out);
        let mut g = ghash::GHash::new(ghash::Key::from_slice(&h));
        g.update_padded(aad);
        g.update_padded(&out);
        let mut lengths = [0u8; 16];
        lengths[..8].copy_from_slice(&(aad.len() as u64 * 8).to_be_bytes());
        lengths[8..].copy_from_slice(&(out.len() as u64 * 8).to_be_bytes());
        g.update(&[lengths.into()]);
        let tag: [u8; 16] = g.finalize().into();
        out.extend(tag.iter().zip(mask).map(|(t, m)| t ^ m));
        out
    }

    /// Starts decrypting a binary `ciphertext‖tag` that arrives in pieces; see
    /// [`OpenStream`].
    ///
    /// # Errors
    /// [`DecryptError::NonceLength`] when the nonce is not 12 bytes.
    pub fn open_stream(
        &self,
        nonce: &str,
        associated_data: &str,
    ) -> Result<OpenStream, DecryptError> {
        Ok(self.open_stream_bytes(&nonce12(nonce)?, associated_data.as_bytes()))
    }

    fn open_stream_bytes(&self, nonce: &[u8; 12], aad: &[u8]) -> OpenStream {
        let (ctr, h, mask) = setup(&self.raw, nonce);
        OpenStream::with(Ctr::Sm4(ctr), &h, mask, aad)
    }
}

impl OpenStream {
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
        if let Ok(aes) = <&[u8; 32]>::try_from(key) {
            return OpenStream::aes(aes, nonce, associated_data.as_bytes());
        }
        Sm4Key::new(key)
            .map_err(|_| DecryptError::Failed)?
            .open_stream(nonce, associated_data)
    }
}

fn nonce12(nonce: &str) -> Result<[u8; 12], DecryptError> {
    nonce
        .as_bytes()
        .try_into()
        .map_err(|_| DecryptError::NonceLength(nonce.len()))
}

/// The counter from inc32(J0), `H = E(K, 0¹²⁸)` and the tag mask `E(K, J0)`.
fn setup(raw: &[u8; 16], nonce: &[u8; 12]) -> (Sm4Ctr, [u8; 16], [u8; 16]) {
    let cipher = sm4::Sm4::new(raw.into());
    let mut h = [0u8; 16];
    cipher.encrypt_block((&mut h).into());
    let mut j0 = [0u8; 16];
    j0[..12].copy_from_slice(nonce);
    j0[15] = 1;
    let mut mask = j0;
    cipher.encrypt_block((&mut mask).into());
    let mut counter = j0;
    counter[15] = 2;
    let ctr = Sm4Ctr::new(cipher, counter);
    (ctr, h, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 8998, Appendix A.1 (SM4-GCM).
    #[test]
    fn rfc_8998_vector_seals_and_opens_in_any_pieces() {
        let key = Sm4Key::new(hex("0123456789ABCDEFFEDCBA9876543210")).unwrap();
        let nonce: [u8; 12] = hex("00001234567800000000ABCD").try_into().unwrap();
        let aad = hex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        let plain = hex(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        );
        let expected = hex(concat!(
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735",
            "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D",
            "83DE3541E4C2B58177E065A9BF7B62EC",
        ));
        let sealed = key.seal_bytes(&nonce, &aad, &plain);
        assert_eq!(sealed, expected);
        for step in [1, 7, 16, 17, 200] {
            let mut open = key.open_stream_bytes(&nonce, &aad);
            let mut got = Vec::new();
            for piece in sealed.chunks(step) {
                got.extend_from_slice(open.update(piece).unwrap());
            }
            open.finish().unwrap();
            assert_eq!(got, plain, "pieces of {step}");
        }
        let mut bad = sealed.clone();
        bad[3] ^= 1;
        let mut open = key.open_stream_bytes(&nonce, &aad);
        open.update(&bad).unwrap();
        assert!(matches!(open.finish(), Err(DecryptError::Failed)));
    }

    #[test]
    fn a_key_is_16_bytes_and_never_shown() {
        assert!(matches!(
            Sm4Key::new([0u8; 32]),
            Err(KeyError::Sm4KeyLength(32))
        ));
        let k = Sm4Key::generate().unwrap();
        assert_eq!(format!("{k:?}"), "Sm4Key(** redacted **)");
        let sealed = k.seal("0123456789ab", "", b"bill").unwrap();
        let mut open = k.open_stream("0123456789ab", "").unwrap();
        let got = open.update(&sealed).unwrap().to_vec();
        open.finish().unwrap();
        assert_eq!(got, b"bill");
    }
}
