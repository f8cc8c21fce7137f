//! Downloaded files (bills), checked as they stream: gunzip when the file is gzip, count
//! the decompressed bytes against a limit, and compare their SHA-1 with the hash from the
//! signed answer that gave the link.
//!
//! WeChat Pay does not sign files. A bill's integrity comes from `hash_value` in the
//! *signed* apply answer, computed over the decompressed file (`hash_type: SHA1`), so
//! nothing read counts as verified before [`FileCheck::finish`] succeeds.
//!
//! Output comes in steps of at most [`STEP_BYTES`], whatever the input: a gzip bomb (a few
//! megabytes that inflate to gigabytes) can make a caller hold no more than one step, and is
//! stopped by the size limit or, long before it, by the ratio limit
//! ([`DEFAULT_MAX_RATIO`]).
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
//! for mut chunk in gz.chunks(7) {
//!     while !chunk.is_empty() {
//!         let (used, bytes) = check.feed(chunk)?;
//!         out.extend_from_slice(bytes);
//!         chunk = &chunk[used..];
//!     }
//! }
//! loop {
//!     let bytes = check.finish()?;
//!     if bytes.is_empty() {
//!         break; // verified
//!     }
//!     out.extend_from_slice(bytes);
//! }
//! assert_eq!(out, b"abc");
//! assert_eq!(check.sha1(), Some("a9993e364706816aba3e25717850c26c9cd0d89d"));
//! # Ok(())
//! # }
//! ```

use crate::digest::Sha1;

mod gzip;
use gzip::Gunzip;

/// The most decompressed bytes one [`FileCheck::feed`] or [`FileCheck::finish`] returns.
pub const STEP_BYTES: usize = 64 * 1024;

/// Default limit of decompressed ÷ compressed bytes ([`FileCheck::max_ratio`]). A real
/// bill compresses about 10×; deflate cannot exceed about 1032×, which only long runs of
/// one byte reach: a gzip bomb.
pub const DEFAULT_MAX_RATIO: u64 = 100;

/// Decompressed bytes allowed whatever the ratio, so that a small file (a bill of a few
/// rows) is never refused for compressing well.
pub const RATIO_ALLOWANCE: u64 = 1 << 20;

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
    /// The file decompresses to more than `limit` times its compressed size: a gzip bomb,
    /// not a bill.
    #[error(
        "{compressed} compressed bytes inflated to {decompressed}, more than {limit}\u{d7} (a bill compresses about 10\u{d7}): refused as a gzip bomb"
    )]
    Ratio {
        /// The limit.
        limit: u64,
        /// Compressed bytes read when it was exceeded.
        compressed: u64,
        /// Decompressed bytes by then.
        decompressed: u64,
    },
    /// The bytes are not valid gzip (or the gzip trailer does not match).
    #[error("file is not valid gzip")]
    Gzip(#[source] std::io::Error),
}

/// A file being checked: feed it the bytes as they arrive, then [`finish`](Self::finish).
pub struct FileCheck {
    encoding: Encoding,
    gunzip: Option<Box<Gunzip>>,
    started: bool,
    expected: Option<String>,
    sha1: Option<String>,
    tally: Tally,
}

impl std::fmt::Debug for FileCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCheck")
            .field("gzip", &self.is_gzip())
            .field("expected_sha1", &self.expected)
            .field("bytes", &self.tally.bytes)
            .field("received", &self.tally.received)
            .finish_non_exhaustive()
    }
}

