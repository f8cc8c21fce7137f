//! Downloaded files (bills), checked as they stream: gunzip when the file is gzip, count
//! the decompressed bytes against a limit, and compare their SHA-1 with the hash from the
//! signed answer that gave the link.
//!
//! WeChat Pay does not sign files. A bill's integrity comes from `hash_value` in the
//! *signed* apply answer, computed over the decompressed file (`hash_type: SHA1`), so
//! nothing read counts as verified before [`FileCheck::finish`] succeeds.
//!
//! ```
//! use std::io::Write as _;
//! use wechatpay_core::file::{Encoding, FileCheck, FileError};
//!
//! # fn main() -> Result<(), FileError> {
//! let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
//! gz.write_all(b"abc").unwrap();
//! let gz = gz.finish().unwrap();
//!
//! let mut check = FileCheck::new(
//!     Some("A9993E364706816ABA3E25717850C26C9CD0D89D"),
//!     Encoding::Detect,
//!     1 << 20,
//! );
//! let mut out = Vec::new();
//! for chunk in gz.chunks(7) {
//!     out.extend_from_slice(check.feed(chunk)?);
//! }
//! out.extend_from_slice(check.finish()?);
//! assert_eq!(out, b"abc");
//! assert_eq!(check.sha1(), Some("a9993e364706816aba3e25717850c26c9cd0d89d"));
//! # Ok(())
//! # }
//! ```

use std::io::Write as _;

use flate2::write::GzDecoder;

use crate::digest::Sha1;

/// How the bytes of a file are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Gzip when the first byte is `0x1f` (a text bill starts with a BOM or text).
    Detect,
    /// Gzip (the answer declared it).
    Gzip,
    /// Taken as it is (an encrypted part, decrypted later).
    Identity,
}

/// Why a file failed its checks. Bytes returned before it are not to be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The decompressed bytes do not have the expected SHA-1: the file was changed or
    /// truncated in transit.
    #[error(
        "SHA-1 of the {bytes} decompressed bytes is {actual}, the signed answer says {expected}"
    )]
    HashMismatch {
        /// The expected hash (trimmed, lower case, at most 64 printable characters).
        expected: String,
        /// The hash of what arrived.
        actual: String,
        /// Decompressed bytes that arrived.
        bytes: u64,
    },
    /// The decompressed file is larger than the limit.
    #[error("file exceeds {limit} decompressed bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The bytes are not valid gzip (or the gzip trailer does not match).
    #[error("file is not valid gzip")]
    Gzip(#[source] std::io::Error),
}

/// A file being checked: feed it the bytes as they arrive, then [`finish`](Self::finish).
pub struct FileCheck {
    encoding: Encoding,
    gunzip: Option<GzDecoder<Vec<u8>>>,
    started: bool,
    hasher: Option<Sha1>,
    expected: Option<String>,
    sha1: Option<String>,
    bytes: u64,
    received: u64,
    max: u64,
}

impl std::fmt::Debug for FileCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCheck")
            .field("gzip", &self.is_gzip())
            .field("expected_sha1", &self.expected)
            .field("bytes", &self.bytes)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl FileCheck {
    /// A check of a file whose decompressed bytes must hash to `expected_sha1` (hex, any
    /// case; `None` computes the hash without comparing) and number at most `max_bytes`.
    #[must_use]
    pub fn new(expected_sha1: Option<&str>, encoding: Encoding, max_bytes: u64) -> Self {
        let expected = expected_sha1.map(|h| {
            h.trim()
                .chars()
                .filter(char::is_ascii_graphic)
                .take(64)
                .collect::<String>()
                .to_ascii_lowercase()
        });
        Self {
            encoding,
            gunzip: None,
            started: false,
            hasher: Some(Sha1::new()),
            expected,
            sha1: None,
            bytes: 0,
            received: 0,
            max: max_bytes,
        }
    }

    /// The decompressed bytes of the next `chunk` (possibly none yet).
    ///
    /// # Errors
    /// [`FileError::Gzip`], [`FileError::TooLarge`].
    pub fn feed<'a>(&'a mut self, chunk: &'a [u8]) -> Result<&'a [u8], FileError> {
        self.received += chunk.len() as u64;
        if !self.started && !chunk.is_empty() {
            self.started = true;
            let gzip = match self.encoding {
                Encoding::Detect => chunk[0] == 0x1f,
                Encoding::Gzip => true,
                Encoding::Identity => false,
            };
            if gzip {
                self.gunzip = Some(GzDecoder::new(Vec::new()));
            }
        }
        let out: &[u8] = match &mut self.gunzip {
            Some(d) => {
                d.get_mut().clear();
                d.write_all(chunk).map_err(FileError::Gzip)?;
                d.get_ref()
            }
            None => chunk,
        };
        account(&mut self.bytes, self.max, self.hasher.as_mut(), out)?;
        Ok(out)
    }

    /// The last decompressed bytes, once the whole file matched its hash; after it,
    /// [`sha1`](Self::sha1) is known.
    ///
    /// # Errors
    /// [`FileError::HashMismatch`] (or a truncated gzip stream, [`FileError::Gzip`]).
    pub fn finish(&mut self) -> Result<&[u8], FileError> {
        if self.sha1.is_some() {
            return Ok(&[]);
        }
        let tail: &[u8] = match &mut self.gunzip {
            Some(d) => {
                d.get_mut().clear();
                d.try_finish().map_err(FileError::Gzip)?;
                d.get_ref()
            }
            None => &[],
        };
        account(&mut self.bytes, self.max, self.hasher.as_mut(), tail)?;
        let actual = self.hasher.take().map(Sha1::finish_hex).unwrap_or_default();
        if let Some(expected) = &self.expected
            && *expected != actual
        {
            return Err(FileError::HashMismatch {
                expected: expected.clone(),
                actual,
                bytes: self.bytes,
            });
        }
        self.sha1 = Some(actual);
        Ok(tail)
    }

    /// SHA-1 of the decompressed bytes, lower-case hex, once [`finish`](Self::finish)
    /// succeeded.
    #[must_use]
    pub fn sha1(&self) -> Option<&str> {
        self.sha1.as_deref()
    }

    /// Decompressed bytes so far.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Bytes fed so far (compressed when the file is gzip).
    #[must_use]
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether the file is gzip (known once the first byte arrived).
    #[must_use]
    pub fn is_gzip(&self) -> bool {
        self.gunzip.is_some()
    }
}

