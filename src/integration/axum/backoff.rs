//! How the accept loop waits after a failed `accept()`: not at all for one peer's error, exponentially longer for resource exhaustion.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// The first wait after a listener-wide accept error.
const FIRST: Duration = Duration::from_millis(5);
/// The longest wait (as axum's own listener, which always waits 1 s).
const MAX: Duration = Duration::from_secs(1);

/// The accept loop's back-off state: doubles from 5 ms to 1 s while errors repeat.
#[derive(Debug)]
pub(super) struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST }
    }
}

impl Backoff {
    /// An accept succeeded: the next error waits the shortest time again.
    pub(super) fn reset(&mut self) {
        self.next = FIRST;
    }

    /// How long to wait after `error`: nothing for an error that concerns one peer only
    /// (it reset or aborted before we took it), else the current delay, which then doubles.
    pub(super) fn delay_after(&mut self, error: &io::Error) -> Option<Duration> {
        if is_connection_error(error) {
            return None;
        }
        let delay = self.next;
        self.next = (self.next * 2).min(MAX);
        Some(delay)
    }

    /// Logs `error` and waits as [`Backoff::delay_after`] says.
    pub(super) async fn wait(&mut self, error: &io::Error, local_addr: Option<SocketAddr>) {
        match self.delay_after(error) {
            None => tracing::debug!(
                ?local_addr,
                "accept: a peer left before it was taken: {error}"
            ),
            Some(delay) => {
                tracing::error!(
                    ?local_addr,
                    "accept failed: {error}; retrying in {delay:?} (too many open files? raise `ulimit -n` or lower max_handshakes)"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peers_error_is_retried_at_once() {
        let mut backoff = Backoff::default();
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(backoff.delay_after(&reset), None);
        assert_eq!(backoff.delay_after(&reset), None);
    }

    #[test]
    fn listener_errors_back_off_exponentially_up_to_a_second_and_reset() {
        let mut backoff = Backoff::default();
        let emfile = io::Error::from_raw_os_error(24); // EMFILE on Linux and macOS
        let delays: Vec<Duration> = (0..10)
            .map(|_| backoff.delay_after(&emfile).expect("waits"))
            .collect();
        assert_eq!(delays[0], FIRST);
        assert_eq!(delays[1], FIRST * 2);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert_eq!(delays[9], MAX);
        backoff.reset();
        assert_eq!(backoff.delay_after(&emfile), Some(FIRST));
    }
}