impl FileCheck {
    /// A check of a file whose decompressed bytes must hash to `expected_sha1` (hex, any
    /// case; `None` computes the hash without comparing) and number at most `max_bytes`,
    /// and, when gzip, at most [`DEFAULT_MAX_RATIO`] times the compressed bytes.
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
            expected,
            sha1: None,
            tally: Tally {
                hasher: Some(Sha1::new()),
                bytes: 0,
                received: 0,
                max: max_bytes,
                max_ratio: DEFAULT_MAX_RATIO,
            },
        }
    }

    /// Limits gzip files to `ratio` decompressed bytes per compressed byte (beyond the
    /// first [`RATIO_ALLOWANCE`] decompressed bytes); 0 turns the check off.
    #[must_use]
    pub fn max_ratio(mut self, ratio: u64) -> Self {
        self.tally.max_ratio = ratio;
        self
    }

    /// Takes bytes from the front of `input` and returns how many it took and the
    /// decompressed bytes they gave (at most [`STEP_BYTES`], possibly none). Call it again
    /// with the rest until `input` is used up: each call takes or gives at least one byte.
    ///
    /// # Errors
    /// [`FileError::Gzip`], [`FileError::TooLarge`], [`FileError::Ratio`].
    pub fn feed<'a>(&'a mut self, input: &'a [u8]) -> Result<(usize, &'a [u8]), FileError> {
        if !self.started && !input.is_empty() {
            self.started = true;
            let gzip = match self.encoding {
                Encoding::Detect => input[0] == 0x1f,
                Encoding::Gzip => true,
                Encoding::Identity => false,
            };
            if gzip {
                self.gunzip = Some(Box::new(Gunzip::new()));
            }
        }
        let gzip = self.gunzip.is_some();
        let (used, out): (usize, &[u8]) = match &mut self.gunzip {
            Some(g) => g.step(input, false)?,
            None => {
                let n = input.len().min(STEP_BYTES);
                (n, &input[..n])
            }
        };
        self.tally.received += used as u64;
        self.tally.add(out, gzip)?;
        Ok((used, out))
    }

    /// Once all input was fed: the remaining decompressed bytes, a step at a time; an
    /// empty slice once the whole file matched its hash, after which [`sha1`](Self::sha1)
    /// is known.
    ///
    /// # Errors
    /// [`FileError::HashMismatch`] (or a truncated gzip stream, [`FileError::Gzip`]), and
    /// as [`feed`](Self::feed).
    pub fn finish(&mut self) -> Result<&[u8], FileError> {
        if self.sha1.is_some() {
            return Ok(&[]);
        }
        if let Some(g) = &mut self.gunzip {
            let tail = g.step(&[], true)?.1;
            if !tail.is_empty() {
                self.tally.add(tail, true)?;
                return Ok(tail);
            }
        }
        let actual = self
            .tally
            .hasher
            .take()
            .map(Sha1::finish_hex)
            .unwrap_or_default();
        if let Some(expected) = &self.expected
            && *expected != actual
        {
            return Err(FileError::HashMismatch {
                expected: expected.clone(),
                actual,
                bytes: self.tally.bytes,
            });
        }
        self.sha1 = Some(actual);
        Ok(&[])
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
        self.tally.bytes
    }

    /// Bytes taken so far (compressed when the file is gzip).
    #[must_use]
    pub fn received(&self) -> u64 {
        self.tally.received
    }

    /// Whether the file is gzip (known once the first byte arrived).
    #[must_use]
    pub fn is_gzip(&self) -> bool {
        self.gunzip.is_some()
    }
}

/// What came out so far: counted against the limits and hashed.
struct Tally {
    hasher: Option<Sha1>,
    bytes: u64,
    received: u64,
    max: u64,
    max_ratio: u64,
}

impl Tally {
    fn add(&mut self, out: &[u8], gzip: bool) -> Result<(), FileError> {
        self.bytes += out.len() as u64;
        if self.bytes > self.max {
            return Err(FileError::TooLarge { limit: self.max });
        }
        if gzip
            && self.max_ratio > 0
            && self.bytes > RATIO_ALLOWANCE
            && self.bytes / self.max_ratio > self.received
        {
            return Err(FileError::Ratio {
                limit: self.max_ratio,
                compressed: self.received,
                decompressed: self.bytes,
            });
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

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
        for mut c in input.chunks(step) {
            while !c.is_empty() {
                let (used, bytes) = check.feed(c)?;
                assert!(used > 0 || !bytes.is_empty(), "no progress");
                assert!(bytes.len() <= STEP_BYTES);
                out.extend_from_slice(bytes);
                c = &c[used..];
            }
        }
        loop {
            let bytes = check.finish()?;
            if bytes.is_empty() {
                return Ok(out);
            }
            assert!(bytes.len() <= STEP_BYTES);
            out.extend_from_slice(bytes);
        }
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
        assert_eq!(c.feed(&changed).unwrap().1.len(), BILL.len());
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
        assert_eq!(c.feed(b"").unwrap(), (0, &b""[..]));
        assert_eq!(c.feed(b"abc").unwrap(), (3, &b"abc"[..]));
        assert_eq!(c.feed(b"\x1f\x8bdef").unwrap(), (5, &b"\x1f\x8bdef"[..]));
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

    #[test]
    fn a_gzip_bomb_is_stopped_by_the_ratio_in_bounded_steps() {
        let zeros = vec![0u8; 64 << 20];
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&zeros).unwrap();
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < 200_000, "{}", bomb.len());
        let mut c = FileCheck::new(None, Encoding::Detect, u64::MAX);
        match run(&mut c, &bomb, 256 * 1024) {
            Err(FileError::Ratio {
                limit: DEFAULT_MAX_RATIO,
                compressed,
                decompressed,
            }) => {
                assert!(decompressed > RATIO_ALLOWANCE);
                assert!(decompressed <= RATIO_ALLOWANCE + STEP_BYTES as u64 + 100 * 2048);
                assert!(decompressed / DEFAULT_MAX_RATIO > compressed);
                assert_eq!(compressed, c.received());
            }
            other => panic!("{other:?}"),
        }
        // Without the ratio, the size limit stops it, also in bounded steps.
        let mut c = FileCheck::new(None, Encoding::Gzip, 8 << 20).max_ratio(0);
        let r = run(&mut c, &bomb, 1 << 20);
        assert!(
            matches!(r, Err(FileError::TooLarge { limit })  if limit == 8 << 20),
            "{r:?}"
        );
        assert!(c.bytes() <= (8 << 20) + STEP_BYTES as u64);
        // A ratio high enough lets the same file through whole.
        let mut c = FileCheck::new(None, Encoding::Gzip, u64::MAX).max_ratio(2000);
        assert_eq!(run(&mut c, &bomb, 4096).unwrap().len(), zeros.len());
    }

