//! The nonces of signed requests seen within the timestamp window (replays are refused).

use std::collections::HashMap;
use std::sync::Mutex;

/// Nonces seen within the timestamp window, as keyed 64-bit hashes of (mchid, nonce):
/// about 20 bytes an entry, so rate × window entries stay small (300/s × 300 s ≈ 2 MB).
/// The hasher's keys are random per process, so collisions cannot be provoked.
#[derive(Default)]
pub(crate) struct Nonces(Mutex<NonceCache>);

#[derive(Default)]
struct NonceCache {
    hasher: std::hash::RandomState,
    seen: HashMap<u64, i64>,
    pruned_at: i64,
}

impl Nonces {
    /// Remembers `nonce` of `mchid` signed at `ts`; `false` if it was seen within `window`
    /// seconds before `now` (both unix seconds, real time).
    pub(crate) fn remember(
        &self,
        mchid: &str,
        nonce: &str,
        ts: i64,
        now: i64,
        window: i64,
    ) -> bool {
        let mut cache = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Requests older than the window are refused by the timestamp check, so their
        // nonces can go; pruning once a second keeps this O(1) per request.
        if cache.pruned_at != now {
            cache.seen.retain(|_, t| now - *t <= window);
            cache.pruned_at = now;
        }
        let key = std::hash::BuildHasher::hash_one(&cache.hasher, (mchid, nonce));
        cache.seen.insert(key, ts).is_none()
    }
}
