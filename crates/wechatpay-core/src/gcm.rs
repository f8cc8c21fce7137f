//! GCM decryption in steps, over AES-256 (aws-lc-rs) or SM4: the part of GCM that an
//! encrypted bill too large to hold in memory needs.

use std::fmt;

use sm4::cipher::BlockEncrypt as _;
use zeroize::Zeroizing;

use crate::error::DecryptError;

/// GCM's tag, after the ciphertext.
pub(crate) const TAG_LEN: usize = 16;

/// GCM decryption in steps (NIST SP 800-38D), for `AEAD_AES_256_GCM` and
/// [`SM4_GCM`](crate::sm4gcm): the cipher's counter mode (AES-CTR from aws-lc-rs) decrypts
/// the bytes as they arrive and GHASH authenticates them; the last 16 bytes are the tag.
/// **Nothing it returns is authentic until [`finish`](Self::finish) succeeds**: keep it
/// where no one can use it (a temporary file) until then.
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
    Sm4(Sm4Ctr),
}

impl OpenStream {
    pub(crate) fn aes(raw: &[u8; 32], nonce: &str, aad: &[u8]) -> Result<Self, DecryptError> {
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

/// SM4 in GCM's counter mode (32-bit counter), a byte at a time across calls.
pub(crate) struct Sm4Ctr {
    cipher: sm4::Sm4,
    counter: [u8; 16],
    stream: [u8; 16],
    /// Bytes of `stream` used up.
    used: usize,
}

impl Sm4Ctr {
    /// Counter mode from the block `counter`.
    pub(crate) fn new(cipher: sm4::Sm4, counter: [u8; 16]) -> Self {
        Self {
            cipher,
            counter,
            stream: [0; 16],
            used: 16,
        }
    }

    /// `out[..data.len()] = data ⊕ keystream` (the same both ways).
    pub(crate) fn apply(&mut self, data: &[u8], out: &mut [u8]) {
        for (o, d) in out.iter_mut().zip(data) {
            if self.used == 16 {
                self.stream = self.counter;
                self.cipher.encrypt_block((&mut self.stream).into());
                let c = u32::from_be_bytes([
                    self.counter[12],
                    self.counter[13],
                    self.counter[14],
                    self.counter[15],
                ]);
                self.counter[12..].copy_from_slice(&c.wrapping_add(1).to_be_bytes());
                self.used = 0;
            }
            *o = d ^ self.stream[self.used];
            self.used += 1;
        }
    }
}