    #[test]
    fn small_files_pass_whatever_their_ratio() {
        let zeros = vec![b'0'; RATIO_ALLOWANCE as usize];
        let mut c = FileCheck::new(Some(&sha1(&zeros)), Encoding::Detect, u64::MAX);
        assert_eq!(run(&mut c, &gzip(&zeros), 100).unwrap(), zeros);
    }

    #[test]
    fn gzip_headers_with_every_optional_field_and_several_members() {
        let mut e = flate2::GzBuilder::new()
            .filename("账单.csv")
            .comment("a comment")
            .extra(vec![7; 300])
            .write(Vec::new(), flate2::Compression::default());
        e.write_all(BILL).unwrap();
        let mut both = e.finish().unwrap();
        both.extend_from_slice(&gzip(b"second member\n"));
        let mut whole = BILL.to_vec();
        whole.extend_from_slice(b"second member\n");
        for step in [1, 2, 9, 1000] {
            let mut c = FileCheck::new(Some(&sha1(&whole)), Encoding::Gzip, 1 << 20);
            assert_eq!(run(&mut c, &both, step).unwrap(), whole);
        }
    }

    #[test]
    fn a_header_checksum_is_checked() {
        // RFC 1952 FHCRC: the low 16 bits of the CRC-32 of the header before it.
        let mut member = vec![0x1f, 0x8b, 8, 2, 0, 0, 0, 0, 0, 255];
        let mut crc = flate2::Crc::new();
        crc.update(&member);
        let sum = (crc.sum() & 0xffff) as u16;
        member.extend_from_slice(&sum.to_le_bytes());
        member.extend_from_slice(&gzip(BILL)[10..]);
        let mut c = FileCheck::new(Some(&sha1(BILL)), Encoding::Gzip, 1 << 20);
        assert_eq!(run(&mut c, &member, 3).unwrap(), BILL);
        member[10] ^= 1;
        let mut c = FileCheck::new(None, Encoding::Gzip, 1 << 20);
        assert!(matches!(run(&mut c, &member, 3), Err(FileError::Gzip(_))));
    }

    #[test]
    fn garbage_after_the_stream_or_a_bad_trailer_fails() {
        let mut gz = gzip(BILL);
        gz.extend_from_slice(&[0, 0, 0, 0]);
        let mut c = FileCheck::new(None, Encoding::Gzip, 1 << 20);
        assert!(matches!(run(&mut c, &gz, 7), Err(FileError::Gzip(_))));
        let mut gz = gzip(BILL);
        let n = gz.len();
        gz[n - 1] ^= 1; // ISIZE
        let mut c = FileCheck::new(None, Encoding::Gzip, 1 << 20);
        assert!(matches!(run(&mut c, &gz, 7), Err(FileError::Gzip(_))));
        let mut c = FileCheck::new(None, Encoding::Gzip, 1 << 20);
        let long_name = [&[0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 255][..], &[b'a'; 5000]].concat();
        let r = run(&mut c, &long_name, 100);
        assert!(format!("{:?}", r.unwrap_err()).contains("too long"));
    }
}
