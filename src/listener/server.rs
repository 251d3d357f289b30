//! [`Listener`]: one channel's socket, its accept loop, a task per connection, and the drain.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinError, JoinSet};
use tower_service::Service;
use tracing::Instrument;

use super::accept::AcceptLoop;
use super::drain::DrainTrigger;
use super::{Connection, Draining, ListenError, ListenerConfig};
use crate::admission::{Admission, Admitted, Pending};
use crate::config::{ChannelSettings, TlsLevel};
use crate::observe::{ChannelMetrics, RefusalLog, SUMMARY_EVERY};
use crate::TlsChannels;

/// The kernel's queue of connections not yet accepted (capped by `net.core.somaxconn` on Linux).
/// Larger than the 1024 of `TcpListener::bind`: under a flood of connects the accept loop
/// falls behind in bursts, and a full queue drops SYNs, good clients' included, which then
/// wait a second for their retransmission.
const LISTEN_BACKLOG: u32 = 4096;

/// A bound socket serving one channel: TLS, plaintext or both (`tls_level`), with handshake
/// limits and a graceful shutdown.
///
/// Made by [`Listener::bind`] or [`Listener::bind_channel`]; run by [`Listener::serve`].
#[derive(Debug)]
pub struct Listener {
    tcp: TcpListener,
    local_addr: SocketAddr,
    config: ListenerConfig,
}

/// What a listener did, returned when [`Listener::serve`] ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeSummary {
    /// Connections accepted (those closed at once past the pending bounds included).
    pub accepted: u64,
    /// Connections still open when the drain timeout ran out, and dropped.
    pub cut_at_drain: usize,
}

impl Listener {
    /// Binds `address` (`host:port`; port 0 picks a free port, see [`Listener::local_addr`]).
    pub async fn bind(address: &str, config: ListenerConfig) -> Result<Listener, ListenError> {
        let bind_error = |source| ListenError::Bind {
            channel: config.channel().to_string(),
            address: address.to_string(),
            listen_address_key: "Listener::bind".to_owned(),
            source,
        };
        let tcp = bind_with_backlog(address).await.map_err(bind_error)?;
        let local_addr = tcp.local_addr().map_err(bind_error)?;
        Ok(Listener {
            tcp,
            local_addr,
            config,
        })
    }

    /// Binds a configured channel's `listen_address` with its `tls_level`, handshake limits and
    /// compiled policy (from `channels`), and the default drain timeout.
    pub async fn bind_channel(
        channel: &ChannelSettings,
        channels: &TlsChannels,
    ) -> Result<Listener, ListenError> {
        let name_keys = |e: ListenError| e.naming_keys_of(channels.settings(), channel);
        let address = channel
            .listen_address
            .as_deref()
            .ok_or_else(|| name_keys(ListenError::no_listen_address(&channel.name)))?;
        Listener::bind(address, ListenerConfig::from_channel(channel, channels)?)
            .await
            .map_err(name_keys)
    }

    /// Serves on a socket bound elsewhere.
    pub fn from_tcp(tcp: TcpListener, config: ListenerConfig) -> io::Result<Listener> {
        let local_addr = tcp.local_addr()?;
        Ok(Listener {
            tcp,
            local_addr,
            config,
        })
    }

    /// The address actually bound (the free port chosen for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The channel, TLS mode and limits.
    pub fn config(&self) -> &ListenerConfig {
        &self.config
    }

    /// The channel's TLS level.
    pub fn tls_level(&self) -> TlsLevel {
        self.config.tls().level()
    }

    /// Accepts connections until `shutdown` resolves, then drains.
    ///
    /// A connection past the pending bounds is closed at once. Each other connection runs in
    /// its own task: its PROXY protocol header is read when the channel takes one (see
    /// [`ListenerConfig::with_proxy_protocol`]; its client address is then the connection's
    /// peer), its complete first TLS record is awaited (first-record timeout, no slot;
    /// under OPTIONAL a first byte other than 0x16 is plaintext), a handshake slot taken and
    /// the handshake run (handshake timeout), then a clone of `service` is called with the
    /// [`Connection`]. A refused connection is counted by reason, logged with the peer address
    /// and the reason (at most a few lines a second per reason, the rest counted in a line
    /// every 10 s), and touches nothing else. Accept errors never end the loop: they are
    /// logged and retried after a short, growing pause.
    ///
    /// When `shutdown` resolves the socket is closed, every connection's
    /// [`Connection::draining`] fires, and live connections get the drain timeout to finish
    /// before they are dropped.
    pub async fn serve<S, F>(self, service: S, shutdown: F) -> ServeSummary
    where
        S: Service<Connection<TcpStream>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: fmt::Display,
        F: Future<Output = ()> + Send,
    {
        let Listener {
            tcp,
            local_addr,
            config,
        } = self;
        let channel: Arc<str> = Arc::from(config.channel());
        let admission = Arc::new(
            Admission::new(
                config.tls().clone(),
                config.limits().clone(),
                *config.pending_limits(),
            )
            .with_proxy(config.proxy_header().clone()),
        );
        // The channel's constant fields are formatted once, here, not for every connection:
        // each connection's span (its peer) is this span's child, and a subscriber prints both.
        let listener_span = listener_span(&channel, &admission);
        let metrics = Arc::new(ChannelMetrics::new(&channel, config.tls().acceptor()));
        metrics.register();
        let refusals = Arc::new(RefusalLog::new(&channel));
        let mut summary = tokio::time::interval(SUMMARY_EVERY);
        summary.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (trigger, draining) = DrainTrigger::new();
        let mut tasks = JoinSet::new();
        let mut accepted: u64 = 0;
        let mut accepting = AcceptLoop::new(tcp, Arc::clone(&channel), Some(local_addr));
        tokio::pin!(shutdown);

        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => report_panic(&channel, joined),
                _ = summary.tick() => refusals.flush(),
                (stream, peer) = accepting.next() => {
                    accepted += 1;
                    let pending = match admission.enter(peer) {
                        Ok(pending) => pending,
                        Err(refusal) => {
                            // Closed at once: no read, no task, no handshake.
                            drop(stream);
                            let reason = refusal.reason();
                            metrics.refused(reason);
                            refusals.refused_at_accept(peer, reason, &refusal);
                            continue;
                        }
                    };
                    // Small writes (handshake flights, echoes) must not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let span = tracing::info_span!(parent: &listener_span, "connection", peer = %peer);
                    let task = run_connection(
                        Admitting {
                            admission: Arc::clone(&admission),
                            pending,
                            refusals: Arc::clone(&refusals),
                        },
                        Arc::clone(&metrics),
                        stream,
                        peer,
                        Arc::clone(&channel),
                        draining.clone(),
                        service.clone(),
                    );
                    tasks.spawn(task.instrument(span));
                }
            }
        }

        drop(accepting); // closes the socket
        refusals.flush();
        trigger.start();
        let cut_at_drain = drain(&channel, &mut tasks, config.drain_timeout()).await;
        ServeSummary {
            accepted,
            cut_at_drain,
        }
    }
}