fn account(
    total: &mut u64,
    max: u64,
    hasher: Option<&mut Sha1>,
    out: &[u8],
) -> Result<(), FileError> {
    *total += out.len() as u64;
    if *total > max {
        return Err(FileError::TooLarge { limit: max });
    }
    if let Some(h) = hasher {
        h.update(out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn sha1(data: &[u8]) -> String {
        let mut h = Sha1::new();
        h.update(data);
        h.finish_hex()
    }

    fn run(check: &mut FileCheck, input: &[u8], step: usize) -> Result<Vec<u8>, FileError> {
        let mut out = Vec::new();
        for c in input.chunks(step) {
            out.extend_from_slice(check.feed(c)?);
        }
        out.extend_from_slice(check.finish()?);
        Ok(out)
    }

    const BILL: &[u8] = "\u{feff}交易时间,公众账号ID\n`2025-03-01 12:00:00,`wx1\n".as_bytes();

    #[test]
    fn plain_and_gzip_give_the_same_bytes_and_hash() {
        let h = sha1(BILL);
        for (input, gz) in [(BILL.to_vec(), false), (gzip(BILL), true)] {
            for step in [1, 3, 4096] {
                let mut c = FileCheck::new(Some(&h.to_uppercase()), Encoding::Detect, 1 << 20);
                assert_eq!(run(&mut c, &input, step).unwrap(), BILL);
                assert_eq!(c.is_gzip(), gz);
                assert_eq!(c.sha1(), Some(h.as_str()));
                assert_eq!(c.bytes(), BILL.len() as u64);
                assert_eq!(c.received(), input.len() as u64);
                assert!(c.finish().unwrap().is_empty(), "finish twice is a no-op");
            }
        }
    }

    #[test]
    fn one_changed_byte_fails_at_the_end_only() {
        let h = sha1(BILL);
        let mut changed = BILL.to_vec();
        changed[5] ^= 1;
        let mut c = FileCheck::new(Some(&h), Encoding::Detect, 1 << 20);
        assert_eq!(c.feed(&changed).unwrap().len(), BILL.len());
        match c.finish() {
            Err(FileError::HashMismatch {
                expected,
                actual,
                bytes,
            }) => {
                assert_eq!(expected, h);
                assert_eq!(actual, sha1(&changed));
                assert_eq!(bytes, BILL.len() as u64);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.sha1(), None);
    }

    #[test]
    fn truncated_or_corrupt_gzip_fails() {
        let gz = gzip(BILL);
        let mut c = FileCheck::new(None, Encoding::Detect, 1 << 20);
        let r = run(&mut c, &gz[..gz.len() - 4], 5);
        assert!(matches!(r, Err(FileError::Gzip(_))), "{r:?}");
        let mut c = FileCheck::new(None, Encoding::Gzip, 1 << 20);
        assert!(matches!(run(&mut c, BILL, 5), Err(FileError::Gzip(_))));
    }

    #[test]
    fn detection_looks_at_the_first_byte_only() {
        let mut c = FileCheck::new(None, Encoding::Detect, 1 << 20);
        assert_eq!(c.feed(b"").unwrap(), b"");
        assert_eq!(c.feed(b"abc").unwrap(), b"abc");
        assert_eq!(c.feed(b"\x1f\x8bdef").unwrap(), b"\x1f\x8bdef");
        assert_eq!(c.finish().unwrap(), b"");
        assert!(!c.is_gzip());
        assert!(format!("{c:?}").contains("received: 8"), "{c:?}");
    }

    #[test]
    fn identity_keeps_gzip_bytes_as_they_are() {
        let gz = gzip(BILL);
        let mut c = FileCheck::new(Some(&sha1(&gz)), Encoding::Identity, 1 << 20);
        assert_eq!(run(&mut c, &gz, 2).unwrap(), gz);
        assert!(!c.is_gzip());
    }

    #[test]
    fn limit_counts_decompressed_bytes() {
        let big = vec![b'a'; 10_000];
        let gz = gzip(&big);
        let mut c = FileCheck::new(None, Encoding::Detect, 9_999);
        let r = run(&mut c, &gz, 64);
        assert!(
            matches!(r, Err(FileError::TooLarge { limit: 9_999 })),
            "{r:?}"
        );
        let mut c = FileCheck::new(None, Encoding::Detect, 10_000);
        assert_eq!(run(&mut c, &gz, 64).unwrap().len(), 10_000);
    }

    #[test]
    fn expected_hash_is_cleaned_and_bounded() {
        let c = FileCheck::new(
            Some(&format!(" AB\u{1b}[31m{} ", "F".repeat(100))),
            Encoding::Detect,
            1,
        );
        assert_eq!(c.expected.as_deref().map(str::len), Some(64));
        assert!(c.expected.unwrap().starts_with("ab[31mf"));
    }
}
