//! [`CachedAwsLcVerifier`]: the aws-lc-rs verifier with a small bounded cache of parsed public
//! keys.
//!
//! A server sees the same client key on many requests (a DPoP key lives as long as its access
//! token), and parsing it costs aws-lc-rs about 1 µs for P-256: 2 % of the 49 µs signature check.
//! The cache keeps the last [`CAPACITY`] keys, keyed by curve and coordinates, in
//! [`SHARDS`] shards of [`WAYS`] entries, each a `Mutex` around a small array with
//! least-recently-used replacement. The shard is chosen by a keyed hash of the coordinates (std's
//! `RandomState`, with a random key per cache), as the replay cache does: the coordinates are
//! chosen by the client, so a client must not be able to aim its keys at one shard. The lock is held only to compare keys and clone an `Arc`;
//! parsing and signature verification run outside it.

use alloc::sync::Arc;
use core::fmt;
use core::hash::BuildHasher;
use std::hash::RandomState;
use std::sync::{Mutex, MutexGuard, OnceLock};

use aws_lc_rs::signature::ParsedPublicKey;
use dpop_core::{Algorithm, JwkError, PublicJwk, SignatureCheckError, crypto::VerifyAlgorithm};

use crate::verify::{check_curve, parse_key, verify_parsed};

/// Number of shards: independent locks, picked by a keyed hash of the key's coordinates.
pub const SHARDS: usize = 8;
/// Entries per shard.
pub const WAYS: usize = 8;
/// Keys cached by one verifier: [`SHARDS`] x [`WAYS`].
pub const CAPACITY: usize = SHARDS * WAYS;

/// The aws-lc-rs verifier for one algorithm, remembering the parsed form of the last
/// [`CAPACITY`] public keys it verified with.
///
/// It verifies exactly as [`ES256_VERIFIER`](crate::ES256_VERIFIER) and its siblings do (same
/// checks, same results); only the key parse is skipped on a cache hit. The cache is keyed by
/// curve and both coordinates, compared in full, so a hit is always the same key. The shard is
/// picked by a hash keyed with a random secret drawn when the cache is first used, so clients
/// cannot aim their keys at one shard to evict others' keys: they would have to send fresh keys
/// until [`WAYS`] happen to land in the same shard, and a miss costs no more than the uncached
/// verifier.
///
/// `new` is `const`, so a verifier can be a `static` and go into a `Verifier`'s allow-list:
///
/// ```
/// use dpop_aws_lc_rs::CachedAwsLcVerifier;
/// use dpop_core::{Algorithm, Verifier};
///
/// static CACHED_ES256: CachedAwsLcVerifier = CachedAwsLcVerifier::new(Algorithm::Es256);
/// static VERIFIER: Verifier<'static> = Verifier::new(&[&CACHED_ES256]);
/// assert_eq!(VERIFIER.accepted().len(), 1);
/// assert!(CACHED_ES256.is_empty());
/// ```
pub struct CachedAwsLcVerifier {
    algorithm: Algorithm,
    shards: [Mutex<Shard>; SHARDS],
    /// Keyed at first use, since `new` is `const`.
    hasher: OnceLock<RandomState>,
}

impl CachedAwsLcVerifier {
    /// An empty cache for `algorithm`.
    #[must_use]
    pub const fn new(algorithm: Algorithm) -> Self {
        Self {
            algorithm,
            shards: [const { Mutex::new(Shard::EMPTY) }; SHARDS],
            hasher: OnceLock::new(),
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

    /// The parsed key for `jwk`, from the cache or parsed (and then cached). The point check
    /// is part of the parse, so it runs once per cached key; a key that fails it is never
    /// cached.
    fn parsed(&self, jwk: &PublicJwk) -> Result<Arc<ParsedPublicKey>, JwkError> {
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
        self.shards.get(self.shard_index(jwk))
    }

    /// A keyed hash of both coordinates, so the client cannot choose the shard.
    fn shard_index(&self, jwk: &PublicJwk) -> usize {
        let hash = self
            .hasher
            .get_or_init(RandomState::new)
            .hash_one((jwk.x(), jwk.y()));
        // SHARDS is a power of two: the low bits of the hash.
        usize::try_from(hash % SHARDS as u64).unwrap_or(0)
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
    ) -> Result<(), SignatureCheckError> {
        check_curve(self.algorithm, key)?;
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
    use dpop_core::{Curve, SigningKey};

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
        let shard_of = |k: &PublicJwk| cache.shard_index(k);
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

    #[test]
    fn the_client_cannot_pick_the_shard_with_the_last_byte_of_x() {
        // Keys whose x ends in the same byte: the old rule put them all in one shard.
        let mut same_byte = Vec::new();
        let mut seed = 0u32;
        while same_byte.len() < 24 {
            seed += 1;
            let mut scalar = [7u8; 32];
            scalar[..4].copy_from_slice(&seed.to_be_bytes());
            let jwk = *SigningKey::from_bytes(Algorithm::Es256, &scalar)
                .expect("valid scalar")
                .public_jwk();
            if jwk.x().last() == Some(&0x2a) {
                same_byte.push(jwk);
            }
        }
        let cache = CachedAwsLcVerifier::new(Algorithm::Es256);
        let mut shards: Vec<usize> = same_byte.iter().map(|k| cache.shard_index(k)).collect();
        shards.sort_unstable();
        shards.dedup();
        // All 24 in one shard by chance: probability 8^-23.
        assert!(shards.len() > 1, "{shards:?}");
        // The key is per cache: another cache spreads them differently (fails with 8^-24).
        let other = CachedAwsLcVerifier::new(Algorithm::Es256);
        assert!(
            same_byte
                .iter()
                .any(|k| cache.shard_index(k) != other.shard_index(k))
        );
    }
}
