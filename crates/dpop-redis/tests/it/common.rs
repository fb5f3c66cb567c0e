//! What the standalone and cluster tests share: the scope, random keys, the time, and
//! presenting one key through two caches at the same moment.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use dpop_core::{Thumbprint, UnixTime};
use dpop_std::replay::{ReplayCache, ReplayError, ReplayKey};
use tokio::sync::Barrier;

use crate::servers::random_u64;

/// The client key every test entry is scoped to.
pub(crate) const SCOPE: Thumbprint = Thumbprint::from_bytes([7; 32]);

/// A replay key no other test run uses.
pub(crate) fn random_key() -> ReplayKey {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&random_u64(i as u64 + 1).to_le_bytes());
    }
    ReplayKey::from_bytes(bytes)
}

/// The system time, in whole seconds.
pub(crate) fn now() -> UnixTime {
    UnixTime::from_secs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

/// Presents `key` through `first` and `second` at the same moment, `per_cache` times each
/// (tasks alternating between the two caches, released together by a barrier), expiring at
/// `expires_at`. Returns how many were accepted; every other answer must be `Replayed`, and
/// the first that is not is returned as the error.
pub(crate) async fn race<C>(
    first: &C,
    second: &C,
    key: ReplayKey,
    per_cache: usize,
    expires_at: UnixTime,
    now: UnixTime,
) -> Result<usize, ReplayError>
where
    C: ReplayCache + Clone + Send + Sync + 'static,
{
    let tasks = 2 * per_cache;
    let barrier = Arc::new(Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let cache = if task % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                cache.remember(&key, &SCOPE, expires_at, now).await
            })
        })
        .collect();
    let mut accepted = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Ok(()) => accepted += 1,
            Err(ReplayError::Replayed) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(accepted)
}
