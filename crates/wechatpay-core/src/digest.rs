//! SHA-1, streamed: the hash WeChat Pay gives for bill files (`hash_type: SHA1`). It
//! checks integrity against a value from a signed answer; it is not used for signatures.

use std::fmt;

use aws_lc_rs::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY};

/// A SHA-1 computed over bytes as they arrive.
///
/// ```
/// let mut h = wechatpay_core::digest::Sha1::new();
/// h.update(b"ab");
/// h.update(b"c");
/// assert_eq!(h.finish_hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
/// ```
pub struct Sha1(Context);

impl Sha1 {
    /// An empty hash.
    #[must_use]
    pub fn new() -> Self {
        Self(Context::new(&SHA1_FOR_LEGACY_USE_ONLY))
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hash, lower-case hex.
    #[must_use]
    pub fn finish_hex(self) -> String {
        let d = self.0.finish();
        let mut out = String::with_capacity(40);
        for b in d.as_ref() {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

impl Default for Sha1 {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Sha1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha1")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_names_the_hash_only() {
        let mut h = super::Sha1::new();
        h.update(b"secret bill");
        assert_eq!(format!("{h:?}"), "Sha1");
    }
}
