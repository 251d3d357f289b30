//! The [`TlsLayer`] itself: the acceptor and handshake limits shared by every service it wraps.

use std::time::Duration;

use tower_layer::Layer;

use super::Tls;
use crate::Acceptor;

/// How long a peer may take to complete its handshake before the connection is cut.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A tower [`Layer`] that runs a TLS handshake on each connection before the inner service.
///
/// The inner service receives a [`crate::TlsStream`] and reads what was negotiated from
/// [`crate::TlsStream::info`].
#[derive(Clone, Debug)]
pub struct TlsLayer {
    acceptor: Acceptor,
    handshake_timeout: Duration,
}

impl TlsLayer {
    /// A layer that accepts with `acceptor` (see [`crate::Backend::server`] and
    /// [`crate::TlsChannels::layer`]), with the default handshake timeout of 10 s.
    pub fn new(acceptor: Acceptor) -> Self {
        TlsLayer {
            acceptor,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Sets how long a handshake may take before the connection is dropped.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The acceptor this layer hands to its services.
    pub fn acceptor(&self) -> &Acceptor {
        &self.acceptor
    }
}

impl<S> Layer<S> for TlsLayer {
    type Service = Tls<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Tls::new(inner, self.acceptor.clone(), self.handshake_timeout)
    }
}
