//! [`ConnectError`]: why dialling a peer failed, naming the peer.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tls_policy_backend::PeerRefused;

/// Why a [`TlsConnector`](super::TlsConnector) could not hand back a stream. Every variant
/// names the target dialled (`host:port`) and, once connected, the peer's socket address.
///
/// `Debug` prints the `Display` text (and causes it does not include), like [`crate::Error`].
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The TCP connection failed (name resolution, refused, unreachable, ...).
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// The target dialled, `host:port`.
        target: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The TCP connection was not established within the connect timeout.
    #[error("connecting to {target} timed out after {timeout:?}")]
    ConnectTimeout {
        /// The target dialled, `host:port`.
        target: String,
        /// The connect timeout.
        timeout: Duration,
    },
    /// The TLS handshake failed: the server's certificate was refused, the server refused ours,
    /// no common version or suite, the server hung up, ...
    #[error("TLS handshake with {target} ({peer}) as '{server_name}' failed: {source}")]
    Handshake {
        /// The target dialled, `host:port`.
        target: String,
        /// The peer's socket address.
        peer: SocketAddr,
        /// The TLS server name used (SNI, and the name verified).
        server_name: String,
        /// The backend's error; for rustls, `source.get_ref()` downcasts to `rustls::Error`.
        source: io::Error,
    },
    /// The server's certificate verified, but the policy does not admit it: no pattern of its
    /// `allowed_peers` matched (or the channel's [`PeerCheck`](crate::PeerCheck) said no).
    /// The text names the policy and the server's subject and SANs.
    #[error("server {target} ({peer}) dialled as '{server_name}' refused: {refused}")]
    NotAllowed {
        /// The target dialled, `host:port`.
        target: String,
        /// The peer's socket address.
        peer: SocketAddr,
        /// The TLS server name used (SNI, and the name verified).
        server_name: String,
        /// Which policy and rule refused whom.
        refused: PeerRefused,
    },
    /// The TLS handshake did not finish within the handshake timeout.
    #[error("TLS handshake with {target} ({peer}) timed out after {timeout:?}")]
    HandshakeTimeout {
        /// The target dialled, `host:port`.
        target: String,
        /// The peer's socket address.
        peer: SocketAddr,
        /// The handshake timeout.
        timeout: Duration,
    },
}

impl ConnectError {
    /// The target dialled, `host:port`.
    pub fn target(&self) -> &str {
        match self {
            ConnectError::Connect { target, .. }
            | ConnectError::ConnectTimeout { target, .. }
            | ConnectError::Handshake { target, .. }
            | ConnectError::NotAllowed { target, .. }
            | ConnectError::HandshakeTimeout { target, .. } => target,
        }
    }
}

impl From<ConnectError> for io::Error {
    /// Keeps the kind of the underlying error; timeouts become [`io::ErrorKind::TimedOut`].
    fn from(err: ConnectError) -> io::Error {
        let kind = match &err {
            ConnectError::Connect { source, .. } | ConnectError::Handshake { source, .. } => {
                source.kind()
            }
            ConnectError::ConnectTimeout { .. } | ConnectError::HandshakeTimeout { .. } => {
                io::ErrorKind::TimedOut
            }
            ConnectError::NotAllowed { .. } => io::ErrorKind::PermissionDenied,
        };
        io::Error::new(kind, err)
    }
}

impl std::fmt::Debug for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::error::debug_as_display(self, f)
    }
}
