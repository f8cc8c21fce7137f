use std::fmt::Debug;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// A source of the current time, so that signing and verification can be tested at a fixed
/// instant. [`SystemClock`] is the only place in the workspace that reads the system time.
pub trait Clock: Send + Sync + Debug {
    /// Seconds since the unix epoch.
    fn now(&self) -> i64;

    /// Milliseconds since the unix epoch (for schedules).
    fn now_millis(&self) -> i64 {
        self.now().saturating_mul(1000)
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }

    #[allow(clippy::disallowed_methods)] // the one sanctioned reader of the system time
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock stopped at one instant, for tests and reproducible signatures.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}

/// A source of request nonces (`nonce_str`).
pub trait NonceSource: Send + Sync + Debug {
    /// A fresh nonce.
    fn nonce(&self) -> String;
}

/// 32 characters of `[0-9A-Za-z]` from the operating system's CSPRNG, as every official
/// SDK sends.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomNonce;

impl RandomNonce {
    /// A random alphanumeric string of `len` characters.
    #[must_use]
    pub fn alphanumeric(len: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let rng = SystemRandom::new();
        let mut out = String::with_capacity(len);
        let mut buf = [0u8; 64];
        while out.len() < len {
            // A CSPRNG failure leaves `buf` as it was; the rejection loop below still makes
            // progress, and aws-lc aborts the process rather than return weak randomness.
            let _ = rng.fill(&mut buf);
            for &b in &buf {
                // 248 = 4 * 62: reject the top values so every character is equally likely.
                if b < 248 && out.len() < len {
                    out.push(char::from(ALPHABET[usize::from(b % 62)]));
                }
            }
        }
        out
    }
}

impl NonceSource for RandomNonce {
    fn nonce(&self) -> String {
        Self::alphanumeric(32)
    }
}

/// Always the same nonce, for reproducible signatures in tests.
#[derive(Debug, Clone)]
pub struct FixedNonce(pub String);

impl NonceSource for FixedNonce {
    fn nonce(&self) -> String {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_nonces_are_32_alphanumerics_and_differ() {
        let a = RandomNonce.nonce();
        let b = RandomNonce.nonce();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn every_alphanumeric_appears() {
        let many = RandomNonce::alphanumeric(20_000);
        assert_eq!(many.len(), 20_000);
        let seen: std::collections::BTreeSet<char> = many.chars().collect();
        assert_eq!(seen.len(), 62, "{seen:?}");
        assert_eq!(RandomNonce::alphanumeric(0), "");
    }

    #[test]
    fn clocks_tell_the_time() {
        assert_eq!(FixedClock(1_764_146_249).now(), 1_764_146_249);
        assert_eq!(FixedClock(1_764_146_249).now_millis(), 1_764_146_249_000);
        let (secs, ms) = (SystemClock.now(), SystemClock.now_millis());
        // After 2025-01-01 and before 2100, and the two agree.
        assert!((1_735_689_600..4_102_444_800).contains(&secs), "{secs}");
        assert!((ms / 1000 - secs).abs() <= 1, "{ms} {secs}");
        assert_eq!(FixedNonce("n0nce".into()).nonce(), "n0nce");
    }
}
