//! What a listener needs to know about its channel: TLS mode, pending bounds, handshake
//! limits, drain timeout.

use std::time::Duration;

use super::ListenError;
use crate::admission::{PendingLimits, ProxyHeader};
use crate::config::{
    ChannelSettings, Network, ProxyProtocol, TlsLevel, DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_HANDSHAKES,
};
use crate::layer::HandshakeLimits;
use crate::{Acceptor, TlsChannels};

/// How long live connections may go on after shutdown begins, unless set otherwise.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How a listener treats its connections (`dbms.connector.<channel>.tls_level`), with the
/// compiled policy where TLS is involved.
#[derive(Clone, Debug)]
pub enum TlsMode {
    /// Every connection must complete a TLS handshake with this acceptor.
    Required(Acceptor),
    /// TLS (with this acceptor) or plaintext on one port, told apart by the first byte.
    Optional(Acceptor),
    /// Plaintext only.
    Disabled,
}

impl TlsMode {
    /// The mode for `level`; REQUIRED and OPTIONAL need an acceptor, DISABLED ignores it.
    pub fn new(
        channel: &str,
        level: TlsLevel,
        acceptor: Option<Acceptor>,
    ) -> Result<TlsMode, ListenError> {
        match (level, acceptor) {
            (TlsLevel::Disabled, _) => Ok(TlsMode::Disabled),
            (TlsLevel::Required, Some(acceptor)) => Ok(TlsMode::Required(acceptor)),
            (TlsLevel::Optional, Some(acceptor)) => Ok(TlsMode::Optional(acceptor)),
            (level, None) => Err(ListenError::NoPolicy {
                channel: channel.to_string(),
                level,
                tls_level_key: format!("dbms.connector.{channel}.tls_level"),
                bind_with: format!("{channel}.ssl_policy=<policy>"),
            }),
        }
    }

    /// The TLS level this mode implements.
    pub fn level(&self) -> TlsLevel {
        match self {
            TlsMode::Required(_) => TlsLevel::Required,
            TlsMode::Optional(_) => TlsLevel::Optional,
            TlsMode::Disabled => TlsLevel::Disabled,
        }
    }

    /// The acceptor, unless the mode is DISABLED.
    pub fn acceptor(&self) -> Option<&Acceptor> {
        match self {
            TlsMode::Required(acceptor) | TlsMode::Optional(acceptor) => Some(acceptor),
            TlsMode::Disabled => None,
        }
    }
}

/// Everything about one channel's listener but its socket.
///
/// ```
/// use std::time::Duration;
/// use tls_policy::listener::{ListenerConfig, TlsMode};
///
/// let config = ListenerConfig::new("metrics", TlsMode::Disabled)
///     .with_drain_timeout(Duration::from_secs(5));
/// assert_eq!(config.channel(), "metrics");
/// ```
#[derive(Clone, Debug)]
pub struct ListenerConfig {
    channel: String,
    tls: TlsMode,
    limits: HandshakeLimits,
    pending: PendingLimits,
    proxy: ProxyHeader,
    drain_timeout: Duration,
}

impl ListenerConfig {
    /// A channel's listener with the default limits: first record within 5 s, 4096 pending
    /// connections (256 per address), handshake timeout 10 s, 1024 concurrent handshakes,
    /// drain timeout 30 s.
    pub fn new(channel: impl Into<String>, tls: TlsMode) -> Self {
        ListenerConfig {
            channel: channel.into(),
            tls,
            limits: HandshakeLimits::new(
                DEFAULT_HANDSHAKE_TIMEOUT,
                DEFAULT_MAX_CONCURRENT_HANDSHAKES,
            ),
            pending: PendingLimits::default(),
            proxy: ProxyHeader::default(),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }

    /// A channel's listener as configured: `tls_level`, `handshake_timeout`,
    /// `max_concurrent_handshakes`, `first_record_timeout`, `max_pending_handshakes` and
    /// `max_pending_per_address`, `proxy_protocol` and `proxy_protocol_trusted` from
    /// `settings`, the acceptor from `channels`.
    pub fn from_channel(
        settings: &ChannelSettings,
        channels: &TlsChannels,
    ) -> Result<Self, ListenError> {
        let acceptor = channels
            .channel(&settings.name)
            .map(|tls| tls.acceptor.clone());
        let tls = TlsMode::new(&settings.name, settings.tls_level, acceptor)
            .map_err(|e| e.naming_keys_of(channels.settings(), settings))?;
        Ok(ListenerConfig::new(settings.name.clone(), tls)
            .with_handshake_timeout(settings.handshake_timeout)
            .with_max_concurrent_handshakes(settings.max_concurrent_handshakes)
            .with_pending_limits(
                PendingLimits::default()
                    .with_first_record_timeout(settings.first_record_timeout)
                    .with_max_pending(settings.max_pending_handshakes)
                    .with_max_pending_per_address(settings.max_pending_per_address),
            )
            .with_proxy_protocol(
                settings.proxy_protocol,
                settings.proxy_protocol_trusted.iter().copied(),
            ))
    }

    /// How long a peer may take, from its complete first record, to a completed handshake
    /// (including the wait for a handshake slot).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.limits = self.limits.with_timeout(timeout);
        self
    }

