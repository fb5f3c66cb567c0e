//! [`CachedAwsLcVerifier`]: the aws-lc-rs verifier with a small bounded cache of parsed public
//! keys.
//!
//! A server sees the same client key on many requests (a DPoP key lives as long as its access
//! token), and parsing it costs aws-lc-rs about 1 µs for P-256: 2 % of the 49 µs signature check.
//! The cache keeps the last [`CAPACITY`] keys, keyed by curve and coordinates, in
//! [`SHARDS`] shards of [`WAYS`] entries, each a `Mutex` around a small array with
//! least-recently-used replacement. The lock is held only to compare keys and clone an `Arc`;
//! parsing and signature verification run outside it.

use alloc::sync::Arc;
use core::fmt;
use std::sync::{Mutex, MutexGuard};

use aws_lc_rs::signature::ParsedPublicKey;
use dpop_core::alg::{Algorithm, VerifyAlgorithm};
use dpop_core::error::InvalidSignature;
use dpop_core::jwk::PublicJwk;

use crate::verify::{parse_key, verify_parsed};

/// Number of shards: independent locks, picked by the key's coordinates.
pub const SHARDS: usize = 8;
/// Entries per shard.
pub const WAYS: usize = 8;
/// Keys cached by one verifier: [`SHARDS`] x [`WAYS`].
pub const CAPACITY: usize = SHARDS * WAYS;

/// The aws-lc-rs verifier for one algorithm, remembering the parsed form of the last
/// [`CAPACITY`] public keys it verified with.
///
/// It verifies exactly as [`AWS_LC_ES256`](crate::AWS_LC_ES256) and its siblings do (same
/// checks, same results); only the key parse is skipped on a cache hit. The cache is keyed by
/// curve and both coordinates, compared in full, so a hit is always the same key. Clients
/// cannot aim their keys at one shard to evict others' keys any faster than by sending
/// [`WAYS`] fresh keys, and a miss costs no more than the uncached verifier.
///
/// `new` is `const`, so a verifier can be a `static` and go into a `Verifier`'s allow-list:
///
/// ```
/// use dpop_aws_lc_rs::CachedAwsLcVerifier;
/// use dpop_core::alg::Algorithm;
/// use dpop_core::proof::Verifier;
///
/// static ES256: CachedAwsLcVerifier = CachedAwsLcVerifier::new(Algorithm::Es256);
/// static VERIFIER: Verifier<'static> = Verifier::new(&[&ES256]);
/// assert_eq!(VERIFIER.accepted().len(), 1);
/// assert!(ES256.is_empty());
/// ```
pub struct CachedAwsLcVerifier {
    algorithm: Algorithm,
    shards: [Mutex<Shard>; SHARDS],
}

impl CachedAwsLcVerifier {
    /// An empty cache for `algorithm`.
    #[must_use]
    pub const fn new(algorithm: Algorithm) -> Self {
        Self {
            algorithm,
            shards: [const { Mutex::new(Shard::EMPTY) }; SHARDS],
        }
    }

    /// The number of keys currently cached.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok())
            .map(|s| s.entries.iter().flatten().count())
            .sum()
    }

    /// True when no key is cached.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every cached key.
    pub fn clear(&self) {
        for shard in &self.shards {
            if let Some(mut shard) = lock(shard) {
                *shard = Shard::EMPTY;
            }
        }
    }

    /// The parsed key for `jwk`, from the cache or parsed (and then cached).
    fn parsed(&self, jwk: &PublicJwk) -> Result<Arc<ParsedPublicKey>, InvalidSignature> {
        let shard = self.shard(jwk);
        if let Some(key) = shard.and_then(lock).and_then(|mut s| s.get(jwk)) {
            return Ok(key);
        }
        // Parse without holding the lock: other threads keep verifying meanwhile. Two threads
        // missing on the same key both parse it; the second insert finds it present.
        let key = Arc::new(parse_key(self.algorithm, jwk)?);
        if let Some(mut shard) = shard.and_then(lock) {
            shard.insert(jwk, &key);
        }
        Ok(key)
    }

    fn shard(&self, jwk: &PublicJwk) -> Option<&Mutex<Shard>> {
        // The low bits of x: uniform for honestly generated keys.
        let byte = jwk.x().last().copied().unwrap_or(0);
        self.shards.get(usize::from(byte) % SHARDS)
    }
}

