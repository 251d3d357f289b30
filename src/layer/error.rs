//! Why one connection through [`super::Tls`] ended in error: its handshake, or the inner service.

use std::time::Duration;

/// The error of [`super::Tls`]: a failed or timed-out handshake, or the inner service's error.
///
/// A handshake error concerns that connection only; the listener and other connections go on.
#[derive(Debug, thiserror::Error)]
pub enum TlsServiceError<E> {
    /// The TLS handshake failed (bad certificate, protocol mismatch, garbage bytes, peer closed...).
    #[error("TLS handshake failed: {0}")]
    Handshake(#[source] std::io::Error),
    /// The peer did not complete its handshake in time.
    #[error("TLS handshake timed out after {0:?}")]
    HandshakeTimeout(Duration),
    /// The inner service failed.
    #[error("service error: {0}")]
    Service(#[source] E),
}