    /// How many handshakes may be in progress at once (at least 1).
    pub fn with_max_concurrent_handshakes(mut self, max: usize) -> Self {
        self.limits = HandshakeLimits::new(self.limits.timeout(), max);
        self
    }

    /// Replaces the handshake timeout and cap; clones of one [`HandshakeLimits`] share their
    /// slots (with a [`crate::TlsLayer`], say, or another listener).
    pub fn with_limits(mut self, limits: HandshakeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// How long a peer may take, from accept, to send its complete first TLS record (under
    /// OPTIONAL, its first byte); no handshake slot is held meanwhile.
    pub fn with_first_record_timeout(mut self, timeout: Duration) -> Self {
        self.pending = self.pending.with_first_record_timeout(timeout);
        self
    }

    /// How many connections may wait for their handshake at once (at least 1); past it new
    /// connections are closed at once.
    pub fn with_max_pending_handshakes(mut self, max: usize) -> Self {
        self.pending = self.pending.with_max_pending(max);
        self
    }

    /// How many connections from one source address (IPv6: one /64) may wait for their
    /// handshake at once (at least 1); past it its new connections are closed at once.
    pub fn with_max_pending_per_address(mut self, max: usize) -> Self {
        self.pending = self.pending.with_max_pending_per_address(max);
        self
    }

    /// Replaces the first-record timeout and the pending bounds.
    pub fn with_pending_limits(mut self, pending: PendingLimits) -> Self {
        self.pending = pending;
        self
    }

    /// Reads a PROXY protocol header (`protocol`: v1, v2 or either; `off` reads none) before
    /// the first record on connections from the `trusted` networks, which must send it; a
    /// header from any other source closes the connection. The client address it carries is
    /// then [`crate::listener::Connection::peer_addr`], the span's `peer` and what the
    /// per-address bound counts.
    pub fn with_proxy_protocol(
        mut self,
        protocol: ProxyProtocol,
        trusted: impl IntoIterator<Item = Network>,
    ) -> Self {
        self.proxy = ProxyHeader::new(protocol, trusted.into_iter().collect());
        self
    }

    /// How long live connections may go on after shutdown begins before they are dropped.
    pub fn with_drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// The channel name.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The TLS mode.
    pub fn tls(&self) -> &TlsMode {
        &self.tls
    }

    /// The handshake timeout.
    pub fn handshake_timeout(&self) -> Duration {
        self.limits.timeout()
    }

    /// The cap on concurrent handshakes.
    pub fn max_concurrent_handshakes(&self) -> usize {
        self.limits.max_concurrent()
    }

    /// The handshake timeout and cap (clones of the config share the handshake slots).
    pub fn limits(&self) -> &HandshakeLimits {
        &self.limits
    }

    /// The first-record timeout and the pending bounds.
    pub fn pending_limits(&self) -> &PendingLimits {
        &self.pending
    }

    /// The PROXY protocol header read before the first record.
    pub(crate) fn proxy_header(&self) -> &ProxyHeader {
        &self.proxy
    }

    /// The drain timeout.
    pub fn drain_timeout(&self) -> Duration {
        self.drain_timeout
    }
}
