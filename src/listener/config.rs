//! What a listener needs to know about its channel: TLS mode, handshake limits, drain timeout.

use std::time::Duration;

use super::ListenError;
use crate::config::{
    ChannelSettings, TlsLevel, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_CONCURRENT_HANDSHAKES,
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
    drain_timeout: Duration,
}

impl ListenerConfig {
    /// A channel's listener with the default limits: handshake timeout 10 s, 1024 concurrent
    /// handshakes, drain timeout 30 s.
    pub fn new(channel: impl Into<String>, tls: TlsMode) -> Self {
        ListenerConfig {
            channel: channel.into(),
            tls,
            limits: HandshakeLimits::new(
                DEFAULT_HANDSHAKE_TIMEOUT,
                DEFAULT_MAX_CONCURRENT_HANDSHAKES,
            ),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }

    /// A channel's listener as configured: `tls_level`, `handshake_timeout` and
    /// `max_concurrent_handshakes` from `settings`, the acceptor from `channels`.
    pub fn from_channel(
        settings: &ChannelSettings,
        channels: &TlsChannels,
    ) -> Result<Self, ListenError> {
        let acceptor = channels
            .channel(&settings.name)
            .map(|tls| tls.acceptor.clone());
        let tls = TlsMode::new(&settings.name, settings.tls_level, acceptor)?;
        Ok(ListenerConfig::new(settings.name.clone(), tls)
            .with_handshake_timeout(settings.handshake_timeout)
            .with_max_concurrent_handshakes(settings.max_concurrent_handshakes))
    }

    /// How long a peer may take from connecting to a completed handshake (including the wait
    /// for a handshake slot and, under OPTIONAL, for its first byte).
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

    /// The drain timeout.
    pub fn drain_timeout(&self) -> Duration {
        self.drain_timeout
    }
}