impl VerifyAlgorithm for CachedAwsLcVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn verify(
        &self,
        key: &PublicJwk,
        signing_input: &[&[u8]],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        self.algorithm.check_key_and_signature(key, signature)?;
        let parsed = self.parsed(key)?;
        verify_parsed(self.algorithm, &parsed, signing_input, signature)
    }
}

impl fmt::Debug for CachedAwsLcVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedAwsLcVerifier")
            .field("algorithm", &self.algorithm)
            .field("cached", &self.len())
            .field("capacity", &CAPACITY)
            .finish()
    }
}

/// A poisoned shard (a panic while it was held, which the code below cannot cause) is simply
/// not used: verification then parses every key, as the uncached verifier does.
fn lock(shard: &Mutex<Shard>) -> Option<MutexGuard<'_, Shard>> {
    shard.lock().ok()
}

struct Shard {
    entries: [Option<Entry>; WAYS],
    /// Use counter for least-recently-used replacement.
    clock: u64,
}

struct Entry {
    jwk: PublicJwk,
    key: Arc<ParsedPublicKey>,
    last_used: u64,
}

impl Shard {
    const EMPTY: Self = Self {
        entries: [const { None }; WAYS],
        clock: 0,
    };

    fn tick(&mut self) -> u64 {
        self.clock = self.clock.wrapping_add(1);
        self.clock
    }

    fn get(&mut self, jwk: &PublicJwk) -> Option<Arc<ParsedPublicKey>> {
        let now = self.tick();
        let entry = self.entries.iter_mut().flatten().find(|e| e.jwk == *jwk)?;
        entry.last_used = now;
        Some(Arc::clone(&entry.key))
    }

    fn insert(&mut self, jwk: &PublicJwk, key: &Arc<ParsedPublicKey>) {
        if self.entries.iter().flatten().any(|e| e.jwk == *jwk) {
            return;
        }
        let now = self.tick();
        // An empty slot, else the least recently used one.
        let slot = self
            .entries
            .iter_mut()
            .min_by_key(|e| e.as_ref().map_or(0, |e| e.last_used.max(1)));
        if let Some(slot) = slot {
            *slot = Some(Entry {
                jwk: *jwk,
                key: Arc::clone(key),
                last_used: now,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use dpop_core::alg::Curve;
    use dpop_core::key::SigningKey;

    use super::*;

    fn jwk(seed: u8) -> PublicJwk {
        let mut scalar = [seed; 32];
        scalar[0] = 1;
        *SigningKey::from_bytes(Algorithm::Es256, &scalar)
            .expect("valid scalar")
            .public_jwk()
    }

    #[test]
    fn caches_at_most_capacity_keys_and_evicts_the_least_recently_used() {
        let cache = CachedAwsLcVerifier::new(Algorithm::Es256);
        assert!(cache.is_empty());
        let keys: Vec<PublicJwk> = (1..=200).map(jwk).collect();
        for k in &keys {
            cache.parsed(k).expect("parses");
        }
        assert!(cache.len() <= CAPACITY);
        assert!(cache.len() >= CAPACITY / 2, "{}", cache.len());
        // The last key used is always present, and a hit returns the same parsed key.
        let last = keys.last().expect("keys");
        let a = cache.parsed(last).expect("parses");
        let b = cache.parsed(last).expect("parses");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(last.curve(), Curve::P256);
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn a_recently_used_key_survives_a_full_shard_of_new_keys() {
        let cache = CachedAwsLcVerifier::new(Algorithm::Es256);
        let keys: Vec<PublicJwk> = (1..=255).map(jwk).collect();
        let hot = keys[0];
        let shard_of = |k: &PublicJwk| usize::from(*k.x().last().expect("x")) % SHARDS;
        let same_shard: Vec<&PublicJwk> = keys[1..]
            .iter()
            .filter(|k| shard_of(k) == shard_of(&hot))
            .collect();
        assert!(same_shard.len() > WAYS, "need more keys in one shard");
        let first = cache.parsed(&hot).expect("parses");
        for k in same_shard {
            cache.parsed(k).expect("parses");
            // Touch the hot key between inserts, as a busy client would.
            assert!(Arc::ptr_eq(&first, &cache.parsed(&hot).expect("parses")));
        }
    }
}
