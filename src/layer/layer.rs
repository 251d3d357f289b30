//! The [`TlsLayer`] itself: the acceptor, handshake limits and metrics shared by every service it
//! wraps.

use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::{HandshakeLimits, Tls};
use crate::config::ChannelSettings;
use crate::observe::{ChannelMetrics, RefusalLog};
use crate::{Acceptor, Error, TlsChannels};

/// How long a peer may take to complete its handshake before the connection is cut.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = crate::config::DEFAULT_HANDSHAKE_TIMEOUT;

/// The `channel` label of a layer not told its channel ([`TlsLayer::with_channel`]).
pub const UNNAMED_CHANNEL: &str = "unnamed";

/// A tower [`Layer`] that runs a TLS handshake on each connection before the inner service.
///
/// The inner service receives a [`crate::TlsStream`] and reads what was negotiated from
/// [`crate::TlsStream::info`]. Every service made from one layer (and its clones) shares one
/// [`HandshakeLimits`]: the handshake timeout and the cap on concurrent handshakes.
#[derive(Clone, Debug)]
pub struct TlsLayer {
    acceptor: Acceptor,
    limits: HandshakeLimits,
    metrics: Arc<ChannelMetrics>,
    refusals: Arc<RefusalLog>,
}

impl TlsLayer {
    /// A layer that accepts with `acceptor` (see [`crate::Backend::server`] and
    /// [`crate::TlsChannels::layer`]), with the default limits: handshake timeout 10 s, 1024
    /// concurrent handshakes.
    pub fn new(acceptor: Acceptor) -> Self {
        let metrics = Arc::new(ChannelMetrics::new(UNNAMED_CHANNEL, Some(&acceptor)));
        TlsLayer {
            acceptor,
            limits: HandshakeLimits::default(),
            metrics,
            refusals: Arc::new(RefusalLog::new(UNNAMED_CHANNEL)),
        }
    }

    /// A configured channel's layer: its acceptor from `channels`, its name as the `channel`
    /// label, and `dbms.connector.<channel>.handshake_timeout` and `.max_concurrent_handshakes`.
    pub fn for_channel(settings: &ChannelSettings, channels: &TlsChannels) -> Result<Self, Error> {
        Ok(channels
            .layer(&settings.name)?
            .with_limits(HandshakeLimits::new(
                settings.handshake_timeout,
                settings.max_concurrent_handshakes,
            )))
    }

    /// Names the channel, for the `channel` field of spans and label of metrics.
    pub fn with_channel(mut self, channel: &str) -> Self {
        self.metrics = Arc::new(ChannelMetrics::new(channel, Some(&self.acceptor)));
        self.refusals = Arc::new(RefusalLog::new(channel));
        self
    }

    /// Sets how long a handshake may take (the wait for a slot included) before the connection
    /// is dropped; the handshake slots stay shared with the layer's earlier clones.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.limits = self.limits.with_timeout(timeout);
        self
    }

    /// Sets how many handshakes may run at once (at least 1) across every service made from
    /// this layer; a connection beyond the cap waits for a slot within its handshake timeout.
    /// This gives the layer a new set of slots, not shared with its earlier clones.
    pub fn max_concurrent_handshakes(mut self, max: usize) -> Self {
        self.limits = HandshakeLimits::new(self.limits.timeout(), max);
        self
    }

    /// Replaces the limits (clones of one [`HandshakeLimits`] share their slots, so one cap can
    /// span several layers or a layer and a listener).
    pub fn with_limits(mut self, limits: HandshakeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The acceptor this layer hands to its services.
    pub fn acceptor(&self) -> &Acceptor {
        &self.acceptor
    }

    /// The handshake limits.
    pub fn limits(&self) -> &HandshakeLimits {
        &self.limits
    }

    /// The metrics its services record into.
    pub fn metrics(&self) -> &Arc<ChannelMetrics> {
        &self.metrics
    }
}

impl<S> Layer<S> for TlsLayer {
    type Service = Tls<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Tls::new(
            inner,
            self.acceptor.clone(),
            self.limits.clone(),
            Arc::clone(&self.metrics),
            Arc::clone(&self.refusals),
        )
    }
}
