//! [`HandshakeLimits`]: the handshake timeout and the cap on concurrent handshakes, shared by the
//! layer and the listener.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::config::{DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_CONCURRENT_HANDSHAKES};

/// A handshake timeout and a cap on how many handshakes run at once.
///
/// Clones share one set of handshake slots: every service made from one [`super::TlsLayer`],
/// and every connection of one listener, draw from the same cap. A slot is held only while a
/// handshake runs; the timeout counts from the start, the wait for a slot included, so a flood
/// of stalled peers cannot hold a well-behaved one longer than the timeout. The listeners
/// take a slot only once the peer's first TLS record has arrived ([`crate::admission`]); the
/// layer, which sees no socket, from the handshake's first poll.
#[derive(Clone, Debug)]
pub struct HandshakeLimits {
    timeout: Duration,
    max_concurrent: usize,
    slots: Arc<Semaphore>,
}

/// Why [`HandshakeLimits::run`] gave up on a handshake.
#[derive(Debug)]
pub(crate) enum Limited<E> {
    /// The timeout ran out (waiting for a slot, or in the handshake).
    TimedOut,
    /// The handshake itself failed.
    Failed(E),
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        HandshakeLimits::new(DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_CONCURRENT_HANDSHAKES)
    }
}

impl HandshakeLimits {
    /// Handshakes cut at `timeout`, at most `max_concurrent` (at least 1) at once.
    pub fn new(timeout: Duration, max_concurrent: usize) -> Self {
        let max_concurrent = max_concurrent.clamp(1, Semaphore::MAX_PERMITS);
        HandshakeLimits {
            timeout,
            max_concurrent,
            slots: Arc::new(Semaphore::new(max_concurrent)),
        }
    }

    /// The same slots with another timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The handshake timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The cap on concurrent handshakes.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// Handshakes running now (slots taken).
    pub fn in_progress(&self) -> usize {
        self.max_concurrent
            .saturating_sub(self.slots.available_permits())
    }

    /// Runs `handshake` in a slot, all within the timeout; the slot is freed when it ends.
    pub(crate) async fn run<T, E>(
        &self,
        handshake: impl Future<Output = Result<T, E>>,
    ) -> Result<T, Limited<E>> {
        let limited = async {
            // The semaphore is never closed, so acquiring only waits.
            let _slot = self.slots.acquire().await;
            handshake.await
        };
        match tokio::time::timeout(self.timeout, limited).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Limited::Failed(error)),
            Err(_elapsed) => Err(Limited::TimedOut),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_share_slots_and_a_slot_wait_counts_against_the_timeout() {
        let limits = HandshakeLimits::new(Duration::from_millis(200), 1);
        let clone = limits.clone().with_timeout(Duration::from_millis(100));
        let (hold, held) = tokio::sync::oneshot::channel::<()>();
        let holder = tokio::spawn({
            let limits = limits.clone();
            async move { limits.run(async { held.await.map_err(|_| ()) }).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(clone.in_progress(), 1);
        let waited = clone.run(async { Ok::<_, ()>(()) }).await;
        assert!(matches!(waited, Err(Limited::TimedOut)));
        let _ = hold.send(());
        assert!(holder.await.expect("task").is_ok());
        assert_eq!(limits.in_progress(), 0);
        assert!(matches!(
            limits.run(async { Err::<(), _>("bad") }).await,
            Err(Limited::Failed("bad"))
        ));
    }
}
