//! [`PendingLimits`]: how long a new connection may take to send its first TLS record, and how
//! many connections may wait for their handshake, per channel and per source address.

use std::time::Duration;

use crate::config::{
    DEFAULT_FIRST_RECORD_TIMEOUT, DEFAULT_MAX_PENDING_HANDSHAKES, DEFAULT_MAX_PENDING_PER_ADDRESS,
};

/// Bounds on connections accepted but not yet through their handshake ("pending").
///
/// - `first_record_timeout`: from accept to the peer's complete first TLS record. The wait
///   holds no handshake slot; a peer that has not sent the record by then is cut.
/// - `max_pending`: pending connections of the channel at once; past it a new connection is
///   closed at once, without a read.
/// - `max_pending_per_address`: the same per source address (an IPv4 address, or the /64 of
///   an IPv6 address, since one host commonly holds a whole /64).
///
/// ```
/// use std::time::Duration;
/// use tls_policy::admission::PendingLimits;
///
/// let limits = PendingLimits::default()
///     .with_first_record_timeout(Duration::from_secs(2))
///     .with_max_pending_per_address(32);
/// assert_eq!(limits.max_pending(), 4096);
/// assert_eq!(limits.max_pending_per_address(), 32);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingLimits {
    first_record_timeout: Duration,
    max_pending: usize,
    max_pending_per_address: usize,
}

impl Default for PendingLimits {
    /// First record within 5 s; 4096 pending per channel, 256 per address.
    fn default() -> Self {
        PendingLimits {
            first_record_timeout: DEFAULT_FIRST_RECORD_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING_HANDSHAKES,
            max_pending_per_address: DEFAULT_MAX_PENDING_PER_ADDRESS,
        }
    }
}

impl PendingLimits {
    /// Sets how long a peer may take, from accept, to send its complete first TLS record.
    pub fn with_first_record_timeout(mut self, timeout: Duration) -> Self {
        self.first_record_timeout = timeout;
        self
    }

    /// Sets how many connections may wait for their handshake at once (at least 1).
    pub fn with_max_pending(mut self, max: usize) -> Self {
        self.max_pending = max.max(1);
        self
    }

    /// Sets how many connections from one source address (IPv6: one /64) may wait for their
    /// handshake at once (at least 1).
    pub fn with_max_pending_per_address(mut self, max: usize) -> Self {
        self.max_pending_per_address = max.max(1);
        self
    }

    /// The first-record timeout.
    pub fn first_record_timeout(&self) -> Duration {
        self.first_record_timeout
    }

    /// The cap on pending connections.
    pub fn max_pending(&self) -> usize {
        self.max_pending
    }

    /// The cap on pending connections per source address.
    pub fn max_pending_per_address(&self) -> usize {
        self.max_pending_per_address
    }
}