/// What one connection's task needs for its admission: the channel's [`Admission`], the
/// connection's place among the pending, and the channel's refusal log.
struct Admitting {
    admission: Arc<Admission>,
    pending: Pending,
    refusals: Arc<RefusalLog>,
}

/// Binds the first of `address`'s resolutions that can be bound, listening with
/// [`LISTEN_BACKLOG`] (as `TcpListener::bind`, whose queue is 1024).
pub(crate) async fn bind_with_backlog(address: &str) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(address).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        // As std's and tokio's bind do on unix: a restarted server rebinds at once.
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket
            .bind(addr)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(tcp) => return Ok(tcp),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}

/// One connection's life: admission (first record, handshake), then the service; counted as
/// pending until the handshake ends and as active throughout, its handshake and bytes recorded.
async fn run_connection<S>(
    admitting: Admitting,
    metrics: Arc<ChannelMetrics>,
    stream: TcpStream,
    peer: SocketAddr,
    channel: Arc<str>,
    draining: Draining,
    mut service: S,
) where
    S: Service<Connection<TcpStream>>,
    S::Error: fmt::Display,
{
    // Dropped however the task ends (done, refused, cut at the drain, panicked).
    let _active = metrics.connection_opened();
    let Admitting {
        admission,
        mut pending,
        refusals,
    } = admitting;
    let counted = metrics.pending_opened();
    // Boxed: the handshake's state (the TLS session, over a kilobyte) then lives in one heap
    // block instead of inline in the task's future, which tokio copies on spawn and on each
    // change of the task's stage (measured by bench/examples/handshake_cost.rs: the copies cost more
    // than the allocation).
    let admitted =
        Box::pin(admission.admit_recorded(stream, peer, &mut pending, &metrics, &refusals)).await;
    drop((pending, counted));
    let Some(Admitted { transport, peer }) = admitted else {
        return; // refused, and recorded
    };
    let connection = Connection::new(transport, peer, channel, draining).with_metrics(metrics);
    if let Err(error) = poll_fn(|cx| service.poll_ready(cx)).await {
        tracing::warn!(%error, "the service cannot take the connection");
        return;
    }
    if let Err(error) = service.call(connection).await {
        tracing::info!(%error, "connection ended with an error");
    }
}

/// Waits up to `timeout` for the live connections to finish, then drops the rest; returns how
/// many were dropped.
async fn drain(channel: &str, tasks: &mut JoinSet<()>, timeout: Duration) -> usize {
    if !tasks.is_empty() {
        tracing::info!(
            channel,
            live = tasks.len(),
            ?timeout,
            "draining live connections"
        );
    }
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            biased;
            joined = tasks.join_next() => match joined {
                Some(joined) => report_panic(channel, joined),
                None => break,
            },
            () = &mut deadline => break,
        }
    }
    let cut = tasks.len();
    if cut > 0 {
        tracing::warn!(
            channel,
            cut,
            ?timeout,
            "drain timeout: dropping connections still open"
        );
    }
    tasks.shutdown().await;
    cut
}

/// The span of one listener, parent of every connection's `connection{peer}` span: the
/// channel, TLS level, policy and backend every event of its connections is recorded with.
fn listener_span(channel: &str, admission: &Admission) -> tracing::Span {
    let acceptor = admission.tls().acceptor();
    tracing::info_span!(
        "listener",
        channel,
        tls_level = %admission.tls().level(),
        policy = acceptor.map_or("none", |a| a.policy()),
        backend = acceptor.map_or("none", |a| a.backend().name()),
    )
}

/// Logs a connection task that panicked (its error otherwise passes unseen).
fn report_panic(channel: &str, joined: Result<(), JoinError>) {
    if let Err(error) = joined {
        if error.is_panic() {
            tracing::error!(channel, %error, "a connection task panicked");
        }
    }
}
