//! [`TlsListener`]: an `axum::serve::Listener` that yields only connections whose TLS handshake has completed.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ::axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

use super::handshakes::{self, Limits, Running};
use crate::admission::{PendingLimits, ProxyHeader};
use crate::config::{
    Network, ProxyProtocol, TlsLevel, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_CONCURRENT_HANDSHAKES,
};
use crate::listener::{bind_with_backlog, ListenError};
use crate::observe::ChannelMetrics;
use crate::{Acceptor, TlsChannels, TlsStream};

/// How many handshakes a [`TlsListener`] runs at once unless told otherwise: the default of
/// `dbms.connector.<channel>.max_concurrent_handshakes`, as for every entry point.
pub const DEFAULT_MAX_HANDSHAKES: usize = DEFAULT_MAX_CONCURRENT_HANDSHAKES;

/// How long to wait before restarting a background accept task that ended (it only ends by
/// panicking, which is a bug; the pause keeps a repeating bug from spinning).
const RESTART_PAUSE: Duration = Duration::from_secs(1);

/// A TLS listener for `axum::serve`: TCP accepts and handshakes run in background tasks, and
/// `accept()` returns established [`TlsStream`]s with the peer's address.
///
/// See the [module documentation](super) for an example and for how stalled peers are kept
/// from blocking others. The background tasks start at the first `accept()` (so `new` needs no
/// runtime) and stop when the listener is dropped.
pub struct TlsListener {
    tcp: Arc<TcpListener>,
    acceptor: Acceptor,
    limits: Limits,
    // The channel label of logs and metrics (`axum:<policy>` unless set).
    channel: String,
    running: Option<Running>,
}

impl TlsListener {
    /// Serves TLS with `acceptor` (from [`crate::Backend::server`] or a
    /// [`crate::TlsChannels`] channel) on connections accepted from `tcp`.
    pub fn new(tcp: TcpListener, acceptor: Acceptor) -> Self {
        TlsListener {
            tcp: Arc::new(tcp),
            channel: format!("axum:{}", acceptor.policy()),
            acceptor,
            limits: Limits {
                handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
                max_handshakes: DEFAULT_MAX_HANDSHAKES,
                pending: PendingLimits::default(),
                proxy: ProxyHeader::default(),
            },
            running: None,
        }
    }

