//! One accepted connection as the service sees it: TLS or plaintext, its peer, and the drain signal.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tls_policy_backend::TlsInfo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::Draining;
use crate::observe::ChannelMetrics;
use crate::TlsStream;

/// What a connection's bytes travel over: a TLS session, or the bare transport.
// The TLS variant holds a backend stream inline: boxing it would add an indirection to every
// read and write, for one value per connection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Transport<IO> {
    /// A TLS session (`tls_level` REQUIRED, or OPTIONAL and the peer opened with a handshake).
    Tls(TlsStream<IO>),
    /// Plaintext (`tls_level` DISABLED, or OPTIONAL and the peer's first byte was not a handshake).
    Plain(IO),
}

/// A connection accepted by a [`super::Listener`], handshake done: read and write it like `IO`.
///
/// It reads and writes plaintext whether or not TLS runs underneath; [`Connection::tls_info`]
/// says what a handshake negotiated, [`Connection::peer_addr`] who connected, and
/// [`Connection::draining`] when the listener began its graceful shutdown.
#[derive(Debug)]
pub struct Connection<IO> {
    transport: Transport<IO>,
    peer_addr: SocketAddr,
    channel: Arc<str>,
    draining: Draining,
    // Where the bytes read and written are counted (set by the listener).
    metrics: Option<Arc<ChannelMetrics>>,
}

impl<IO> Connection<IO> {
    /// A connection over `transport` from `peer_addr` on `channel`.
    ///
    /// The listener makes these; this is public so services can be tested without one.
    pub fn new(
        transport: Transport<IO>,
        peer_addr: SocketAddr,
        channel: impl Into<Arc<str>>,
        draining: Draining,
    ) -> Self {
        Connection {
            transport,
            peer_addr,
            channel: channel.into(),
            draining,
            metrics: None,
        }
    }

    /// Counts the bytes read and written into `metrics` (`tls_policy_bytes_*_total`).
    pub fn with_metrics(mut self, metrics: Arc<ChannelMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// What the TLS handshake negotiated; `None` for a plaintext connection.
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        match &self.transport {
            Transport::Tls(tls) => Some(tls.info()),
            Transport::Plain(_) => None,
        }
    }

    /// Like [`Connection::tls_info`], shared: cheap to clone into request extensions.
    pub fn shared_tls_info(&self) -> Option<Arc<TlsInfo>> {
        match &self.transport {
            Transport::Tls(tls) => Some(tls.shared_info()),
            Transport::Plain(_) => None,
        }
    }

    /// Whether TLS runs underneath.
    pub fn is_tls(&self) -> bool {
        matches!(self.transport, Transport::Tls(_))
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// The channel the connection came in on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Resolves when the listener starts draining: finish the current exchange and close
    /// (an HTTP server stops keep-alive); after the drain timeout the connection is dropped.
    pub fn draining(&self) -> Draining {
        self.draining.clone()
    }

    /// The transport, TLS or plain.
    pub fn transport(&self) -> &Transport<IO> {
        &self.transport
    }

    /// The transport, giving up the peer address and drain signal.
    pub fn into_transport(self) -> Transport<IO> {
        self.transport
    }
}

// === impl AsyncRead / AsyncWrite ===

/// Forwards one poll call to the TLS stream or the bare transport.
macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match &mut $self.transport {
            Transport::Tls($s) => $call,
            Transport::Plain($s) => $call,
        }
    };
}

/// Counts a completed write of `n` bytes.
fn count_written(
    metrics: &Option<Arc<ChannelMetrics>>,
    poll: Poll<io::Result<usize>>,
) -> Poll<io::Result<usize>> {
    if let (Some(metrics), Poll::Ready(Ok(n))) = (metrics, &poll) {
        metrics.bytes_written(*n);
    }
    poll
}

impl<IO> AsyncRead for Connection<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = delegate!(this, s => Pin::new(s).poll_read(cx, buf));
        if let (Some(metrics), Poll::Ready(Ok(()))) = (&this.metrics, &poll) {
            metrics.bytes_read(buf.filled().len().saturating_sub(before));
        }
        poll
    }
}

impl<IO> AsyncWrite for Connection<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = delegate!(this, s => Pin::new(s).poll_write(cx, buf));
        count_written(&this.metrics, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = delegate!(this, s => Pin::new(s).poll_write_vectored(cx, bufs));
        count_written(&this.metrics, poll)
    }

    fn is_write_vectored(&self) -> bool {
        match &self.transport {
            Transport::Tls(s) => s.is_write_vectored(),
            Transport::Plain(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        delegate!(this, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        delegate!(this, s => Pin::new(s).poll_shutdown(cx))
    }
}
