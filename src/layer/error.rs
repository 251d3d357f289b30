//! Why one connection through [`super::Tls`] ended in error: its handshake, or the inner service.

use std::fmt;
use std::io;
use std::time::Duration;

use tls_policy_backend::HandshakeFailure;

/// The error of [`super::Tls`]: a failed or timed-out handshake, or the inner service's error.
///
/// A handshake error concerns that connection only; the listener and other connections go on.
///
/// `Debug` prints the `Display` text (and causes it does not include), like [`crate::Error`].
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum TlsServiceError<E> {
    /// The TLS handshake failed (bad certificate, protocol mismatch, garbage bytes, peer closed...).
    #[error("TLS handshake failed: {0}")]
    Handshake(#[source] HandshakeError),
    /// The peer did not complete its handshake in time (the wait for a handshake slot included).
    #[error("TLS handshake timed out after {0:?}")]
    HandshakeTimeout(Duration),
    /// The inner service failed.
    #[error("service error: {0}")]
    Service(#[source] E),
}

impl<E> TlsServiceError<E> {
    /// Why the handshake failed ([`HandshakeFailure::Timeout`] for a timeout); `None` for an
    /// error of the inner service.
    pub fn handshake_failure(&self) -> Option<HandshakeFailure> {
        match self {
            TlsServiceError::Handshake(error) => Some(error.reason()),
            TlsServiceError::HandshakeTimeout(_) => Some(HandshakeFailure::Timeout),
            TlsServiceError::Service(_) => None,
        }
    }
}

impl<E: std::error::Error + 'static> fmt::Debug for TlsServiceError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::error::debug_as_display(self, f)
    }
}

/// A failed handshake: the backend's error and its classified reason.
///
/// `Debug` prints the `Display` text (and causes it does not include), like [`crate::Error`].
#[non_exhaustive]
pub struct HandshakeError {
    reason: HandshakeFailure,
    source: io::Error,
}

impl HandshakeError {
    /// A failed handshake: `source` as the backend reported it, classified as `reason`.
    pub fn new(reason: HandshakeFailure, source: io::Error) -> Self {
        HandshakeError { reason, source }
    }

    /// Why it failed.
    pub fn reason(&self) -> HandshakeFailure {
        self.reason
    }

    /// The backend's error.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// The backend's error, owned.
    pub fn into_io_error(self) -> io::Error {
        self.source
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.source, self.reason)
    }
}

impl fmt::Debug for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::error::debug_as_display(self, f)
    }
}

impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