    /// Serves a configured channel: binds its `dbms.connector.<channel>.listen_address` and
    /// applies its `handshake_timeout`, `max_concurrent_handshakes`, `first_record_timeout`,
    /// `max_pending_handshakes`, `max_pending_per_address`, `proxy_protocol` and
    /// `proxy_protocol_trusted`, with the channel's compiled
    /// policy from `channels` (ALPN as `channels` was loaded with). Logs and metrics carry the
    /// channel's name, as the `tls-policy serve` listener's do.
    ///
    /// Errors ([`ListenError`], naming the channel and the setting): the channel is not
    /// configured, has no policy bound, has no listen address (or `enabled=false`), has a
    /// `tls_level` other than `REQUIRED` (this listener yields TLS streams only; use
    /// [`crate::listener::Listener`] for OPTIONAL or DISABLED), or the address cannot be bound.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tls_policy::integration::axum::{TlsConnectInfo, TlsListener};
    /// use tls_policy::{config::Settings, ServerOptions, TlsChannels};
    ///
    /// let settings = Settings::from_file("neo4j.conf", None)?;
    /// let http = ServerOptions { alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()], ..Default::default() };
    /// let channels = TlsChannels::load_with(&settings, None, |_| http.clone())?;
    /// let listener = TlsListener::for_channel(&channels, "https").await?;
    /// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    /// axum::serve(listener, app.into_make_service_with_connect_info::<TlsConnectInfo>()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn for_channel(channels: &TlsChannels, channel: &str) -> Result<Self, ListenError> {
        let settings = channels.settings().channels.get(channel).ok_or_else(|| {
            ListenError::UnknownChannel {
                channel: channel.to_owned(),
            }
        })?;
        let name_keys = |e: ListenError| e.naming_keys_of(channels.settings(), settings);
        if settings.tls_level != TlsLevel::Required {
            return Err(name_keys(ListenError::TlsOnly {
                channel: channel.to_owned(),
                level: settings.tls_level,
                tls_level_key: String::new(),
            }));
        }
        let acceptor = channels
            .channel(channel)
            .map(|tls| tls.acceptor.clone())
            .ok_or_else(|| {
                name_keys(ListenError::NoPolicy {
                    channel: channel.to_owned(),
                    level: settings.tls_level,
                    tls_level_key: String::new(),
                    bind_with: String::new(),
                })
            })?;
        let address = settings
            .listen_address
            .as_deref()
            .ok_or_else(|| name_keys(ListenError::no_listen_address(channel)))?;
        let tcp = bind_with_backlog(address).await.map_err(|source| {
            name_keys(ListenError::Bind {
                channel: channel.to_owned(),
                address: address.to_owned(),
                listen_address_key: String::new(),
                source,
            })
        })?;
        let mut listener = TlsListener::new(tcp, acceptor);
        listener.channel = channel.to_owned();
        listener.limits = Limits {
            handshake_timeout: settings.handshake_timeout,
            max_handshakes: settings.max_concurrent_handshakes.max(1),
            pending: PendingLimits::default()
                .with_first_record_timeout(settings.first_record_timeout)
                .with_max_pending(settings.max_pending_handshakes)
                .with_max_pending_per_address(settings.max_pending_per_address),
            proxy: ProxyHeader::new(
                settings.proxy_protocol,
                settings.proxy_protocol_trusted.clone(),
            ),
        };
        Ok(listener)
    }

    /// Binds a TCP listener on `addr` and serves TLS with `acceptor` on it.
    pub async fn bind(addr: impl ToSocketAddrs, acceptor: Acceptor) -> io::Result<Self> {
        Ok(TlsListener::new(TcpListener::bind(addr).await?, acceptor))
    }

    /// Sets how long a peer may take, from its complete first TLS record, to complete its
    /// handshake before its connection is closed (default 10 s, as [`crate::TlsLayer`]; the
    /// wait for a handshake slot included).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.limits.handshake_timeout = timeout;
        self
    }

    /// Sets how many handshakes may run at once (default [`DEFAULT_MAX_HANDSHAKES`]; at least
    /// 1). A connection takes a slot only once its first TLS record has arrived; when all are
    /// taken it waits for one, within the handshake timeout.
    pub fn max_handshakes(mut self, max: usize) -> Self {
        self.limits.max_handshakes = max.max(1);
        self
    }

    /// Sets how long a peer may take, from accept, to send its complete first TLS record
    /// (default 5 s); no handshake slot is held meanwhile.
    pub fn first_record_timeout(mut self, timeout: Duration) -> Self {
        self.limits.pending = self.limits.pending.with_first_record_timeout(timeout);
        self
    }

    /// Sets how many connections may be between TCP accept and delivery to axum at once
    /// (default 4096; at least 1); past it a new connection is closed at once.
    pub fn max_pending(mut self, max: usize) -> Self {
        self.limits.pending = self.limits.pending.with_max_pending(max);
        self
    }

    /// Sets how many of those may come from one source address (IPv6: one /64) (default 256;
    /// at least 1); past it that address's new connections are closed at once.
    pub fn max_pending_per_address(mut self, max: usize) -> Self {
        self.limits.pending = self.limits.pending.with_max_pending_per_address(max);
        self
    }

    /// Reads a PROXY protocol header (`protocol`: v1, v2 or either) before the handshake on
    /// connections from the `trusted` networks (default: none is read). Those connections must
    /// send it; a header from any other source closes the connection. The client address it
    /// carries is the one `accept()` returns, so `TlsConnectInfo::remote_addr` and the
    /// per-address bound see the client, not the proxy.
    pub fn proxy_protocol(
        mut self,
        protocol: ProxyProtocol,
        trusted: impl IntoIterator<Item = Network>,
    ) -> Self {
        self.limits.proxy = ProxyHeader::new(protocol, trusted.into_iter().collect());
        self
    }

    /// The acceptor every handshake uses.
    pub fn acceptor(&self) -> &Acceptor {
        &self.acceptor
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let TlsListener {
                tcp,
                acceptor,
                limits,
                channel,
                running,
            } = self;
            let background = running.get_or_insert_with(|| {
                let metrics = Arc::new(ChannelMetrics::new(channel, Some(acceptor)));
                metrics.register();
                handshakes::spawn(Arc::clone(tcp), acceptor.clone(), limits.clone(), metrics)
            });
            if let Some(established) = background.next().await {
                return established;
            }
            tracing::error!(
                local_addr = ?tcp.local_addr().ok(),
                policy = acceptor.policy(),
                "the TLS accept task ended unexpectedly; restarting it in {RESTART_PAUSE:?}"
            );
            *running = None;
            tokio::time::sleep(RESTART_PAUSE).await;
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

impl fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsListener")
            .field("local_addr", &self.tcp.local_addr().ok())
            .field("channel", &self.channel)
            .field("acceptor", &self.acceptor)
            .field("handshake_timeout", &self.limits.handshake_timeout)
            .field("max_handshakes", &self.limits.max_handshakes)
            .field("pending", &self.limits.pending)
            .field("running", &self.running.is_some())
            .finish()
    }
}
